// The exact O(n log n) solve of the regularized deblurring problem with periodic boundaries:
// a circular convolution K (the W of a PSF with padding mode circular, boundary 'periodic') and
// the periodic forward differences L are both diagonalised by the 2-D DFT F, so
//     x_lambda = argmin ||K x - b||^2 + lambda^2 ||L x||^2 = F^-1 [conj(K^) b^ / (|K^|^2 + lambda^2 |L^|^2)]
// with K^ the DFT of the PSF wrapped around the origin, |L^|^2 = 1 (Tikhonov, L = I) or
// 4 sin^2(pi k/h) + 4 sin^2(pi l/w) (gradient). Frequencies where the denominator is below
// 1e-14 of its largest value are set to zero (the minimum-norm solution).
// The FFT is Eigen's unsupported FFT module (kissfft back end, header-only, MPL-2.0); FFTW3 is
// faster on large images but GPL-2.0+, which would bind every program linking convmtx::solvers.
// Reference: Hansen, Nagy & O'Leary, "Deblurring Images: Matrices, Spectra, and Filtering",
// SIAM 2006, ch. 4-5.
#pragma once

#include <complex>
#include <vector>

#include "convmtx/psf.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// K and L of a height x width image diagonalised once; each solve costs two FFTs.
class PeriodicDeconvolver {
public:
    /// A 2-D DFT: height * width complex values, row-major.
    using Spectrum = std::vector<std::complex<double>>;
    /// config_error when the PSF is larger than the image.
    PeriodicDeconvolver(const Psf& psf, index_t height, index_t width, Regularizer regularizer);

    /// The image height.
    index_t height() const { return h_; }
    /// The image width.
    index_t width() const { return w_; }
    /// The (unnormalised) 2-D DFT of a row-major image.
    Spectrum transform(const double* image) const;
    /// x_lambda of the header, written to x (height * width values).
    void solve(const Spectrum& b_hat, double lambda, double* x) const;
    /// ||K x_lambda - b|| by Parseval, without forming x_lambda.
    double residual_norm(const Spectrum& b_hat, double lambda) const;
    /// The lambda with residual_norm = target (bisection on log lambda, relative accuracy 1e-6);
    /// the nearest end of [1e-10, 1e6] when the target is out of reach.
    double discrepancy_lambda(const Spectrum& b_hat, double target) const;
    /// z = (K^T K + lambda^2 L^T L)^-1 r (the circulant preconditioner's action).
    void apply_inverse(const double* r, double lambda, double* z) const;
    /// K x (the periodic blur), for checks.
    void apply(const double* x, double* y) const;

private:
    void filter(const Spectrum& in, double lambda, bool with_adjoint, double* out) const;
    index_t h_, w_;
    Spectrum k_hat_;
    std::vector<double> k2_, l2_;
    double floor_scale_ = 0;
};

}  // namespace convmtx
