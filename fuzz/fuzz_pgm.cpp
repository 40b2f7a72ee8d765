// Fuzz target: the PGM reader (P2 and P5). The bytes are decoded in memory (parse_pgm, and
// parse_image, which converts to gray floats) and as a file (read_pgm_file on the same bytes in a
// memfd): each refuses with format_error and a clean one-line message, or gives a gray raster whose
// samples fill it exactly and stay within maxval, the same from memory and from the file, and which
// survives encoding and decoding back unchanged.
#include <optional>

#include "convmtx/errors.hpp"
#include "convmtx/image.hpp"
#include "convmtx/pgm.hpp"
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
           a.maxval == b.maxval && a.samples == b.samples;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    using namespace convmtx;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const auto a = attempt([&] { return parse_pgm(bytes, "fuzz.pgm"); }, bytes, "parse_pgm");
    const auto b = attempt([&] { return read_pgm_file(fuzz::as_file(bytes)); }, bytes, "read_pgm_file");
    if (a.has_value() != b.has_value()) fuzz::fail("parse_pgm and read_pgm_file disagree");
    const auto image = attempt([&] { return parse_image(bytes, "fuzz.pgm"); }, bytes, "parse_image");
    const bool pgm_magic = bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '5');  // else a PNG
    if (pgm_magic && image.has_value() != a.has_value()) fuzz::fail("parse_image and parse_pgm disagree");
    if (!a) return 0;
    if (!same(*a, *b)) fuzz::fail("parse_pgm and read_pgm_file return different rasters");
    if (a->width < 1 || a->height < 1 || a->channels != 1 || a->maxval < 1 || a->maxval > 65535 ||
        a->bits != (a->maxval > 255 ? 16 : 8))
        fuzz::fail("an inconsistent raster header");
    if (a->samples.size() != static_cast<size_t>(a->width * a->height * (a->bits / 8)))
        fuzz::fail("the samples do not fill the raster exactly");
    for (index_t y = 0; y < a->height; ++y)
        for (index_t x = 0; x < a->width; ++x)
            if (a->sample(x, y) > a->maxval) fuzz::fail("a sample above maxval");
    for (const float v : image->pixels)
        if (!(v >= 0.0f && v <= 1.0f)) fuzz::fail("a gray value outside [0, 1]");
    StringSink sink;
    encode_pgm(*a, sink);
    if (!same(parse_pgm(sink.bytes, "written back"), *a)) fuzz::fail("the raster written back reads as another raster");
    return 0;
}
