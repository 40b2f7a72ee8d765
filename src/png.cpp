// PNG encoding and decoding with libpng (see png.hpp). libpng reports errors by longjmp: every
// function that calls setjmp holds only trivially destructible locals, and exceptions from the
// I/O callbacks are caught there, stored, and rethrown once libpng has returned.
#include "convmtx/png.hpp"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <vector>

#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

/// Deflate never expands more than 1032:1 (zlib's documented maximum compression ratio).
constexpr std::uint64_t kMaxDeflateRatio = 1032;

struct Context {
    ByteSink* out = nullptr;         // writing
    const ByteSource* in = nullptr;  // reading
    std::uint64_t pos = 0;
    std::string message;             // the first error
    std::exception_ptr failure;      // an exception from the sink or the file
};

void on_error(png_structp png, png_const_charp msg) {
    auto* c = static_cast<Context*>(png_get_error_ptr(png));
    if (c->message.empty()) c->message = msg;
    png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

void on_write(png_structp png, png_bytep data, png_size_t n) {
    auto* c = static_cast<Context*>(png_get_io_ptr(png));
    bool failed = false;
    try {
        c->out->write(data, n);
    } catch (...) {
        c->failure = std::current_exception();
        failed = true;
    }
    if (failed) png_error(png, "write failed");
}
void on_flush(png_structp) {}

void on_read(png_structp png, png_bytep data, png_size_t n) {
    auto* c = static_cast<Context*>(png_get_io_ptr(png));
    size_t got = 0;
    bool failed = false;
    try {
        got = c->in->read_at(c->pos, data, n);
    } catch (...) {
        c->failure = std::current_exception();
        failed = true;
    }
    if (failed) png_error(png, "read failed");
    if (got != n) {
        if (c->message.empty())
            c->message = "the file ends after " + std::to_string(c->pos + got) + " bytes, inside the image data";
        png_error(png, "truncated");
    }
    c->pos += n;
}

bool write_rows(png_structp png, png_infop info, const std::uint8_t* samples, png_uint_32 w, png_uint_32 h, int bits,
                int color, size_t row_bytes) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_IHDR(png, info, w, h, bits, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (png_uint_32 y = 0; y < h; ++y) png_write_row(png, const_cast<png_bytep>(samples + y * row_bytes));
    png_write_end(png, info);
    return true;
}

struct Layout {
    png_uint_32 width = 0, height = 0;
    int channels = 0, bits = 0;
    size_t row_bytes = 0;
};

bool read_header(png_structp png, png_infop info, PngRead mode, Layout* out) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);  // the size rule is checked by the caller, with its message
    png_read_info(png, info);
    const int color = png_get_color_type(png, info);
    const int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_alpha(png);
    if (mode == PngRead::rgb8) {
        png_set_strip_16(png);
        png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    out->width = png_get_image_width(png, info);
    out->height = png_get_image_height(png, info);
    out->channels = png_get_channels(png, info);
    out->bits = png_get_bit_depth(png, info);
    out->row_bytes = png_get_rowbytes(png, info);
    return true;
}

bool read_rows(png_structp png, png_bytepp rows) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_image(png, rows);
    png_read_end(png, nullptr);
    return true;
}

struct ReadStruct {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~ReadStruct() {
        if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    }
};

struct WriteStruct {
    png_structp png = nullptr;
    png_infop info = nullptr;
    ~WriteStruct() {
        if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
    }
};

}  // namespace

void encode_png(const std::uint8_t* samples, index_t width, index_t height, int channels, int bits, ByteSink& out) {
    if (channels != 1 && channels != 3)
        throw std::invalid_argument("PNG: channels=" + std::to_string(channels) + " must be 1 (gray) or 3 (RGB)");
    if (bits != 8 && bits != 16) throw std::invalid_argument("PNG: bits=" + std::to_string(bits) + " must be 8 or 16");
    if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff)
        throw std::invalid_argument("PNG: image size " + std::to_string(width) + " x " + std::to_string(height) +
                                    " must be between 1 and 2^31 - 1 per side");
    Context c;
    c.out = &out;
    WriteStruct s;
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    if (!s.png) throw std::runtime_error("libpng: cannot create a write struct");
    s.info = png_create_info_struct(s.png);
    if (!s.info) throw std::runtime_error("libpng: cannot create an info struct");
    png_set_write_fn(s.png, &c, on_write, on_flush);
    const size_t row_bytes = static_cast<size_t>(width) * static_cast<size_t>(channels) * static_cast<size_t>(bits / 8);
    const bool ok = write_rows(s.png, s.info, samples, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height),
                               bits, channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, row_bytes);
    if (c.failure) std::rethrow_exception(c.failure);
    if (!ok) throw std::runtime_error("libpng: cannot encode the image: " + c.message);
}

void encode_png(const Raster& r, ByteSink& out) {
    const size_t need = static_cast<size_t>(r.width) * static_cast<size_t>(r.height) * static_cast<size_t>(r.channels) *
                        static_cast<size_t>(r.bits / 8);
    if (r.samples.size() != need)
        throw std::invalid_argument("PNG: a " + std::to_string(r.width) + " x " + std::to_string(r.height) +
                                    " raster needs " + std::to_string(need) + " sample bytes, not " +
                                    std::to_string(r.samples.size()));
    encode_png(r.samples.data(), r.width, r.height, r.channels, r.bits, out);
}

void write_png_file(const std::string& path, const Raster& raster) {
    write_file_atomic(path, [&](ByteSink& out) { encode_png(raster, out); });
}

Raster read_png_file(const ByteSource& file, PngRead mode) {
    const std::string what = file.name();
    unsigned char sig[8] = {};
    if (file.read_at(0, sig, 8) != 8 || png_sig_cmp(sig, 0, 8) != 0)
        throw format_error(what + ": not a PNG file (no PNG signature)");
    Context c;
    c.in = &file;
    ReadStruct s;
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
    if (!s.png) throw std::runtime_error("libpng: cannot create a read struct");
    s.info = png_create_info_struct(s.png);
    if (!s.info) throw std::runtime_error("libpng: cannot create an info struct");
    png_set_read_fn(s.png, &c, on_read);
    Layout L;
    auto fail = [&] {
        if (c.failure) std::rethrow_exception(c.failure);
        throw format_error(what + ": bad PNG: " + detail::printable(c.message, 200));
    };
    if (!read_header(s.png, s.info, mode, &L)) fail();
    check_image_size(L.width, L.height, what + ": PNG header");
    const std::uint64_t decoded = static_cast<std::uint64_t>(L.row_bytes) * L.height;
    if (decoded / kMaxDeflateRatio > file.size())
        throw format_error(what + ": PNG header declares " + std::to_string(L.width) + " x " + std::to_string(L.height) +
                           " pixels (" + std::to_string(decoded) + " bytes), more than 1032 times the file's " +
                           std::to_string(file.size()) + " bytes can hold (deflate's maximum expansion)");
    Raster r;
    r.width = L.width;
    r.height = L.height;
    r.channels = L.channels;
    r.bits = L.bits;
    r.maxval = L.bits == 16 ? 65535u : 255u;
    if ((r.channels != 1 && r.channels != 3) || (r.bits != 8 && r.bits != 16))
        throw format_error(what + ": PNG decodes to " + std::to_string(r.channels) + " channels of " +
                           std::to_string(r.bits) + " bits (expected gray or RGB, 8 or 16 bits)");
    r.samples.resize(static_cast<size_t>(decoded));
    std::vector<png_bytep> rows(L.height);
    for (png_uint_32 y = 0; y < L.height; ++y) rows[y] = r.samples.data() + static_cast<size_t>(y) * L.row_bytes;
    if (!read_rows(s.png, rows.data())) fail();
    return r;
}

Raster read_png_file(const std::string& path, PngRead mode) { return read_png_file(InputFile(path), mode); }

Raster parse_png(const std::string& bytes, const std::string& what, PngRead mode) {
    return read_png_file(MemoryInput(bytes, what), mode);
}

std::string rgb_png_bytes(const RgbImage& image) {
    StringSink s;
    encode_png(image.pixels.data(), image.width, image.height, 3, 8, s);
    return std::move(s.bytes);
}

void write_rgb_png(const std::string& path, const RgbImage& image) {
    write_file_atomic(path, [&](ByteSink& out) { encode_png(image.pixels.data(), image.width, image.height, 3, 8, out); });
}

RgbImage read_rgb_png(const std::string& path) {
    Raster r = read_png_file(path, PngRead::rgb8);
    RgbImage out;
    out.width = r.width;
    out.height = r.height;
    out.pixels = std::move(r.samples);
    return out;
}

}  // namespace convmtx
