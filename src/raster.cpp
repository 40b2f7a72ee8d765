// Pixel buffers and the image size rule (see raster.hpp).
#include "convmtx/raster.hpp"

#include <algorithm>

#include "convmtx/errors.hpp"

namespace convmtx {

void check_image_size(index_t width, index_t height, const std::string& what) {
    const std::string size = std::to_string(width) + " x " + std::to_string(height);
    if (width < 1 || height < 1) throw format_error(what + ": image size " + size + " must be at least 1 x 1");
    if (width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels)
        throw format_error(what + ": image size " + size +
                           " is larger than images are read (at most 2^20 pixels per side and 2^30 in all)");
}

RgbImage::RgbImage(index_t w, index_t h, Rgb fill) : width(w), height(h) {
    if (w <= 0 || h <= 0)
        throw config_error("image size " + std::to_string(w) + "x" + std::to_string(h) + " must be positive");
    if (w > kMaxImageSide || h > kMaxImageSide || w * h > kMaxImagePixels)
        throw config_error("image size " + std::to_string(w) + "x" + std::to_string(h) + " is too large (at most 2^30 pixels)");
    pixels.resize(static_cast<size_t>(w * h * 3));
    for (size_t p = 0; p < pixels.size(); p += 3) std::copy(fill.begin(), fill.end(), pixels.begin() + p);
}

Rgb RgbImage::at(index_t x, index_t y) const {
    const size_t o = static_cast<size_t>((y * width + x) * 3);
    return {pixels[o], pixels[o + 1], pixels[o + 2]};
}

void RgbImage::set(index_t x, index_t y, Rgb c) {
    const size_t o = static_cast<size_t>((y * width + x) * 3);
    pixels[o] = c[0];
    pixels[o + 1] = c[1];
    pixels[o + 2] = c[2];
}

}  // namespace convmtx
