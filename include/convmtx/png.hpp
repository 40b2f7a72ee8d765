// PNG files through libpng: the one place convmtx calls libpng. Encodes Rasters (8- or 16-bit
// gray or RGB, no interlace) and RgbImages; decodes any PNG into a gray or RGB Raster.
//
// Reading refuses, with format_error naming the file, the value and the rule: a missing PNG
// signature; a header declaring a width or height above 2^20 or more than 2^30 pixels (checked
// before allocating, raster.hpp); decoded samples more than 1032 times the file's size (deflate
// cannot expand further); anything libpng reports (a bad CRC in a critical chunk, data that ends
// early). Files are written atomically and streamed (file.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "convmtx/file.hpp"
#include "convmtx/raster.hpp"
#include "convmtx/spy.hpp"  // spy_picture and heat_map were declared here before spy.hpp existed

namespace convmtx {

/// How read_png converts: gray_or_rgb keeps gray (1 channel) or makes RGB (3: palettes are
/// expanded), keeps 8 or 16 bits (gray below 8 bits becomes 8), drops alpha and transparency;
/// rgb8 also reduces 16-bit samples to their high byte and repeats gray into R, G and B.
enum class PngRead { gray_or_rgb, rgb8 };

/// Encodes `width` x `height` pixels of `channels` (1 or 3) samples of `bits` (8 or 16) bits
/// (Raster's layout) as PNG into `out`.
void encode_png(const std::uint8_t* samples, index_t width, index_t height, int channels, int bits, ByteSink& out);
/// Encodes a Raster (its maxval is not stored: PNG codes run to 2^bits - 1).
void encode_png(const Raster& raster, ByteSink& out);
/// Writes a Raster as a PNG file (atomically).
void write_png_file(const std::string& path, const Raster& raster);
/// Decodes a PNG file (a regular file, read through InputFile) or any ByteSource.
Raster read_png_file(const ByteSource& file, PngRead mode = PngRead::gray_or_rgb);
/// Decodes the PNG file at `path` (see InputFile).
Raster read_png_file(const std::string& path, PngRead mode = PngRead::gray_or_rgb);
/// Decodes the bytes of a PNG file, with the same rules; `what` names the source in errors.
Raster parse_png(const std::string& bytes, const std::string& what = "PNG data", PngRead mode = PngRead::gray_or_rgb);

/// The PNG bytes of `image` (8-bit RGB, no interlace).
std::string rgb_png_bytes(const RgbImage& image);
/// Writes `image` as PNG atomically (never a partial file).
void write_rgb_png(const std::string& path, const RgbImage& image);
/// Reads any PNG as 8-bit RGB (PngRead::rgb8: alpha dropped, 16-bit samples keep their high byte).
RgbImage read_rgb_png(const std::string& path);

}  // namespace convmtx
