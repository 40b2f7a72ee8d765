// Fuzz target: the PNG reader (libpng). The bytes are decoded in memory (parse_png, both read
// modes, and parse_image, which converts to gray floats) and as a file (read_png_file on the same
// bytes in a memfd): each refuses with format_error and a clean one-line message, or gives a
// raster whose samples fill exactly width x height x channels x bits/8 bytes, the same from memory
// and from the file, and which survives encoding and decoding back unchanged.
#include <optional>

#include "convmtx/errors.hpp"
#include "convmtx/image.hpp"
#include "convmtx/png.hpp"
#include "fuzz_common.hpp"

namespace {

template <class Read>
auto attempt(Read read, const std::string& bytes, const char* context) -> std::optional<decltype(read())> {
    try {
        return read();
    } catch (const convmtx::format_error& e) {
        fuzz::check_message(e.what(), context, bytes);
    } catch (const convmtx::memory_limit_error& e) {
        fuzz::check_message(e.what(), context, bytes);
    }
    return std::nullopt;
}

bool same(const convmtx::Raster& a, const convmtx::Raster& b) {
    return a.width == b.width && a.height == b.height && a.channels == b.channels && a.bits == b.bits &&
           a.samples == b.samples;
}

void check_raster(const convmtx::Raster& r) {
    if (r.width < 1 || r.height < 1 || r.width > convmtx::kMaxImageSide || r.height > convmtx::kMaxImageSide)
        fuzz::fail("a raster of " + std::to_string(r.width) + " x " + std::to_string(r.height));
    if ((r.channels != 1 && r.channels != 3) || (r.bits != 8 && r.bits != 16)) fuzz::fail("an unexpected sample layout");
    if (r.samples.size() != static_cast<size_t>(r.width * r.height * r.channels * (r.bits / 8)))
        fuzz::fail("the samples do not fill the raster exactly");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    using namespace convmtx;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const auto a = attempt([&] { return parse_png(bytes, "fuzz.png"); }, bytes, "parse_png");
    const auto b = attempt([&] { return read_png_file(fuzz::as_file(bytes)); }, bytes, "read_png_file");
    if (a.has_value() != b.has_value()) fuzz::fail("parse_png and read_png_file disagree");
    const auto rgb = attempt([&] { return parse_png(bytes, "fuzz.png", PngRead::rgb8); }, bytes, "parse_png rgb8");
    if (rgb.has_value() != a.has_value()) fuzz::fail("the two read modes disagree");
    const auto image = attempt([&] { return parse_image(bytes, "fuzz.png"); }, bytes, "parse_image");
    const bool png_magic = bytes.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0;  // else parse_image may read a PGM
    if (png_magic && image.has_value() != a.has_value()) fuzz::fail("parse_image and parse_png disagree");
    if (!a) return 0;
    check_raster(*a);
    check_raster(*rgb);
    if (!same(*a, *b)) fuzz::fail("parse_png and read_png_file return different rasters");
    if (rgb->channels != 3 || rgb->bits != 8 || rgb->width != a->width || rgb->height != a->height)
        fuzz::fail("PngRead::rgb8 did not give 8-bit RGB of the same size");
    if (image->width != a->width || image->height != a->height) fuzz::fail("parse_image changed the size");
    for (const float v : image->pixels)
        if (!(v >= 0.0f && v <= 1.0f)) fuzz::fail("a gray value outside [0, 1]");
    StringSink sink;
    encode_png(*a, sink);
    if (!same(parse_png(sink.bytes, "written back"), *a)) fuzz::fail("the raster written back reads as another raster");
    return 0;
}
