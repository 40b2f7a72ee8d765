// Sparse matrix times dense block, y = A x or y = A^T x, on the compressed arrays of A
// (CSR or CSC, int32 or int64 indices, float or double values), on all OpenMP threads.
// Eigen runs A^T x of a CSR matrix (and A x of a CSC one) as a serial scatter and leaves
// threading to the build; these kernels split the work by entries:
//   gather  (CSR A x, CSC A^T x): y_r = sum_e values[e] * x_{inner[e]}, one output line per
//           thread at a time, no atomics, no workspace;
//   scatter (CSR A^T x, CSC A x): each thread adds values[e] * x_r into its own copy of y
//           (thread 0 into y itself), then the copies are summed into y in parallel.
// A block of N vectors is processed 8 columns at a time, so A is read ceil(N/8) times.
#pragma once

#include <cstdint>

#include <Eigen/SparseCore>

#include "convmtx/kernels.hpp"

namespace convmtx {

/// The three arrays of a compressed sparse matrix (not owned): CSR when row_major (outer = rows,
/// inner = column indices), CSC otherwise. outer has outer_size() + 1 entries, nondecreasing from 0;
/// inner indices lie in [0, inner_size()). Sorted inner indices are not required.
template <class Scalar, class StorageIndex>
struct CompressedView {
    /// \var rows
    /// Rows of A.
    /// \var cols
    /// Columns of A.
    index_t rows = 0, cols = 0;
    /// CSR (true) or CSC (false).
    bool row_major = true;
    /// outer_size() + 1 offsets: line l's entries are [outer[l], outer[l + 1]) of inner and values.
    const StorageIndex* outer = nullptr;
    /// nnz() inner indices: the column of each entry (CSR) or its row (CSC).
    const StorageIndex* inner = nullptr;
    /// nnz() values, in the order of inner.
    const Scalar* values = nullptr;
    /// The number of compressed lines: rows (CSR) or cols (CSC).
    index_t outer_size() const { return row_major ? rows : cols; }
    /// The range of the inner indices: cols (CSR) or rows (CSC).
    index_t inner_size() const { return row_major ? cols : rows; }
    /// Stored entries: outer[outer_size()] (0 when there are no lines).
    index_t nnz() const { return outer_size() > 0 ? static_cast<index_t>(outer[outer_size()]) : 0; }
};

/// Checks what spmv relies on: outer[0] = 0, outer nondecreasing, every inner index in
/// [0, inner_size()). config_error naming the first offending position and value otherwise.
/// O(outer_size + nnz), on all threads; spmv itself trusts the arrays.
template <class Scalar, class StorageIndex>
void check_structure(const CompressedView<Scalar, StorageIndex>& A);

/// A compressed Eigen matrix as a CompressedView (config_error if it is not compressed).
template <class Scalar, int Order, class StorageIndex>
CompressedView<Scalar, StorageIndex> compressed_view(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& A) {
    if (!A.isCompressed())
        throw config_error("spmv: the sparse matrix is not compressed (call makeCompressed() first)");
    CompressedView<Scalar, StorageIndex> v;
    v.rows = A.rows();
    v.cols = A.cols();
    v.row_major = Order == Eigen::RowMajor;
    v.outer = A.outerIndexPtr();
    v.inner = A.innerIndexPtr();
    v.values = A.valuePtr();
    return v;
}

/// A dense block of `cols` vectors of `rows` values (not owned): element (i, k) is
/// data[i * row_stride + k * col_stride]. A column-major Eigen block has row_stride 1; a C-order
/// numpy array (rows, cols) has col_stride 1.
template <class T>
struct DenseView {
    /// Element (0, 0).
    T* data = nullptr;
    /// \var rows
    /// Values per vector.
    /// \var cols
    /// The number of vectors.
    /// \var row_stride
    /// Elements from (i, k) to (i + 1, k).
    /// \var col_stride
    /// Elements from (i, k) to (i, k + 1); the default 0 suits a single vector (cols = 1).
    index_t rows = 0, cols = 0, row_stride = 1, col_stride = 0;
};

/// y = A x (transpose = false) or y = A^T x (transpose = true), for every column of x, overwriting y.
/// x has op(A).cols() rows, y op(A).rows() rows and both the same number of columns; x and y must not
/// overlap. shape_error naming the shapes otherwise. Runs on omp_get_max_threads() threads; a scatter
/// keeps per-thread workspace of (threads - 1) * op(A).rows() * min(8, columns) values between calls.
template <class Scalar, class StorageIndex>
void spmv(const CompressedView<Scalar, StorageIndex>& A, bool transpose, DenseView<const Scalar> x,
          DenseView<Scalar> y);

/// The same on an Eigen compressed matrix and column-major blocks.
template <class Scalar, int Order, class StorageIndex>
void spmv(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& A, bool transpose,
          const Eigen::Ref<const Batch<typename Eigen::SparseMatrix<Scalar, Order, StorageIndex>::Scalar>>& x,
          Eigen::Ref<Batch<typename Eigen::SparseMatrix<Scalar, Order, StorageIndex>::Scalar>> y) {
    spmv<Scalar, StorageIndex>(compressed_view(A), transpose,
                               DenseView<const Scalar>{x.data(), x.rows(), x.cols(), 1, x.outerStride()},
                               DenseView<Scalar>{y.data(), y.rows(), y.cols(), 1, y.outerStride()});
}

#define CONVMTX_SPMV_EXTERN(S, I)                                                                 \
    extern template void spmv<S, I>(const CompressedView<S, I>&, bool, DenseView<const S>, DenseView<S>); \
    extern template void check_structure<S, I>(const CompressedView<S, I>&);
CONVMTX_SPMV_EXTERN(float, std::int32_t)
CONVMTX_SPMV_EXTERN(float, std::int64_t)
CONVMTX_SPMV_EXTERN(double, std::int32_t)
CONVMTX_SPMV_EXTERN(double, std::int64_t)
#undef CONVMTX_SPMV_EXTERN

}  // namespace convmtx
