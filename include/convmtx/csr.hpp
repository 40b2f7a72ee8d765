// Sparse matrices as files hold them: the CSR arrays writers take (CsrArrays), the matrix readers
// return (CsrMatrix), and the size rule every matrix reader applies before allocating.
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
    index_t rows = 0;                   ///< rows of the matrix
    index_t cols = 0;                   ///< columns of the matrix
    std::vector<std::int64_t> indptr;   ///< rows + 1 offsets
    std::vector<std::int64_t> indices;  ///< column of each entry, sorted within a row
    std::vector<double> data;           ///< value of each entry
    bool single = false;                ///< the values are float32 (written as float32 in an npz)
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

/// Throws std::invalid_argument naming `what` unless `a` is a CSR matrix: rows, cols >= 0;
/// indptr holds rows + 1 offsets starting at 0, non-decreasing, ending at the entry count;
/// every index is in [0, cols); as many values as indices.
void check_csr_arrays(const CsrArrays& a, const std::string& what);

/// The most rows, and the most columns, a matrix file with `entries` stored entries may declare:
/// max(2^24, 64 * entries). Readers refuse larger declarations before allocating anything: a
/// row index costs 8 bytes per row, so a 66-byte file declaring 2e8 rows would otherwise take
/// 1.5 GiB. Every real convolution matrix is far inside the rule (a row without entries is rare).
index_t max_matrix_dim(index_t entries);

}  // namespace convmtx
