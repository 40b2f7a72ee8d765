// The choice of the regularization weight lambda of min ||A x - b||^2 + lambda^2 ||L x||^2
// (L = I or the gradient D): the discrepancy principle (Morozov 1966), generalized
// cross-validation (Golub, Heath & Wahba 1979) and the L-curve (Hansen 1992).
#pragma once

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// Chooses the weight of `regularizer` for min ||A x - b||^2 + lambda^2 ||L x||^2 (L = I or D).
/// Discrepancy: ||A x_lambda - b|| = tau sigma sqrt(m), by bisection on log lambda (the residual
/// grows with lambda). L-curve: the point of maximum curvature of (log ||r||, log ||L x||).
/// GCV: the minimum of ||r||^2 / (m - trace(A A_lambda^#))^2, the trace by Hutchinson's
/// estimator z^T A x_lambda(z) with a fixed Rademacher z (two LSQR solves per lambda).
/// Tikhonov discrepancy / L-curve work on the projected problem of k Golub-Kahan steps,
/// min ||B_k y - beta e1||^2 + lambda^2 ||y||^2, solved for every lambda by the SVD of B_k;
/// the gradient regularizer and GCV use full LSQR solves of [A; lambda L].
/// Progress goes to options.callback. Errors: shape_error (b's size, gradient_shape),
/// config_error (an option; a NaN or Inf in b), std::runtime_error when A returns a non-finite value.
template <class Scalar>
LambdaChoice choose_lambda(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, Regularizer regularizer,
                           const LambdaOptions& options = {}, const Shape& gradient_shape = {});

}  // namespace convmtx
