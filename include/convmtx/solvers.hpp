// Iterative least-squares solvers on the LinearOperator interface (explicit W or the
// matrix-free kernels): LSQR, LSMR, CGLS and Landweber, with Tikhonov damping, an optional
// finite-difference gradient regularizer and an automatic choice of the regularization weight.
// Every solver minimizes
//     ||A x - b||^2 + damp^2 ||x||^2 + mu^2 ||D x||^2
// where D stacks the forward differences of x along each spatial dimension of the model
// (gradient_operator.hpp) and mu = SolverOptions::gradient_weight.
// A transposed convolution W^T b is not a solution of this problem: it undoes the shape
// change of W, not its effect. These solvers use W^T only as the adjoint.
// Deconvolution of observed images (deconvolve.hpp) adds PSFs, TV by a primal-dual method, the
// FFT solve for periodic boundaries, a circulant preconditioner and SSIM.
// This header gathers the solver headers; see docs/solvers.md.
#pragma once

#include "convmtx/cgls.hpp"
#include "convmtx/choose_lambda.hpp"
#include "convmtx/deconvolve.hpp"
#include "convmtx/fft_deconv.hpp"
#include "convmtx/gradient_operator.hpp"
#include "convmtx/landweber.hpp"
#include "convmtx/lsmr.hpp"
#include "convmtx/lsqr.hpp"
#include "convmtx/metrics.hpp"
#include "convmtx/noise_estimate.hpp"
#include "convmtx/pcgls.hpp"
#include "convmtx/preconditioner.hpp"
#include "convmtx/primal_dual.hpp"
#include "convmtx/psf.hpp"
#include "convmtx/norm_bound.hpp"
#include "convmtx/solver_types.hpp"
#include "convmtx/stacked_operator.hpp"
