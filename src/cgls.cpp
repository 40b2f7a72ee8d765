// CGLS on preallocated vectors, with scipy's LSQR stopping tests 1 and 2.
#include "convmtx/cgls.hpp"

#include <algorithm>
#include <cmath>

#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

namespace {

using detail::Estimates;
using detail::kChunk;

/// s <- s - c (x + a p) (x itself unchanged); returns ||s||^2.
template <class Scalar>
double shift_norm2(double c, const Vector<Scalar>& x, double a, const Vector<Scalar>& p, Vector<Scalar>& s) {
    const Scalar sc = static_cast<Scalar>(c), sa = static_cast<Scalar>(a);
    double ss = 0;
    for (index_t i = 0, n = s.size(); i < n; i += kChunk) {
        const index_t len = std::min(kChunk, n - i);
        auto si = s.segment(i, len);
        si -= sc * (x.segment(i, len) + sa * p.segment(i, len));
        ss += static_cast<double>(si.squaredNorm());
    }
    return ss;
}

/// x <- x + a p, then p <- s + c p; returns (||x||^2, ||p||^2) of the new x and p.
template <class Scalar>
std::pair<double, double> update_x_and_p(double a, double c, const Vector<Scalar>& s, Vector<Scalar>& x,
                                         Vector<Scalar>& p) {
    const Scalar sa = static_cast<Scalar>(a), sc = static_cast<Scalar>(c);
    double xx = 0, pp = 0;
    for (index_t i = 0, n = x.size(); i < n; i += kChunk) {
        const index_t len = std::min(kChunk, n - i);
        auto xi = x.segment(i, len);
        auto pi = p.segment(i, len);
        xi += sa * pi;
        pi = s.segment(i, len) + sc * pi;
        xx += static_cast<double>(xi.squaredNorm());
        pp += static_cast<double>(pi.squaredNorm());
    }
    return {xx, pp};
}

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
    double gamma = detail::squared_norm(s), pp = gamma;  // ||s||^2, ||p||^2
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
            const double delta = detail::squared_norm(q) + d2 * pp;
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
            // s = A^T r - damp^2 x_new with x_new = x + alpha p, measured before x is updated.
            A.apply_adjoint(r, s);
            const double gamma_new = d2 > 0 ? shift_norm2(d2, x, alpha, p, s) : detail::squared_norm(s);
            if (!std::isfinite(gamma_new)) {
                istop = istop_nonfinite;
                --itn;
                break;
            }
            const auto [xx, pp_new] = update_x_and_p(alpha, gamma_new / gamma, s, x, p);
            pp = pp_new;
            gamma = gamma_new;
            e.r1norm = std::sqrt(rr);
            e.xnorm = std::sqrt(xx);
            e.r2norm = std::sqrt(rr + d2 * xx);
            e.arnorm = std::sqrt(gamma);
            istop = log.stop(itn, iter_lim, e, bnorm, o, false);
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
