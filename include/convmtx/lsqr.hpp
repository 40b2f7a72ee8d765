// LSQR of Paige & Saunders (1982), "LSQR: an algorithm for sparse linear equations and sparse
// least squares", as scipy.sparse.linalg.lsqr implements it: the same recurrences, stopping
// tests, istop codes and estimates, with Tikhonov damping and the gradient penalty.
#pragma once

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// x minimizing ||A x - b||^2 + damp^2 ||x||^2 + mu^2 ||D x||^2 (D: gradient_operator.hpp),
/// computing what scipy.sparse.linalg.lsqr(A, b, damp, atol, btol, conlim, iter_lim) computes
/// (same recurrences, tests, istop and r1norm/r2norm/anorm/acond) when mu = 0. One iteration
/// applies A and A^T once each and allocates nothing.
/// Errors: shape_error (b's size), config_error (an option; a NaN or Inf in b, naming its index).
template <class Scalar>
SolveResult<Scalar> lsqr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options = {});

}  // namespace convmtx
