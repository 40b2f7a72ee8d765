// Matrix Market writing and strict reading (see matrix_market.hpp).
#include "convmtx/matrix_market.hpp"

#include <locale.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <clocale>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string_view>
#include <vector>

#include "convmtx/detail/checked.hpp"
#include "convmtx/detail/entries.hpp"
#include "convmtx/detail/printable.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

using detail::printable;

namespace {

constexpr size_t kMaxLine = size_t{1} << 20;

/// Lines of a Matrix Market source, without the newline (and a trailing '\r').
class LineSource {
public:
    virtual ~LineSource() = default;
    /// The next line, or false at the end.
    virtual bool next(std::string_view& line) = 0;
    /// Bytes not yet returned as lines.
    virtual std::uint64_t remaining() const = 0;
    std::int64_t line_number = 0;

protected:
    std::string_view trim_cr(std::string_view s) {
        ++line_number;
        if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
        return s;
    }
};

class TextLines : public LineSource {
public:
    TextLines(const std::string& text, const std::string& what) : text_(text), what_(what) {}
    bool next(std::string_view& line) override {
        if (pos_ >= text_.size()) return false;
        size_t e = text_.find('\n', pos_);
        const size_t stop = e == std::string::npos ? text_.size() : e;
        if (stop - pos_ > kMaxLine)
            throw format_error(what_ + ": line " + std::to_string(line_number + 1) + " is longer than 1 MiB");
        line = trim_cr(std::string_view(text_).substr(pos_, stop - pos_));
        pos_ = e == std::string::npos ? text_.size() : e + 1;
        return true;
    }
    std::uint64_t remaining() const override { return text_.size() - pos_; }

private:
    const std::string& text_;
    const std::string& what_;
    size_t pos_ = 0;
};

class FileLines : public LineSource {
public:
    FileLines(const InputFile& file, const std::string& what) : file_(file), what_(what) {}
    bool next(std::string_view& line) override {
        for (;;) {
            const size_t e = buf_.find('\n', start_);
            if (e != std::string::npos) {
                line = trim_cr(std::string_view(buf_).substr(start_, e - start_));
                consumed_ += e + 1 - start_;
                start_ = e + 1;
                return true;
            }
            if (buf_.size() - start_ > kMaxLine)
                throw format_error(what_ + ": line " + std::to_string(line_number + 1) + " is longer than 1 MiB");
            if (offset_ >= file_.size()) {  // the last line, without a newline
                if (start_ >= buf_.size()) return false;
                line = trim_cr(std::string_view(buf_).substr(start_));
                consumed_ += buf_.size() - start_;
                start_ = buf_.size();
                return true;
            }
            buf_.erase(0, start_);
            start_ = 0;
            const size_t old = buf_.size();
            const size_t want = static_cast<size_t>(std::min<std::uint64_t>(kMaxLine, file_.size() - offset_));
            buf_.resize(old + want);
            const size_t got = file_.read_at(offset_, buf_.data() + old, want);
            buf_.resize(old + got);
            offset_ += got;
            if (got == 0) offset_ = file_.size();  // the file shrank: treat as its end
        }
    }
    std::uint64_t remaining() const override { return file_.size() - std::min(file_.size(), consumed_); }

private:
    const InputFile& file_;
    const std::string& what_;
    std::string buf_;
    size_t start_ = 0;
    std::uint64_t offset_ = 0, consumed_ = 0;
};

bool blank_or_comment(std::string_view line) {
    const size_t p = line.find_first_not_of(" \t");
    return p == std::string_view::npos || line[p] == '%';
}

/// The whitespace-separated words of a line (at most `max` + 1, so that one too many is detected).
std::vector<std::string_view> words(std::string_view line, size_t max) {
    std::vector<std::string_view> w;
    size_t p = 0;
    while (w.size() <= max) {
        p = line.find_first_not_of(" \t", p);
        if (p == std::string_view::npos) break;
        const size_t e = std::min(line.find_first_of(" \t", p), line.size());
        w.push_back(line.substr(p, e - p));
        p = e;
    }
    return w;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

CsrMatrix parse(LineSource& src, const std::string& what) {
    std::string_view line;
    if (!src.next(line))
        throw format_error(what + ": empty: not a Matrix Market file (the first line must start with %%MatrixMarket)");
    if (lower(line.substr(0, 14)) != "%%matrixmarket")
        throw format_error(what + ": not a Matrix Market file: the first line '" + printable(line) +
                           "' must start with %%MatrixMarket");
    const auto banner = words(line, 5);
    if (banner.size() != 5)
        throw format_error(what + ": Matrix Market banner '" + printable(line) +
                           "' must be '%%MatrixMarket matrix <format> <field> <symmetry>'");
    const std::string object = lower(banner[1]), format = lower(banner[2]), field = lower(banner[3]),
                      symmetry = lower(banner[4]);
    if (object != "matrix")
        throw format_error(what + ": Matrix Market object '" + printable(object) + "' is not 'matrix'");
    if (format != "coordinate" && format != "array")
        throw format_error(what + ": Matrix Market format '" + printable(format) + "' must be coordinate or array");
    if (field != "real" && field != "integer" && field != "double" && field != "pattern")
        throw format_error(what + ": Matrix Market field '" + printable(field) +
                           "' is not supported (real, double, integer or pattern)");
    if (symmetry != "general" && symmetry != "symmetric" && symmetry != "skew-symmetric")
        throw format_error(what + ": Matrix Market symmetry '" + printable(symmetry) +
                           "' is not supported (general, symmetric or skew-symmetric)");
    const bool array = format == "array", pattern = field == "pattern", integer = field == "integer";
    const bool general = symmetry == "general";
    if (array && (!general || pattern))
        throw format_error(what + ": only general real/integer Matrix Market arrays are supported, not " + field + " " +
                           symmetry);

    do {
        if (!src.next(line)) throw format_error(what + ": the Matrix Market size line is missing");
    } while (blank_or_comment(line));
    const size_t nsize = array ? 2 : 3;
    const auto size_words = words(line, nsize);
    const std::string size_line = "size line '" + printable(line) + "'";
    if (size_words.size() != nsize)
        throw format_error(what + ": " + size_line + " must hold " + (array ? "'rows cols'" : "'rows cols entries'"));
    std::int64_t dims[3] = {0, 0, 0};
    const char* names[3] = {"rows", "columns", "entries"};
    for (size_t i = 0; i < nsize; ++i)
        if (!detail::parse_decimal(size_words[i], std::numeric_limits<std::int64_t>::max(), &dims[i]))
            throw format_error(what + ": " + size_line + ": " + names[i] + " '" + printable(size_words[i]) +
                               "' is not a decimal integer in [0, 2^63)");
    const std::int64_t rows = dims[0], cols = dims[1];
    std::int64_t nnz = dims[2];
    if (array && !detail::mul_fits(rows, cols, &nnz))
        throw format_error(what + ": " + size_line + ": rows x columns = " + std::to_string(rows) + " x " +
                           std::to_string(cols) + " overflows a 64-bit integer");
    if (!general && rows != cols)
        throw format_error(what + ": a " + symmetry + " matrix must be square, not " + std::to_string(rows) + " x " +
                           std::to_string(cols));
    const std::uint64_t min_bytes = array ? 2 : (pattern ? 4 : 6);
    const std::uint64_t room = (src.remaining() + 1) / min_bytes;
    if (static_cast<std::uint64_t>(nnz) > room)
        throw format_error(what + ": the size line declares " + std::to_string(nnz) + " entries but the " +
                           std::to_string(src.remaining()) + " bytes after it hold at most " + std::to_string(room) +
                           " (an entry line takes at least " + std::to_string(min_bytes) + " bytes)");
    detail::check_declared_matrix(rows, cols, nnz, what);

    std::vector<detail::Entry> entries;
    if (!array) entries.reserve(static_cast<size_t>(general ? nnz : 2 * nnz));
    const size_t nwords = array ? 1 : (pattern ? 2 : 3);
    auto entry_error = [&](std::int64_t k, const std::string& msg) {
        return format_error(what + ": line " + std::to_string(src.line_number) + ", entry " + std::to_string(k + 1) +
                            ": " + msg);
    };
    auto value_of = [&](std::string_view w, std::int64_t k) {
        if (integer) {
            std::string_view digits = w;
            if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
            if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
                throw entry_error(k, "value '" + printable(w) + "' is not an integer (the field is integer)");
        }
        std::string_view t = w;
        if (!t.empty() && t[0] == '+') t.remove_prefix(1);
        double v = 0;
        const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || r.ptr != t.data() + t.size() || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
            throw entry_error(k, "value '" + printable(w) + "' is not a number");
        if (r.ec == std::errc::result_out_of_range) {  // an infinity, a subnormal or zero: as strtod rounds it
            static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
            v = strtod_l(std::string(t).c_str(), nullptr, c_locale);
        }
        return v;
    };
    for (std::int64_t k = 0; k < nnz; ++k) {
        do {
            if (!src.next(line))
                throw format_error(what + ": the file ends after " + std::to_string(k) + " of the " +
                                   std::to_string(nnz) + " entries the size line declares: entry " +
                                   std::to_string(k + 1) + " is missing");
        } while (blank_or_comment(line));
        const auto w = words(line, nwords);
        if (w.size() != nwords)
            throw entry_error(k, "'" + printable(line) + "' must be " +
                                     (array ? std::string("one value") : pattern ? "'row col'" : "'row col value'"));
        if (array) {
            const double v = value_of(w[0], k);
            if (v != 0) entries.push_back({k % rows, k / rows, v});
            continue;
        }
        std::int64_t i = 0, j = 0;
        if (!detail::parse_decimal(w[0], rows, &i) || !detail::parse_decimal(w[1], cols, &j) || i < 1 || j < 1)
            throw entry_error(k, "(" + printable(w[0]) + ", " + printable(w[1]) + ") is outside the " +
                                     std::to_string(rows) + "x" + std::to_string(cols) + " matrix (indices are 1-based)");
        const double v = pattern ? 1.0 : value_of(w[2], k);
        entries.push_back({i - 1, j - 1, v});
        if (!general && i != j) entries.push_back({j - 1, i - 1, symmetry == "symmetric" ? v : -v});
    }
    while (src.next(line))
        if (!blank_or_comment(line))
            throw format_error(what + ": line " + std::to_string(src.line_number) + ": more data after the " +
                               std::to_string(nnz) + " entries the size line announces: '" + printable(line) + "'");
    return detail::csr_from_entries(rows, cols, entries);
}

}  // namespace

void encode_matrix_market(const CsrArrays& a, const std::string& comment, ByteSink& out) {
    check_csr_arrays(a, "Matrix Market output");
    std::string head = "%%MatrixMarket matrix coordinate real general\n";
    std::stringstream cs(comment);
    std::string line;
    while (std::getline(cs, line)) head += "% " + line + "\n";
    head += std::to_string(a.rows) + " " + std::to_string(a.cols) + " " + std::to_string(a.indices.size()) + "\n";
    out.write(head);
    const int digits = a.single ? 9 : 17;
    std::string buf;
    buf.reserve(size_t{1} << 16);
    char num[64];
    auto put_int = [&](long long v) {
        const auto r = std::to_chars(num, num + sizeof num, v);
        buf.append(num, r.ptr);
    };
    for (index_t r = 0; r < a.rows; ++r)
        for (auto k = a.indptr[static_cast<size_t>(r)]; k < a.indptr[static_cast<size_t>(r) + 1]; ++k) {
            put_int(r + 1);
            buf += ' ';
            put_int(a.indices[static_cast<size_t>(k)] + 1);
            buf += ' ';
            const auto res = std::to_chars(num, num + sizeof num, a.data[static_cast<size_t>(k)],
                                           std::chars_format::general, digits);
            buf.append(num, res.ptr);
            buf += '\n';
            if (buf.size() > (size_t{1} << 16) - 80) {
                out.write(buf);
                buf.clear();
            }
        }
    out.write(buf);
}

std::string matrix_market_text(const CsrArrays& a, const std::string& comment) {
    StringSink s;
    encode_matrix_market(a, comment, s);
    return std::move(s.bytes);
}

void write_matrix_market(const std::string& path, const CsrArrays& a, const std::string& comment) {
    check_csr_arrays(a, "Matrix Market output " + detail::quoted(path));
    write_file_atomic(path, [&](ByteSink& out) { encode_matrix_market(a, comment, out); });
}

CsrMatrix parse_matrix_market(const std::string& text, const std::string& what) {
    TextLines lines(text, what);
    return parse(lines, what);
}

CsrMatrix read_matrix_market(const std::string& path) {
    const InputFile file(path);
    const std::string what = detail::quoted(path);
    FileLines lines(file, what);
    return parse(lines, what);
}

}  // namespace convmtx
