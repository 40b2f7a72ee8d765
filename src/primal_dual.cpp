// Chambolle-Pock iteration on preallocated vectors.
#include "convmtx/primal_dual.hpp"

#include <algorithm>
#include <cmath>

#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

std::string to_string(Prior p) {
    switch (p) {
        case Prior::tikhonov: return "tikhonov";
        case Prior::gradient: return "gradient";
        case Prior::tv: return "tv";
        case Prior::tv_anisotropic: return "tv-anisotropic";
    }
    return "?";
}

Prior parse_prior(const std::string& name) {
    if (name == "tikhonov") return Prior::tikhonov;
    if (name == "gradient") return Prior::gradient;
    if (name == "tv") return Prior::tv;
    if (name == "tv-anisotropic" || name == "tv_anisotropic") return Prior::tv_anisotropic;
    throw config_error("regularizer '" + name + "' must be tikhonov, gradient, tv or tv-anisotropic");
}

namespace {

std::string sci(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2e", v);
    return buf;
}

template <class Scalar>
double prior_value(const Vector<Scalar>& x, const Vector<Scalar>& dx, index_t n, const PrimalDualOptions& o) {
    switch (o.prior) {
        case Prior::tikhonov: return 0.5 * o.lambda * o.lambda * static_cast<double>(x.squaredNorm());
        case Prior::gradient: return 0.5 * o.lambda * o.lambda * static_cast<double>(dx.squaredNorm());
        case Prior::tv_anisotropic: return o.lambda * static_cast<double>(dx.template lpNorm<1>());
        case Prior::tv: {
            const index_t r = dx.size() / n;
            double s = 0;
            for (index_t i = 0; i < n; ++i) {
                double q = 0;
                for (index_t j = 0; j < r; ++j) q += static_cast<double>(dx(i + j * n) * dx(i + j * n));
                s += std::sqrt(q);
            }
            return o.lambda * s;
        }
    }
    return 0;
}

}  // namespace

template <class Scalar>
PrimalDualResult<Scalar> primal_dual(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                                     const LinearOperator<Scalar>* D, const PrimalDualOptions& o,
                                     const PrimalDualResult<Scalar>* warm) {
    const auto t0 = detail::SolverClock::now();
    detail::check_rhs(A, b, "primal_dual");
    const index_t n = A.model_size(), m = A.data_size();
    if (!(o.lambda >= 0) || !std::isfinite(o.lambda))
        throw config_error("primal_dual: lambda=" + std::to_string(o.lambda) + " must be finite and >= 0");
    detail::check_bounds(o.lower, o.upper, "primal_dual");
    if (o.iter_lim < 1) throw config_error("primal_dual: iter_lim=" + std::to_string(o.iter_lim) + " must be >= 1");
    if (!(o.tol >= 0)) throw config_error("primal_dual: tol=" + std::to_string(o.tol) + " must be >= 0");
    if (!(o.step_ratio > 0) || !std::isfinite(o.step_ratio))
        throw config_error("primal_dual: step_ratio=" + std::to_string(o.step_ratio) + " must be finite and > 0");
    const bool uses_d = o.prior != Prior::tikhonov;
    if (uses_d && !D) throw config_error("primal_dual: the " + to_string(o.prior) + " prior needs the differences D");
    if (uses_d && (D->model_size() != n || D->data_size() % n != 0))
        throw shape_error("primal_dual: D maps " + std::to_string(D->model_size()) + " -> " +
                          std::to_string(D->data_size()) + " entries; it needs " + std::to_string(n) +
                          " columns and a multiple of them as rows");
    if (warm && (warm->x.size() != n || warm->dual_data.size() != m ||
                 warm->dual_differences.size() != (uses_d ? D->data_size() : 0)))
        throw shape_error("primal_dual: the warm start's x, y and z have " + std::to_string(warm->x.size()) + ", " +
                          std::to_string(warm->dual_data.size()) + " and " +
                          std::to_string(warm->dual_differences.size()) + " entries; this problem needs " +
                          std::to_string(n) + ", " + std::to_string(m) + " and " +
                          std::to_string(uses_d ? D->data_size() : 0));

    auto check_bound = [](const std::optional<NormBound>& given, const char* name) {
        if (given && !(given->upper >= 0 && std::isfinite(given->upper)))
            throw config_error(std::string("primal_dual: ") + name + ".upper=" + std::to_string(given->upper) +
                               " must be a finite bound >= 0");
    };
    check_bound(o.a_norm, "a_norm");
    check_bound(o.d_norm, "d_norm");
    const NormBound a_norm = o.a_norm ? *o.a_norm : norm_bound<Scalar>(A);
    const NormBound d_norm = !uses_d ? NormBound{} : o.d_norm ? *o.d_norm : norm_bound<Scalar>(*D);
    if (std::isnan(a_norm.upper) || (uses_d && std::isnan(d_norm.upper)))
        throw std::runtime_error("primal_dual: the operator returned a non-finite value while its norm was computed");
    const NormBound k_norm = uses_d ? stacked_norm_bound(a_norm, d_norm, 1.0) : a_norm;
    const double L = 1.001 * std::max(k_norm.upper, 1e-150);
    const double sigma = o.step_ratio / L, tau = 1 / (o.step_ratio * L);
    const double c = o.prior == Prior::tikhonov ? o.lambda * o.lambda : 0.0;
    const Scalar lo = static_cast<Scalar>(std::max(o.lower, -static_cast<double>(std::numeric_limits<Scalar>::max())));
    const Scalar hi = static_cast<Scalar>(std::min(o.upper, static_cast<double>(std::numeric_limits<Scalar>::max())));
    const index_t r = uses_d ? D->data_size() / n : 0;

    PrimalDualResult<Scalar> res;
    res.step_norm = k_norm;
    Vector<Scalar> x = warm ? warm->x : Vector<Scalar>::Zero(n);
    x = x.cwiseMax(lo).cwiseMin(hi);
    Vector<Scalar> xbar = x, xnew(n), g(n), g2(n), ax(m), y = warm ? warm->dual_data : Vector<Scalar>::Zero(m);
    Vector<Scalar> dx(uses_d ? D->data_size() : 0);
    Vector<Scalar> z = warm ? warm->dual_differences : Vector<Scalar>::Zero(uses_d ? D->data_size() : 0);
    const auto lim = static_cast<size_t>(std::min<index_t>(o.iter_lim, index_t{1} << 16));
    res.residual_history.reserve(lim);
    res.change_history.reserve(lim);
    IterationInfo info;
    info.method = "primal-dual";
    info.iteration_limit = o.iter_lim;
    const Scalar ss = static_cast<Scalar>(sigma), st = static_cast<Scalar>(tau);
    const Scalar lam = static_cast<Scalar>(o.lambda);
    res.stop_reason = "iteration limit " + std::to_string(o.iter_lim);
    index_t k = 0;
    while (k < o.iter_lim) {
        ++k;
        A.apply(xbar, ax);
        ax -= b;
        const double resid = static_cast<double>(ax.norm());
        y = (y + ss * ax) / (Scalar(1) + ss);
        A.apply_adjoint(y, g);
        if (uses_d) {
            D->apply(xbar, dx);
            z += ss * dx;
            if (o.prior == Prior::gradient) {
                if (o.lambda > 0) z /= Scalar(1) + ss / (lam * lam);
                else z.setZero();
            } else if (o.prior == Prior::tv_anisotropic) {
                z = z.cwiseMax(-lam).cwiseMin(lam);
            } else {
                for (index_t i = 0; i < n; ++i) {
                    Scalar q = 0;
                    for (index_t j = 0; j < r; ++j) q += z(i + j * n) * z(i + j * n);
                    const Scalar nrm = std::sqrt(q);
                    if (nrm > lam) {
                        const Scalar f = nrm > 0 ? lam / nrm : Scalar(0);
                        for (index_t j = 0; j < r; ++j) z(i + j * n) *= f;
                    }
                }
            }
            D->apply_adjoint(z, g2);
            g += g2;
        }
        xnew = ((x - st * g) / static_cast<Scalar>(1 + tau * c)).cwiseMax(lo).cwiseMin(hi);
        const double xn = static_cast<double>(xnew.norm());
        const double change = static_cast<double>((xnew - x).norm()) / std::max(xn, 1e-300);
        if (!std::isfinite(resid) || !std::isfinite(xn)) {
            res.stop_reason = "the operator returned a non-finite value at iteration " + std::to_string(k);
            --k;
            break;
        }
        xbar = Scalar(2) * xnew - x;
        x.swap(xnew);
        res.residual_history.push_back(resid);
        res.change_history.push_back(change);
        if (o.callback) {
            info.iteration = k;
            info.residual_norm = resid;
            info.normal_residual = change;
            info.solution_norm = xn;
            info.seconds = detail::seconds_since(t0);
            if (!o.callback(info)) {
                res.stop_reason = "stopped by the callback";
                break;
            }
        }
        if (k >= 2 && change <= o.tol) {
            res.converged = true;
            res.stop_reason = "relative change " + sci(change) + " <= tol " + sci(o.tol);
            break;
        }
    }
    res.iterations = k;
    A.apply(x, ax);
    ax -= b;
    res.residual_norm = static_cast<double>(ax.norm());
    if (uses_d) D->apply(x, dx);
    res.objective = 0.5 * res.residual_norm * res.residual_norm + prior_value(x, dx, n, o);
    res.x = std::move(x);
    res.dual_data = std::move(y);
    res.dual_differences = std::move(z);
    res.seconds = detail::seconds_since(t0);
    return res;
}

template PrimalDualResult<float> primal_dual<float>(const LinearOperator<float>&, const Vector<float>&,
                                                    const LinearOperator<float>*, const PrimalDualOptions&,
                                                    const PrimalDualResult<float>*);
template PrimalDualResult<double> primal_dual<double>(const LinearOperator<double>&, const Vector<double>&,
                                                      const LinearOperator<double>*, const PrimalDualOptions&,
                                                      const PrimalDualResult<double>*);

}  // namespace convmtx
