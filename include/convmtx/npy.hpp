// NumPy .npy files (format 1.0/2.0/3.0): float32/float64/int32/int64 arrays,
// little-endian, C or Fortran order on reading (returned in C order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// An n-d array read from a .npy file, converted to double, in C order.
struct NpyArray {
    Shape shape;
    std::vector<double> data;
    std::string dtype;  ///< the file's descr, e.g. "<f4"
};

/// Reads a .npy file; throws std::runtime_error naming the file and the problem.
NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::string& bytes, const std::string& what);

/// The bytes of a .npy file (format 1.0, C order) holding `data` with `shape`.
/// descr is the numpy dtype string: "<f8", "<f4", "<i4" or "<i8"; T must match it.
template <class T>
std::string npy_bytes(const T* data, const Shape& shape);

/// The bytes of a .npy file (format 1.0, C order) with numpy dtype string `descr` and raw data.
std::string npy_bytes_raw(const std::string& descr, const Shape& shape, const char* data, size_t nbytes);

/// Writes a .npy file atomically (temporary file, then rename): never a partial file.
template <class T>
void write_npy(const std::string& path, const T* data, const Shape& shape);

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace convmtx
