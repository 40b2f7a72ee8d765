// Pixel buffers: Raster, the samples an image file holds (gray or RGB, 8 or 16 bits), and
// RgbImage, the 8-bit RGB canvas pictures are drawn on; plus the image size rule readers apply.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// The largest image a reader accepts, and RgbImage allocates: at most 2^20 pixels per side and
/// 2^30 pixels in all. Readers check the header against it before allocating.
constexpr index_t kMaxImageSide = index_t{1} << 20;
/// At most 2^30 pixels in all (see kMaxImageSide).
constexpr index_t kMaxImagePixels = index_t{1} << 30;

/// Throws format_error naming `what` unless 1 <= width, height <= 2^20 and width * height <= 2^30.
void check_image_size(index_t width, index_t height, const std::string& what);

/// Samples as image files store them: height rows of width pixels of `channels` samples, row 0 at
/// the top; 16-bit samples take 2 bytes, most significant first (PNG's and PGM's order).
struct Raster {
    index_t width = 0;           ///< pixels per row
    index_t height = 0;          ///< rows
    int channels = 1;            ///< 1 gray, 3 RGB
    int bits = 8;                ///< 8 or 16 bits per sample
    std::uint32_t maxval = 255;  ///< the largest code: 2^bits - 1 for PNG, the header's maxval for PGM
    std::vector<std::uint8_t> samples;  ///< height * width * channels samples, row by row

    /// Sample c of pixel (x, y).
    unsigned sample(index_t x, index_t y, int c = 0) const {
        const size_t i = (static_cast<size_t>(y * width + x) * static_cast<size_t>(channels) + static_cast<size_t>(c));
        return bits == 16 ? (unsigned{samples[2 * i]} << 8 | samples[2 * i + 1]) : samples[i];
    }
};

/// An 8-bit RGB colour.
using Rgb = std::array<std::uint8_t, 3>;

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
struct RgbImage {
    index_t width = 0;                 ///< pixels per row
    index_t height = 0;                ///< rows
    std::vector<std::uint8_t> pixels;  ///< (y * width + x) * 3 + channel
    RgbImage() = default;
    /// A w x h image filled with `fill`; config_error unless 1 <= w, h <= 2^20 and w * h <= 2^30.
    RgbImage(index_t w, index_t h, Rgb fill = {255, 255, 255});
    /// The colour of pixel (x, y).
    Rgb at(index_t x, index_t y) const;
    /// Sets pixel (x, y) to c.
    void set(index_t x, index_t y, Rgb c);
};

}  // namespace convmtx
