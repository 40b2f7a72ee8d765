#include "convmtx/npy.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "convmtx/detail/checked.hpp"

namespace convmtx {

namespace {

template <class T> const char* descr_of();
template <> const char* descr_of<double>() { return "<f8"; }
template <> const char* descr_of<float>() { return "<f4"; }
template <> const char* descr_of<std::int32_t>() { return "<i4"; }
template <> const char* descr_of<std::int64_t>() { return "<i8"; }

std::string header_value(const std::string& header, const std::string& key, const std::string& what) {
    const auto k = header.find("'" + key + "'");
    if (k == std::string::npos) throw std::runtime_error(what + ": .npy header has no '" + key + "'");
    auto p = header.find(':', k);
    if (p == std::string::npos) throw std::runtime_error(what + ": malformed .npy header");
    ++p;
    while (p < header.size() && header[p] == ' ') ++p;
    if (header[p] == '\'') {
        const auto e = header.find('\'', p + 1);
        return header.substr(p + 1, e - p - 1);
    }
    if (header[p] == '(') {
        const auto e = header.find(')', p);
        return header.substr(p + 1, e - p - 1);
    }
    auto e = header.find_first_of(",}", p);
    return header.substr(p, e - p);
}

template <class T>
void convert(const char* src, index_t n, std::vector<double>& out) {
    for (index_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, src + i * static_cast<index_t>(sizeof(T)), sizeof(T));
        out[static_cast<size_t>(i)] = static_cast<double>(v);
    }
}

}  // namespace

NpyArray parse_npy(const std::string& bytes, const std::string& what) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        throw std::runtime_error(what + ": not a .npy file (missing the \\x93NUMPY magic)");
    const int major = static_cast<unsigned char>(bytes[6]);
    size_t header_len, offset;
    if (major == 1) {
        header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw std::runtime_error(what + ": truncated .npy header");
        header_len = 0;
        for (int b = 0; b < 4; ++b) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + b])) << (8 * b);
        offset = 12;
    } else {
        throw std::runtime_error(what + ": unsupported .npy format version " + std::to_string(major));
    }
    if (bytes.size() < offset + header_len) throw std::runtime_error(what + ": truncated .npy header");
    const std::string header = bytes.substr(offset, header_len);
    NpyArray a;
    a.dtype = header_value(header, "descr", what);
    const bool fortran = header_value(header, "fortran_order", what).find("True") != std::string::npos;
    std::string shape_text = header_value(header, "shape", what);
    std::stringstream ss(shape_text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        a.shape.push_back(std::stoll(item));
    }
    const index_t n = detail::checked_product(a.shape, "array size");
    size_t item_size;
    if (a.dtype == "<f8" || a.dtype == "<i8") item_size = 8;
    else if (a.dtype == "<f4" || a.dtype == "<i4") item_size = 4;
    else
        throw std::runtime_error(what + ": dtype '" + a.dtype +
                                 "' is not supported (use little-endian float32, float64, int32 or int64)");
    const size_t data_off = offset + header_len;
    if (bytes.size() < data_off + static_cast<size_t>(n) * item_size)
        throw std::runtime_error(what + ": .npy data is truncated (" + std::to_string(bytes.size() - data_off) +
                                 " bytes for " + std::to_string(n) + " values of " + std::to_string(item_size) + ")");
    std::vector<double> raw(static_cast<size_t>(n));
    const char* src = bytes.data() + data_off;
    if (a.dtype == "<f8") convert<double>(src, n, raw);
    else if (a.dtype == "<f4") convert<float>(src, n, raw);
    else if (a.dtype == "<i8") convert<std::int64_t>(src, n, raw);
    else convert<std::int32_t>(src, n, raw);
    if (!fortran || a.shape.size() < 2) {
        a.data = std::move(raw);
        return a;
    }
    // Fortran order: reverse-index into C order.
    a.data.resize(raw.size());
    const int r = static_cast<int>(a.shape.size());
    std::vector<index_t> idx(r, 0);
    for (index_t lin = 0; lin < n; ++lin) {
        index_t f = 0, mul = 1;
        for (int d = 0; d < r; ++d) {
            f += idx[d] * mul;
            mul *= a.shape[d];
        }
        a.data[static_cast<size_t>(lin)] = raw[static_cast<size_t>(f)];
        for (int d = r - 1; d >= 0; --d) {
            if (++idx[d] < a.shape[d]) break;
            idx[d] = 0;
        }
    }
    return a;
}

NpyArray read_npy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "' for reading: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_npy(ss.str(), "'" + path + "'");
}

std::string npy_bytes_raw(const std::string& descr, const Shape& shape, const char* data, size_t nbytes) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i) header += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) header += ",";
    header += "), }";
    const size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>((header.size() >> 8) & 0xff);
    out += header;
    out.append(data, nbytes);
    return out;
}

template <class T>
std::string npy_bytes(const T* data, const Shape& shape) {
    const index_t n = detail::checked_product(shape, "array size");
    return npy_bytes_raw(descr_of<T>(), shape, reinterpret_cast<const char*>(data), static_cast<size_t>(n) * sizeof(T));
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp-convmtx";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error("cannot open '" + path + "' for writing: " + std::strerror(errno));
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::remove(tmp.c_str());
            throw std::runtime_error("writing '" + path + "' failed: " + std::strerror(errno));
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string err = std::strerror(errno);
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot move the finished file to '" + path + "': " + err);
    }
}

template <class T>
void write_npy(const std::string& path, const T* data, const Shape& shape) {
    write_file_atomic(path, npy_bytes(data, shape));
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
