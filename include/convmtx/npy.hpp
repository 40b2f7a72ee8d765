// NumPy .npy files (format 1.0/2.0/3.0): reading numeric arrays (float16 excepted) into double,
// C or Fortran order (returned in C order), and writing float32/float64/int32/int64 arrays.
//
// Refused with format_error naming the file (or npz member), the value and the rule: a missing
// \x93NUMPY magic or an unknown version; a header longer than 64 KiB or than the bytes present;
// a header that is not the dict {'descr': ..., 'fortran_order': ..., 'shape': (...)} with exactly
// those keys; a big-endian, structured or unknown dtype; more than 64 dimensions; a shape whose
// element count (checked product) times the item size differs from the bytes after the header.
// An array whose values, as double, would exceed the physical memory throws memory_limit_error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convmtx/file.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// An n-d array read from a .npy file, converted to double, in C order.
struct NpyArray {
    Shape shape;               ///< the array's shape
    std::vector<double> data;  ///< the values in C order
    std::string dtype;  ///< the file's descr, e.g. "<f4"
};

/// Reads a .npy file (a regular file; the data is converted block by block, never held twice).
/// Numeric dtypes: <f8 <f4 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1 (and their '=' or '|' spellings).
NpyArray read_npy(const std::string& path);
/// Parses the bytes of a .npy file; `what` names the source in errors.
NpyArray parse_npy(const std::string& bytes, const std::string& what);

/// The bytes of a .npy file (format 1.0, C order) holding `data` with `shape`.
/// descr is the numpy dtype string: "<f8", "<f4", "<i4" or "<i8"; T must match it.
template <class T>
std::string npy_bytes(const T* data, const Shape& shape);

/// The bytes of a .npy file (format 1.0, C order) with numpy dtype string `descr` and raw data.
std::string npy_bytes_raw(const std::string& descr, const Shape& shape, const char* data, size_t nbytes);

/// The .npy header (magic, version 1.0, the dict padded to a multiple of 64 bytes) for an array of
/// dtype `descr` and `shape` in C order; the data follows it.
std::string npy_header(const std::string& descr, const Shape& shape);

/// Writes a .npy file atomically, streamed (file.hpp): never a partial file.
template <class T>
void write_npy(const std::string& path, const T* data, const Shape& shape);

}  // namespace convmtx
