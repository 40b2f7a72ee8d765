// Spy pictures, heat maps and their colors (see spy.hpp).
#include "convmtx/spy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "convmtx/detail/checked.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

/// `n` pixels per entry times `count` entries, when the product is at most 2^20 (raster.hpp's side
/// limit); config_error naming `what` otherwise, without overflowing.
index_t picture_side(index_t count, index_t n, const char* what) {
    if (n > kMaxImageSide || count > kMaxImageSide / std::max<index_t>(n, 1))
        throw config_error(std::string(what) + ": " + std::to_string(count) + " x " + std::to_string(n) +
                           " pixels is larger than a picture may be (at most 2^20 pixels per side and 2^30 in all)");
    return count * n;
}

}  // namespace

Rgb tap_color(index_t tap) {
    static const Rgb palette[12] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {188, 189, 34},
                                    {23, 190, 207},  {0, 0, 128},   {128, 128, 0},   {0, 128, 128}};
    return palette[((tap % 12) + 12) % 12];
}

std::string hex_color(Rgb c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
    return buf;
}

Rgb heat_color(double t) {
    static const double stops[4][3] = {{255, 255, 204}, {254, 178, 76}, {240, 59, 32}, {128, 0, 38}};
    t = std::clamp(t, 0.0, 1.0) * 3;
    const int a = std::min(2, static_cast<int>(t));
    const double f = t - a;
    Rgb c;
    for (int i = 0; i < 3; ++i) c[i] = static_cast<std::uint8_t>(std::lround(stops[a][i] + f * (stops[a + 1][i] - stops[a][i])));
    return c;
}

SpyPicture spy_picture(index_t rows, index_t cols, const std::int64_t* outer, const std::int64_t* inner,
                       const double* values, const SpyOptions& opt, const std::vector<index_t>* taps, index_t K) {
    const index_t nnz = rows > 0 ? outer[rows] : 0;
    if (rows == 0 || cols == 0) throw config_error("cannot draw an empty matrix (" + std::to_string(rows) + " x " + std::to_string(cols) + ")");
    if (opt.max_pixels < 16) throw config_error("max_pixels=" + std::to_string(opt.max_pixels) + " must be at least 16");
    if (opt.cell < 0) throw config_error("cell=" + std::to_string(opt.cell) + " must be >= 0 (0: chosen from max_pixels)");
    if (taps && static_cast<index_t>(taps->size()) != nnz)
        throw shape_error("spy_picture: " + std::to_string(taps->size()) + " taps for " + std::to_string(nnz) + " entries");
    const Rgb white{255, 255, 255}, outline{160, 160, 160};
    const index_t big = std::max<index_t>(rows, cols);
    SpyPicture pic;
    pic.density = opt.density || big > opt.max_pixels;
    if (!pic.density) {
        index_t cell = opt.cell > 0 ? opt.cell : std::clamp<index_t>(opt.max_pixels / big, 1, 24);
        pic.cell = cell;
        pic.image = RgbImage(picture_side(cols, cell, "spy_picture"), picture_side(rows, cell, "spy_picture"));
        const index_t fill = cell >= 4 ? cell - 1 : cell;
        for (index_t r = 0; r < rows; ++r)
            for (index_t k = outer[r]; k < outer[r + 1]; ++k) {
                Rgb c;
                if (taps && K > 0) {
                    const index_t t = (*taps)[static_cast<size_t>(k)];
                    c = t < 0 ? Rgb{0, 0, 0} : tap_color(t % K);
                } else {
                    const double v = values ? values[k] : 1.0;
                    c = v > 0 ? Rgb{31, 119, 180} : v < 0 ? Rgb{214, 39, 40} : Rgb{190, 190, 190};
                }
                for (index_t y = 0; y < fill; ++y)
                    for (index_t x = 0; x < fill; ++x) pic.image.set(inner[k] * cell + x, r * cell + y, c);
            }
        auto hline = [&](index_t y) {
            for (index_t x = 0; x < pic.image.width; ++x)
                if (pic.image.at(x, y) == white) pic.image.set(x, y, outline);
        };
        auto vline = [&](index_t x) {
            for (index_t y = 0; y < pic.image.height; ++y)
                if (pic.image.at(x, y) == white) pic.image.set(x, y, outline);
        };
        if (opt.row_block > 0 && opt.row_block < rows)
            for (index_t b = opt.row_block; b < rows; b += opt.row_block) hline(b * cell - 1);
        if (opt.col_block > 0 && opt.col_block < cols)
            for (index_t b = opt.col_block; b < cols; b += opt.col_block) vline(b * cell - 1);
        return pic;
    }
    // Density mode.
    index_t b = (big + opt.max_pixels - 1) / opt.max_pixels;
    index_t bh = b, bw = b;
    const index_t min_px = 64;
    if ((rows + bh - 1) / bh < std::min<index_t>(rows, min_px)) bh = (rows + min_px - 1) / min_px;
    if ((cols + bw - 1) / bw < std::min<index_t>(cols, min_px)) bw = (cols + min_px - 1) / min_px;
    bh = std::max<index_t>(bh, 1);
    bw = std::max<index_t>(bw, 1);
    const index_t H = (rows + bh - 1) / bh, Wd = (cols + bw - 1) / bw;
    pic.rows_per_pixel = bh;
    pic.cols_per_pixel = bw;
    if (H > kMaxImagePixels / picture_side(Wd, 1, "spy_picture (density)"))  // before counting into H x Wd cells
        throw config_error("spy_picture (density): " + std::to_string(Wd) + " x " + std::to_string(H) +
                           " pixels is larger than a picture may be (at most 2^20 pixels per side and 2^30 in all)");
    std::vector<index_t> count(static_cast<size_t>(H * Wd), 0);
    for (index_t r = 0; r < rows; ++r)
        for (index_t k = outer[r]; k < outer[r + 1]; ++k) ++count[static_cast<size_t>((r / bh) * Wd + inner[k] / bw)];
    pic.max_count = *std::max_element(count.begin(), count.end());
    pic.image = RgbImage(Wd, H);
    const double denom = std::log1p(static_cast<double>(std::max<index_t>(pic.max_count, 1)));
    for (index_t y = 0; y < H; ++y)
        for (index_t x = 0; x < Wd; ++x) {
            const index_t n = count[static_cast<size_t>(y * Wd + x)];
            if (n > 0) pic.image.set(x, y, heat_color(std::log1p(static_cast<double>(n)) / denom));
        }
    // Block outlines when they are at least 4 pixels apart.
    if (opt.row_block > 0 && opt.row_block / bh >= 4)
        for (index_t r = opt.row_block; r < rows; r += opt.row_block)
            for (index_t x = 0; x < Wd; ++x)
                if (pic.image.at(x, r / bh) == white) pic.image.set(x, r / bh, outline);
    if (opt.col_block > 0 && opt.col_block / bw >= 4)
        for (index_t c = opt.col_block; c < cols; c += opt.col_block)
            for (index_t y = 0; y < H; ++y)
                if (pic.image.at(c / bw, y) == white) pic.image.set(c / bw, y, outline);
    return pic;
}

SpyPicture spy_picture(const CsrMatrix& M, const SpyOptions& opt, const std::vector<index_t>* taps, index_t K) {
    if (!M.isCompressed()) {
        CsrMatrix C = M;
        C.makeCompressed();
        return spy_picture(C, opt, taps, K);
    }
    return spy_picture(M.rows(), M.cols(), M.outerIndexPtr(), M.innerIndexPtr(), M.valuePtr(), opt, taps, K);
}

RgbImage heat_map(const std::vector<index_t>& values, index_t height, index_t width, index_t cell) {
    index_t cells = 0;
    if (height < 0 || width < 0 || !detail::mul_fits(height, width, &cells) ||
        static_cast<index_t>(values.size()) != cells)
        throw shape_error("heat_map: " + std::to_string(values.size()) + " values for a " + std::to_string(height) + "x" +
                          std::to_string(width) + " grid");
    if (cell < 1) throw config_error("heat_map: cell=" + std::to_string(cell) + " must be at least 1");
    RgbImage img(picture_side(width, cell, "heat_map"), picture_side(height, cell, "heat_map"));
    const auto [lo_it, hi_it] = std::minmax_element(values.begin(), values.end());
    const double lo = static_cast<double>(*lo_it), hi = static_cast<double>(*hi_it);
    for (index_t y = 0; y < height; ++y)
        for (index_t x = 0; x < width; ++x) {
            const double v = static_cast<double>(values[static_cast<size_t>(y * width + x)]);
            const Rgb c = heat_color(hi > lo ? (v - lo) / (hi - lo) : 0.0);
            for (index_t dy = 0; dy < cell; ++dy)
                for (index_t dx = 0; dx < cell; ++dx) img.set(x * cell + dx, y * cell + dy, c);
        }
    return img;
}

}  // namespace convmtx
