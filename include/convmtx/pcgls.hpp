// CGLS with a preconditioner: the conjugate-gradient method on the normal equations
// K^T K x = K^T c of min ||K x - c||^2 (K = [A; lambda L], c = [b; 0] for a regularized
// problem), preconditioned by an approximation M of (K^T K)^-1 (symmetric positive definite):
//     s = K^T r, z = M s, p = z + beta p, alpha = <s, z> / ||K p||^2, beta = <s', z'> / <s, z>
// (Bjorck, "Numerical Methods for Least Squares Problems", SIAM 1996, section 7.4). Without M
// it is CGLS. A circulant M (preconditioner.hpp) clusters the spectrum of M K^T K near 1
// for blurs, so far fewer iterations reach the same solution.
#pragma once

#include <functional>

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// z = M s for a model-space vector s (z has s's size, caller-owned).
template <class Scalar>
using Preconditioner = std::function<void(const Vector<Scalar>& s, Vector<Scalar>& z)>;

/// x from 0 until ||K^T (c - K x)|| <= rtol ||K^T c|| (istop 2) or iter_lim (istop 7; < 0: 2n);
/// the callback as the other solvers' (8 when it returns false; 9 on a non-finite value).
/// M empty: plain CGLS with this stopping rule, so iteration counts compare like with like.
/// Errors: shape_error (c's size), config_error (rtol, iter_lim, NaN/Inf in c).
template <class Scalar>
SolveResult<Scalar> pcgls(const LinearOperator<Scalar>& K, const Vector<Scalar>& c, const Preconditioner<Scalar>& M,
                          double rtol = 1e-6, index_t iter_lim = -1, const IterationCallback& callback = {});

}  // namespace convmtx
