// PGM encoding and strict decoding (see pgm.hpp).
#include "convmtx/pgm.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>

#include "convmtx/detail/checked.hpp"
#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

/// Tokens of a PGM text part: whitespace and '#' comments (to the end of the line) separate them.
class Tokens {
public:
    Tokens(std::string_view text, const std::string& what) : s_(text), what_(what) {}
    void skip() {
        for (;;) {
            while (p_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[p_]))) ++p_;
            if (p_ < s_.size() && s_[p_] == '#') {
                while (p_ < s_.size() && s_[p_] != '\n' && s_[p_] != '\r') ++p_;
                continue;
            }
            return;
        }
    }
    bool at_end() {
        skip();
        return p_ >= s_.size();
    }
    /// The next token as an integer in [0, max]; format_error naming `name` otherwise.
    std::int64_t integer(const std::string& name, std::int64_t max) {
        skip();
        const size_t b = p_;
        while (p_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[p_])) && s_[p_] != '#') ++p_;
        std::int64_t v = 0;
        if (b == p_) throw format_error(what_ + ": PGM " + name + " is missing");
        if (!detail::parse_decimal(s_.substr(b, p_ - b), max, &v))
            throw format_error(what_ + ": PGM " + name + " '" + detail::printable(s_.substr(b, p_ - b)) +
                               "' must be a decimal integer in [0, " + std::to_string(max) + "]");
        return v;
    }
    size_t pos() const { return p_; }

private:
    std::string_view s_;
    const std::string& what_;
    size_t p_ = 0;
};

}  // namespace

void encode_pgm(const Raster& r, ByteSink& out) {
    if (r.channels != 1) throw std::invalid_argument("PGM holds gray images, not " + std::to_string(r.channels) + " channels");
    if (r.maxval < 1 || r.maxval > 65535)
        throw std::invalid_argument("PGM maxval=" + std::to_string(r.maxval) + " must be in [1, 65535]");
    if (r.width < 1 || r.height < 1)
        throw std::invalid_argument("PGM image size " + std::to_string(r.width) + " x " + std::to_string(r.height) +
                                    " must be at least 1 x 1");
    const int bytes = r.maxval > 255 ? 2 : 1;
    if (r.bits != 8 * bytes)
        throw std::invalid_argument("PGM maxval=" + std::to_string(r.maxval) + " needs " + std::to_string(8 * bytes) +
                                    "-bit samples, not " + std::to_string(r.bits));
    const size_t need = static_cast<size_t>(r.width) * static_cast<size_t>(r.height) * static_cast<size_t>(bytes);
    if (r.samples.size() != need)
        throw std::invalid_argument("PGM: a " + std::to_string(r.width) + " x " + std::to_string(r.height) +
                                    " raster needs " + std::to_string(need) + " sample bytes, not " +
                                    std::to_string(r.samples.size()));
    out.write("P5\n" + std::to_string(r.width) + " " + std::to_string(r.height) + "\n" + std::to_string(r.maxval) + "\n");
    out.write(r.samples.data(), r.samples.size());
}

void write_pgm_file(const std::string& path, const Raster& raster) {
    write_file_atomic(path, [&](ByteSink& out) { encode_pgm(raster, out); });
}

Raster read_pgm_file(const ByteSource& file) {
    const std::string what = file.name();
    // The header (magic, width, height, maxval, comments) is read from the first 64 KiB.
    std::string head(static_cast<size_t>(std::min<std::uint64_t>(file.size(), 1 << 16)), '\0');
    file.read_exact(0, head.data(), head.size(), "the PGM header");
    if (head.size() < 2 || head[0] != 'P' || (head[1] != '2' && head[1] != '5'))
        throw format_error(what + ": not a PGM file: the magic '" + detail::printable(head.substr(0, 2)) +
                           "' must be P2 or P5");
    const bool binary = head[1] == '5';
    Tokens t(std::string_view(head).substr(2), what);
    const std::int64_t width = t.integer("width", std::numeric_limits<std::int64_t>::max());
    const std::int64_t height = t.integer("height", std::numeric_limits<std::int64_t>::max());
    check_image_size(width, height, what + ": PGM header");
    const std::int64_t maxval = t.integer("maxval", std::numeric_limits<std::int64_t>::max());
    if (maxval < 1 || maxval > 65535)
        throw format_error(what + ": PGM maxval=" + std::to_string(maxval) + " must be in [1, 65535]");
    Raster r;
    r.width = width;
    r.height = height;
    r.channels = 1;
    r.maxval = static_cast<std::uint32_t>(maxval);
    r.bits = maxval > 255 ? 16 : 8;
    const std::uint64_t count = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
    const std::uint64_t header_end = 2 + t.pos();
    if (binary) {
        // Exactly one whitespace byte follows maxval, then the raster and nothing else.
        if (header_end >= file.size() || !std::isspace(static_cast<unsigned char>(head[header_end])))
            throw format_error(what + ": PGM maxval must be followed by one whitespace byte and the raster");
        const std::uint64_t raster = count * static_cast<std::uint64_t>(r.bits / 8), at = header_end + 1;
        if (file.size() - at != raster)
            throw format_error(what + ": PGM header declares " + std::to_string(width) + " x " + std::to_string(height) +
                               " samples of " + std::to_string(r.bits / 8) + " byte(s) = " + std::to_string(raster) +
                               " bytes, but " + std::to_string(file.size() - at) + " follow the header");
        r.samples.resize(static_cast<size_t>(raster));
        file.read_exact(at, r.samples.data(), r.samples.size(), "the PGM raster");
        if (r.maxval < 65535 && r.maxval != 255)
            for (index_t i = 0; i < static_cast<index_t>(count); ++i)
                if (r.sample(i % width, i / width) > r.maxval)
                    throw format_error(what + ": PGM sample " + std::to_string(i) + " = " +
                                       std::to_string(r.sample(i % width, i / width)) + " is above maxval " +
                                       std::to_string(r.maxval));
        return r;
    }
    // Plain: each sample takes at least 2 bytes (a digit and a separator; the last needs none).
    const std::uint64_t rest = file.size() - header_end;
    if ((rest + 1) / 2 < count)
        throw format_error(what + ": PGM header declares " + std::to_string(count) + " samples but the " +
                           std::to_string(rest) + " bytes after it hold at most " + std::to_string((rest + 1) / 2));
    const std::string text = file.read_all(file.size());
    Tokens body(std::string_view(text).substr(static_cast<size_t>(header_end)), what);
    r.samples.resize(static_cast<size_t>(count) * static_cast<size_t>(r.bits / 8));
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto v = static_cast<unsigned>(body.integer("sample " + std::to_string(i), maxval));
        if (r.bits == 16) {
            r.samples[2 * i] = static_cast<std::uint8_t>(v >> 8);
            r.samples[2 * i + 1] = static_cast<std::uint8_t>(v & 0xff);
        } else {
            r.samples[i] = static_cast<std::uint8_t>(v);
        }
    }
    if (!body.at_end())
        throw format_error(what + ": PGM holds more than the " + std::to_string(count) + " samples its header declares");
    return r;
}

Raster read_pgm_file(const std::string& path) { return read_pgm_file(InputFile(path)); }

Raster parse_pgm(const std::string& bytes, const std::string& what) { return read_pgm_file(MemoryInput(bytes, what)); }

}  // namespace convmtx
