// LSMR of Fong & Saunders (2011), "LSMR: An iterative algorithm for sparse least-squares
// problems" (SIAM J. Sci. Comput. 33(5)), as scipy.sparse.linalg.lsmr implements it: the same
// Golub-Kahan bidiagonalization as LSQR, but MINRES applied to the normal equations, so that
// ||A^T r_k|| decreases monotonically (LSQR's ||r_k|| does; its ||A^T r_k|| need not).
#pragma once

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// x minimizing ||A x - b||^2 + damp^2 ||x||^2 + mu^2 ||D x||^2 (D: gradient_operator.hpp),
/// computing what scipy.sparse.linalg.lsmr(A, b, damp, atol, btol, conlim, maxiter) computes
/// (same recurrences, tests, istop and normr/normar/normA/condA/normx) when mu = 0. iter_lim = -1
/// means min(m, n) (scipy's lsmr default, m x n the size of A or of [A; mu D]). Results as lsqr:
/// r2norm = scipy's normr = ||[b; 0] - [A; damp I] x||, r1norm = sqrt(max(0, r2norm^2 -
/// damp^2 ||x||^2)), arnorm = normar, anorm = normA, acond = condA, xnorm = ||x|| (exact).
/// One iteration applies A and A^T once each and allocates nothing.
/// Errors: shape_error (b's size), config_error (an option; a NaN or Inf in b, naming its index).
template <class Scalar>
SolveResult<Scalar> lsmr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options = {});

}  // namespace convmtx
