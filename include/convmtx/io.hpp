// Sparse matrix files: Matrix Market (.mtx, coordinate real general) and
// scipy's .npz (what scipy.sparse.save_npz writes for a CSR matrix, loadable
// by scipy.sparse.load_npz), both written atomically (never a partial file).
//
//   Matrix Market: "%%MatrixMarket matrix coordinate real general", comment
//   lines "% ...", "rows cols nnz", then one "i j value" line per stored entry,
//   1-based, row-major order, values printed with %.17g (double) or %.9g
//   (float): exactly enough digits to read back the same number.
//
//   npz: an uncompressed zip (method "stored", CRC-32 of every member) with
//   indices.npy, indptr.npy (int32 when nnz and cols fit, as scipy does, else
//   int64), format.npy (the bytes scalar b'csr', dtype |S3), shape.npy (int64 (2,))
//   and data.npy (float64 or float32).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/SparseCore>

#include "convmtx/spec.hpp"

namespace convmtx {

/// The matrix type the readers return: row-major, double values, int64 indices.
using CsrMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;

/// A matrix in plain CSR arrays; `single` keeps float32 values float32 in an npz.
struct CsrArrays {
    index_t rows = 0, cols = 0;
    std::vector<std::int64_t> indptr;   ///< rows + 1 offsets
    std::vector<std::int64_t> indices;  ///< column of each entry, sorted within a row
    std::vector<double> data;
    bool single = false;
};

/// The CSR arrays of any Eigen sparse matrix (converted to row-major).
template <class Scalar, int Order, class StorageIndex>
CsrArrays to_csr_arrays(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& M) {
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t> R(M);
    R.makeCompressed();
    CsrArrays a;
    a.rows = R.rows();
    a.cols = R.cols();
    a.indptr.assign(R.outerIndexPtr(), R.outerIndexPtr() + R.rows() + 1);
    a.indices.assign(R.innerIndexPtr(), R.innerIndexPtr() + R.nonZeros());
    a.data.assign(R.valuePtr(), R.valuePtr() + R.nonZeros());
    a.single = sizeof(Scalar) == sizeof(float);
    return a;
}

/// The text of a Matrix Market file holding `a` (comment lines may contain newlines: each becomes "% line").
std::string matrix_market_text(const CsrArrays& a, const std::string& comment = "");
/// Writes `a` as Matrix Market to `path` (atomically).
void write_matrix_market(const std::string& path, const CsrArrays& a, const std::string& comment = "");
/// Parses Matrix Market text: coordinate (real, integer or pattern; general, symmetric or
/// skew-symmetric; duplicates are summed) or array (real/integer, general). `what` names the source in errors.
CsrMatrix parse_matrix_market(const std::string& text, const std::string& what = "Matrix Market text");
CsrMatrix read_matrix_market(const std::string& path);

/// The bytes of an .npz file as scipy.sparse.save_npz(path, csr, compressed=False) writes it.
std::string npz_bytes(const CsrArrays& a);
void write_npz(const std::string& path, const CsrArrays& a);
/// Reads an .npz written by scipy.sparse.save_npz (csr, csc or coo; stored or deflated members).
CsrMatrix parse_npz(const std::string& bytes, const std::string& what = "npz data");
CsrMatrix read_npz(const std::string& path);

/// write_npz for a name ending in ".npz", write_matrix_market for ".mtx"; anything else
/// throws std::invalid_argument naming the path and the two extensions.
void write_matrix_file(const std::string& path, const CsrArrays& a, const std::string& comment = "");
/// read_npz / read_matrix_market by extension (".npz" or ".mtx"; case-insensitive).
CsrMatrix read_matrix_file(const std::string& path);

/// Writes an Eigen sparse matrix by extension (see write_matrix_file).
template <class Scalar, int Order, class StorageIndex>
void write_matrix_file(const std::string& path, const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& M,
                       const std::string& comment = "") {
    write_matrix_file(path, to_csr_arrays(M), comment);
}

/// CRC-32 (ISO-HDLC, as zip and PNG use) of `n` bytes.
std::uint32_t crc32_of(const void* data, size_t n);

}  // namespace convmtx
