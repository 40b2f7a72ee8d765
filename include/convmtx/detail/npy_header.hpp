// Internal: a parsed .npy header and conversions of its raw items, shared by the .npy and .npz
// readers. Not part of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "convmtx/spec.hpp"

namespace convmtx::detail {

struct NpyHeader {
    std::string descr;         ///< as written, e.g. "<f8", "|S3"
    char kind = 0;             ///< 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'S' bytes, 'U' unicode
    size_t item_size = 0;      ///< bytes per item
    bool fortran = false;
    Shape shape;
    index_t count = 0;         ///< the product of shape
    size_t data_offset = 0;    ///< where the data starts
};

/// The most header bytes read (numpy itself refuses more than 10000 by default).
constexpr size_t kNpyMaxHeader = size_t{1} << 16;

/// Parses the header at the start of `head` (the first bytes of an array file or member of
/// `total` bytes; at least min(total, kNpyMaxHeader + 12) of them) and checks that
/// count * item_size = total - data_offset. format_error naming `what` otherwise.
NpyHeader parse_npy_header(std::string_view head, std::uint64_t total, const std::string& what);

/// Converts `n` numeric items (kind f, i, u or b) starting at `raw` to double.
void npy_to_double(const NpyHeader& h, const char* raw, size_t n, double* out);

/// Converts `n` integer items (kind i, u or b) to int64; false (with the index of the first
/// bad item in *bad) when the dtype is not integral or a value does not fit int64.
bool npy_to_int64(const NpyHeader& h, const char* raw, size_t n, std::int64_t* out, size_t* bad);

}  // namespace convmtx::detail
