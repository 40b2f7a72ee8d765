// LSMR: scipy.sparse.linalg.lsmr's recurrences on preallocated vectors.
#include "convmtx/lsmr.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

namespace {

using detail::Estimates;
using detail::sym_ortho;

/// hbar <- h + c1 hbar, x <- x + c2 hbar, h <- v / vscale + c3 h in one pass; returns ||x||^2.
template <class Scalar>
double update_hbar_x_h(double c1, double c2, double c3, double vscale, const Vector<Scalar>& v, Vector<Scalar>& hbar,
                       Vector<Scalar>& x, Vector<Scalar>& h) {
    const Scalar s1 = static_cast<Scalar>(c1), s2 = static_cast<Scalar>(c2), s3 = static_cast<Scalar>(c3);
    const Scalar sv = static_cast<Scalar>(1 / vscale);
    double xx = 0;
    for (index_t i = 0, n = x.size(); i < n; i += detail::kChunk) {
        const index_t len = std::min(detail::kChunk, n - i);
        auto hi = h.segment(i, len);
        auto hbi = hbar.segment(i, len);
        auto xi = x.segment(i, len);
        hbi = hi + s1 * hbi;
        xi += s2 * hbi;
        hi = sv * v.segment(i, len) + s3 * hi;
        xx += static_cast<double>(xi.squaredNorm());
    }
    return xx;
}

// As in lsqr.cpp, u and v are stored unnormalized with their norms (scipy's u = u_s / uscale,
// v = v_s / vscale); the scales are folded into the next update.
template <class Scalar>
SolveResult<Scalar> lsmr_iterate(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o) {
    const index_t m = A.data_size(), n = A.model_size();
    const index_t iter_lim = o.iter_lim < 0 ? std::min(m, n) : o.iter_lim;  // scipy's lsmr default
    const double damp = o.damp;
    SolveResult<Scalar> res;
    res.method = "lsmr";
    detail::IterationLog<Scalar> log(res, "lsmr", iter_lim, o.callback);
    Estimates e;
    int istop = 0;
    index_t itn = 0;
    Vector<Scalar> x = Vector<Scalar>::Zero(n), u = b, v(n), h(n), hbar = Vector<Scalar>::Zero(n), Av(m), Atu(n);
    const double normb = static_cast<double>(b.norm());
    double beta = normb, alpha = 0, uscale = beta > 0 ? beta : 1, vscale = 1;
    if (beta > 0) {
        A.apply_adjoint(u, v);
        const double vnorm = static_cast<double>(v.norm());
        alpha = vnorm / beta;
        if (alpha > 0) vscale = vnorm;
    } else {
        v.setZero();
    }
    h = v / static_cast<Scalar>(vscale);
    // Scalars of the three rotations and of the estimates, named as in scipy.
    double zetabar = alpha * beta, alphabar = alpha, rho = 1, rhobar = 1, cbar = 1, sbar = 0;
    double betadd = beta, betad = 0, rhodold = 1, tautildeold = 0, thetatilde = 0, zeta = 0, d = 0;
    double normA2 = alpha * alpha, maxrbar = 0, minrbar = 1e100;
    e.anorm = std::sqrt(normA2);
    e.acond = 1;
    e.r1norm = e.r2norm = beta;
    e.arnorm = alpha * beta;
    log.initial(e.r1norm, e.arnorm);
    if (!std::isfinite(alpha)) {
        istop = istop_nonfinite;
    } else if (e.arnorm != 0) {
        while (itn < iter_lim) {
            ++itn;
            A.apply(v, Av);
            beta = std::sqrt(detail::axpby_norm2(1 / vscale, Av, -alpha / uscale, u));
            if (!std::isfinite(beta)) {
                istop = istop_nonfinite;
                --itn;
                break;
            }
            if (beta > 0) {
                uscale = beta;
                A.apply_adjoint(u, Atu);
                const double a = std::sqrt(detail::axpby_norm2(1 / uscale, Atu, -beta / vscale, v));
                if (!std::isfinite(a)) {
                    istop = istop_nonfinite;
                    --itn;
                    break;
                }
                alpha = a;
                vscale = alpha > 0 ? alpha : 1;
            } else {
                uscale = 1;
            }
            // Qhat_{k,2k+1} (the damping), Q_{k,k+1} (B_k to R_k), Qbar_k (R_k^T to Rbar_k).
            double alphahat, rhonew, rhobarnew;
            const auto [chat, shat] = sym_ortho(alphabar, damp, alphahat);
            const double rhoold = rho;
            const auto [c, s] = sym_ortho(alphahat, beta, rhonew);
            rho = rhonew;
            const double thetanew = s * alpha;
            alphabar = c * alpha;
            const double rhobarold = rhobar, zetaold = zeta;
            const double thetabar = sbar * rho, rhotemp = cbar * rho;
            std::tie(cbar, sbar) = sym_ortho(cbar * rho, thetanew, rhobarnew);
            rhobar = rhobarnew;
            zeta = cbar * zetabar;
            zetabar = -sbar * zetabar;
            const double xx = update_hbar_x_h(-(thetabar * rho / (rhoold * rhobarold)), zeta / (rho * rhobar),
                                              -(thetanew / rho), vscale, v, hbar, x, h);
            // ||r||: the rotations applied to the right-hand side.
            const double betaacute = chat * betadd, betacheck = -shat * betadd;
            const double betahat = c * betaacute;
            betadd = -s * betaacute;
            const double thetatildeold = thetatilde;
            double rhotildeold;
            const auto [ctildeold, stildeold] = sym_ortho(rhodold, thetabar, rhotildeold);
            thetatilde = stildeold * rhobar;
            rhodold = ctildeold * rhobar;
            betad = -stildeold * betad + ctildeold * betahat;
            tautildeold = (zetaold - thetatildeold * tautildeold) / rhotildeold;
            const double taud = (zeta - thetatilde * tautildeold) / rhodold;
            d += betacheck * betacheck;
            const double normr = std::sqrt(d + (betad - taud) * (betad - taud) + betadd * betadd);
            // ||A|| (Frobenius norm of the bidiagonal so far) and cond(A).
            normA2 += beta * beta;
            e.anorm = std::sqrt(normA2);
            normA2 += alpha * alpha;
            maxrbar = std::max(maxrbar, rhobarold);
            if (itn > 1) minrbar = std::min(minrbar, rhobarold);
            e.acond = std::max(maxrbar, rhotemp) / std::min(minrbar, rhotemp);
            e.arnorm = std::abs(zetabar);
            e.xnorm = std::sqrt(xx);
            e.r2norm = normr;
            e.r1norm = std::sqrt(std::max(0.0, normr * normr - damp * damp * xx));
            istop = log.stop(itn, iter_lim, e, normb, o, true, 0.0);
            if (istop != 0) break;
        }
    }
    detail::fill_result(res, std::move(x), istop, itn, e);
    return res;
}

}  // namespace

template <class Scalar>
SolveResult<Scalar> lsmr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options) {
    return detail::run_solver<Scalar>("lsmr", A, b, options, lsmr_iterate<Scalar>);
}

template SolveResult<float> lsmr<float>(const LinearOperator<float>&, const Vector<float>&, const SolverOptions&);
template SolveResult<double> lsmr<double>(const LinearOperator<double>&, const Vector<double>&, const SolverOptions&);

}  // namespace convmtx
