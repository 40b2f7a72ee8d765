// Pictures of sparse matrices (spy plots) and of count grids (heat maps), drawn on RgbImage
// canvases (raster.hpp); png.hpp writes them as PNG files.
//
// Spy plot, entry mode (max(rows, cols) <= max_pixels): entry (r, c) is a
// cell of `cell` x `cell` pixels at x = c*cell, y = r*cell; when cell >= 4 its
// last pixel row and column stay white as a gap. The pixel
// (c*cell + cell/2, r*cell + cell/2) has the entry's color:
//   - with taps: tap_color(t mod K), t = flat weight index, K = taps per kernel,
//     i.e. the spatial tap; black (0,0,0) where a padding mode folds several taps;
//   - without taps: positive values (31,119,180), negative (214,39,40), stored zeros (190,190,190).
// Empty cells are white. Channel-block outlines (160,160,160) are drawn on the
// pixel line just before each block boundary, only over white pixels.
//
// Density mode (larger matrices): each pixel aggregates a block of
// rows_per_pixel x cols_per_pixel entries; its color is heat_color(log(1+n)/log(1+max n))
// for n > 0 stored entries, white for none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convmtx/csr.hpp"
#include "convmtx/raster.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// The 12-color tap palette: tap_color(t) = palette[t mod 12], palette[0..11] =
/// (31,119,180) (255,127,14) (44,160,44) (214,39,40) (148,103,189) (140,86,75)
/// (227,119,194) (188,189,34) (23,190,207) (0,0,128) (128,128,0) (0,128,128).
Rgb tap_color(index_t tap);
/// "#1f77b4"-style hex of a color.
std::string hex_color(Rgb c);
/// Heat scale for t in [0, 1]: linear through (255,255,204) (254,178,76) (240,59,32) (128,0,38) at t = 0, 1/3, 2/3, 1.
Rgb heat_color(double t);

/// How spy_picture draws: size, entry cells or density, channel-block outlines.
struct SpyOptions {
    index_t max_pixels = 1200;  ///< larger matrices are drawn in density mode
    index_t cell = 0;           ///< pixels per entry in entry mode; 0: min(24, max_pixels / max(rows, cols))
    bool density = false;       ///< force density mode
    index_t row_block = 0;      ///< outline every row_block rows (0: none)
    index_t col_block = 0;      ///< outline every col_block columns (0: none)
};

/// A drawn spy picture with how it was drawn.
struct SpyPicture {
    RgbImage image;                                   ///< the picture
    bool density = false;                             ///< drawn in density mode
    index_t cell = 0;                                 ///< entry mode: pixels per entry
    index_t rows_per_pixel = 1;                       ///< density mode: rows per pixel
    index_t cols_per_pixel = 1;                       ///< density mode: columns per pixel
    index_t max_count = 0;                            ///< density mode: entries in the fullest pixel
};

/// The spy picture of M; `taps` (one per stored entry of M in row-major order, -1 folded) and
/// `kernel_taps` (K) color entries by spatial tap; without them entries are colored by sign.
/// A picture larger than 2^20 pixels per side or 2^30 in all (a large `cell`, or density cells
/// from a large max_pixels) is refused with config_error before anything is allocated.
SpyPicture spy_picture(const CsrMatrix& M, const SpyOptions& options = {}, const std::vector<index_t>* taps = nullptr,
                       index_t kernel_taps = 0);

/// The same on raw CSR arrays (outer: rows + 1 offsets); values may be null (entries drawn as positive).
SpyPicture spy_picture(index_t rows, index_t cols, const std::int64_t* outer, const std::int64_t* inner,
                       const double* values, const SpyOptions& options = {}, const std::vector<index_t>* taps = nullptr,
                       index_t kernel_taps = 0);

/// A heat map of a grid of counts (height x width, row-major): each value is a cell x cell
/// square colored heat_color((v - lo)/(hi - lo)) with lo, hi the grid's min and max (all
/// cells heat_color(0) when they are equal). config_error for a picture beyond RgbImage's size rule.
RgbImage heat_map(const std::vector<index_t>& values, index_t height, index_t width, index_t cell);

}  // namespace convmtx
