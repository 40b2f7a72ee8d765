// Deconvolution of an observed image b with a known PSF: the forward model W (true convolution
// with the PSF, output the size of the input, boundary = the padding mode of the conv), a
// penalty (Tikhonov, gradient, isotropic or anisotropic TV), optional bounds, the weight lambda
// given or chosen by the discrepancy principle, and a solver:
//   fft          periodic boundary, quadratic penalty, no bounds: exact (fft_deconv.hpp)
//   pcgls        quadratic penalty, no bounds: CGLS with Strang's circulant preconditioner
//   cgls, lsqr, lsmr  quadratic penalty, no bounds: unpreconditioned, on [W; lambda L]
//   primal-dual  any penalty, bounds allowed: Chambolle-Pock (primal_dual.hpp)
// method "" picks primal-dual for TV or bounds, fft for periodic, pcgls for zeros and cgls for
// reflect and replicate (whose blur Strang's circulant approximates worse than the identity does).
// The discrepancy principle (Morozov): lambda such that ||W x_lambda - b|| = tau sigma sqrt(m),
// m = number of pixels, sigma the noise level given or estimated by estimate_noise_sigma. For TV
// it is corrected by the degrees of freedom of the fit, df(lambda) = div_b (W x_lambda(b)) (the
// trace of the influence matrix for a linear fit): ||W x_lambda - b||^2 + sigma^2 df = (tau sigma)^2 m,
// since E||W x_lambda - b||^2 = sigma^2 (m - df) for a fit without bias (Stein 1981; df by the
// Monte-Carlo divergence of Ramani, Blu & Unser 2008); the plain rule oversmooths TV (measured,
// docs/solvers.md: the default `convmtx solve` 23.55 dB plain, 25.45 dB corrected; the camera
// image of bench/bench_deblur.py 25.42 and 25.55 dB).
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convmtx/operator.hpp"
#include "convmtx/primal_dual.hpp"
#include "convmtx/psf.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// W of a height x width image blurred by `psf` with the given boundary: a conv with weight the
/// flipped PSF (so W x = psf * x, true convolution), padding (kh-1)/2, (kw-1)/2 before and
/// kh/2, kw/2 after (PyTorch's 'same'), padding_mode = boundary. zeros assumes a black scene
/// outside the image, circular (periodic) a scene that repeats, reflect a mirror (without
/// repeating the edge pixel), replicate the edge pixels extended. The adjoint is W^T of the
/// explicit matrix, exact for each. Model shape (1, h, w), data shape (1, h, w).
template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> blur_operator(const Psf& psf, index_t height, index_t width,
                                                      PaddingMode boundary);

/// The differences D of the gradient and TV penalties: periodic forward differences (a circular
/// conv with kernels [-1, 1], data shape (2, 1, h, w)) for boundary circular, so that the FFT
/// diagonalises them; otherwise gradient_operator's (the difference across the last row and
/// column is 0). ||D||^2 <= 8.
template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> difference_operator(index_t height, index_t width, PaddingMode boundary);

/// The settings of deconvolve: the boundary, the penalty and its weight or how to choose it,
/// the bounds and the solver.
struct DeconvolveOptions {
    /// The scene outside the image (blur_operator): zeros, circular, reflect or replicate.
    PaddingMode boundary = PaddingMode::zeros;
    /// The penalty R (primal_dual.hpp).
    Prior regularizer = Prior::tikhonov;
    double lambda = -1;  ///< < 0: chosen by the discrepancy principle
    double noise = -1;   ///< noise standard deviation per pixel; <= 0: estimated from b
    double tau = 1.0;    ///< discrepancy safety factor (>= 0.5)
    double lower = -std::numeric_limits<double>::infinity();  ///< bounds on every pixel
    /// Upper bound on every pixel (+infinity: none); lower <= upper, else config_error.
    double upper = std::numeric_limits<double>::infinity();
    std::string method;  ///< "", fft, pcgls, cgls, lsqr, lsmr, primal-dual
    index_t iter_lim = -1;  ///< < 0: 2n for the least-squares solvers, 500 for primal-dual
    double tol = -1;        ///< < 0: 1e-6 (rtol of pcgls/cgls; atol = btol of lsqr/lsmr), 1e-4 (primal-dual)
    IterationCallback callback{};  ///< iterations of the final solve
    ProgressCallback progress{};   ///< trial solves of the lambda search (task "deconvolve")
};

template <class Scalar>
/// What deconvolve returns: the restored image, lambda and how it was chosen, and the final solve.
struct DeconvolveResult {
    Vector<Scalar> x;           ///< the restored image, row-major height x width
    /// The weight of the penalty in the final solve (given or chosen).
    double lambda = 0;
    /// "given", "discrepancy (noise given)", "discrepancy (noise estimated by MAD)"; for TV
    /// "discrepancy with degrees of freedom (noise given)" or "... (noise estimated by MAD)"
    std::string lambda_rule;
    double noise = 0;           ///< sigma used by the rule (given or estimated); 0 when lambda was given
    double target = 0;          ///< tau sigma sqrt(m) aimed at (TV: by sqrt(||W x - b||^2 + sigma^2 df))
    double degrees_of_freedom = 0;  ///< TV with lambda chosen: df at the trial nearest the chosen lambda; else 0
    index_t lambda_trials = 0;  ///< solves made while searching lambda (TV: two per lambda examined)
    /// Non-empty when the discrepancy target was unreachable (the model does not fit b): what was
    /// done instead (see deconvolve.cpp's discrepancy_search) and what to check.
    std::string lambda_note;
    std::string method;         ///< the solver actually used
    index_t iterations = 0;     ///< of the final solve
    /// The final solve met its tolerance (always true for fft, an exact solve).
    bool converged = true;
    /// Why the final solve stopped, e.g. "exact solve by the FFT".
    std::string stop_reason;
    std::vector<double> residual_history;  ///< ||W x_k - b|| (primal-dual: at the extrapolated point)
    double residual_norm = 0;   ///< ||W x - b|| of the result
    /// Wall-clock time of the whole call, lambda search included.
    double seconds = 0;
    /// primal-dual: the bound of ||[W; D]|| behind its steps (||W|| certified by convmtx::spectrum
    /// for the configuration, ||D||^2 <= 8), and how it was obtained.
    std::optional<NormBound> step_norm;
};

/// Restores x from b = W x + noise (b: height x width, row-major). Errors: shape_error (b's size),
/// config_error (an option, a NaN or Inf in b, a PSF larger than the image for periodic or a
/// reflect pad not smaller than the image, method/regularizer/bounds combinations).
template <class Scalar>
DeconvolveResult<Scalar> deconvolve(const Vector<Scalar>& b, index_t height, index_t width, const Psf& psf,
                                    const DeconvolveOptions& options = {});

}  // namespace convmtx
