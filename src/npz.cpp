// scipy .npz reading and writing through libzip (see npz.hpp).
#include "convmtx/npz.hpp"

#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "convmtx/builder.hpp"
#include "convmtx/detail/entries.hpp"
#include "convmtx/detail/npy_header.hpp"
#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/npy.hpp"

namespace convmtx {

using detail::printable;

namespace {

/// Deflate never expands more than 1032:1 (zlib's documented maximum compression ratio).
constexpr std::uint64_t kMaxDeflateRatio = 1032;

std::string libzip_message(zip_error_t* e) { return zip_error_strerror(e); }

// ---------------- reading ----------------

/// A seekable libzip read source over an InputFile.
struct FileSource {
    const InputFile* file = nullptr;
    std::uint64_t pos = 0;
    zip_error_t error;
    std::string failure;  // an io_error message from the file, rethrown after libzip gives up
};

zip_int64_t file_source(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* s = static_cast<FileSource*>(user);
    const std::uint64_t size = s->file->size();
    switch (cmd) {
        case ZIP_SOURCE_OPEN: s->pos = 0; return 0;
        case ZIP_SOURCE_READ: {
            const std::uint64_t n = std::min<std::uint64_t>(len, size - std::min(size, s->pos));
            try {
                const size_t got = s->file->read_at(s->pos, data, static_cast<size_t>(n));
                s->pos += got;
                return static_cast<zip_int64_t>(got);
            } catch (const std::exception& e) {
                s->failure = e.what();
                zip_error_set(&s->error, ZIP_ER_READ, EIO);
                return -1;
            }
        }
        case ZIP_SOURCE_CLOSE: return 0;
        case ZIP_SOURCE_STAT: {
            auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &s->error);
            if (!st) return -1;
            zip_stat_init(st);
            st->size = size;
            st->valid |= ZIP_STAT_SIZE;
            return sizeof(zip_stat_t);
        }
        case ZIP_SOURCE_ERROR: return zip_error_to_data(&s->error, data, len);
        case ZIP_SOURCE_FREE: return 0;  // the FileSource belongs to the caller
        case ZIP_SOURCE_SEEK: {
            const zip_int64_t p = zip_source_seek_compute_offset(s->pos, size, data, len, &s->error);
            if (p < 0) return -1;
            s->pos = static_cast<std::uint64_t>(p);
            return 0;
        }
        case ZIP_SOURCE_TELL: return static_cast<zip_int64_t>(s->pos);
        case ZIP_SOURCE_SUPPORTS: return ZIP_SOURCE_SUPPORTS_SEEKABLE;
        default: zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0); return -1;
    }
}

struct ArchiveCloser {
    void operator()(zip_t* z) const {
        if (z) zip_discard(z);
    }
};
using Archive = std::unique_ptr<zip_t, ArchiveCloser>;

/// Opens `src` read-only with libzip's consistency checks; frees `src` on failure.
Archive open_archive(zip_source_t* src, const std::string& what, const std::string* failure) {
    zip_error_t err;
    zip_error_init(&err);
    zip_t* z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!z) {
        zip_source_free(src);
        const int code = zip_error_code_zip(&err);
        const std::string msg = libzip_message(&err);
        zip_error_fini(&err);
        if (failure && !failure->empty()) throw io_error(*failure);
        if (code == ZIP_ER_EXISTS)
            throw format_error(what + ": two zip members have the same name: not a file written by scipy.sparse.save_npz");
        throw format_error(what + ": not a readable zip archive (libzip: " + msg + ")");
    }
    return Archive(z);
}

/// The members of a read-only archive, read under the size rules of npz.hpp.
class Members {
public:
    Members(zip_t* z, std::uint64_t archive_bytes, const std::string& what, const std::string* failure)
        : z_(z), bytes_(archive_bytes), what_(what), failure_(failure) {
        const zip_int64_t n = zip_get_num_entries(z, 0);
        for (zip_int64_t i = 0; i < n; ++i) {
            const char* name = zip_get_name(z, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
            if (!name) throw format_error(what + ": zip member " + std::to_string(i) + " has no readable name");
            if (!index_.emplace(name, static_cast<zip_uint64_t>(i)).second)
                throw format_error(what + ": zip member '" + printable(name) + "' appears twice");
        }
    }

    bool has(const std::string& name) const { return index_.count(name) > 0; }

    /// The bytes of member `name` (format_error when it is missing or breaks a rule).
    std::string read(const std::string& name, const std::string& role) const {
        const auto it = index_.find(name);
        if (it == index_.end()) throw format_error(what_ + ": " + role + " without " + name);
        const std::string m = what_ + " member " + name;
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(z_, it->second, 0, &st) != 0) throw format_error(m + ": " + zip_strerror(z_));
        const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
        if ((st.valid & need) != need) throw format_error(m + ": the zip directory does not give its sizes");
        if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
            throw format_error(m + " is encrypted; npz members are not");
        if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
            throw format_error(m + " uses zip compression method " + std::to_string(st.comp_method) +
                               " (only stored, 0, and deflate, 8, are read)");
        if (st.comp_size > bytes_)
            throw format_error(m + " declares " + std::to_string(st.comp_size) + " compressed bytes in a " +
                               std::to_string(bytes_) + "-byte archive");
        if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)
            throw format_error(m + " is stored but declares " + std::to_string(st.size) + " bytes in " +
                               std::to_string(st.comp_size));
        if (st.comp_method == ZIP_CM_DEFLATE && st.size / kMaxDeflateRatio > st.comp_size)
            throw format_error(m + " declares " + std::to_string(st.size) + " bytes from " + std::to_string(st.comp_size) +
                               " deflated ones: more than deflate's maximum expansion of 1032:1");
        const double limit = physical_memory_bytes();
        if (limit > 0 && static_cast<double>(st.size) > limit)
            throw memory_limit_error(m + " declares " + format_bytes(static_cast<double>(st.size)) +
                                         ", more than the physical memory " + format_bytes(limit),
                                     static_cast<double>(st.size), limit);
        std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(zip_fopen_index(z_, it->second, 0), zip_fclose);
        if (!f) fail(m, zip_strerror(z_));
        std::string out(static_cast<size_t>(st.size), '\0');
        for (size_t done = 0; done < out.size();) {
            const size_t want = std::min<size_t>(out.size() - done, size_t{1} << 26);
            const zip_int64_t got = zip_fread(f.get(), out.data() + done, want);
            if (got < 0) fail(m, zip_file_strerror(f.get()));
            if (got == 0)
                throw format_error(m + ": its data ends after " + std::to_string(done) + " of the " +
                                   std::to_string(out.size()) + " bytes the zip directory declares");
            done += static_cast<size_t>(got);
        }
        char extra;
        const zip_int64_t more = zip_fread(f.get(), &extra, 1);  // the end: libzip checks the CRC-32 here
        if (more < 0) fail(m, zip_file_strerror(f.get()));
        if (more > 0)
            throw format_error(m + ": its data runs past the " + std::to_string(out.size()) +
                               " bytes the zip directory declares");
        return out;
    }

private:
    zip_t* z_;
    std::uint64_t bytes_;
    const std::string& what_;
    const std::string* failure_;
    std::map<std::string, zip_uint64_t> index_;

    [[noreturn]] void fail(const std::string& m, const char* libzip) const {
        if (failure_ && !failure_->empty()) throw io_error(*failure_);
        throw format_error(m + ": " + libzip);
    }
};

/// A one-dimensional numeric .npy member.
struct Array {
    detail::NpyHeader h;
    std::string bytes;
    const char* data() const { return bytes.data() + h.data_offset; }
};

Array npy_member(const Members& members, const std::string& name, const std::string& role, const std::string& what,
                 bool one_dim = true) {
    Array a;
    a.bytes = members.read(name, role);
    const std::string m = what + " member " + name;
    a.h = detail::parse_npy_header(a.bytes, a.bytes.size(), m);
    if (one_dim && a.h.shape.size() != 1)
        throw format_error(m + ": must be one-dimensional, not of shape (" + [&] {
            std::string s;
            for (size_t d = 0; d < a.h.shape.size(); ++d) s += (d ? ", " : "") + std::to_string(a.h.shape[d]);
            return s;
        }() + ")");
    return a;
}

std::vector<std::int64_t> integers(const Array& a, const std::string& m) {
    std::vector<std::int64_t> v(static_cast<size_t>(a.h.count));
    size_t bad = 0;
    if (!detail::npy_to_int64(a.h, a.data(), v.size(), v.data(), &bad)) {
        if (a.h.kind == 'u')
            throw format_error(m + ": value " + std::to_string(bad) + " does not fit a 64-bit signed integer");
        throw format_error(m + ": dtype '" + printable(a.h.descr) + "' must be an integer dtype (int32 or int64)");
    }
    return v;
}

CsrMatrix read_archive(zip_t* z, std::uint64_t archive_bytes, const std::string& what, const std::string* failure) {
    const Members members(z, archive_bytes, what, failure);
    const std::string role = "a scipy sparse matrix file";
    if (!members.has("format.npy"))
        throw format_error(what + ": no format.npy: not a file written by scipy.sparse.save_npz");
    const Array fmt = npy_member(members, "format.npy", role, what, false);
    if ((fmt.h.kind != 'S' && fmt.h.kind != 'U') || fmt.h.count != 1)
        throw format_error(what + " member format.npy: must hold one string (b'csr', b'csc' or b'coo'), not dtype '" +
                           printable(fmt.h.descr) + "' with " + std::to_string(fmt.h.count) + " items");
    std::string format;
    for (size_t i = 0; i < fmt.h.item_size; i += (fmt.h.kind == 'U' ? 4 : 1)) format += fmt.data()[i];
    format = format.substr(0, format.find('\0'));
    if (format != "csr" && format != "csc" && format != "coo")
        throw format_error(what + ": sparse format '" + printable(format) + "' is not supported (csr, csc or coo)");
    const std::string fmt_role = "a " + format + " matrix";

    const Array shape = npy_member(members, "shape.npy", fmt_role, what);
    const std::string sm = what + " member shape.npy";
    if (shape.h.count != 2) throw format_error(sm + ": must hold 2 numbers, not " + std::to_string(shape.h.count));
    std::int64_t dims[2] = {0, 0};
    if (shape.h.kind == 'f') {
        double d[2];
        detail::npy_to_double(shape.h, shape.data(), 2, d);
        for (int i = 0; i < 2; ++i) {
            if (!std::isfinite(d[i]) || d[i] < 0 || d[i] != std::floor(d[i]) || d[i] > 9.2e18)
                throw format_error(sm + ": " + (i ? "columns" : "rows") + " = " + std::to_string(d[i]) +
                                   " must be a finite non-negative integer");
            dims[i] = static_cast<std::int64_t>(d[i]);
        }
    } else if (shape.h.kind == 'i' || shape.h.kind == 'u') {
        const auto v = integers(shape, sm);
        dims[0] = v[0];
        dims[1] = v[1];
    } else {
        throw format_error(sm + ": dtype '" + printable(shape.h.descr) + "' is not a number");
    }
    const std::int64_t rows = dims[0], cols = dims[1];
    if (rows < 0 || cols < 0)
        throw format_error(sm + ": shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
                           ") must be non-negative");

    const Array data = npy_member(members, "data.npy", fmt_role, what);
    const std::string dm = what + " member data.npy";
    if (data.h.kind != 'f' && data.h.kind != 'i' && data.h.kind != 'u' && data.h.kind != 'b')
        throw format_error(dm + ": dtype '" + printable(data.h.descr) + "' is not a real number type");
    const index_t nnz = data.h.count;
    detail::check_declared_matrix(rows, cols, nnz, what);
    std::vector<double> values(static_cast<size_t>(nnz));
    detail::npy_to_double(data.h, data.data(), values.size(), values.data());

    std::vector<detail::Entry> entries(static_cast<size_t>(nnz));
    auto length_check = [&](const Array& a, const std::string& name, index_t want, const std::string& rule) {
        if (a.h.count != want)
            throw format_error(what + " member " + name + ": holds " + std::to_string(a.h.count) + " values; " + rule);
    };
    if (format == "coo") {
        const Array r = npy_member(members, "row.npy", fmt_role, what), c = npy_member(members, "col.npy", fmt_role, what);
        length_check(r, "row.npy", nnz, "data.npy has " + std::to_string(nnz));
        length_check(c, "col.npy", nnz, "data.npy has " + std::to_string(nnz));
        const auto ri = integers(r, what + " member row.npy"), ci = integers(c, what + " member col.npy");
        for (size_t k = 0; k < ri.size(); ++k) {
            if (ri[k] < 0 || ri[k] >= rows || ci[k] < 0 || ci[k] >= cols)
                throw format_error(what + ": coo entry " + std::to_string(k) + " at (" + std::to_string(ri[k]) + ", " +
                                   std::to_string(ci[k]) + ") is outside the shape (" + std::to_string(rows) + ", " +
                                   std::to_string(cols) + ")");
            entries[k] = {ri[k], ci[k], values[k]};
        }
    } else {
        const bool csr = format == "csr";
        const index_t outer = csr ? rows : cols, inner = csr ? cols : rows;
        const Array ptr = npy_member(members, "indptr.npy", fmt_role, what);
        const Array ind = npy_member(members, "indices.npy", fmt_role, what);
        const std::string pm = what + " member indptr.npy", im = what + " member indices.npy";
        length_check(ptr, "indptr.npy", outer + 1,
                     "a " + format + " matrix with " + std::to_string(outer) + (csr ? " rows" : " columns") + " needs " +
                         std::to_string(outer + 1));
        length_check(ind, "indices.npy", nnz, "data.npy has " + std::to_string(nnz));
        const auto p = integers(ptr, pm), idx = integers(ind, im);
        if (p[0] != 0) throw format_error(pm + ": indptr[0] = " + std::to_string(p[0]) + " must be 0");
        for (size_t o = 0; o < static_cast<size_t>(outer); ++o)
            if (p[o + 1] < p[o])
                throw format_error(pm + ": indptr decreases at " + std::to_string(o + 1) + " (" + std::to_string(p[o]) +
                                   " then " + std::to_string(p[o + 1]) + "): it must be non-decreasing");
        if (p.back() != nnz)
            throw format_error(pm + ": indptr ends at " + std::to_string(p.back()) + " but there are " +
                               std::to_string(nnz) + " entries (data.npy)");
        for (size_t o = 0; o < static_cast<size_t>(outer); ++o)
            for (auto k = static_cast<size_t>(p[o]); k < static_cast<size_t>(p[o + 1]); ++k) {
                if (idx[k] < 0 || idx[k] >= inner)
                    throw format_error(im + ": index " + std::to_string(idx[k]) + " of entry " + std::to_string(k) +
                                       " is outside [0, " + std::to_string(inner) + ")");
                entries[k] = csr ? detail::Entry{static_cast<std::int64_t>(o), idx[k], values[k]}
                                 : detail::Entry{idx[k], static_cast<std::int64_t>(o), values[k]};
            }
    }
    std::vector<double>().swap(values);
    return detail::csr_from_entries(rows, cols, entries);
}

// ---------------- writing ----------------

/// One member: a .npy header, then `count` items of the source array converted on the fly.
struct Member {
    enum class Conv { copy, i64_to_i32, f64_to_f32 };
    std::string name, header;
    const char* src = nullptr;
    size_t count = 0, src_item = 0, out_item = 0;
    Conv conv = Conv::copy;
    std::uint64_t pos = 0;
    time_t mtime = 0;
    zip_error_t error;

    std::uint64_t size() const { return header.size() + static_cast<std::uint64_t>(count) * out_item; }

    size_t fill(char* out, size_t len) {
        size_t done = 0;
        while (done < len && pos < size()) {
            if (pos < header.size()) {
                const size_t n = std::min<size_t>(len - done, header.size() - static_cast<size_t>(pos));
                std::memcpy(out + done, header.data() + pos, n);
                done += n;
                pos += n;
                continue;
            }
            const std::uint64_t off = pos - header.size();
            if (conv == Conv::copy) {
                const size_t n = static_cast<size_t>(std::min<std::uint64_t>(len - done, size() - pos));
                std::memcpy(out + done, src + off, n);
                done += n;
                pos += n;
                continue;
            }
            // Whole items only: len from libzip is large (8 KiB and up), and items are 4 bytes.
            const size_t item = static_cast<size_t>(off / out_item);
            const size_t n = std::min<size_t>((len - done) / out_item, count - item);
            if (n == 0) break;
            for (size_t i = 0; i < n; ++i) {
                if (conv == Conv::i64_to_i32) {
                    std::int64_t v;
                    std::memcpy(&v, src + (item + i) * src_item, 8);
                    const auto w = static_cast<std::int32_t>(v);
                    std::memcpy(out + done + i * 4, &w, 4);
                } else {
                    double v;
                    std::memcpy(&v, src + (item + i) * src_item, 8);
                    const auto w = static_cast<float>(v);
                    std::memcpy(out + done + i * 4, &w, 4);
                }
            }
            done += n * out_item;
            pos += n * out_item;
        }
        return done;
    }
};

zip_int64_t member_source(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* m = static_cast<Member*>(user);
    switch (cmd) {
        case ZIP_SOURCE_OPEN: m->pos = 0; return 0;
        case ZIP_SOURCE_READ: return static_cast<zip_int64_t>(m->fill(static_cast<char*>(data), static_cast<size_t>(len)));
        case ZIP_SOURCE_CLOSE: return 0;
        case ZIP_SOURCE_STAT: {
            auto* st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &m->error);
            if (!st) return -1;
            zip_stat_init(st);
            st->size = m->size();
            st->mtime = m->mtime;
            st->comp_method = ZIP_CM_STORE;
            st->encryption_method = ZIP_EM_NONE;
            st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
            return sizeof(zip_stat_t);
        }
        case ZIP_SOURCE_ERROR: return zip_error_to_data(&m->error, data, len);
        case ZIP_SOURCE_FREE: return 0;  // the Member belongs to encode_npz
        case ZIP_SOURCE_SUPPORTS:
            return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                                  ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, ZIP_SOURCE_SUPPORTS, -1);
        default: zip_error_set(&m->error, ZIP_ER_OPNOTSUPP, 0); return -1;
    }
}

/// The archive's libzip write source: a seekable ByteSink.
struct SinkTarget {
    ByteSink* sink = nullptr;
    std::uint64_t base = 0, end = 0;
    zip_error_t error;
    std::exception_ptr failure;
};

zip_int64_t sink_source(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* t = static_cast<SinkTarget*>(user);
    try {
        switch (cmd) {
            case ZIP_SOURCE_STAT:  // "no archive yet": libzip creates a new one
                zip_error_set(&t->error, ZIP_ER_READ, ENOENT);
                return -1;
            case ZIP_SOURCE_BEGIN_WRITE:
                t->base = t->sink->tell();
                t->end = 0;
                return 0;
            case ZIP_SOURCE_WRITE:
                t->sink->write(data, static_cast<size_t>(len));
                t->end = std::max(t->end, t->sink->tell() - t->base);
                return static_cast<zip_int64_t>(len);
            case ZIP_SOURCE_TELL_WRITE: return static_cast<zip_int64_t>(t->sink->tell() - t->base);
            case ZIP_SOURCE_SEEK_WRITE: {
                auto* a = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &t->error);
                if (!a) return -1;
                const auto cur = static_cast<zip_int64_t>(t->sink->tell() - t->base);
                const zip_int64_t to = a->whence == SEEK_SET ? a->offset
                                       : a->whence == SEEK_CUR ? cur + a->offset
                                                               : static_cast<zip_int64_t>(t->end) + a->offset;
                if (to < 0 || static_cast<std::uint64_t>(to) > t->end) {
                    zip_error_set(&t->error, ZIP_ER_INVAL, 0);
                    return -1;
                }
                t->sink->seek(t->base + static_cast<std::uint64_t>(to));
                return 0;
            }
            case ZIP_SOURCE_COMMIT_WRITE:
            case ZIP_SOURCE_ROLLBACK_WRITE:
            case ZIP_SOURCE_REMOVE:
            case ZIP_SOURCE_FREE:
            case ZIP_SOURCE_OPEN:
            case ZIP_SOURCE_CLOSE: return 0;
            case ZIP_SOURCE_READ: return 0;
            case ZIP_SOURCE_SEEK: return 0;
            case ZIP_SOURCE_TELL: return 0;
            case ZIP_SOURCE_ERROR: return zip_error_to_data(&t->error, data, len);
            case ZIP_SOURCE_SUPPORTS: return ZIP_SOURCE_SUPPORTS_WRITABLE;
            default: zip_error_set(&t->error, ZIP_ER_OPNOTSUPP, 0); return -1;
        }
    } catch (...) {
        t->failure = std::current_exception();
        zip_error_set(&t->error, ZIP_ER_WRITE, EIO);
        return -1;
    }
}

void encode_seekable(const CsrArrays& a, ByteSink& out) {
    const bool small = a.cols <= std::numeric_limits<std::int32_t>::max() &&
                       static_cast<std::int64_t>(a.indices.size()) <= std::numeric_limits<std::int32_t>::max();
    std::tm tm{};
    tm.tm_year = 80;
    tm.tm_mon = 0;
    tm.tm_mday = 1;
    tm.tm_isdst = -1;
    const time_t t1980 = std::mktime(&tm);
    const std::int64_t shape[2] = {a.rows, a.cols};
    const std::string format = "csr";
    std::vector<std::unique_ptr<Member>> members;
    auto add = [&](const std::string& name, const std::string& descr, Shape dims, const void* src, size_t count,
                   size_t src_item, size_t out_item, Member::Conv conv) {
        auto m = std::make_unique<Member>();
        m->name = name;
        m->header = npy_header(descr, dims);
        m->src = static_cast<const char*>(src);
        m->count = count;
        m->src_item = src_item;
        m->out_item = out_item;
        m->conv = conv;
        m->mtime = t1980;
        zip_error_init(&m->error);
        members.push_back(std::move(m));
    };
    const size_t nnz = a.indices.size(), nptr = a.indptr.size();
    const auto i32 = Member::Conv::i64_to_i32, copy = Member::Conv::copy;
    add("indices.npy", small ? "<i4" : "<i8", {static_cast<index_t>(nnz)}, a.indices.data(), nnz, 8, small ? 4 : 8,
        small ? i32 : copy);
    add("indptr.npy", small ? "<i4" : "<i8", {static_cast<index_t>(nptr)}, a.indptr.data(), nptr, 8, small ? 4 : 8,
        small ? i32 : copy);
    add("format.npy", "|S3", {}, format.data(), 3, 1, 1, copy);
    add("shape.npy", "<i8", {2}, shape, 2, 8, 8, copy);
    add("data.npy", a.single ? "<f4" : "<f8", {static_cast<index_t>(nnz)}, a.data.data(), nnz, 8, a.single ? 4 : 8,
        a.single ? Member::Conv::f64_to_f32 : copy);

    SinkTarget target;
    target.sink = &out;
    zip_error_init(&target.error);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_function_create(sink_source, &target, &err);
    if (!src) throw std::runtime_error("libzip: cannot create a write source: " + libzip_message(&err));
    zip_t* z = zip_open_from_source(src, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) {
        zip_source_free(src);
        throw std::runtime_error("libzip: cannot start an archive: " + libzip_message(&err));
    }
    Archive archive(z);
    for (auto& m : members) {
        zip_source_t* ms = zip_source_function(z, member_source, m.get());
        if (!ms) throw std::runtime_error("libzip: cannot create a member source: " + std::string(zip_strerror(z)));
        const zip_int64_t idx = zip_file_add(z, m->name.c_str(), ms, ZIP_FL_ENC_UTF_8);
        if (idx < 0) {
            zip_source_free(ms);
            throw std::runtime_error("libzip: cannot add " + m->name + ": " + zip_strerror(z));
        }
        if (zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0) != 0 ||
            zip_file_set_mtime(z, static_cast<zip_uint64_t>(idx), t1980, 0) != 0)
            throw std::runtime_error("libzip: cannot set up " + m->name + ": " + zip_strerror(z));
    }
    if (zip_close(z) != 0) {
        if (target.failure) std::rethrow_exception(target.failure);
        throw io_error("cannot write the npz archive: libzip: " + std::string(zip_strerror(z)));
    }
    archive.release();  // zip_close freed it
}

}  // namespace

void encode_npz(const CsrArrays& a, ByteSink& out) {
    check_csr_arrays(a, "npz output");
    if (out.seekable()) return encode_seekable(a, out);
    SpoolFile spool;
    encode_seekable(a, spool);
    spool.copy_to(out);
}

std::string npz_bytes(const CsrArrays& a) {
    StringSink s;
    encode_npz(a, s);
    return std::move(s.bytes);
}

void write_npz(const std::string& path, const CsrArrays& a) {
    check_csr_arrays(a, "npz output " + detail::quoted(path));
    write_file_atomic(path, [&](ByteSink& out) { encode_npz(a, out); });
}

CsrMatrix parse_npz(const std::string& bytes, const std::string& what) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &err);
    if (!src) throw std::runtime_error("libzip: cannot create a buffer source: " + libzip_message(&err));
    const Archive z = open_archive(src, what, nullptr);
    return read_archive(z.get(), bytes.size(), what, nullptr);
}

CsrMatrix read_npz(const std::string& path) {
    const InputFile file(path);
    const std::string what = detail::quoted(path);
    FileSource fs;
    fs.file = &file;
    zip_error_init(&fs.error);
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_function_create(file_source, &fs, &err);
    if (!src) throw std::runtime_error("libzip: cannot create a file source: " + libzip_message(&err));
    const Archive z = open_archive(src, what, &fs.failure);
    return read_archive(z.get(), file.size(), what, &fs.failure);
}

}  // namespace convmtx
