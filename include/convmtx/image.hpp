// Grayscale images for the inverse-problem examples: reading and writing PNG (png.hpp) and PGM
// (pgm.hpp) files, the Shepp-Logan phantom, PSNR, Gaussian kernels and simple resampling.
// Pixels are float in [0, 1], row-major (row 0 at the top).
#pragma once

#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// A grayscale image: height x width floats, row-major, nominal range [0, 1].
struct Image {
    index_t height = 0;         ///< rows
    index_t width = 0;          ///< columns
    std::vector<float> pixels;  ///< pixels[r * width + c]

    Image() = default;
    /// h x w pixels of `value`; config_error unless 0 <= h, w <= 2^20 and h * w <= 2^30 (raster.hpp's rule).
    Image(index_t h, index_t w, float value = 0.0f);
    /// The pixel at row r, column c.
    float& at(index_t r, index_t c) { return pixels[static_cast<size_t>(r * width + c)]; }
    /// The pixel at row r, column c.
    float at(index_t r, index_t c) const { return pixels[static_cast<size_t>(r * width + c)]; }
    /// Number of pixels: height * width.
    index_t size() const { return height * width; }
};

/// Reads a PNG (8 or 16 bit; gray, gray+alpha, RGB, RGBA or palette) or a PGM (P2 or P5,
/// maxval up to 65535), chosen by the file's magic bytes. Color is converted to gray by
/// Y = 0.2125 R + 0.7154 G + 0.0721 B (skimage's rgb2gray); alpha is ignored. Values are
/// divided by the maximum code (255, 65535 or the PGM maxval). Only regular files are read;
/// a file that breaks its format's rules (png.hpp, pgm.hpp) throws format_error, one that
/// cannot be opened io_error, both naming the file.
Image read_image(const std::string& path);
/// The same on the bytes of a PNG or PGM file; `what` names the source in errors.
Image parse_image(const std::string& bytes, const std::string& what = "image data");

/// Writes an 8-bit (bits = 8) or 16-bit (bits = 16) grayscale PNG; values are clipped to
/// [0, 1] and rounded: code = round(clip(v) * (2^bits - 1)). Written atomically (file.hpp).
void write_png(const std::string& path, const Image& image, int bits = 8);
/// Writes a binary PGM (P5) with maxval 255 (bits = 8) or 65535 (bits = 16), clipped and rounded.
void write_pgm(const std::string& path, const Image& image, int bits = 8);
/// write_pgm for a name ending in .pgm (any case), write_png otherwise.
void write_image(const std::string& path, const Image& image, int bits = 8);

/// The modified Shepp-Logan phantom (Toft's intensities 1, -0.8, -0.2, -0.2, 0.1 x 6, as in
/// MATLAB's phantom('Modified Shepp-Logan')) on an n x n grid covering [-1, 1]^2, y upwards:
/// each pixel is the mean over supersample x supersample points of the pixel's area, the point
/// (x, y) having the value clip(sum of the intensities of the ellipses containing it, 0, 1).
/// supersample = 1 samples pixel centres x = (2c + 1 - n)/n, y = (n - 2r - 1)/n (hard edges);
/// the default 4 gives the area-averaged (anti-aliased) image a camera would record.
/// Values are in [0, 1] (0.2 in the brain, 1 on the skull). n in [1, 32768] and supersample in
/// [1, 32] (config_error otherwise: the work is n^2 supersample^2 point samples).
Image shepp_logan(index_t n = 128, index_t supersample = 4);

/// PSNR = 10 log10(peak^2 / mean((a - ref)^2)) in dB; +inf when equal. Sizes must match.
double psnr(const Image& a, const Image& ref, double peak = 1.0);
/// The same on flat arrays of equal length.
double psnr(const float* a, const float* ref, index_t n, double peak = 1.0);

/// A size x size Gaussian, g[i][j] = exp(-((i-c)^2 + (j-c)^2) / (2 sigma^2)) / Z with
/// c = (size-1)/2 and Z making the sum 1. size in [1, 1024], sigma finite and > 0 (config_error otherwise).
std::vector<double> gaussian_kernel(index_t size, double sigma);

/// Downscale by an integer factor: each output pixel is the mean of a factor x factor block
/// (trailing rows/columns that do not fill a block are dropped).
Image downscale(const Image& image, index_t factor);
/// Upscale by pixel replication (nearest neighbour): out(r, c) = in(r / factor, c / factor).
Image upscale_nearest(const Image& image, index_t factor);
/// Every pixel clipped to [lo, hi] (NaN -> lo), as an 8- or 16-bit file stores it.
Image clipped(const Image& image, float lo = 0.0f, float hi = 1.0f);
/// Crops or zero-pads to height x width, keeping the top-left corner.
Image crop_or_pad(const Image& image, index_t height, index_t width);
/// The images side by side on one row, separated by `gap` columns of value `fill`;
/// shorter images are placed at the top. Heights may differ.
Image hconcat(const std::vector<Image>& images, index_t gap = 4, float fill = 1.0f);

}  // namespace convmtx
