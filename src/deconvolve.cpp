// The deconvolution driver: forward model, lambda by the discrepancy principle (for TV corrected
// by the degrees of freedom of the fit), solver.
#include "convmtx/deconvolve.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <random>

#include "convmtx/choose_lambda.hpp"
#include "convmtx/cgls.hpp"
#include "convmtx/detail/solver_common.hpp"
#include "convmtx/fft_deconv.hpp"
#include "convmtx/gradient_operator.hpp"
#include "convmtx/lsmr.hpp"
#include "convmtx/lsqr.hpp"
#include "convmtx/noise_estimate.hpp"
#include "convmtx/norm_bound.hpp"
#include "convmtx/pcgls.hpp"
#include "convmtx/preconditioner.hpp"
#include "convmtx/stacked_operator.hpp"

namespace convmtx {

namespace {

/// The blur's conv: the flipped PSF as the weight, 'same' padding with the boundary's mode.
template <class Scalar>
ConvSpec blur_spec(const Psf& psf, index_t height, index_t width, PaddingMode boundary, std::vector<Scalar>& w) {
    const index_t kh = psf.height, kw = psf.width;
    w.resize(psf.values.size());
    for (index_t i = 0; i < kh * kw; ++i)
        w[static_cast<size_t>(i)] = static_cast<Scalar>(psf.values[static_cast<size_t>(kh * kw - 1 - i)]);
    ConvOptions o;
    o.padding = Padding::sides({(kh - 1) / 2, (kw - 1) / 2}, {kh / 2, kw / 2});
    o.padding_mode = boundary;
    return make_conv({1, height, width}, {1, 1, kh, kw}, o);
}

}  // namespace

template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> blur_operator(const Psf& psf, index_t height, index_t width,
                                                      PaddingMode boundary) {
    std::vector<Scalar> w;
    const ConvSpec spec = blur_spec(psf, height, width, boundary, w);
    auto op = make_matrix_operator<Scalar>(spec, span<const Scalar>(w.data(), w.size()));
    return op;
}

template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> difference_operator(index_t height, index_t width, PaddingMode boundary) {
    if (boundary != PaddingMode::circular) return gradient_operator<Scalar>({1, height, width});
    // Channel 0: x[i+1, j] - x[i, j]; channel 1: x[i, j+1] - x[i, j] (indices mod h, w).
    const std::vector<Scalar> w = {-1, 0, 1, 0, -1, 1, 0, 0};
    ConvOptions o;
    o.padding = Padding::sides({0, 0}, {1, 1});
    o.padding_mode = PaddingMode::circular;
    const ConvSpec spec = make_conv({1, height, width}, {2, 1, 2, 2}, o);
    return make_matrix_operator<Scalar>(spec, span<const Scalar>(w.data(), w.size()));
}

namespace {

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

/// The outcome of discrepancy_search: the lambda, and whether the target was reachable.
struct DiscrepancyChoice {
    double lambda = 0;
    bool reached = true;
    double floor = 0;      ///< unreachable: the smallest residual seen (at the smallest lambda tried)
    double effective = 0;  ///< unreachable: the residual aimed at instead, sqrt(floor^2 + target^2)
};

/// Log-linear interpolation of the lambda whose residual is `target` between two trials.
double interpolate_lambda(double lo, double rlo, double hi, double rhi, double target) {
    const double f = rhi > rlo ? (target - rlo) / (rhi - rlo) : 0.5;
    return std::exp(std::log(lo) + std::clamp(f, 0.0, 1.0) * (std::log(hi) - std::log(lo)));
}

/// The lambda whose trial residual equals target: from lambda0, steps by `factor` until the
/// target is bracketed, then bisection on log lambda until the residual is within 0.5% of it
/// or `max_trials` solves were made (the last bracket's log-linear interpolation is returned).
/// When even the smallest lambda tried leaves a residual above target, b holds more than noise
/// that the model cannot fit (a wrong boundary condition or PSF): shrinking lambda further only
/// amplifies noise, so the misfit floor r_f (that residual) is treated as bias and the lambda whose
/// residual is sqrt(r_f^2 + target^2) is interpolated from the trials (reached = false).
DiscrepancyChoice discrepancy_search(const std::function<double(double)>& residual, double lambda0, double factor,
                                     double target, index_t max_trials, index_t& trials) {
    DiscrepancyChoice c;
    double lo = lambda0, hi = lambda0;
    double r = residual(lambda0);
    ++trials;
    c.lambda = lambda0;
    if (std::fabs(r / target - 1) < 5e-3) return c;
    double rlo = r, rhi = r;
    std::vector<std::pair<double, double>> tried{{lambda0, r}};  // (lambda, residual), lambda decreasing
    if (r < target) {
        while (rhi < target && trials < max_trials) {
            lo = hi, rlo = rhi;
            hi *= factor;
            rhi = residual(hi);
            ++trials;
        }
        if (rhi < target) {
            c.lambda = hi;
            return c;
        }
    } else {
        while (rlo > target && trials < max_trials) {
            hi = lo, rhi = rlo;
            lo /= factor;
            rlo = residual(lo);
            ++trials;
            tried.emplace_back(lo, rlo);
        }
        if (rlo > target) {
            c.reached = false;
            c.floor = rlo;
            c.effective = std::sqrt(rlo * rlo + target * target);
            c.lambda = tried.front().first;
            for (size_t k = 1; k < tried.size(); ++k)
                if (tried[k].second <= c.effective) {
                    c.lambda = interpolate_lambda(tried[k].first, tried[k].second, tried[k - 1].first,
                                                  tried[k - 1].second, c.effective);
                    break;
                }
            return c;
        }
    }
    while (trials < max_trials) {
        const double mid = std::sqrt(lo * hi);
        const double rm = residual(mid);
        ++trials;
        if (std::fabs(rm / target - 1) < 5e-3) {
            c.lambda = mid;
            return c;
        }
        if (rm < target) lo = mid, rlo = rm;
        else hi = mid, rhi = rm;
    }
    c.lambda = interpolate_lambda(lo, rlo, hi, rhi, target);
    return c;
}

template <class Scalar>
std::shared_ptr<const LinearOperator<Scalar>> identity_operator(index_t n, const Shape& shape) {
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> I(n, n);
    I.setIdentity();
    return std::make_shared<SparseOperator<Scalar>>(std::move(I), shape, shape, "I");
}

std::string pcgls_reason(int istop, double rtol, index_t iterations) {
    switch (istop) {
        case 0: return "b = 0: x = 0 is exact";
        case 2: return "||K^T r|| <= " + num(rtol) + " ||K^T c|| after " + std::to_string(iterations) + " iterations";
        case 7: return "iteration limit " + std::to_string(iterations);
        case istop_callback: return "stopped by the callback";
        default: return "the operator returned a non-finite value";
    }
}

}  // namespace

template <class Scalar>
DeconvolveResult<Scalar> deconvolve(const Vector<Scalar>& b, index_t h, index_t w, const Psf& psf,
                                    const DeconvolveOptions& o) {
    const auto t0 = detail::SolverClock::now();
    if (h < 1 || w < 1 || b.size() != h * w)
        throw shape_error("deconvolve: b has " + std::to_string(b.size()) + " entries; the image is " +
                          std::to_string(h) + "x" + std::to_string(w));
    detail::check_finite(b, "b", "the observed image", "deconvolve");
    detail::check_bounds(o.lower, o.upper, "deconvolve");
    if (!(o.tau >= 0.5) || !std::isfinite(o.tau)) throw config_error("deconvolve: tau=" + num(o.tau) + " must be >= 0.5");
    if (std::isnan(o.lambda) || std::isinf(o.lambda)) throw config_error("deconvolve: lambda=" + num(o.lambda) + " must be finite");
    if (std::isnan(o.noise) || std::isinf(o.noise)) throw config_error("deconvolve: noise=" + num(o.noise) + " must be finite");
    const bool bounded = std::isfinite(o.lower) || std::isfinite(o.upper);
    const bool tv = is_tv(o.regularizer);
    const bool periodic = o.boundary == PaddingMode::circular;
    std::string method = o.method;
    // Strang's circulant fits a zero boundary; with reflect and replicate it costs iterations
    // (measured: 119 against 51 on a 64 x 60 image), so those use plain CGLS.
    // A PSF larger than the image has no circulant (periodic) counterpart: plain CGLS then.
    const bool psf_fits = psf.height <= h && psf.width <= w;
    const bool strang_fits = o.boundary == PaddingMode::zeros && psf_fits;
    if (method.empty()) method = tv || bounded ? "primal-dual" : periodic ? "fft" : strang_fits ? "pcgls" : "cgls";
    const bool golub_kahan = method == "lsqr" || method == "lsmr";
    if (method != "fft" && method != "pcgls" && method != "cgls" && !golub_kahan && method != "primal-dual")
        throw config_error("deconvolve: method '" + method + "' must be fft, pcgls, cgls, lsqr, lsmr or primal-dual");
    if (method != "primal-dual" && (tv || bounded))
        throw config_error("deconvolve: method " + method + " solves quadratic problems without bounds; " +
                           (tv ? "the " + to_string(o.regularizer) + " regularizer" : std::string("bounds")) +
                           " need method primal-dual");
    if (method == "pcgls" && !psf_fits)
        throw config_error("deconvolve: method pcgls (Strang's circulant preconditioner) needs a PSF (" +
                           std::to_string(psf.height) + "x" + std::to_string(psf.width) + ") not larger than the image (" +
                           std::to_string(h) + "x" + std::to_string(w) + "); use cgls or lsqr");
    if (method == "fft" && !periodic)
        throw config_error("deconvolve: method fft needs boundary periodic (circular), not " + to_string(o.boundary));
    if (o.iter_lim < -1) throw config_error("deconvolve: iter_lim=" + std::to_string(o.iter_lim) + " must be >= 1");

    if (periodic && (psf.height > h || psf.width > w))
        throw config_error("deconvolve: boundary periodic needs a PSF (" + std::to_string(psf.height) + "x" +
                           std::to_string(psf.width) + ") not larger than the image (" + std::to_string(h) + "x" +
                           std::to_string(w) + ")");
    const auto A = blur_operator<Scalar>(psf, h, w, o.boundary);
    const bool uses_d = o.regularizer != Prior::tikhonov;
    const std::shared_ptr<const LinearOperator<Scalar>> D = uses_d ? difference_operator<Scalar>(h, w, o.boundary) : nullptr;
    const Regularizer quad = o.regularizer == Prior::gradient ? Regularizer::gradient : Regularizer::tikhonov;
    const index_t n = h * w;
    const Eigen::VectorXd bd = b.template cast<double>();

    DeconvolveResult<Scalar> res;
    res.method = method;
    const bool pd = method == "primal-dual";
    const double tol = o.tol >= 0 ? o.tol : pd ? 1e-4 : 1e-6;
    const index_t iter_lim = o.iter_lim > 0 ? o.iter_lim : pd ? 500 : 2 * n;
    PrimalDualOptions po;
    po.prior = o.regularizer;
    po.lower = o.lower;
    po.upper = o.upper;
    po.iter_lim = iter_lim;
    po.tol = tol;
    if (pd) {
        // The configuration's certified bound (exact for periodic boundaries) and the closed form of D.
        std::vector<Scalar> weight;
        const ConvSpec spec = blur_spec(psf, h, w, o.boundary, weight);
        po.a_norm = norm_bound<Scalar>(spec, span<const Scalar>(weight.data(), weight.size()));
        if (D) po.d_norm = gradient_norm_bound(2);
    }

    // The quadratic problem's solve for one lambda (no bounds), by `method`.
    auto solve_quadratic = [&](double lambda, const std::string& how, index_t lim, const IterationCallback& cb) {
        SolveResult<Scalar> r;
        std::shared_ptr<const LinearOperator<Scalar>> L = uses_d ? D : identity_operator<Scalar>(n, A->model_shape());
        const std::shared_ptr<const LinearOperator<Scalar>> a = A;
        const auto K = stack_operators<Scalar>(a, L, lambda);
        Vector<Scalar> c = Vector<Scalar>::Zero(K->data_size());
        c.head(n) = b;
        if (how == "lsqr" || how == "lsmr") {
            SolverOptions so;
            so.atol = so.btol = tol;
            so.iter_lim = lim;
            so.callback = cb;
            r = how == "lsqr" ? lsqr<Scalar>(*K, c, so) : lsmr<Scalar>(*K, c, so);
        } else {
            const Preconditioner<Scalar> M =
                how == "pcgls" ? strang_preconditioner<Scalar>(psf, h, w, quad, lambda) : Preconditioner<Scalar>();
            r = pcgls<Scalar>(*K, c, M, tol, lim, cb);
        }
        return r;
    };

    // ---- lambda ----
    double lambda = o.lambda;
    if (lambda >= 0) {
        res.lambda_rule = "given";
    } else {
        double sigma = o.noise;
        const std::string rule = tv ? "discrepancy with degrees of freedom" : "discrepancy";
        if (sigma > 0) {
            res.lambda_rule = rule + " (noise given)";
        } else {
            sigma = estimate_noise_sigma(bd.data(), h, w);
            res.lambda_rule = rule + " (noise estimated by MAD)";
            if (!(sigma > 0))
                throw config_error("deconvolve: the noise level estimated from b is " + num(sigma) +
                                   " (a noiseless or flat image); give lambda or the noise level");
        }
        res.noise = sigma;
        res.target = o.tau * sigma * std::sqrt(static_cast<double>(n));
        DiscrepancyChoice choice;
        auto report = [&](double lam) {
            detail::report_progress(o.progress, "deconvolve", "lambda trial (" + to_string(o.regularizer) + ")",
                                    res.lambda_trials + 1, 0, t0, lam);
        };
        if (!tv) {
            // The periodic problem's discrepancy lambda, exact for periodic and a start otherwise.
            // The periodic problem needs the PSF to fit the image; a larger PSF (zeros, reflect or
            // replicate boundary) starts the search from the noise level instead.
            if (psf_fits) {
                PeriodicDeconvolver P(psf, h, w, quad);
                lambda = P.discrepancy_lambda(P.transform(bd.data()), res.target);
            } else {
                lambda = sigma;
            }
            if (!periodic) {
                choice = discrepancy_search(
                    [&](double lam) {
                        report(lam);
                        auto r = solve_quadratic(lam, strang_fits ? "pcgls" : "cgls", std::min<index_t>(iter_lim, 200), {});
                        return static_cast<double>((b - A->apply(r.x)).norm());
                    },
                    lambda, 1.5, res.target, 12, res.lambda_trials);
                lambda = choice.lambda;
            }
        } else {
            // TV: ||W x - b||^2 + sigma^2 df(lambda) = (tau sigma)^2 m, df = div_b (W x_lambda(b))
            // by the Monte-Carlo finite difference delta^T (W x(b + eps delta) - W x(b)) / eps
            // with a fixed Rademacher delta and eps = sigma / 2. Two trial solves per lambda, each
            // warm-started from its own previous one (x and both duals); the perturbed one runs
            // as many iterations as the other, so that both are converged alike.
            std::optional<PrimalDualResult<Scalar>> warm, warm_perturbed;
            PrimalDualOptions trial = po;
            trial.iter_lim = std::min<index_t>(iter_lim, 200);
            trial.tol = 1e-3;
            const double eps = sigma / 2;
            Vector<Scalar> delta(n);
            std::mt19937_64 rng(1);
            for (index_t i = 0; i < n; ++i) delta(i) = (rng() >> 63) ? Scalar(1) : Scalar(-1);
            const Vector<Scalar> b_perturbed = b + static_cast<Scalar>(eps) * delta;
            std::vector<std::pair<double, double>> dfs;  // (lambda, df) of every trial
            index_t perturbed_solves = 0;
            choice = discrepancy_search(
                [&](double lam) {
                    report(lam);
                    trial.lambda = lam;
                    warm = primal_dual<Scalar>(*A, b, D.get(), trial, warm ? &*warm : nullptr);
                    PrimalDualOptions same = trial;
                    same.iter_lim = std::max<index_t>(1, warm->iterations);
                    same.tol = 0;
                    warm_perturbed = primal_dual<Scalar>(*A, b_perturbed, D.get(), same,
                                                         warm_perturbed ? &*warm_perturbed : nullptr);
                    ++perturbed_solves;
                    const Vector<Scalar> change = A->apply(warm_perturbed->x) - A->apply(warm->x);
                    const double df = static_cast<double>(delta.dot(change)) / eps;
                    dfs.emplace_back(lam, df);
                    const double r = warm->residual_norm;
                    return std::sqrt(std::max(0.0, r * r + sigma * sigma * df));
                },
                sigma / 4, 2.0, res.target, 10, res.lambda_trials);
            // Without bias the corrected residual tends to the target from above as lambda -> 0
            // (E ||W x - b||^2 + sigma^2 df = sigma^2 m): a floor within the Monte-Carlo estimate's
            // spread (5%) is the target met at the smallest lambda tried, not a misfit of the model.
            if (!choice.reached && choice.floor <= 1.05 * res.target) {
                choice.reached = true;
                choice.lambda = std::min_element(dfs.begin(), dfs.end())->first;
            }
            lambda = choice.lambda;
            res.lambda_trials += perturbed_solves;
            const auto nearest = std::min_element(dfs.begin(), dfs.end(), [&](const auto& p, const auto& q) {
                return std::fabs(std::log(p.first / lambda)) < std::fabs(std::log(q.first / lambda));
            });
            res.degrees_of_freedom = nearest->second;
        }
        if (!choice.reached)
            res.lambda_note = "the discrepancy target " + num(res.target) + " was not reached: " +
                              (tv ? "sqrt(||W x - b||^2 + sigma^2 df)" : "||W x - b||") + " >= " +
                              num(choice.floor) + " even at the smallest lambda tried, so b holds more than noise " +
                              "that the model cannot fit (check the PSF and --boundary: replicate or reflect for a " +
                              "photograph); lambda aims at sqrt(" + num(choice.floor) + "^2 + target^2) = " +
                              num(choice.effective) + " instead";
    }
    res.lambda = lambda;

    // ---- the solve ----
    if (method == "fft") {
        PeriodicDeconvolver P(psf, h, w, quad);
        Eigen::VectorXd x(n);
        P.solve(P.transform(bd.data()), lambda, x.data());
        res.x = x.cast<Scalar>();
        res.stop_reason = "exact solve by the FFT";
        res.residual_history.push_back(static_cast<double>((b - A->apply(res.x)).norm()));
    } else if (pd) {
        po.lambda = lambda;
        po.callback = o.callback;
        auto r = primal_dual<Scalar>(*A, b, D.get(), po);
        res.step_norm = r.step_norm;
        res.x = std::move(r.x);
        res.iterations = r.iterations;
        res.converged = r.converged;
        res.stop_reason = r.stop_reason;
        res.residual_history = std::move(r.residual_history);
    } else {
        auto r = solve_quadratic(lambda, method, iter_lim, o.callback);
        res.x = std::move(r.x);
        res.iterations = r.iterations;
        res.converged = r.istop != 7 && r.istop != istop_callback && r.istop != istop_nonfinite;
        res.stop_reason = golub_kahan ? r.reason() : pcgls_reason(r.istop, tol, r.iterations);
        res.residual_history = std::move(r.residual_history);
    }
    res.residual_norm = static_cast<double>((b - A->apply(res.x)).norm());
    res.seconds = detail::seconds_since(t0);
    return res;
}

#define CONVMTX_INSTANTIATE(S)                                                                                \
    template std::shared_ptr<LinearOperator<S>> blur_operator<S>(const Psf&, index_t, index_t, PaddingMode);  \
    template std::shared_ptr<LinearOperator<S>> difference_operator<S>(index_t, index_t, PaddingMode);        \
    template DeconvolveResult<S> deconvolve<S>(const Vector<S>&, index_t, index_t, const Psf&,                 \
                                               const DeconvolveOptions&);
CONVMTX_INSTANTIATE(float)
CONVMTX_INSTANTIATE(double)
#undef CONVMTX_INSTANTIATE

}  // namespace convmtx
