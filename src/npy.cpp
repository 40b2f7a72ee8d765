// NumPy .npy reading and writing (see npy.hpp).
#include "convmtx/npy.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "convmtx/builder.hpp"
#include "convmtx/detail/checked.hpp"
#include "convmtx/detail/npy_header.hpp"
#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

using detail::printable;

namespace {

template <class T> const char* descr_of();
template <> const char* descr_of<double>() { return "<f8"; }
template <> const char* descr_of<float>() { return "<f4"; }
template <> const char* descr_of<std::int32_t>() { return "<i4"; }
template <> const char* descr_of<std::int64_t>() { return "<i8"; }

/// A strict reader of the header dict: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
public:
    HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

    void parse(detail::NpyHeader& h) {
        expect('{');
        bool seen_descr = false, seen_fortran = false, seen_shape = false;
        for (;;) {
            space();
            if (peek() == '}') break;
            const std::string key = string_literal("a key");
            expect(':');
            space();
            if (key == "descr" && !seen_descr) {
                if (peek() == '[') fail("dtype with fields (a structured array) is not supported");
                h.descr = string_literal("descr");
                seen_descr = true;
            } else if (key == "fortran_order" && !seen_fortran) {
                if (s_.substr(p_, 4) == "True") h.fortran = true, p_ += 4;
                else if (s_.substr(p_, 5) == "False") h.fortran = false, p_ += 5;
                else fail("'fortran_order' must be True or False");
                seen_fortran = true;
            } else if (key == "shape" && !seen_shape) {
                shape(h.shape);
                seen_shape = true;
            } else {
                fail("unexpected or repeated key '" + printable(key) + "' (the keys are descr, fortran_order, shape)");
            }
            space();
            if (peek() == ',') {
                ++p_;
                continue;
            }
            space();
            if (peek() != '}') fail("expected ',' or '}' at header byte " + std::to_string(p_));
        }
        ++p_;
        if (s_.substr(p_).find_first_not_of(" \n") != std::string_view::npos)
            fail("unexpected bytes after the header dict");
        if (!seen_descr || !seen_fortran || !seen_shape) fail("the header must name descr, fortran_order and shape");
    }

private:
    std::string_view s_;
    const std::string& what_;
    size_t p_ = 0;

    [[noreturn]] void fail(const std::string& msg) const {
        throw format_error(what_ + ": .npy header '" + printable(s_, 120) + "': " + msg);
    }
    char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
    void space() {
        while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n')) ++p_;
    }
    void expect(char c) {
        space();
        if (peek() != c) fail(std::string("expected '") + c + "' at header byte " + std::to_string(p_));
        ++p_;
    }
    std::string string_literal(const char* what) {
        space();
        const char q = peek();
        if (q != '\'' && q != '"') fail(std::string("expected a quoted string for ") + what);
        const size_t e = s_.find(q, p_ + 1);
        if (e == std::string_view::npos) fail("unterminated string");
        std::string v(s_.substr(p_ + 1, e - p_ - 1));
        p_ = e + 1;
        return v;
    }
    void shape(Shape& out) {
        expect('(');
        for (;;) {
            space();
            if (peek() == ')') break;
            const size_t b = p_;
            while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
            std::int64_t v = 0;
            if (!detail::parse_decimal(s_.substr(b, p_ - b), std::numeric_limits<std::int64_t>::max(), &v))
                fail("shape entry '" + printable(s_.substr(b, std::max<size_t>(p_ - b, 1))) +
                     "' must be a non-negative integer below 2^63");
            out.push_back(v);
            if (out.size() > 64) fail("more than 64 dimensions");
            space();
            if (peek() == ',') {
                ++p_;
                continue;
            }
            space();
            if (peek() != ')') fail("expected ',' or ')' in the shape");
        }
        ++p_;
    }
};

struct DtypeInfo {
    const char* name;  // without the byte-order character
    char kind;
    size_t size;
};
const DtypeInfo kDtypes[] = {{"f8", 'f', 8}, {"f4", 'f', 4}, {"i8", 'i', 8}, {"i4", 'i', 4}, {"i2", 'i', 2},
                             {"i1", 'i', 1}, {"u8", 'u', 8}, {"u4", 'u', 4}, {"u2", 'u', 2}, {"u1", 'u', 1},
                             {"b1", 'b', 1}};

void describe_dtype(detail::NpyHeader& h, const std::string& what) {
    const std::string& d = h.descr;
    auto fail = [&](const std::string& why) {
        throw format_error(what + ": dtype '" + printable(d) + "' " + why +
                           " (little-endian float32/64, int8-64, uint8-64, bool, or a byte string)");
    };
    if (d.size() < 3) fail("is not a numpy dtype string");
    const char order = d[0];
    const std::string rest = d.substr(1);
    if (order == '>' || order == '!') fail("is big-endian, which is not supported");
    if (order != '<' && order != '|' && order != '=') fail("has an unknown byte order");
    for (const auto& t : kDtypes)
        if (rest == t.name) {
            h.kind = t.kind;
            h.item_size = t.size;
            return;
        }
    if (rest[0] == 'S' || rest[0] == 'U') {  // byte or unicode strings: |S3, <U3
        std::int64_t n = 0;
        if (!detail::parse_decimal(rest.substr(1), 1 << 20, &n) || n < 1) fail("has a bad string length");
        h.kind = rest[0];
        h.item_size = static_cast<size_t>(n) * (rest[0] == 'U' ? 4 : 1);
        return;
    }
    fail("is not supported");
}

template <class T>
void convert(const char* src, size_t n, double* out) {
    for (size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, src + i * sizeof(T), sizeof(T));
        out[i] = static_cast<double>(v);
    }
}

template <class T>
bool convert_int(const char* src, size_t n, std::int64_t* out, size_t* bad) {
    for (size_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, src + i * sizeof(T), sizeof(T));
        if constexpr (std::is_unsigned<T>::value && sizeof(T) == 8) {
            if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
                *bad = i;
                return false;
            }
        }
        out[i] = static_cast<std::int64_t>(v);
    }
    return true;
}

/// C order from Fortran order.
std::vector<double> fortran_to_c(const std::vector<double>& raw, const Shape& shape) {
    std::vector<double> out(raw.size());
    const int r = static_cast<int>(shape.size());
    std::vector<index_t> idx(static_cast<size_t>(r), 0);
    for (size_t lin = 0; lin < raw.size(); ++lin) {
        index_t f = 0, mul = 1;
        for (int d = 0; d < r; ++d) {
            f += idx[d] * mul;
            mul *= shape[d];
        }
        out[lin] = raw[static_cast<size_t>(f)];
        for (int d = r - 1; d >= 0; --d) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
    return out;
}

/// Refuses string dtypes, and arrays whose double values would not fit the physical memory.
void require_numeric(const detail::NpyHeader& h, const std::string& what) {
    if (h.kind == 'S' || h.kind == 'U')
        throw format_error(what + ": dtype '" + printable(h.descr) + "' is a string, not a number");
    const double need = 8.0 * static_cast<double>(h.count), limit = physical_memory_bytes();
    if (limit > 0 && need > limit)
        throw memory_limit_error(what + ": " + std::to_string(h.count) + " values need " + format_bytes(need) +
                                     " as double, more than the physical memory " + format_bytes(limit),
                                 need, limit);
}

}  // namespace

namespace detail {

NpyHeader parse_npy_header(std::string_view b, std::uint64_t total, const std::string& what) {
    if (b.size() < 10 || b.substr(0, 6) != "\x93NUMPY")
        throw format_error(what + ": not a .npy array (it does not start with the \\x93NUMPY magic)");
    const int major = static_cast<unsigned char>(b[6]);
    size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len = static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (b.size() < 12) throw format_error(what + ": .npy header is truncated (" + std::to_string(b.size()) + " bytes)");
        for (int k = 0; k < 4; ++k) header_len |= static_cast<size_t>(static_cast<unsigned char>(b[8 + k])) << (8 * k);
        offset = 12;
    } else {
        throw format_error(what + ": .npy format version " + std::to_string(major) + " is not supported (1, 2 or 3)");
    }
    if (header_len > kNpyMaxHeader)
        throw format_error(what + ": .npy header length " + std::to_string(header_len) + " is more than the " +
                           std::to_string(kNpyMaxHeader) + " bytes read");
    if (offset + header_len > b.size())
        throw format_error(what + ": .npy header length " + std::to_string(header_len) + " runs past the " +
                           std::to_string(total) + " bytes present");
    NpyHeader h;
    HeaderParser(b.substr(offset, header_len), what).parse(h);
    h.data_offset = offset + header_len;
    describe_dtype(h, what);
    h.count = 1;
    for (size_t d = 0; d < h.shape.size(); ++d)
        if (!mul_fits(h.count, h.shape[d], &h.count))
            throw format_error(what + ": .npy shape has more than 2^63 elements");
    std::uint64_t need = 0;
    if (!mul_fits(static_cast<std::uint64_t>(h.count), static_cast<std::uint64_t>(h.item_size), &need) ||
        need != total - h.data_offset)
        throw format_error(what + ": .npy shape (" + [&] {
            std::string s;
            for (size_t d = 0; d < h.shape.size(); ++d) s += (d ? ", " : "") + std::to_string(h.shape[d]);
            return s;
        }() + ") of '" + printable(h.descr) + "' needs " + std::to_string(h.count) + " x " + std::to_string(h.item_size) +
                           " bytes, but " + std::to_string(total - h.data_offset) + " follow the header");
    return h;
}

void npy_to_double(const NpyHeader& h, const char* raw, size_t n, double* out) {
    switch (h.kind) {
        case 'f': return h.item_size == 8 ? convert<double>(raw, n, out) : convert<float>(raw, n, out);
        case 'i':
            switch (h.item_size) {
                case 8: return convert<std::int64_t>(raw, n, out);
                case 4: return convert<std::int32_t>(raw, n, out);
                case 2: return convert<std::int16_t>(raw, n, out);
                default: return convert<std::int8_t>(raw, n, out);
            }
        case 'u':
            switch (h.item_size) {
                case 8: return convert<std::uint64_t>(raw, n, out);
                case 4: return convert<std::uint32_t>(raw, n, out);
                case 2: return convert<std::uint16_t>(raw, n, out);
                default: return convert<std::uint8_t>(raw, n, out);
            }
        case 'b':
            for (size_t i = 0; i < n; ++i) out[i] = raw[i] != 0 ? 1.0 : 0.0;
            return;
        default: throw std::logic_error("npy_to_double on a non-numeric dtype");
    }
}

bool npy_to_int64(const NpyHeader& h, const char* raw, size_t n, std::int64_t* out, size_t* bad) {
    *bad = 0;
    switch (h.kind) {
        case 'i':
            switch (h.item_size) {
                case 8: return convert_int<std::int64_t>(raw, n, out, bad);
                case 4: return convert_int<std::int32_t>(raw, n, out, bad);
                case 2: return convert_int<std::int16_t>(raw, n, out, bad);
                default: return convert_int<std::int8_t>(raw, n, out, bad);
            }
        case 'u':
            switch (h.item_size) {
                case 8: return convert_int<std::uint64_t>(raw, n, out, bad);
                case 4: return convert_int<std::uint32_t>(raw, n, out, bad);
                case 2: return convert_int<std::uint16_t>(raw, n, out, bad);
                default: return convert_int<std::uint8_t>(raw, n, out, bad);
            }
        case 'b': return convert_int<std::uint8_t>(raw, n, out, bad);
        default: return false;
    }
}

}  // namespace detail

NpyArray parse_npy(const std::string& bytes, const std::string& what) {
    const detail::NpyHeader h = detail::parse_npy_header(bytes, bytes.size(), what);
    require_numeric(h, what);
    NpyArray a;
    a.shape = h.shape;
    a.dtype = h.descr;
    a.data.resize(static_cast<size_t>(h.count));
    detail::npy_to_double(h, bytes.data() + h.data_offset, a.data.size(), a.data.data());
    if (h.fortran && a.shape.size() >= 2) a.data = fortran_to_c(a.data, a.shape);
    return a;
}

NpyArray read_npy(const std::string& path) {
    const InputFile file(path);
    const std::string what = detail::quoted(path);
    std::string head(static_cast<size_t>(std::min<std::uint64_t>(file.size(), detail::kNpyMaxHeader + 12)), '\0');
    file.read_exact(0, head.data(), head.size(), "the .npy header");
    const detail::NpyHeader h = detail::parse_npy_header(head, file.size(), what);
    require_numeric(h, what);
    NpyArray a;
    a.shape = h.shape;
    a.dtype = h.descr;
    a.data.resize(static_cast<size_t>(h.count));
    std::vector<char> chunk(size_t{1} << 20);
    const size_t per = chunk.size() / h.item_size;
    for (size_t done = 0; done < a.data.size();) {
        const size_t n = std::min(per, a.data.size() - done);
        file.read_exact(h.data_offset + done * h.item_size, chunk.data(), n * h.item_size, "the .npy data");
        detail::npy_to_double(h, chunk.data(), n, a.data.data() + done);
        done += n;
    }
    if (h.fortran && a.shape.size() >= 2) a.data = fortran_to_c(a.data, a.shape);
    return a;
}

std::string npy_header(const std::string& descr, const Shape& shape) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) dict += ",";
    dict += "), }";
    const size_t total = 10 + dict.size() + 1;
    dict.append((64 - total % 64) % 64, ' ');
    dict += '\n';
    if (dict.size() > 0xffff) throw std::invalid_argument(".npy header of " + std::to_string(dict.size()) + " bytes is too long");
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>((dict.size() >> 8) & 0xff);
    return out + dict;
}

std::string npy_bytes_raw(const std::string& descr, const Shape& shape, const char* data, size_t nbytes) {
    std::string out = npy_header(descr, shape);
    out.append(data, nbytes);
    return out;
}

template <class T>
std::string npy_bytes(const T* data, const Shape& shape) {
    const index_t n = detail::checked_product(shape, "array size");
    return npy_bytes_raw(descr_of<T>(), shape, reinterpret_cast<const char*>(data), static_cast<size_t>(n) * sizeof(T));
}

template <class T>
void write_npy(const std::string& path, const T* data, const Shape& shape) {
    const index_t n = detail::checked_product(shape, "array size");
    const std::string header = npy_header(descr_of<T>(), shape);
    write_file_atomic(path, [&](ByteSink& out) {
        out.write(header);
        out.write(data, static_cast<size_t>(n) * sizeof(T));
    });
}

template std::string npy_bytes<double>(const double*, const Shape&);
template std::string npy_bytes<float>(const float*, const Shape&);
template std::string npy_bytes<std::int32_t>(const std::int32_t*, const Shape&);
template std::string npy_bytes<std::int64_t>(const std::int64_t*, const Shape&);
template void write_npy<double>(const std::string&, const double*, const Shape&);
template void write_npy<float>(const std::string&, const float*, const Shape&);
template void write_npy<std::int32_t>(const std::string&, const std::int32_t*, const Shape&);
template void write_npy<std::int64_t>(const std::string&, const std::int64_t*, const Shape&);

}  // namespace convmtx
