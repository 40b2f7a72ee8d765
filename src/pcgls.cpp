// Preconditioned CGLS.
#include "convmtx/pcgls.hpp"

#include <cmath>

#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

template <class Scalar>
SolveResult<Scalar> pcgls(const LinearOperator<Scalar>& K, const Vector<Scalar>& c, const Preconditioner<Scalar>& M,
                          double rtol, index_t iter_lim, const IterationCallback& callback) {
    const auto t0 = detail::SolverClock::now();
    const char* name = M ? "pcgls" : "cgls";
    detail::check_rhs(K, c, name);
    if (!(rtol >= 0)) throw config_error(std::string(name) + ": rtol=" + std::to_string(rtol) + " must be >= 0");
    if (iter_lim < -1) throw config_error(std::string(name) + ": iter_lim=" + std::to_string(iter_lim) + " must be >= 0 (or -1: 2n)");
    const index_t n = K.model_size(), m = K.data_size();
    const index_t lim = iter_lim < 0 ? 2 * n : iter_lim;
    SolveResult<Scalar> res;
    res.method = name;
    detail::IterationLog<Scalar> log(res, name, lim, callback);
    Vector<Scalar> x = Vector<Scalar>::Zero(n), r = c, s(n), z(n), p(n), q(m);
    K.apply_adjoint(r, s);
    if (M) M(s, z);
    else z = s;
    p = z;
    double gamma = static_cast<double>(s.dot(z));
    const double s0 = static_cast<double>(s.norm());
    log.initial(static_cast<double>(r.norm()), s0);
    int istop = s0 == 0 ? 0 : 7;
    index_t k = 0;
    while (s0 > 0 && k < lim) {
        K.apply(p, q);
        const double qq = static_cast<double>(q.squaredNorm());
        if (!std::isfinite(qq) || !std::isfinite(gamma)) {
            istop = istop_nonfinite;
            break;
        }
        if (qq == 0) {
            istop = 2;
            break;
        }
        const double alpha = gamma / qq;
        x += static_cast<Scalar>(alpha) * p;
        r -= static_cast<Scalar>(alpha) * q;
        ++k;
        K.apply_adjoint(r, s);
        if (M) M(s, z);
        else z = s;
        const double gnew = static_cast<double>(s.dot(z));
        const double sn = static_cast<double>(s.norm());
        if (!log.record(k, static_cast<double>(r.norm()), sn, static_cast<double>(x.norm()))) {
            istop = istop_callback;
            break;
        }
        if (sn <= rtol * s0) {
            istop = 2;
            break;
        }
        p = z + static_cast<Scalar>(gnew / gamma) * p;
        gamma = gnew;
        if (k >= lim) istop = 7;
    }
    res.x = std::move(x);
    res.istop = istop;
    res.iterations = k;
    res.r1norm = res.r2norm = res.residual_norm = static_cast<double>(r.norm());
    res.xnorm = static_cast<double>(res.x.norm());
    res.arnorm = res.normal_residual_history.back();
    res.seconds = detail::seconds_since(t0);
    return res;
}

template SolveResult<float> pcgls<float>(const LinearOperator<float>&, const Vector<float>&,
                                         const Preconditioner<float>&, double, index_t, const IterationCallback&);
template SolveResult<double> pcgls<double>(const LinearOperator<double>&, const Vector<double>&,
                                           const Preconditioner<double>&, double, index_t, const IterationCallback&);

}  // namespace convmtx
