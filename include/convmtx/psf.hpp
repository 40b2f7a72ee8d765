// Point-spread functions (blur kernels) for deconvolution: the Gaussian, linear-motion and
// out-of-focus disk PSFs, and the parser of their command-line form. A PSF acts on an image
// by true convolution, b = psf * x (as scipy.signal.convolve and scikit-image's restoration
// module use it); blur_operator in deconvolve.hpp turns it into the conv W of the library.
#pragma once

#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// A 2-D PSF: height x width values, row-major (row 0 at the top).
struct Psf {
    /// Rows of the kernel.
    index_t height = 0;
    /// Columns of the kernel.
    index_t width = 0;
    std::vector<double> values;  ///< values[r * width + c]
    std::string description;     ///< e.g. "gaussian 9x9 sigma=2"
};

/// size x size Gaussian exp(-((r-c)^2 + (s-c)^2) / (2 sigma^2)), c = (size-1)/2, normalised to
/// sum 1. config_error unless size >= 1 and sigma > 0 (finite).
Psf gaussian_psf(index_t size, double sigma);
/// Linear motion of `length` pixels at `angle_degrees` (0 = horizontal, counter-clockwise, y up):
/// length * 64 points evenly spaced on the segment of that length centred on the kernel's centre,
/// each added to its nearest pixel, normalised to sum 1 (angle 0: a row of 1/length; MATLAB's
/// fspecial('motion') gives the same row for odd lengths). The kernel is square with the
/// smallest odd size holding the segment. config_error unless 1 <= length <= 1024, angle finite.
Psf motion_psf(double length, double angle_degrees);
/// Uniform out-of-focus disk of `radius` pixels: (2 ceil(radius) + 1)^2 pixels, each weighted by
/// the fraction of its area inside the circle (16 x 16 samples), normalised to sum 1.
/// config_error unless 0 < radius <= 512.
Psf disk_psf(double radius);
/// Parses gaussian:SIZE:SIGMA, motion:LENGTH:ANGLE or disk:RADIUS (config_error naming the
/// text and the accepted forms otherwise).
Psf parse_psf(const std::string& text);
/// A PSF from explicit values (e.g. a .npy file): config_error when a value is NaN or Inf,
/// when the shape is empty or when the values sum to zero. Values are used as given.
Psf make_psf(index_t height, index_t width, std::vector<double> values, std::string description);

}  // namespace convmtx
