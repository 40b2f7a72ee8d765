// Matrix Market and scipy .npz files (see io.hpp).
#include "convmtx/io.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "convmtx/npy.hpp"

namespace convmtx {

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open '" + path + "' for reading: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && lower(s.substr(s.size() - suffix.size())) == suffix;
}

void check_arrays(const CsrArrays& a) {
    if (a.rows < 0 || a.cols < 0) throw std::invalid_argument("matrix size must be non-negative");
    if (a.indptr.size() != static_cast<size_t>(a.rows) + 1)
        throw std::invalid_argument("CSR indptr has " + std::to_string(a.indptr.size()) + " entries, expected rows+1 = " +
                                    std::to_string(a.rows + 1));
    if (a.indices.size() != a.data.size() || a.indptr.back() != static_cast<std::int64_t>(a.indices.size()))
        throw std::invalid_argument("CSR arrays disagree on the number of entries");
}

CsrMatrix from_triplets(index_t rows, index_t cols, std::vector<Eigen::Triplet<double, std::int64_t>>& t) {
    CsrMatrix M(rows, cols);
    M.setFromTriplets(t.begin(), t.end());  // duplicates are summed
    M.makeCompressed();
    return M;
}

// ---- little-endian helpers for zip ----
void put16(std::string& s, std::uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, std::uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
}
std::uint64_t get_le(const std::string& s, size_t off, int bytes, const std::string& what) {
    if (off + static_cast<size_t>(bytes) > s.size()) throw std::runtime_error(what + ": truncated zip structure");
    std::uint64_t v = 0;
    for (int b = 0; b < bytes; ++b) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[off + b])) << (8 * b);
    return v;
}

// The .npy bytes of a numpy bytes scalar (dtype |S<n>, shape ()), as np.save(np.array(b'csr')) writes.
std::string npy_bytes_scalar(const std::string& value) {
    return npy_bytes_raw("|S" + std::to_string(value.size()), {}, value.data(), value.size());
}

struct ZipMember {
    std::string name;
    std::string bytes;
};

std::string zip_stored(const std::vector<ZipMember>& members) {
    std::string out, central;
    const std::uint32_t dos_time = 0, dos_date = (0u << 9) | (1u << 5) | 1u;  // 1980-01-01 00:00
    for (const auto& m : members) {
        if (m.bytes.size() >= 0xffffffffull || out.size() >= 0xffffffffull)
            throw std::runtime_error("npz member " + m.name + " is larger than 4 GiB: write Matrix Market (.mtx) instead");
        const std::uint32_t crc = crc32_of(m.bytes.data(), m.bytes.size());
        const std::uint32_t offset = static_cast<std::uint32_t>(out.size());
        const std::uint32_t size = static_cast<std::uint32_t>(m.bytes.size());
        put32(out, 0x04034b50);
        put16(out, 20);  // version needed
        put16(out, 0);   // flags
        put16(out, 0);   // method: stored
        put16(out, dos_time);
        put16(out, dos_date);
        put32(out, crc);
        put32(out, size);
        put32(out, size);
        put16(out, static_cast<std::uint32_t>(m.name.size()));
        put16(out, 0);
        out += m.name;
        out += m.bytes;

        put32(central, 0x02014b50);
        put16(central, 20);  // version made by (MS-DOS attributes)
        put16(central, 20);
        put16(central, 0);
        put16(central, 0);
        put16(central, dos_time);
        put16(central, dos_date);
        put32(central, crc);
        put32(central, size);
        put32(central, size);
        put16(central, static_cast<std::uint32_t>(m.name.size()));
        put16(central, 0);  // extra
        put16(central, 0);  // comment
        put16(central, 0);  // disk
        put16(central, 0);  // internal attributes
        put32(central, 0);  // external attributes
        put32(central, offset);
        central += m.name;
    }
    if (out.size() + central.size() >= 0xffffffffull)
        throw std::runtime_error("npz file would exceed 4 GiB: write Matrix Market (.mtx) instead");
    const std::uint32_t cd_offset = static_cast<std::uint32_t>(out.size());
    out += central;
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<std::uint32_t>(members.size()));
    put16(out, static_cast<std::uint32_t>(members.size()));
    put32(out, static_cast<std::uint32_t>(central.size()));
    put32(out, cd_offset);
    put16(out, 0);
    return out;
}

std::string inflate_raw(const std::string& in, size_t out_size, const std::string& what) {
    std::string out(out_size, '\0');
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw std::runtime_error(what + ": zlib inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    const size_t produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != out_size)
        throw std::runtime_error(what + ": corrupt deflated data (zlib status " + std::to_string(rc) + ")");
    return out;
}

std::vector<ZipMember> unzip(const std::string& z, const std::string& what) {
    if (z.size() < 22) throw std::runtime_error(what + ": not a zip file (too short)");
    size_t eocd = std::string::npos;
    for (size_t p = z.size() - 22 + 1; p-- > 0 && z.size() - p <= 22 + 65535;)
        if (get_le(z, p, 4, what) == 0x06054b50) {
            eocd = p;
            break;
        }
    if (eocd == std::string::npos) throw std::runtime_error(what + ": not a zip file (no end-of-central-directory record)");
    const size_t count = get_le(z, eocd + 10, 2, what);
    size_t p = get_le(z, eocd + 16, 4, what);
    std::vector<ZipMember> members;
    for (size_t e = 0; e < count; ++e) {
        if (get_le(z, p, 4, what) != 0x02014b50) throw std::runtime_error(what + ": corrupt zip central directory");
        const unsigned method = static_cast<unsigned>(get_le(z, p + 10, 2, what));
        const std::uint32_t crc = static_cast<std::uint32_t>(get_le(z, p + 16, 4, what));
        std::uint64_t csize = get_le(z, p + 20, 4, what), usize = get_le(z, p + 24, 4, what);
        const size_t nlen = get_le(z, p + 28, 2, what), xlen = get_le(z, p + 30, 2, what),
                     clen = get_le(z, p + 32, 2, what);
        std::uint64_t offset = get_le(z, p + 42, 4, what);
        ZipMember m;
        m.name = z.substr(p + 46, nlen);
        // zip64 extra field (numpy writes members with force_zip64).
        for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
            const unsigned id = static_cast<unsigned>(get_le(z, x, 2, what));
            const size_t len = get_le(z, x + 2, 2, what);
            if (id == 0x0001) {
                size_t q = x + 4;
                if (usize == 0xffffffffu) usize = get_le(z, q, 8, what), q += 8;
                if (csize == 0xffffffffu) csize = get_le(z, q, 8, what), q += 8;
                if (offset == 0xffffffffu) offset = get_le(z, q, 8, what), q += 8;
            }
            x += 4 + len;
        }
        if (get_le(z, offset, 4, what) != 0x04034b50) throw std::runtime_error(what + ": corrupt zip local header of " + m.name);
        const size_t data = offset + 30 + get_le(z, offset + 26, 2, what) + get_le(z, offset + 28, 2, what);
        if (data + csize > z.size()) throw std::runtime_error(what + ": zip member " + m.name + " is truncated");
        const std::string raw = z.substr(data, csize);
        if (method == 0) m.bytes = raw;
        else if (method == 8) m.bytes = inflate_raw(raw, usize, what + " member " + m.name);
        else throw std::runtime_error(what + ": zip member " + m.name + " uses compression method " + std::to_string(method) +
                                      " (only stored and deflate are supported)");
        if (crc32_of(m.bytes.data(), m.bytes.size()) != crc)
            throw std::runtime_error(what + ": CRC-32 mismatch in zip member " + m.name);
        members.push_back(std::move(m));
        p += 46 + nlen + xlen + clen;
    }
    return members;
}

}  // namespace

std::uint32_t crc32_of(const void* data, size_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    const auto* b = static_cast<const Bytef*>(data);
    while (n > 0) {
        const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
        crc = crc32(crc, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return static_cast<std::uint32_t>(crc);
}

// ---------------- Matrix Market ----------------

std::string matrix_market_text(const CsrArrays& a, const std::string& comment) {
    check_arrays(a);
    std::string out = "%%MatrixMarket matrix coordinate real general\n";
    std::stringstream cs(comment);
    std::string line;
    while (std::getline(cs, line)) out += "% " + line + "\n";
    out += std::to_string(a.rows) + " " + std::to_string(a.cols) + " " + std::to_string(a.indices.size()) + "\n";
    out.reserve(out.size() + a.indices.size() * 24);
    const char* fmt = a.single ? "%lld %lld %.9g\n" : "%lld %lld %.17g\n";
    char buf[96];
    for (index_t r = 0; r < a.rows; ++r)
        for (auto k = a.indptr[static_cast<size_t>(r)]; k < a.indptr[static_cast<size_t>(r) + 1]; ++k) {
            const int n = std::snprintf(buf, sizeof buf, fmt, static_cast<long long>(r + 1),
                                        static_cast<long long>(a.indices[static_cast<size_t>(k)] + 1),
                                        a.data[static_cast<size_t>(k)]);
            out.append(buf, static_cast<size_t>(n));
        }
    return out;
}

void write_matrix_market(const std::string& path, const CsrArrays& a, const std::string& comment) {
    write_file_atomic(path, matrix_market_text(a, comment));
}

CsrMatrix parse_matrix_market(const std::string& text, const std::string& what) {
    size_t pos = 0;
    auto next_line = [&](std::string& line) {
        if (pos >= text.size()) return false;
        size_t e = text.find('\n', pos);
        if (e == std::string::npos) e = text.size();
        line = text.substr(pos, e - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos = e + 1;
        return true;
    };
    std::string line;
    if (!next_line(line) || lower(line).rfind("%%matrixmarket", 0) != 0)
        throw std::runtime_error(what + ": not a Matrix Market file (the first line must start with %%MatrixMarket)");
    std::stringstream hs(lower(line));
    std::string banner, object, format, field, symmetry;
    hs >> banner >> object >> format >> field >> symmetry;
    if (object != "matrix") throw std::runtime_error(what + ": Matrix Market object '" + object + "' is not 'matrix'");
    if (format != "coordinate" && format != "array")
        throw std::runtime_error(what + ": Matrix Market format '" + format + "' must be coordinate or array");
    if (field != "real" && field != "integer" && field != "double" && field != "pattern")
        throw std::runtime_error(what + ": Matrix Market field '" + field + "' is not supported (real, integer or pattern)");
    if (symmetry != "general" && symmetry != "symmetric" && symmetry != "skew-symmetric")
        throw std::runtime_error(what + ": Matrix Market symmetry '" + symmetry +
                                 "' is not supported (general, symmetric or skew-symmetric)");
    if (format == "array" && (symmetry != "general" || field == "pattern"))
        throw std::runtime_error(what + ": only general real/integer Matrix Market arrays are supported");
    do {
        if (!next_line(line)) throw std::runtime_error(what + ": Matrix Market size line is missing");
    } while (line.empty() || line[0] == '%' || line.find_first_not_of(" \t") == std::string::npos);
    long long rows = -1, cols = -1, nnz = -1;
    std::stringstream ss(line);
    ss >> rows >> cols;
    if (format == "coordinate") ss >> nnz;
    if (!ss || rows < 0 || cols < 0 || (format == "coordinate" && nnz < 0))
        throw std::runtime_error(what + ": bad Matrix Market size line '" + line + "'");
    if (format == "array") nnz = rows * cols;

    std::vector<Eigen::Triplet<double, std::int64_t>> t;
    t.reserve(static_cast<size_t>(symmetry == "general" ? nnz : 2 * nnz));
    const char* p = text.c_str() + std::min(pos, text.size());
    const char* end = text.c_str() + text.size();
    auto skip_space = [&] {
        for (;;) {
            while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
            if (p < end && *p == '%') {  // comment line between entries
                while (p < end && *p != '\n') ++p;
                continue;
            }
            return;
        }
    };
    auto read_int = [&](long long entry) {
        skip_space();
        char* e = nullptr;
        errno = 0;
        const long long v = std::strtoll(p, &e, 10);
        if (e == p || errno) throw std::runtime_error(what + ": entry " + std::to_string(entry + 1) + " is not 'row col value'");
        p = e;
        return v;
    };
    auto read_real = [&](long long entry) {
        skip_space();
        char* e = nullptr;
        const double v = std::strtod(p, &e);
        if (e == p) throw std::runtime_error(what + ": entry " + std::to_string(entry + 1) + " has no value");
        p = e;
        return v;
    };
    for (long long k = 0; k < nnz; ++k) {
        if (format == "array") {
            const double v = read_real(k);
            if (v != 0) t.emplace_back(k % rows, k / rows, v);
            continue;
        }
        const long long i = read_int(k), j = read_int(k);
        const double v = field == "pattern" ? 1.0 : read_real(k);
        if (i < 1 || i > rows || j < 1 || j > cols)
            throw std::runtime_error(what + ": entry " + std::to_string(k + 1) + " (" + std::to_string(i) + ", " +
                                     std::to_string(j) + ") is outside the " + std::to_string(rows) + "x" +
                                     std::to_string(cols) + " matrix (indices are 1-based)");
        t.emplace_back(i - 1, j - 1, v);
        if (symmetry != "general" && i != j) t.emplace_back(j - 1, i - 1, symmetry == "symmetric" ? v : -v);
    }
    skip_space();
    if (p < end)
        throw std::runtime_error(what + ": more data after the " + std::to_string(nnz) + " entries the size line announces");
    return from_triplets(rows, cols, t);
}

CsrMatrix read_matrix_market(const std::string& path) { return parse_matrix_market(read_all(path), "'" + path + "'"); }

// ---------------- npz ----------------

std::string npz_bytes(const CsrArrays& a) {
    check_arrays(a);
    const bool small = a.cols <= std::numeric_limits<std::int32_t>::max() &&
                       static_cast<std::int64_t>(a.indices.size()) <= std::numeric_limits<std::int32_t>::max();
    std::vector<ZipMember> m(5);
    m[0].name = "indices.npy";
    m[1].name = "indptr.npy";
    if (small) {
        std::vector<std::int32_t> ind(a.indices.begin(), a.indices.end()), ptr(a.indptr.begin(), a.indptr.end());
        m[0].bytes = npy_bytes(ind.data(), {static_cast<index_t>(ind.size())});
        m[1].bytes = npy_bytes(ptr.data(), {static_cast<index_t>(ptr.size())});
    } else {
        m[0].bytes = npy_bytes(a.indices.data(), {static_cast<index_t>(a.indices.size())});
        m[1].bytes = npy_bytes(a.indptr.data(), {static_cast<index_t>(a.indptr.size())});
    }
    m[2].name = "format.npy";
    m[2].bytes = npy_bytes_scalar("csr");
    m[3].name = "shape.npy";
    const std::int64_t shape[2] = {a.rows, a.cols};
    m[3].bytes = npy_bytes(shape, {2});
    m[4].name = "data.npy";
    if (a.single) {
        std::vector<float> f(a.data.begin(), a.data.end());
        m[4].bytes = npy_bytes(f.data(), {static_cast<index_t>(f.size())});
    } else {
        m[4].bytes = npy_bytes(a.data.data(), {static_cast<index_t>(a.data.size())});
    }
    return zip_stored(m);
}

void write_npz(const std::string& path, const CsrArrays& a) { write_file_atomic(path, npz_bytes(a)); }

CsrMatrix parse_npz(const std::string& bytes, const std::string& what) {
    const auto members = unzip(bytes, what);
    auto find = [&](const std::string& name) -> const ZipMember* {
        for (const auto& m : members)
            if (m.name == name) return &m;
        return nullptr;
    };
    const ZipMember* fmt = find("format.npy");
    if (!fmt) throw std::runtime_error(what + ": no format.npy: not a file written by scipy.sparse.save_npz");
    std::string format;
    for (const char* f : {"csr", "csc", "coo"})
        if (fmt->bytes.size() >= 3 && fmt->bytes.compare(fmt->bytes.size() - 3, 3, f) == 0) format = f;
    if (format.empty()) throw std::runtime_error(what + ": sparse format is not csr, csc or coo");
    auto array = [&](const std::string& name) {
        const ZipMember* m = find(name + ".npy");
        if (!m) throw std::runtime_error(what + ": " + format + " matrix without " + name + ".npy");
        return parse_npy(m->bytes, what + " " + name + ".npy");
    };
    const NpyArray shape = array("shape"), data = array("data");
    if (shape.data.size() != 2) throw std::runtime_error(what + ": shape.npy must hold two numbers");
    const index_t rows = static_cast<index_t>(shape.data[0]), cols = static_cast<index_t>(shape.data[1]);
    std::vector<Eigen::Triplet<double, std::int64_t>> t;
    t.reserve(data.data.size());
    if (format == "coo") {
        const NpyArray r = array("row"), c = array("col");
        if (r.data.size() != data.data.size() || c.data.size() != data.data.size())
            throw std::runtime_error(what + ": row, col and data have different lengths");
        for (size_t k = 0; k < data.data.size(); ++k) {
            const auto i = static_cast<index_t>(r.data[k]), j = static_cast<index_t>(c.data[k]);
            if (i < 0 || i >= rows || j < 0 || j >= cols) throw std::runtime_error(what + ": coo entry outside the shape");
            t.emplace_back(i, j, data.data[k]);
        }
    } else {
        const NpyArray ind = array("indices"), ptr = array("indptr");
        const index_t outer = format == "csr" ? rows : cols, inner = format == "csr" ? cols : rows;
        if (static_cast<index_t>(ptr.data.size()) != outer + 1 || ind.data.size() != data.data.size() ||
            static_cast<size_t>(ptr.data.back()) != data.data.size())
            throw std::runtime_error(what + ": indptr, indices and data are inconsistent with the shape");
        for (index_t o = 0; o < outer; ++o)
            for (auto k = static_cast<size_t>(ptr.data[static_cast<size_t>(o)]);
                 k < static_cast<size_t>(ptr.data[static_cast<size_t>(o) + 1]); ++k) {
                const auto i = static_cast<index_t>(ind.data[k]);
                if (i < 0 || i >= inner || k >= data.data.size())
                    throw std::runtime_error(what + ": index outside the shape");
                if (format == "csr") t.emplace_back(o, i, data.data[k]);
                else t.emplace_back(i, o, data.data[k]);
            }
    }
    return from_triplets(rows, cols, t);
}

CsrMatrix read_npz(const std::string& path) { return parse_npz(read_all(path), "'" + path + "'"); }

void write_matrix_file(const std::string& path, const CsrArrays& a, const std::string& comment) {
    if (ends_with(path, ".npz")) write_npz(path, a);
    else if (ends_with(path, ".mtx")) write_matrix_market(path, a, comment);
    else throw std::invalid_argument("output '" + path + "' must end in .mtx (Matrix Market) or .npz (scipy)");
}

CsrMatrix read_matrix_file(const std::string& path) {
    if (ends_with(path, ".npz")) return read_npz(path);
    if (ends_with(path, ".mtx")) return read_matrix_market(path);
    throw std::invalid_argument("matrix file '" + path + "' must end in .mtx (Matrix Market) or .npz (scipy)");
}

}  // namespace convmtx
