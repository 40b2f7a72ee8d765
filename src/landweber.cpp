// Landweber's iteration, projected and accelerated, on preallocated vectors.
#include "convmtx/landweber.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "convmtx/detail/solver_common.hpp"
#include "convmtx/norm_bound.hpp"

namespace convmtx {

namespace {

using detail::Estimates;

/// `norm`: ||A|| of the operator iterated on, when the step is not given.
template <class Scalar>
SolveResult<Scalar> landweber_iterate(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                                      const SolverOptions& o, const NormBound* norm) {
    const index_t m = A.data_size(), n = A.model_size();
    const index_t iter_lim = detail::iteration_limit(o, n);
    const double d2 = o.damp * o.damp;
    SolveResult<Scalar> res;
    res.method = "landweber";
    detail::IterationLog<Scalar> log(res, "landweber", iter_lim, o.callback);
    double norm2 = 0;
    double tau = o.step;
    if (!(tau > 0)) {
        // An upper bound of ||A||: tau <= 1 / L, L the Lipschitz constant of the gradient, which
        // the accelerated iteration needs (the plain one converges for tau < 2 / L).
        norm2 = norm->upper * norm->upper;
        res.step_norm = *norm;
        tau = norm2 + d2 > 0 ? 1.0 / (norm2 + d2) : 1.0;
    } else {
        norm2 = 1.0 / tau - d2;
    }
    Estimates e;
    e.anorm = std::sqrt(std::max(norm2, 0.0) + d2);
    const bool bounded = std::isfinite(o.lower) || std::isfinite(o.upper);
    const Scalar lo = static_cast<Scalar>(std::max(o.lower, -static_cast<double>(std::numeric_limits<Scalar>::max())));
    const Scalar hi = static_cast<Scalar>(std::min(o.upper, static_cast<double>(std::numeric_limits<Scalar>::max())));
    auto project = [&](Vector<Scalar>& v) {
        if (bounded) v = v.cwiseMax(lo).cwiseMin(hi);
    };
    const Scalar sd2 = static_cast<Scalar>(d2), stau = static_cast<Scalar>(tau);
    // x: the iterate; xn: the next one (then the previous one, after the swap); y: the point the
    // step is taken from (x without momentum); g: A^T (b - A y) - damp^2 y; r = b - A x.
    Vector<Scalar> x = Vector<Scalar>::Zero(n), xn(n), y(o.accelerate ? n : 0), g(n), r(m), ry(o.accelerate ? m : 0);
    project(x);
    A.apply(x, r);
    r = b - r;
    A.apply_adjoint(r, g);
    g -= sd2 * x;
    if (o.accelerate) y = x;
    const double bnorm = static_cast<double>(b.norm());
    double rn = static_cast<double>(r.norm());
    e.xnorm = static_cast<double>(x.norm());
    e.r1norm = rn;
    e.r2norm = std::sqrt(rn * rn + d2 * e.xnorm * e.xnorm);
    e.arnorm = static_cast<double>(g.norm());
    log.initial(e.r1norm, e.arnorm);
    int istop = 0;
    index_t itn = 0;
    double t = 1;
    if (!std::isfinite(norm2) || !std::isfinite(rn) || !std::isfinite(e.arnorm)) {
        istop = istop_nonfinite;
    } else if (bnorm > 0 && e.arnorm > 0) {
        while (itn < iter_lim) {
            ++itn;
            const Vector<Scalar>& from = o.accelerate ? y : x;
            xn = from + stau * g;
            project(xn);
            const double ar = static_cast<double>((xn - from).norm()) / tau;  // gradient mapping; ||g|| unbounded
            if (o.accelerate) {
                const double tn = (1 + std::sqrt(1 + 4 * t * t)) / 2;
                y = xn + static_cast<Scalar>((t - 1) / tn) * (xn - x);
                t = tn;
            }
            x.swap(xn);
            A.apply(x, r);
            r = b - r;
            if (o.accelerate) {
                A.apply(y, ry);
                ry = b - ry;
                A.apply_adjoint(ry, g);
                g -= sd2 * y;
            } else {
                A.apply_adjoint(r, g);
                g -= sd2 * x;
            }
            rn = static_cast<double>(r.norm());
            if (!std::isfinite(rn) || !std::isfinite(static_cast<double>(g.squaredNorm()))) {
                x.swap(xn);
                istop = istop_nonfinite;
                --itn;
                break;
            }
            e.xnorm = static_cast<double>(x.norm());
            e.r1norm = rn;
            e.r2norm = std::sqrt(rn * rn + d2 * e.xnorm * e.xnorm);
            e.arnorm = ar;
            istop = log.stop(itn, iter_lim, e, bnorm, o, false);
            if (istop != 0) break;
        }
    }
    detail::fill_result(res, std::move(x), istop, itn, e);
    return res;
}

}  // namespace

template <class Scalar>
SolveResult<Scalar> landweber(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options) {
    return detail::run_solver<Scalar>(
        "landweber", A, b, options,
        [&A](const LinearOperator<Scalar>& op, const Vector<Scalar>& rhs, const SolverOptions& o) {
            if (o.step > 0) return landweber_iterate<Scalar>(op, rhs, o, nullptr);
            // op is A, or [A; mu D] with D the forward differences on the gradient grid.
            NormBound norm = norm_bound<Scalar>(A);
            if (o.gradient_weight > 0) {
                const Shape grid = o.gradient_shape.empty() ? default_gradient_shape(A.model_shape()) : o.gradient_shape;
                norm = stacked_norm_bound(norm, gradient_norm_bound(static_cast<index_t>(grid.size()) - 1),
                                          o.gradient_weight);
            }
            return landweber_iterate<Scalar>(op, rhs, o, &norm);
        });
}

template SolveResult<float> landweber<float>(const LinearOperator<float>&, const Vector<float>&,
                                             const SolverOptions&);
template SolveResult<double> landweber<double>(const LinearOperator<double>&, const Vector<double>&,
                                               const SolverOptions&);

}  // namespace convmtx
