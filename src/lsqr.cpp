// LSQR: scipy.sparse.linalg.lsqr's recurrences on preallocated vectors.
#include "convmtx/lsqr.hpp"

#include <algorithm>
#include <cmath>

#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

namespace {

using detail::Estimates;
using detail::sym_ortho;

/// x <- x + t1 w, w <- v / vscale + t2 w in one pass; returns ||w||^2 of the w it was called with.
template <class Scalar>
double update_x_and_w(double t1, double t2, double vscale, const Vector<Scalar>& v, Vector<Scalar>& x,
                      Vector<Scalar>& w) {
    const Scalar st1 = static_cast<Scalar>(t1), st2 = static_cast<Scalar>(t2);
    const Scalar sv = static_cast<Scalar>(1 / vscale);
    double ww = 0;
    for (index_t i = 0, n = x.size(); i < n; i += detail::kChunk) {
        const index_t len = std::min(detail::kChunk, n - i);
        auto wi = w.segment(i, len);
        ww += static_cast<double>(wi.squaredNorm());
        x.segment(i, len) += st1 * wi;
        wi = sv * v.segment(i, len) + st2 * wi;
    }
    return ww;
}

// scipy normalizes u and v in place after every product; here they are stored unnormalized
// with their norms (scipy's u = u_s / uscale, v = v_s / vscale) and the scale is folded into
// the next update, which saves two passes over the vectors per iteration.
template <class Scalar>
SolveResult<Scalar> lsqr_iterate(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o) {
    const index_t m = A.data_size(), n = A.model_size();
    const index_t iter_lim = detail::iteration_limit(o, n);
    const double damp = o.damp, dampsq = damp * damp;
    SolveResult<Scalar> res;
    res.method = "lsqr";
    detail::IterationLog<Scalar> log(res, "lsqr", iter_lim, o.callback);
    Estimates e;
    double ddnorm = 0, res2 = 0, xxnorm = 0, z = 0, cs2 = -1, sn2 = 0;
    int istop = 0;
    index_t itn = 0;
    Vector<Scalar> x = Vector<Scalar>::Zero(n), u = b, v(n), w(n), Av(m), Atu(n);
    const double bnorm = static_cast<double>(b.norm());
    double beta = bnorm, alfa = 0, uscale = beta > 0 ? beta : 1, vscale = 1;
    if (beta > 0) {
        A.apply_adjoint(u, v);
        const double vnorm = static_cast<double>(v.norm());
        alfa = vnorm / beta;
        if (alfa > 0) vscale = vnorm;
    } else {
        v.setZero();
    }
    w = v / static_cast<Scalar>(vscale);
    double rhobar = alfa, phibar = beta;
    e.r1norm = e.r2norm = beta;
    e.arnorm = alfa * beta;
    log.initial(e.r1norm, e.arnorm);
    if (!std::isfinite(alfa)) {
        istop = istop_nonfinite;
    } else if (e.arnorm != 0) {
        while (itn < iter_lim) {
            ++itn;
            A.apply(v, Av);
            beta = std::sqrt(detail::axpby_norm2(1 / vscale, Av, -alfa / uscale, u));
            if (!std::isfinite(beta)) {
                istop = istop_nonfinite;
                --itn;
                break;
            }
            if (beta > 0) {
                uscale = beta;
                const double anorm = std::sqrt(e.anorm * e.anorm + alfa * alfa + beta * beta + dampsq);
                A.apply_adjoint(u, Atu);
                alfa = std::sqrt(detail::axpby_norm2(1 / uscale, Atu, -beta / vscale, v));
                if (!std::isfinite(alfa)) {
                    istop = istop_nonfinite;
                    --itn;
                    break;
                }
                vscale = alfa > 0 ? alfa : 1;
                e.anorm = anorm;
            } else {
                uscale = 1;
            }
            double rhobar1, psi;
            if (damp > 0) {
                rhobar1 = std::sqrt(rhobar * rhobar + dampsq);
                const double cs1 = rhobar / rhobar1, sn1 = damp / rhobar1;
                psi = sn1 * phibar;
                phibar = cs1 * phibar;
            } else {
                rhobar1 = rhobar;
                psi = 0;
            }
            double rho;
            const auto [cs, sn] = sym_ortho(rhobar1, beta, rho);
            const double theta = sn * alfa;
            rhobar = -cs * alfa;
            const double phi = cs * phibar;
            phibar = sn * phibar;
            const double tau = sn * phi;
            const double t1 = phi / rho, t2 = -theta / rho;
            ddnorm += update_x_and_w(t1, t2, vscale, v, x, w) / (rho * rho);
            const double delta = sn2 * rho, gambar = -cs2 * rho;
            const double rhs = phi - delta * z, zbar = rhs / gambar;
            e.xnorm = std::sqrt(xxnorm + zbar * zbar);
            const double gamma = std::sqrt(gambar * gambar + theta * theta);
            cs2 = gambar / gamma;
            sn2 = theta / gamma;
            z = rhs / gamma;
            xxnorm += z * z;
            e.acond = e.anorm * std::sqrt(ddnorm);
            const double res1 = phibar * phibar;
            res2 += psi * psi;
            const double rnorm = std::sqrt(res1 + res2);
            e.arnorm = alfa * std::abs(tau);
            if (damp > 0) {
                const double r1sq = rnorm * rnorm - dampsq * xxnorm;
                e.r1norm = std::sqrt(std::abs(r1sq));
                if (r1sq < 0) e.r1norm = -e.r1norm;
            } else {
                e.r1norm = rnorm;
            }
            e.r2norm = rnorm;
            istop = log.stop(itn, iter_lim, e, bnorm, o, true);
            if (istop != 0) break;
        }
    }
    detail::fill_result(res, std::move(x), istop, itn, e);
    return res;
}

}  // namespace

template <class Scalar>
SolveResult<Scalar> lsqr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options) {
    return detail::run_solver<Scalar>("lsqr", A, b, options, lsqr_iterate<Scalar>);
}

template SolveResult<float> lsqr<float>(const LinearOperator<float>&, const Vector<float>&, const SolverOptions&);
template SolveResult<double> lsqr<double>(const LinearOperator<double>&, const Vector<double>&, const SolverOptions&);

}  // namespace convmtx
