// Grayscale images: reading and writing through the PNG and PGM codecs, the Shepp-Logan
// phantom, PSNR, Gaussian kernels and resampling (see image.hpp).
#include "convmtx/image.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/file.hpp"
#include "convmtx/pgm.hpp"
#include "convmtx/png.hpp"

namespace convmtx {

Image::Image(index_t h, index_t w, float value) : height(h), width(w) {
    if (h < 0 || w < 0)
        throw config_error("image size " + std::to_string(h) + "x" + std::to_string(w) + " must be non-negative");
    if (h > kMaxImageSide || w > kMaxImageSide || h * w > kMaxImagePixels)
        throw config_error("image size " + std::to_string(h) + "x" + std::to_string(w) +
                           " is too large (at most 2^20 pixels per side and 2^30 in all)");
    pixels.assign(static_cast<size_t>(h * w), value);
}

namespace {

float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : (std::isnan(v) ? 0.0f : v)); }

void check_bits(int bits) {
    if (bits != 8 && bits != 16) throw config_error("bits=" + std::to_string(bits) + " must be 8 or 16");
}

void check_image(const Image& image, const std::string& path) {
    if (image.height < 1 || image.width < 1 || static_cast<index_t>(image.pixels.size()) != image.size())
        throw shape_error("cannot write '" + path + "': image is " + std::to_string(image.height) + "x" +
                          std::to_string(image.width) + " with " + std::to_string(image.pixels.size()) + " pixels");
}

/// The gray Raster of `image`: code = round(clip(v) * (2^bits - 1)).
Raster to_raster(const Image& image, int bits) {
    Raster r;
    r.width = image.width;
    r.height = image.height;
    r.channels = 1;
    r.bits = bits;
    r.maxval = bits == 16 ? 65535u : 255u;
    r.samples.resize(static_cast<size_t>(image.size()) * static_cast<size_t>(bits / 8));
    for (index_t i = 0; i < image.size(); ++i) {
        const auto v = static_cast<unsigned>(std::lround(clip01(image.pixels[static_cast<size_t>(i)]) * static_cast<float>(r.maxval)));
        if (bits == 16) {
            r.samples[2 * static_cast<size_t>(i)] = static_cast<std::uint8_t>(v >> 8);
            r.samples[2 * static_cast<size_t>(i) + 1] = static_cast<std::uint8_t>(v & 0xff);
        } else {
            r.samples[static_cast<size_t>(i)] = static_cast<std::uint8_t>(v);
        }
    }
    return r;
}

/// Gray values in [0, 1]: code / maxval, color by Y = 0.2125 R + 0.7154 G + 0.0721 B.
Image from_raster(const Raster& r) {
    Image img(r.height, r.width);
    const double maxcode = r.maxval;
    for (index_t y = 0; y < r.height; ++y)
        for (index_t x = 0; x < r.width; ++x) {
            const double v = r.channels >= 3
                                 ? 0.2125 * r.sample(x, y, 0) + 0.7154 * r.sample(x, y, 1) + 0.0721 * r.sample(x, y, 2)
                                 : r.sample(x, y, 0);
            img.at(y, x) = static_cast<float>(v / maxcode);
        }
    return img;
}

}  // namespace

namespace {

Image decode_image(const ByteSource& file) {
    unsigned char head[8] = {0};
    const size_t got = file.read_at(0, head, 8);
    static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (got >= 8 && std::memcmp(head, png_signature, 8) == 0) return from_raster(read_png_file(file));
    if (got >= 2 && head[0] == 'P' && (head[1] == '2' || head[1] == '5')) return from_raster(read_pgm_file(file));
    throw format_error(file.name() + " is neither a PNG nor a PGM (P2/P5) file");
}

}  // namespace

Image read_image(const std::string& path) { return decode_image(InputFile(path)); }

Image parse_image(const std::string& bytes, const std::string& what) { return decode_image(MemoryInput(bytes, what)); }

void write_png(const std::string& path, const Image& image, int bits) {
    check_bits(bits);
    check_image(image, path);
    write_png_file(path, to_raster(image, bits));
}

void write_pgm(const std::string& path, const Image& image, int bits) {
    check_bits(bits);
    check_image(image, path);
    write_pgm_file(path, to_raster(image, bits));
}

void write_image(const std::string& path, const Image& image, int bits) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.size() >= 4 && lower.compare(lower.size() - 4, 4, ".pgm") == 0) write_pgm(path, image, bits);
    else write_png(path, image, bits);
}

Image shepp_logan(index_t n, index_t supersample) {
    if (n < 1 || n > kMaxImageSide / 32)
        throw config_error("phantom size n=" + std::to_string(n) + " must be in [1, 32768]");
    if (supersample < 1 || supersample > 32)
        throw config_error("phantom supersample=" + std::to_string(supersample) + " must be in [1, 32]");
    struct Ellipse {
        double A, a, b, x0, y0, phi;
    };
    static const Ellipse E[] = {
        {1.0, .69, .92, 0, 0, 0},           {-.8, .6624, .8740, 0, -.0184, 0}, {-.2, .1100, .3100, .22, 0, -18},
        {-.2, .1600, .4100, -.22, 0, 18},   {.1, .2100, .2500, 0, .35, 0},     {.1, .0460, .0460, 0, .1, 0},
        {.1, .0460, .0460, 0, -.1, 0},      {.1, .0460, .0230, -.08, -.605, 0}, {.1, .0230, .0230, 0, -.606, 0},
        {.1, .0230, .0460, .06, -.605, 0},
    };
    const double pi = std::acos(-1.0);
    const index_t N = n * supersample;
    auto value = [&](index_t r, index_t c) {  // point sample of the fine N x N grid
        const double Nd = static_cast<double>(N), cd = static_cast<double>(c), rd = static_cast<double>(r);
        const double x = (2.0 * cd + 1 - Nd) / Nd, y = (Nd - 2.0 * rd - 1) / Nd;
        double v = 0;
        for (const auto& e : E) {
            const double t = e.phi * pi / 180, dx = x - e.x0, dy = y - e.y0;
            const double u = dx * std::cos(t) + dy * std::sin(t), w = -dx * std::sin(t) + dy * std::cos(t);
            if (u * u / (e.a * e.a) + w * w / (e.b * e.b) <= 1.0) v += e.A;
        }
        return std::clamp(v, 0.0, 1.0);
    };
    Image img(n, n);
    for (index_t r = 0; r < n; ++r)
        for (index_t c = 0; c < n; ++c) {
            double s = 0;
            for (index_t i = 0; i < supersample; ++i)
                for (index_t j = 0; j < supersample; ++j) s += value(r * supersample + i, c * supersample + j);
            img.at(r, c) = static_cast<float>(s / static_cast<double>(supersample * supersample));
        }
    return img;
}

double psnr(const float* a, const float* ref, index_t n, double peak) {
    if (n < 1) throw shape_error("psnr: images are empty");
    double s = 0;
    for (index_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(a[i]) - ref[i];
        s += d * d;
    }
    const double mse = s / static_cast<double>(n);
    if (mse == 0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(peak * peak / mse);
}

double psnr(const Image& a, const Image& ref, double peak) {
    if (a.height != ref.height || a.width != ref.width)
        throw shape_error("psnr: image is " + std::to_string(a.height) + "x" + std::to_string(a.width) +
                          " but the reference is " + std::to_string(ref.height) + "x" + std::to_string(ref.width));
    return psnr(a.pixels.data(), ref.pixels.data(), a.size(), peak);
}

std::vector<double> gaussian_kernel(index_t size, double sigma) {
    if (size < 1 || size > 1024) throw config_error("kernel size=" + std::to_string(size) + " must be in [1, 1024]");
    if (!(sigma > 0) || !std::isfinite(sigma))
        throw config_error("kernel sigma=" + std::to_string(sigma) + " must be finite and > 0");
    std::vector<double> g(static_cast<size_t>(size * size));
    const double c = static_cast<double>(size - 1) / 2.0;
    double z = 0;
    for (index_t i = 0; i < size; ++i)
        for (index_t j = 0; j < size; ++j) {
            const double di = static_cast<double>(i) - c, dj = static_cast<double>(j) - c;
            const double v = std::exp(-(di * di + dj * dj) / (2 * sigma * sigma));
            g[i * size + j] = v;
            z += v;
        }
    if (!(z > 0) || !std::isfinite(z) || !(2 * sigma * sigma > 0)) {
        // sigma so small that 2 sigma^2 or every value underflows: the limit, equal weights on the
        // pixels nearest the centre (the common factor exp(-d_min^2 / 2 sigma^2) divided out).
        double dmin = std::numeric_limits<double>::infinity();
        for (index_t i = 0; i < size; ++i)
            for (index_t j = 0; j < size; ++j) {
                const double di = static_cast<double>(i) - c, dj = static_cast<double>(j) - c;
                dmin = std::min(dmin, di * di + dj * dj);
            }
        z = 0;
        for (index_t i = 0; i < size; ++i)
            for (index_t j = 0; j < size; ++j) {
                const double di = static_cast<double>(i) - c, dj = static_cast<double>(j) - c;
                const double v = std::exp(-((di * di + dj * dj - dmin) / sigma) / sigma / 2);
                g[i * size + j] = v;
                z += v;
            }
    }
    for (auto& v : g) v /= z;
    return g;
}

Image downscale(const Image& image, index_t factor) {
    if (factor < 1) throw config_error("downscale factor=" + std::to_string(factor) + " must be >= 1");
    Image out(image.height / factor, image.width / factor);
    for (index_t r = 0; r < out.height; ++r)
        for (index_t c = 0; c < out.width; ++c) {
            double s = 0;
            for (index_t i = 0; i < factor; ++i)
                for (index_t j = 0; j < factor; ++j) s += image.at(r * factor + i, c * factor + j);
            out.at(r, c) = static_cast<float>(s / static_cast<double>(factor * factor));
        }
    return out;
}

Image upscale_nearest(const Image& image, index_t factor) {
    if (factor < 1) throw config_error("upscale factor=" + std::to_string(factor) + " must be >= 1");
    if (factor > kMaxImageSide) throw config_error("upscale factor=" + std::to_string(factor) + " must be <= 2^20");
    Image out(image.height * factor, image.width * factor);  // both factors <= 2^20: no overflow
    for (index_t r = 0; r < out.height; ++r)
        for (index_t c = 0; c < out.width; ++c) out.at(r, c) = image.at(r / factor, c / factor);
    return out;
}

Image clipped(const Image& image, float lo, float hi) {
    Image out = image;
    for (auto& v : out.pixels) v = std::isnan(v) ? lo : std::min(hi, std::max(lo, v));
    return out;
}

Image crop_or_pad(const Image& image, index_t height, index_t width) {
    Image out(height, width);
    for (index_t r = 0; r < std::min(height, image.height); ++r)
        for (index_t c = 0; c < std::min(width, image.width); ++c) out.at(r, c) = image.at(r, c);
    return out;
}

Image hconcat(const std::vector<Image>& images, index_t gap, float fill) {
    if (gap < 0 || gap > kMaxImageSide) throw config_error("hconcat: gap=" + std::to_string(gap) + " must be in [0, 2^20]");
    index_t h = 0, w = 0;
    for (size_t i = 0; i < images.size(); ++i) {
        h = std::max(h, images[i].height);
        w += images[i].width + (i ? gap : 0);
        if (w > kMaxImageSide) break;  // Image refuses it; the sum stays far from overflowing
    }
    Image out(h, w, fill);
    index_t x = 0;
    for (const auto& im : images) {
        for (index_t r = 0; r < im.height; ++r)
            for (index_t c = 0; c < im.width; ++c) out.at(r, x + c) = im.at(r, c);
        x += im.width + gap;
    }
    return out;
}

}  // namespace convmtx
