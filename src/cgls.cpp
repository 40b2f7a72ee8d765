// CGLS on preallocated vectors, with scipy's LSQR stopping tests 1 and 2.
#include "convmtx/cgls.hpp"

#include <algorithm>
#include <cmath>

#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

namespace {

using detail::Estimates;

template <class Scalar>
SolveResult<Scalar> cgls_iterate(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o) {
    const index_t m = A.data_size(), n = A.model_size();
    const index_t iter_lim = detail::iteration_limit(o, n);
    const double d2 = o.damp * o.damp;
    SolveResult<Scalar> res;
    res.method = "cgls";
    detail::IterationLog<Scalar> log(res, "cgls", iter_lim, o.callback);
    Vector<Scalar> x = Vector<Scalar>::Zero(n), r = b, s(n), p(n), q(m);
    A.apply_adjoint(r, s);
    p = s;
    double gamma = static_cast<double>(s.squaredNorm()), pp = gamma;  // ||s||^2, ||p||^2
    const double bnorm = static_cast<double>(b.norm());
    Estimates e;
    e.r1norm = e.r2norm = bnorm;
    e.arnorm = std::sqrt(gamma);
    log.initial(e.r1norm, e.arnorm);
    int istop = 0;
    index_t itn = 0;
    if (!std::isfinite(gamma)) {
        istop = istop_nonfinite;
    } else if (bnorm > 0 && gamma > 0) {
        while (itn < iter_lim) {
            ++itn;
            A.apply(p, q);
            const double delta = static_cast<double>(q.squaredNorm()) + d2 * pp;
            if (!std::isfinite(delta)) {
                istop = istop_nonfinite;
                --itn;
                break;
            }
            if (!(delta > 0)) {  // A p = 0 to machine precision: A^T r is 0 already
                istop = 2;
                --itn;
                break;
            }
            e.anorm = std::max(e.anorm, std::sqrt(delta / pp));
            const double alpha = gamma / delta;
            const double rr = detail::axpby_norm2(-alpha, q, 1.0, r);  // r -= alpha q
            A.apply_adjoint(r, s);
            const auto [xx, gamma_new] = detail::step_and_shift(alpha, p, x, d2, s);  // x += alpha p; s -= d2 x
            if (!std::isfinite(gamma_new)) {
                x -= static_cast<Scalar>(alpha) * p;
                istop = istop_nonfinite;
                --itn;
                break;
            }
            pp = detail::axpby_norm2(1.0, s, gamma_new / gamma, p);  // p = s + (gamma_new / gamma) p
            gamma = gamma_new;
            e.r1norm = std::sqrt(rr);
            e.xnorm = std::sqrt(xx);
            e.r2norm = std::sqrt(rr + d2 * xx);
            e.arnorm = std::sqrt(gamma);
            istop = detail::stop_code(itn, iter_lim, e, bnorm, o, false);
            if (!log.record(itn, e.r1norm, e.arnorm, e.xnorm) && istop == 0) istop = istop_callback;
            if (istop != 0 || gamma == 0) break;
        }
    }
    detail::fill_result(res, std::move(x), istop, itn, e);
    return res;
}

}  // namespace

template <class Scalar>
SolveResult<Scalar> cgls(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options) {
    return detail::run_solver<Scalar>("cgls", A, b, options, cgls_iterate<Scalar>);
}

template SolveResult<float> cgls<float>(const LinearOperator<float>&, const Vector<float>&, const SolverOptions&);
template SolveResult<double> cgls<double>(const LinearOperator<double>&, const Vector<double>&, const SolverOptions&);

}  // namespace convmtx
