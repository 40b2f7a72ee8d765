// Shared by the fuzz targets: failing loudly, the rules every error message keeps, the same bytes
// as a regular file (a memfd, so that the file readers run on exactly what the byte parsers got),
// and comparing what two readers return.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "convmtx/csr.hpp"

namespace fuzz {

/// A finding: printed, then abort() so that libFuzzer (or ctest's replay) reports the input.
[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

/// Words of the C++ library's own exceptions that must never reach a user: they say nothing about
/// the input ("stoll", "vector::reserve", "std::bad_alloc", "cannot create std::vector larger than
/// max_size()", ...). A word the input itself holds may be quoted from it.
/// Bytes from the input are shown escaped ("\xba"): each escape is read as one byte that no word
/// holds, so that an escape and the text around it ("\xba" + "sic_string", "internal" + "\x11" +
/// "error") never spell a word.
inline const char* raw_library_word(const std::string& message, const std::string& input) {
    static const char* const words[] = {"stoll",       "stoi",       "stod",         "stoul",    "vector::",
                                        "bad_alloc",   "max_size()", "basic_string", "_M_",      "bad_array",
                                        "std::",       "out_of_range", "internal error"};
    std::string text;
    text.reserve(message.size());
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\\' && i + 3 < message.size() && message[i + 1] == 'x' &&
            std::isxdigit(static_cast<unsigned char>(message[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(message[i + 3]))) {
            text += '\x01';  // a byte no word contains
            i += 3;
        } else {
            text += message[i];
        }
    }
    for (const char* w : words)
        if (text.find(w) != std::string::npos && input.find(w) == std::string::npos) return w;
    return nullptr;
}

/// An error message of convmtx about `input`: not empty, no control bytes (bytes from the input are
/// escaped), none of the C++ library's words, and of a bounded length.
inline void check_message(const std::string& message, const char* context, const std::string& input) {
    if (message.empty()) fail(std::string(context) + ": an empty error message");
    if (const char* w = raw_library_word(message, input))
        fail(std::string(context) + ": the message shows '" + w + "': " + message);
    for (const char c : message)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            fail(std::string(context) + ": a control byte in the message: " + message);
    if (message.size() > 4096) fail(std::string(context) + ": a message of " + std::to_string(message.size()) + " bytes");
}

/// The path of a regular file holding exactly `bytes` (one memfd per process, rewritten per input).
inline std::string as_file(const std::string& bytes) {
    static const int fd = ::memfd_create("convmtx-fuzz", MFD_CLOEXEC);
    if (fd < 0) fail("memfd_create failed");
    if (::ftruncate(fd, 0) != 0) fail("ftruncate failed");
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t w = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
        if (w <= 0) fail("pwrite failed");
        done += static_cast<size_t>(w);
    }
    return "/proc/self/fd/" + std::to_string(fd);
}

inline bool same_value(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// `m` in compressed form: itself when it is, else a compressed copy kept in `copy`.
inline const convmtx::CsrMatrix& compressed(const convmtx::CsrMatrix& m, convmtx::CsrMatrix& copy) {
    if (m.isCompressed()) return m;
    copy = m;
    copy.makeCompressed();
    return copy;
}

/// Whether two matrices have the same shape, pattern and values (NaN equals NaN).
inline bool same_matrix(const convmtx::CsrMatrix& a, const convmtx::CsrMatrix& b) {
    if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
    convmtx::CsrMatrix ca, cb;
    const convmtx::CsrMatrix &A = compressed(a, ca), &B = compressed(b, cb);
    for (Eigen::Index r = 0; r <= A.rows(); ++r)
        if (A.outerIndexPtr()[r] != B.outerIndexPtr()[r]) return false;
    for (Eigen::Index k = 0; k < A.nonZeros(); ++k)
        if (A.innerIndexPtr()[k] != B.innerIndexPtr()[k] || !same_value(A.valuePtr()[k], B.valuePtr()[k])) return false;
    return true;
}

/// A matrix a reader returned: the CSR invariants (indptr from 0, non-decreasing; columns in range, increasing).
inline void check_matrix(const convmtx::CsrMatrix& m, const char* context) {
    if (m.rows() < 0 || m.cols() < 0) fail(std::string(context) + ": a negative dimension");
    convmtx::CsrMatrix copy;
    const convmtx::CsrMatrix& A = compressed(m, copy);
    if (A.outerIndexPtr()[0] != 0) fail(std::string(context) + ": indptr does not start at 0");
    for (Eigen::Index r = 0; r < A.rows(); ++r) {
        if (A.outerIndexPtr()[r + 1] < A.outerIndexPtr()[r]) fail(std::string(context) + ": indptr decreases");
        for (auto k = A.outerIndexPtr()[r]; k < A.outerIndexPtr()[r + 1]; ++k) {
            const auto c = A.innerIndexPtr()[k];
            if (c < 0 || c >= A.cols()) fail(std::string(context) + ": a column index outside the matrix");
            if (k > A.outerIndexPtr()[r] && c <= A.innerIndexPtr()[k - 1])
                fail(std::string(context) + ": columns not strictly increasing within a row");
        }
    }
}

}  // namespace fuzz
