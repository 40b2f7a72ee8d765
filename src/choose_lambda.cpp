// The regularization weight: discrepancy principle, GCV and L-curve, on the projected
// Golub-Kahan problem (Tikhonov) or by full LSQR solves.
#include "convmtx/choose_lambda.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>
#include <random>
#include <sstream>
#include <stdexcept>

#include <Eigen/SVD>

#include "convmtx/detail/solver_common.hpp"
#include "convmtx/gradient_operator.hpp"
#include "convmtx/lsqr.hpp"
#include "convmtx/norm_bound.hpp"

namespace convmtx {

namespace {

const char* rule_name(LambdaRule rule) {
    switch (rule) {
        case LambdaRule::discrepancy: return "discrepancy";
        case LambdaRule::gcv: return "GCV";
        case LambdaRule::lcurve: return "L-curve";
        case LambdaRule::automatic: break;
    }
    return "lambda";
}

/// Reports the steps of the search to LambdaOptions::callback.
class Reporter {
public:
    explicit Reporter(const ProgressCallback& callback) : callback_(callback), t0_(detail::SolverClock::now()) {}
    void operator()(const std::string& phase, index_t step, index_t steps,
                    double value = std::numeric_limits<double>::quiet_NaN()) const {
        detail::report_progress(callback_, "choose_lambda", phase, step, steps, t0_, value);
    }

private:
    const ProgressCallback& callback_;
    detail::SolverClock::time_point t0_;
};

[[noreturn]] void nonfinite(const std::string& where) {
    throw std::runtime_error("choose_lambda: the operator returned a non-finite value (" + where + ")");
}

/// Maximum-curvature point of the parametric curve (log rho(t), log eta(t)), t = log lambda.
size_t lcurve_corner(const std::vector<double>& lam, const std::vector<double>& rho, const std::vector<double>& eta,
                     std::vector<double>& kappa) {
    const size_t n = lam.size();
    kappa.assign(n, 0.0);
    if (n < 3) return 0;
    std::vector<double> t(n), a(n), c(n);
    for (size_t i = 0; i < n; ++i) {
        t[i] = std::log(lam[i]);
        a[i] = std::log(std::max(rho[i], 1e-300));
        c[i] = std::log(std::max(eta[i], 1e-300));
    }
    size_t best = 1;
    double bestk = -std::numeric_limits<double>::infinity();
    for (size_t i = 1; i + 1 < n; ++i) {
        const double h1 = t[i] - t[i - 1], h2 = t[i + 1] - t[i];
        auto d1 = [&](const std::vector<double>& f) { return (f[i + 1] - f[i - 1]) / (h1 + h2); };
        auto d2 = [&](const std::vector<double>& f) {
            return 2 * ((f[i + 1] - f[i]) / h2 - (f[i] - f[i - 1]) / h1) / (h1 + h2);
        };
        const double a1 = d1(a), a2 = d2(a), c1 = d1(c), c2 = d2(c);
        const double den = std::pow(a1 * a1 + c1 * c1, 1.5);
        // The L-curve's corner bends towards the origin: positive a1 c2 - a2 c1 with this orientation.
        kappa[i] = den > 0 ? (a1 * c2 - a2 * c1) / den : 0.0;
        if (kappa[i] > bestk) {
            bestk = kappa[i];
            best = i;
        }
    }
    return best;
}

/// The examined range of log lambda (docs/solvers.md, "The lambda range"): up to 2 sigma_max (every
/// Tikhonov filter factor sigma^2 / (sigma^2 + lambda^2) at most 1/5), down to ratio sigma_max, or
/// for Tikhonov to sigma_min / 10 when sigma_min is known and larger (below it every filter factor
/// is above 0.99: the solutions no longer change), keeping at least a factor 100.
std::pair<double, double> lambda_range(const NormBound& norm, double ratio, bool tikhonov) {
    const double hi = std::log(2 * norm.sigma_max);
    double lo = std::log(ratio * norm.sigma_max);
    if (tikhonov && norm.sigma_min > 0) lo = std::min(std::max(lo, std::log(norm.sigma_min / 10)), hi - std::log(100.0));
    return {lo, hi};
}

/// The projected Tikhonov problem of k Golub-Kahan steps: residual and solution norms
/// for any lambda through the SVD of the (k+1) x k lower-bidiagonal B_k.
struct Projected {
    Eigen::VectorXd sig, c;  // singular values of B_k, U^T (beta1 e1)
    double tail = 0;         // sum of c_i^2 beyond the singular values
    Projected(const std::vector<double>& alphas, const std::vector<double>& betas, index_t k, double beta1) {
        Eigen::MatrixXd B = Eigen::MatrixXd::Zero(k + 1, k);
        for (index_t i = 0; i < k; ++i) {
            B(i, i) = alphas[static_cast<size_t>(i)];
            B(i + 1, i) = betas[static_cast<size_t>(i)];
        }
        Eigen::BDCSVD<Eigen::MatrixXd> svd(B, Eigen::ComputeFullU);
        sig = svd.singularValues();
        c = beta1 * svd.matrixU().row(0).transpose();
        for (index_t i = sig.size(); i < c.size(); ++i) tail += c(i) * c(i);
    }
    /// rho = ||B y - beta1 e1||, eta = ||y|| of the projected solution y for this lambda.
    void eval(double lam, double& rho, double& eta) const {
        double r2 = tail, x2 = 0;
        for (index_t i = 0; i < sig.size(); ++i) {
            const double s2 = sig(i) * sig(i), f = s2 / (s2 + lam * lam);
            r2 += (1 - f) * (1 - f) * c(i) * c(i);
            if (sig(i) > 0) x2 += (f * c(i) / sig(i)) * (f * c(i) / sig(i));
        }
        rho = std::sqrt(r2);
        eta = std::sqrt(x2);
    }
};

template <class Scalar>
LambdaChoice choose_tikhonov(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const LambdaOptions& opt,
                             LambdaRule rule, const Reporter& report) {
    LambdaChoice ch;
    ch.regularizer = Regularizer::tikhonov;
    ch.rule = rule;
    const index_t m = A.data_size();
    // sigma_max and sigma_min from the FFT when W is block-circulant (exact and cheap); otherwise
    // the projection's sigma_1 (Golub-Kahan is Lanczos on A^T A: no extra products).
    const std::optional<NormBound> exact = fft_norm_bound(A);
    const index_t kmax = std::max<index_t>(2, std::min({opt.krylov_steps, A.model_size(), m}));
    const double beta1 = static_cast<double>(b.norm());
    if (beta1 == 0) {
        ch.note = "b = 0: every lambda gives x = 0";
        return ch;
    }
    // Golub-Kahan bidiagonalization A V_k = U_{k+1} B_k with beta_1 u_1 = b, extended on demand.
    std::vector<double> alphas, betas;  // B(i,i) = alphas[i], B(i+1,i) = betas[i]
    Vector<Scalar> u = b / static_cast<Scalar>(beta1), v(A.model_size()), Av(m), Atu(A.model_size());
    A.apply_adjoint(u, v);
    double alfa = static_cast<double>(v.norm());
    if (!std::isfinite(alfa)) nonfinite("A^T b");
    bool exhausted = false;
    auto extend = [&](index_t k) {
        report("Golub-Kahan steps", k, kmax);
        while (static_cast<index_t>(alphas.size()) < k && !exhausted) {
            if (!(alfa > 0)) {
                exhausted = true;
                break;
            }
            v /= static_cast<Scalar>(alfa);
            alphas.push_back(alfa);
            A.apply(v, Av);
            u = Av - static_cast<Scalar>(alfa) * u;
            const double beta = static_cast<double>(u.norm());
            if (!std::isfinite(beta)) nonfinite("Golub-Kahan step " + std::to_string(alphas.size()));
            betas.push_back(beta);
            if (!(beta > 0)) {
                exhausted = true;
                break;
            }
            u /= static_cast<Scalar>(beta);
            A.apply_adjoint(u, Atu);
            v = Atu - static_cast<Scalar>(beta) * v;
            alfa = static_cast<double>(v.norm());
            if (!std::isfinite(alfa)) nonfinite("Golub-Kahan step " + std::to_string(alphas.size()));
        }
    };
    index_t k = std::min<index_t>(kmax, 40);
    const index_t npts = std::max<index_t>(opt.grid_points, 5);
    // Bounded: k doubles up to kmax, or the loop ends.
    for (;;) {
        extend(k);
        k = static_cast<index_t>(alphas.size());
        if (k == 0) {
            ch.note = "A^T b = 0: the solution is 0 for every lambda";
            return ch;
        }
        const Projected P(alphas, betas, k, beta1);
        // A lambda is resolved when the projected solution no longer changes with k (2k/3 -> k steps).
        const Projected Q(alphas, betas, std::max<index_t>(1, 2 * k / 3), beta1);
        if (exact) {
            ch.norm = *exact;
        } else {
            ch.norm = NormBound{};
            ch.norm.sigma_max = ch.norm.upper = P.sig(0);
            ch.norm.method = "golub-kahan";
            ch.norm.detail = "sigma_1 of the projection on " + std::to_string(k) + " Golub-Kahan steps (a lower bound)";
        }
        const auto [lo, hi] = lambda_range(ch.norm, 1e-7, true);
        ch.lambdas.assign(static_cast<size_t>(npts), 0.0);
        ch.residual_norms.assign(static_cast<size_t>(npts), 0.0);
        ch.penalty_norms.assign(static_cast<size_t>(npts), 0.0);
        size_t first_resolved = static_cast<size_t>(npts);  // all lambdas from here on are resolved
        for (index_t i = npts - 1; i >= 0; --i) {
            const auto si = static_cast<size_t>(i);
            const double lam = std::exp(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(npts - 1));
            double rho, eta, rho2, eta2;
            P.eval(lam, rho, eta);
            Q.eval(lam, rho2, eta2);
            const bool ok = std::abs(rho - rho2) <= 1e-3 * rho && std::abs(eta - eta2) <= 1e-3 * eta;
            if (ok && first_resolved == si + 1) first_resolved = si;
            ch.lambdas[si] = lam;
            ch.residual_norms[si] = rho;
            ch.penalty_norms[si] = eta;
        }
        if (exhausted) first_resolved = 0;  // the Krylov space is invariant: the projection is exact
        ch.criterion = ch.residual_norms;
        const bool can_extend = !exhausted && k < kmax;
        const size_t lo_i = std::min(first_resolved, ch.lambdas.size() - 1);
        bool at_edge = false;
        ch.note.clear();
        if (rule == LambdaRule::discrepancy) {
            ch.target = opt.tau * opt.noise_sigma * std::sqrt(static_cast<double>(m));
            if (ch.residual_norms[lo_i] >= ch.target) {
                at_edge = true;
                ch.lambda = ch.lambdas[lo_i];
                if (!can_extend)
                    ch.note = "no resolved lambda reaches the target residual: the smallest resolved lambda was taken";
            } else if (ch.residual_norms.back() <= ch.target) {
                ch.lambda = ch.lambdas.back();
                ch.note = "the residual stays below the target: the largest lambda was taken";
            } else {
                double a = std::log(ch.lambdas[lo_i]), z = hi;
                for (int it = 0; it < 100; ++it) {
                    const double mid = 0.5 * (a + z);
                    double rho, eta;
                    P.eval(std::exp(mid), rho, eta);
                    (rho < ch.target ? a : z) = mid;
                }
                ch.lambda = std::exp(0.5 * (a + z));
            }
        } else {
            const auto off = static_cast<std::ptrdiff_t>(lo_i);
            std::vector<double> lam(ch.lambdas.begin() + off, ch.lambdas.end());
            std::vector<double> rho(ch.residual_norms.begin() + off, ch.residual_norms.end());
            std::vector<double> eta(ch.penalty_norms.begin() + off, ch.penalty_norms.end());
            std::vector<double> kappa;
            const size_t best = lcurve_corner(lam, rho, eta, kappa);
            ch.criterion.assign(lo_i, 0.0);
            ch.criterion.insert(ch.criterion.end(), kappa.begin(), kappa.end());
            ch.lambda = lam[best];
            at_edge = best <= 1 && lo_i > 0;
            if (at_edge && !can_extend) ch.note = "the L-curve corner is at the smallest resolved lambda";
        }
        if (!(at_edge && can_extend)) break;
        k = std::min(kmax, k * 2);
    }
    std::ostringstream note;
    if (!ch.note.empty()) note << ch.note << "; ";
    note << "projected on " << k << " Golub-Kahan steps";
    ch.note = note.str();
    return ch;
}

/// The weight chosen from full LSQR solves (gradient regularizer; GCV for both regularizers).
template <class Scalar>
LambdaChoice choose_by_solves(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const LambdaOptions& opt,
                              LambdaRule rule, Regularizer reg, const Shape& gshape, const Reporter& report) {
    LambdaChoice ch;
    ch.regularizer = reg;
    ch.rule = rule;
    const Shape shape = gshape.empty() ? default_gradient_shape(A.model_shape()) : gshape;
    ch.norm = norm_bound<Scalar>(A, reg == Regularizer::tikhonov);
    if (std::isnan(ch.norm.sigma_max)) nonfinite("operator norm");
    SolverOptions so;
    so.iter_lim = std::max<index_t>(1, opt.trial_iterations);
    so.atol = so.btol = 1e-6;
    so.gradient_shape = shape;
    const index_t m = A.data_size();
    const index_t npts = std::max<index_t>(opt.trial_solves, 4);
    const index_t ngrid = rule == LambdaRule::gcv ? std::max<index_t>(npts - 6, 4) : npts;
    const index_t expected = rule == LambdaRule::gcv ? ngrid + 6 : npts;  // GCV: grid + golden-section steps
    const std::string phase = std::string(rule_name(rule)) + (rule == LambdaRule::gcv ? " trial solve pairs"
                                                                                        : " trial solves");
    auto solve = [&](double lam, const Vector<Scalar>& rhs) {
        if (reg == Regularizer::tikhonov) so.damp = lam;
        else so.gradient_weight = lam;
        SolveResult<Scalar> r = lsqr<Scalar>(A, rhs, so);
        if (r.istop == istop_nonfinite) nonfinite("trial solve with lambda " + std::to_string(lam));
        return r;
    };
    // GCV's trace(A A_lambda^#) by Hutchinson's estimator z^T A x_lambda(z) with one fixed Rademacher z.
    Vector<Scalar> z, Az;
    if (rule == LambdaRule::gcv) {
        std::mt19937_64 rng(12345);
        z.resize(m);
        Az.resize(m);
        for (index_t i = 0; i < m; ++i) z(i) = (rng() & 1) ? Scalar(1) : Scalar(-1);
    }
    auto point = [&](double lam) {
        report(phase, static_cast<index_t>(ch.lambdas.size()) + 1, expected, lam);
        const SolveResult<Scalar> r = solve(lam, b);
        ch.lambdas.push_back(lam);
        ch.residual_norms.push_back(r.residual_norm);
        ch.penalty_norms.push_back(r.penalty_norm);
        double crit = r.residual_norm;
        if (rule == LambdaRule::gcv) {
            const SolveResult<Scalar> rz = solve(lam, z);
            A.apply(rz.x, Az);
            const double trace = static_cast<double>(z.dot(Az));
            const double den = static_cast<double>(m) - trace;
            crit = r.residual_norm * r.residual_norm / (den * den);
        }
        ch.criterion.push_back(crit);
        return crit;
    };
    const auto [lo, hi] = lambda_range(ch.norm, rule == LambdaRule::gcv ? 1e-3 : 1e-4, reg == Regularizer::tikhonov);
    if (rule == LambdaRule::discrepancy) {
        ch.target = opt.tau * opt.noise_sigma * std::sqrt(static_cast<double>(m));
        double a = lo, zhi = hi;
        if (point(std::exp(a)) >= ch.target) {
            ch.lambda = std::exp(a);
            ch.note = "every residual exceeds the target: the smallest lambda was taken";
            return ch;
        }
        for (index_t it = 1; it < npts; ++it) {
            const double mid = 0.5 * (a + zhi);
            (point(std::exp(mid)) < ch.target ? a : zhi) = mid;
        }
        ch.lambda = std::exp(0.5 * (a + zhi));
        ch.note = "bisection over " + std::to_string(npts) + " LSQR solves";
        return ch;
    }
    for (index_t i = 0; i < ngrid; ++i)
        point(std::exp(lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(ngrid - 1)));
    if (rule == LambdaRule::gcv) {
        size_t best = 0;
        for (size_t i = 1; i < ch.criterion.size(); ++i)
            if (ch.criterion[i] < ch.criterion[best]) best = i;
        double a = std::log(ch.lambdas[best > 0 ? best - 1 : 0]);
        double zz = std::log(ch.lambdas[std::min(best + 1, ch.lambdas.size() - 1)]);
        double bestlam = ch.lambdas[best], bestg = ch.criterion[best];
        // Golden-section refinement between the grid neighbours of the minimum.
        const double gr = (std::sqrt(5.0) - 1) / 2;
        double p = zz - gr * (zz - a), q = a + gr * (zz - a);
        double gp = point(std::exp(p)), gq = point(std::exp(q));
        for (int it = 0; it < 4; ++it) {
            if (gp < gq) {
                zz = q;
                q = p;
                gq = gp;
                p = zz - gr * (zz - a);
                gp = point(std::exp(p));
            } else {
                a = p;
                p = q;
                gp = gq;
                q = a + gr * (zz - a);
                gq = point(std::exp(q));
            }
        }
        for (size_t i = 0; i < ch.criterion.size(); ++i)
            if (ch.criterion[i] < bestg) {
                bestg = ch.criterion[i];
                bestlam = ch.lambdas[i];
            }
        ch.lambda = bestlam;
        if (best == 0 || best + 1 == static_cast<size_t>(ngrid))
            ch.note = "the GCV minimum is at the end of the examined range; ";
        ch.note += "GCV over " + std::to_string(ch.lambdas.size()) + " pairs of LSQR solves (Hutchinson trace)";
        return ch;
    }
    const size_t best = lcurve_corner(ch.lambdas, ch.residual_norms, ch.penalty_norms, ch.criterion);
    ch.lambda = ch.lambdas[best];
    ch.note = "L-curve over " + std::to_string(npts) + " LSQR solves";
    return ch;
}

}  // namespace

template <class Scalar>
LambdaChoice choose_lambda(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, Regularizer regularizer,
                           const LambdaOptions& options, const Shape& gradient_shape) {
    detail::check_rhs(A, b, "choose_lambda");
    if (std::isnan(options.noise_sigma) || std::isinf(options.noise_sigma))
        throw config_error("noise_sigma=" + std::to_string(options.noise_sigma) + " must be finite (<= 0: unknown)");
    if (!(options.tau > 0) || std::isinf(options.tau))
        throw config_error("tau=" + std::to_string(options.tau) + " must be finite and > 0");
    LambdaRule rule = options.rule;
    if (rule == LambdaRule::automatic) rule = options.noise_sigma > 0 ? LambdaRule::discrepancy : LambdaRule::gcv;
    if (rule == LambdaRule::discrepancy && !(options.noise_sigma > 0))
        throw config_error("the discrepancy principle needs the noise level: noise_sigma=" +
                           std::to_string(options.noise_sigma) + " must be > 0");
    const Reporter report(options.callback);
    if (regularizer == Regularizer::tikhonov && rule != LambdaRule::gcv)
        return choose_tikhonov<Scalar>(A, b, options, rule, report);
    return choose_by_solves<Scalar>(A, b, options, rule, regularizer, gradient_shape, report);
}

template LambdaChoice choose_lambda<float>(const LinearOperator<float>&, const Vector<float>&, Regularizer,
                                           const LambdaOptions&, const Shape&);
template LambdaChoice choose_lambda<double>(const LinearOperator<double>&, const Vector<double>&, Regularizer,
                                            const LambdaOptions&, const Shape&);

}  // namespace convmtx
