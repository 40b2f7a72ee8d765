// Circulant preconditioners for deblurring (Strang's, as in Hanke, Nagy & Plemmons,
// "Preconditioned iterative regularization for ill-posed problems", 1993): the blur with any
// boundary is approximated by the periodic blur with the same PSF (the circulant keeping the
// central diagonals of the Toeplitz-like W), the differences by the periodic differences, and
// M = (C^T C + lambda^2 L_per^T L_per)^-1 is applied by two FFTs (fft_deconv.hpp).
#pragma once

#include <memory>

#include "convmtx/fft_deconv.hpp"
#include "convmtx/pcgls.hpp"

namespace convmtx {

/// M for min ||W x - b||^2 + lambda^2 ||L x||^2 on a height x width image blurred by `psf`
/// (L = I for Tikhonov, the differences for gradient). config_error when the PSF is larger than
/// the image; lambda must be finite and >= 0 (0 uses a floor of 1e-14 of the largest |C^|^2).
template <class Scalar>
Preconditioner<Scalar> strang_preconditioner(const Psf& psf, index_t height, index_t width,
                                             Regularizer regularizer, double lambda);

}  // namespace convmtx
