// Grayscale image I/O (libpng, PGM), the Shepp-Logan phantom, PSNR and kernels.
#include "convmtx/image.hpp"

#include <png.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "convmtx/errors.hpp"

namespace convmtx {

Image::Image(index_t h, index_t w, float value) : height(h), width(w) {
    if (h < 0 || w < 0)
        throw config_error("image size " + std::to_string(h) + "x" + std::to_string(w) + " must be non-negative");
    pixels.assign(static_cast<size_t>(h * w), value);
}

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const {
        if (f) std::fclose(f);
    }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_file(const std::string& path, const char* mode) {
    FilePtr f(std::fopen(path.c_str(), mode));
    if (!f)
        throw std::runtime_error("cannot open '" + path + "' for " + (mode[0] == 'r' ? "reading" : "writing") + ": " +
                                 std::strerror(errno));
    return f;
}

[[noreturn]] void png_fail(png_structp png, png_const_charp msg) {
    auto* buf = static_cast<std::string*>(png_get_error_ptr(png));
    if (buf) *buf = msg;
    png_longjmp(png, 1);
}
void png_warn(png_structp, png_const_charp) {}

float clip01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : (std::isnan(v) ? 0.0f : v)); }

Image read_png(const std::string& path) {
    FilePtr f = open_file(path, "rb");
    std::string err;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_fail, png_warn);
    if (!png) throw std::runtime_error("libpng: cannot create a read struct for '" + path + "'");
    png_infop info = png_create_info_struct(png);
    // Everything libpng may jump over is declared before setjmp.
    Image img;
    std::vector<png_byte> data;
    std::vector<png_bytep> rows;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        throw std::runtime_error("cannot read PNG '" + path + "': " + err);
    }
    png_init_io(png, f.get());
    png_read_info(png, info);
    const int color = png_get_color_type(png, info);
    const int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    const int channels = png_get_channels(png, info);
    const int bits = png_get_bit_depth(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    data.resize(rowbytes * h);
    rows.resize(h);
    for (png_uint_32 r = 0; r < h; ++r) rows[r] = data.data() + r * rowbytes;
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);

    img = Image(h, w);
    const double maxcode = bits == 16 ? 65535.0 : 255.0;
    for (png_uint_32 r = 0; r < h; ++r)
        for (png_uint_32 c = 0; c < w; ++c) {
            double ch[3] = {0, 0, 0};
            for (int k = 0; k < channels && k < 3; ++k) {
                const png_bytep p = rows[r] + (static_cast<size_t>(c) * channels + k) * (bits == 16 ? 2 : 1);
                ch[k] = bits == 16 ? (p[0] << 8 | p[1]) : p[0];
            }
            const double v = channels >= 3 ? 0.2125 * ch[0] + 0.7154 * ch[1] + 0.0721 * ch[2] : ch[0];
            img.at(r, c) = static_cast<float>(v / maxcode);
        }
    return img;
}

// PGM header token (skips whitespace and # comments).
long pgm_token(std::istream& in, const std::string& path, const char* what) {
    for (;;) {
        int ch = in.peek();
        if (ch == '#') {
            std::string line;
            std::getline(in, line);
        } else if (ch != EOF && std::isspace(ch)) {
            in.get();
        } else {
            break;
        }
    }
    long v = -1;
    if (!(in >> v) || v < 0) throw std::runtime_error("PGM '" + path + "': cannot read the " + what);
    return v;
}

Image read_pgm(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "' for reading: " + std::strerror(errno));
    char magic[2] = {0, 0};
    in.read(magic, 2);
    if (magic[0] != 'P' || (magic[1] != '2' && magic[1] != '5'))
        throw std::runtime_error("PGM '" + path + "': magic must be P2 or P5");
    const long w = pgm_token(in, path, "width"), h = pgm_token(in, path, "height");
    const long maxval = pgm_token(in, path, "maxval");
    if (maxval < 1 || maxval > 65535)
        throw std::runtime_error("PGM '" + path + "': maxval=" + std::to_string(maxval) + " must be in [1, 65535]");
    Image img(h, w);
    if (magic[1] == '5') {
        in.get();  // the single whitespace after maxval
        const int bytes = maxval > 255 ? 2 : 1;
        std::vector<unsigned char> buf(static_cast<size_t>(w * h * bytes));
        in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
        if (static_cast<size_t>(in.gcount()) != buf.size())
            throw std::runtime_error("PGM '" + path + "': file ends after " + std::to_string(in.gcount()) + " of " +
                                     std::to_string(buf.size()) + " pixel bytes");
        for (index_t i = 0; i < img.size(); ++i) {
            const unsigned v = bytes == 2 ? (buf[2 * i] << 8 | buf[2 * i + 1]) : buf[i];
            img.pixels[i] = static_cast<float>(v / static_cast<double>(maxval));
        }
    } else {
        for (index_t i = 0; i < img.size(); ++i) {
            long v = -1;
            if (!(in >> v) || v < 0 || v > maxval)
                throw std::runtime_error("PGM '" + path + "': pixel " + std::to_string(i) + " is missing or outside [0, " +
                                         std::to_string(maxval) + "]");
            img.pixels[i] = static_cast<float>(v / static_cast<double>(maxval));
        }
    }
    return img;
}

void check_bits(int bits) {
    if (bits != 8 && bits != 16) throw config_error("bits=" + std::to_string(bits) + " must be 8 or 16");
}

void check_image(const Image& image, const std::string& path) {
    if (image.height < 1 || image.width < 1 || static_cast<index_t>(image.pixels.size()) != image.size())
        throw shape_error("cannot write '" + path + "': image is " + std::to_string(image.height) + "x" +
                          std::to_string(image.width) + " with " + std::to_string(image.pixels.size()) + " pixels");
}

}  // namespace

Image read_image(const std::string& path) {
    unsigned char head[8] = {0};
    {
        FilePtr f = open_file(path, "rb");
        const size_t got = std::fread(head, 1, 8, f.get());
        if (got >= 8 && png_sig_cmp(head, 0, 8) == 0) return read_png(path);
        if (got >= 2 && head[0] == 'P' && (head[1] == '2' || head[1] == '5')) return read_pgm(path);
    }
    throw std::runtime_error("'" + path + "' is neither a PNG nor a PGM (P2/P5) file");
}

void write_png(const std::string& path, const Image& image, int bits) {
    check_bits(bits);
    check_image(image, path);
    const double maxcode = bits == 16 ? 65535.0 : 255.0;
    const size_t bpp = bits == 16 ? 2 : 1;
    std::vector<png_byte> data(static_cast<size_t>(image.size()) * bpp);
    for (index_t i = 0; i < image.size(); ++i) {
        const unsigned v = static_cast<unsigned>(std::lround(clip01(image.pixels[i]) * maxcode));
        if (bits == 16) {
            data[2 * i] = static_cast<png_byte>(v >> 8);
            data[2 * i + 1] = static_cast<png_byte>(v & 0xff);
        } else {
            data[i] = static_cast<png_byte>(v);
        }
    }
    std::vector<png_bytep> rows(static_cast<size_t>(image.height));
    for (index_t r = 0; r < image.height; ++r) rows[r] = data.data() + r * image.width * bpp;
    FilePtr f = open_file(path, "wb");
    std::string err;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, png_fail, png_warn);
    if (!png) throw std::runtime_error("libpng: cannot create a write struct for '" + path + "'");
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        throw std::runtime_error("cannot write PNG '" + path + "': " + err);
    }
    png_init_io(png, f.get());
    png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), bits,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    if (std::fflush(f.get()) != 0) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
}

void write_pgm(const std::string& path, const Image& image, int bits) {
    check_bits(bits);
    check_image(image, path);
    const unsigned maxval = bits == 16 ? 65535 : 255;
    std::ostringstream os;
    os << "P5\n" << image.width << " " << image.height << "\n" << maxval << "\n";
    std::string out = os.str();
    for (float p : image.pixels) {
        const unsigned v = static_cast<unsigned>(std::lround(clip01(p) * maxval));
        if (bits == 16) out.push_back(static_cast<char>(v >> 8));
        out.push_back(static_cast<char>(v & 0xff));
    }
    FilePtr f = open_file(path, "wb");
    if (std::fwrite(out.data(), 1, out.size(), f.get()) != out.size() || std::fflush(f.get()) != 0)
        throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
}

void write_image(const std::string& path, const Image& image, int bits) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.size() >= 4 && lower.compare(lower.size() - 4, 4, ".pgm") == 0) write_pgm(path, image, bits);
    else write_png(path, image, bits);
}

Image shepp_logan(index_t n, index_t supersample) {
    if (n < 1) throw config_error("phantom size n=" + std::to_string(n) + " must be >= 1");
    if (supersample < 1) throw config_error("phantom supersample=" + std::to_string(supersample) + " must be >= 1");
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
        const double x = (2.0 * c + 1 - N) / N, y = (N - 2.0 * r - 1) / N;
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
    const double mse = s / n;
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
    if (size < 1) throw config_error("kernel size=" + std::to_string(size) + " must be >= 1");
    if (!(sigma > 0)) throw config_error("kernel sigma=" + std::to_string(sigma) + " must be > 0");
    std::vector<double> g(static_cast<size_t>(size * size));
    const double c = (size - 1) / 2.0;
    double z = 0;
    for (index_t i = 0; i < size; ++i)
        for (index_t j = 0; j < size; ++j) {
            const double v = std::exp(-((i - c) * (i - c) + (j - c) * (j - c)) / (2 * sigma * sigma));
            g[i * size + j] = v;
            z += v;
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
            out.at(r, c) = static_cast<float>(s / (factor * factor));
        }
    return out;
}

Image upscale_nearest(const Image& image, index_t factor) {
    if (factor < 1) throw config_error("upscale factor=" + std::to_string(factor) + " must be >= 1");
    Image out(image.height * factor, image.width * factor);
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
    index_t h = 0, w = 0;
    for (size_t i = 0; i < images.size(); ++i) {
        h = std::max(h, images[i].height);
        w += images[i].width + (i ? gap : 0);
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
