// Image-quality metrics of a restoration against a reference: PSNR and the structural
// similarity index SSIM of Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from
// error visibility to structural similarity", IEEE TIP 13(4), 2004.
#pragma once

#include "convmtx/spec.hpp"

namespace convmtx {

/// Mean SSIM of two height x width row-major images with an 11 x 11 Gaussian window
/// (sigma 1.5, weights normalised), K1 = 0.01, K2 = 0.03, L = data_range:
///   SSIM(p) = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2)),
/// C1 = (K1 L)^2, C2 = (K2 L)^2, the local moments being Gaussian-weighted (population)
/// moments; the mean is over the pixels at least 5 from every edge, where the window fits.
/// Equals skimage.metrics.structural_similarity(a, b, data_range=L, gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False). shape_error when an image is smaller than 11 x 11.
double ssim(const float* a, const float* b, index_t height, index_t width, double data_range = 1.0);
/// The same for double images.
double ssim(const double* a, const double* b, index_t height, index_t width, double data_range = 1.0);

/// PSNR = 10 log10(data_range^2 / mean((a - b)^2)) dB; +inf when equal.
double psnr_db(const float* a, const float* b, index_t n, double data_range = 1.0);
/// The same for double images.
double psnr_db(const double* a, const double* b, index_t n, double data_range = 1.0);

}  // namespace convmtx
