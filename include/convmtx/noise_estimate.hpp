// The standard deviation of white Gaussian noise in an image, estimated from the image alone
// (Donoho & Johnstone 1994): the median absolute value of the finest diagonal Haar wavelet
// coefficients divided by 0.6745. Blur leaves almost no signal in that band, so on a blurred
// image the estimate is close to the noise level.
#pragma once

#include "convmtx/spec.hpp"

namespace convmtx {

/// sigma = median |d| / 0.6745 over the coefficients
/// d = (x[2i,2j] - x[2i,2j+1] - x[2i+1,2j] + x[2i+1,2j+1]) / 2 of the height x width image
/// (a height of 1 uses the 1-D coefficients (x[2j] - x[2j+1]) / sqrt 2). shape_error when the
/// image has fewer than 2 pixels along a dimension longer than 1.
double estimate_noise_sigma(const double* x, index_t height, index_t width);

}  // namespace convmtx
