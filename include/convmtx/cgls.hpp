// CGLS: conjugate gradients on the normal equations (A^T A + damp^2 I) x = A^T b, with the
// residual r = b - A x updated instead of forming A^T A (Hestenes & Stiefel 1952; Bjorck,
// "Numerical Methods for Least Squares Problems", 1996, section 7.4).
#pragma once

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// x minimizing ||A x - b||^2 + damp^2 ||x||^2 + mu^2 ||D x||^2 by CGLS. Stops with istop 1
/// (||r2|| <= btol ||b|| + atol anorm ||x||), 2 (||A^T r - damp^2 x|| <= atol anorm ||r2||), 4/5
/// (the same at machine precision), 7, 8 or 9, where r2 = sqrt(||r||^2 + damp^2 ||x||^2) and
/// anorm = max_k sqrt(||A p_k||^2 + damp^2 ||p_k||^2) / ||p_k|| (a lower bound of ||A||); conlim
/// is unused. One iteration applies A and A^T once each and allocates nothing.
/// Errors as lsqr.
template <class Scalar>
SolveResult<Scalar> cgls(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options = {});

}  // namespace convmtx
