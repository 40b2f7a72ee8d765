// The operator norm ||A||_2 estimated by the power method on A^T A, for Landweber's step and
// the range of regularization weights examined by choose_lambda.
#pragma once

#include <cstdint>

#include "convmtx/operator.hpp"

namespace convmtx {

/// ||A||_2^2 by the power method on A^T A from a seeded Gaussian start: the Rayleigh quotient
/// ||A v||^2 of the normalized iterate after `iterations` steps (a lower bound that converges to
/// the largest eigenvalue of A^T A). NaN when A returns a non-finite value.
template <class Scalar>
double estimate_norm_squared(const LinearOperator<Scalar>& A, index_t iterations = 50, std::uint64_t seed = 0);

}  // namespace convmtx
