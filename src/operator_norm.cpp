// The power method on A^T A.
#include "convmtx/operator_norm.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace convmtx {

template <class Scalar>
double estimate_norm_squared(const LinearOperator<Scalar>& A, index_t iterations, std::uint64_t seed) {
    using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd;
    Vec v(A.model_size()), Av(A.data_size());
    for (index_t i = 0; i < v.size(); ++i) v(i) = static_cast<Scalar>(nd(rng));
    double est = 0;
    for (index_t it = 0; it < std::max<index_t>(iterations, 1); ++it) {
        const double nv = static_cast<double>(v.norm());
        if (nv == 0) return 0;
        if (!std::isfinite(nv)) return std::numeric_limits<double>::quiet_NaN();
        v /= static_cast<Scalar>(nv);
        A.apply(v, Av);
        est = static_cast<double>(Av.squaredNorm());
        if (!std::isfinite(est)) return std::numeric_limits<double>::quiet_NaN();
        A.apply_adjoint(Av, v);
    }
    return est;
}

template double estimate_norm_squared<float>(const LinearOperator<float>&, index_t, std::uint64_t);
template double estimate_norm_squared<double>(const LinearOperator<double>&, index_t, std::uint64_t);

}  // namespace convmtx
