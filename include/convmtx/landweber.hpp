// Landweber's iteration (Landweber 1951), gradient descent on ||A x - b||^2 + damp^2 ||x||^2,
// with optional projection on bounds (projected Landweber) and Nesterov/FISTA momentum (Beck &
// Teboulle 2009).
#pragma once

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// x <- P(x + tau (A^T (b - A x) - damp^2 x)), tau = options.step or 1/(L^2 + damp^2) with L an
/// upper bound of ||A|| from norm_bound (of [A; mu D] with a gradient weight mu:
/// sqrt(||A||^2 + 4 r mu^2)), reported in SolveResult::step_norm; P the projection on
/// [lower, upper] (identity when unbounded), optionally accelerated. Stops like CGLS (istop 1, 2,
/// 4, 5, 7, 8, 9) with the gradient mapping ||x_{k+1} - y_k|| / tau as the normal residual;
/// anorm = sqrt(L^2 + damp^2). Errors as lsqr.
template <class Scalar>
SolveResult<Scalar> landweber(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                              const SolverOptions& options = {});

}  // namespace convmtx
