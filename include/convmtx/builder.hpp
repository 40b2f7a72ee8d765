// The explicit sparse matrices of a convolution configuration (docs/semantics.md).
//
//   W (conv_matrix):           rows C_out*prod(m) (the conv's output), columns C_in*prod(n) (its input),
//                              W[(o,q),(c,i)] = sum of w[o,c',t] over taps t with pad_fold(q*s - pl + t*d) = i,
//                              c = g*C_in/G + c', g = o/(C_out/G)
//   T (conv_transpose_matrix): T = W^T, rows C_in*prod(n), columns C_out*prod(m)
//
// For a transposed configuration W is the conv whose adjoint it is, so T is the
// operation's own matrix. Rows and columns are C-order flattened (channel first).
// Both are assembled straight into the compressed arrays from the tap tables of
// a ConvGeometry (a count pass, then a fill pass): no triplets, sorted inner
// indices, no duplicates.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/SparseCore>

#include "convmtx/csr.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// How conv_matrix and conv_transpose_matrix build: zero entries and the memory limit.
struct BuildOptions {
    /// Drop entries whose value is exactly zero. By default zero kernel taps
    /// stay as structural entries, so the pattern is the convolution's own.
    bool drop_zeros = false;
    /// Bytes the result may take (values, inner and outer indices); 0 means the physical
    /// memory. A larger matrix is refused with memory_limit_error before allocating.
    double memory_limit = 0;
};

/// The machine's physical memory in bytes (the default build memory limit).
double physical_memory_bytes();

/// W of the configuration (for a transposed spec: the conv whose W^T it is). `weight` holds
/// spec.weight_numel() values in the layout (C_conv_out, C_conv_in/G, k...) (shape_error otherwise).
/// Throws index_overflow_error if a dimension or the entry count does not fit StorageIndex and
/// memory_limit_error if the result and the tap tables exceed options.memory_limit, both before allocating.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_matrix(const ConvGeometry& geometry, span<const Scalar> weight,
                                                             const BuildOptions& options = {});
/// conv_matrix of the ConvGeometry of `spec`.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_matrix(const ConvSpec& spec, span<const Scalar> weight,
                                                             const BuildOptions& options = {}) {
    return conv_matrix<Scalar, Order, StorageIndex>(ConvGeometry(spec), weight, options);
}

/// T = W^T of the configuration, built directly: row (c, i) gathers the (output, tap) pairs of
/// the geometry's input tables, for every padding mode.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_transpose_matrix(const ConvGeometry& geometry,
                                                                       span<const Scalar> weight,
                                                                       const BuildOptions& options = {});
/// conv_transpose_matrix of the ConvGeometry of `spec`.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_transpose_matrix(const ConvSpec& spec, span<const Scalar> weight,
                                                                       const BuildOptions& options = {}) {
    return conv_transpose_matrix<Scalar, Order, StorageIndex>(ConvGeometry(spec), weight, options);
}

/// The operation's own matrix: W for a conv, T for a transposed conv.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> operator_matrix(const ConvSpec& spec, span<const Scalar> weight,
                                                                 const BuildOptions& options = {}) {
    return spec.transposed ? conv_transpose_matrix<Scalar, Order, StorageIndex>(spec, weight, options)
                           : conv_matrix<Scalar, Order, StorageIndex>(spec, weight, options);
}

/// Sparsity pattern alone, in compressed row form (outer has rows+1 entries).
template <class StorageIndex = std::int64_t>
struct SparsityPattern {
    index_t rows = 0;                 ///< rows of the matrix
    index_t cols = 0;                 ///< columns of the matrix
    std::vector<StorageIndex> outer;  ///< rows + 1 offsets into inner
    std::vector<StorageIndex> inner;  ///< column of each entry, sorted within a row
    /// Stored entries: inner.size().
    index_t nnz() const { return static_cast<index_t>(inner.size()); }
};

/// Pattern of W (transpose = false) or T (transpose = true), row-major; every tap is structural.
/// memory_limit as in BuildOptions (refused before allocating; 0: the physical memory).
template <class StorageIndex = std::int64_t>
SparsityPattern<StorageIndex> matrix_pattern(const ConvSpec& spec, bool transpose = false, double memory_limit = 0);

/// For each stored entry of the row-major W (transpose = false) or T, in storage
/// order, the flat index into the weight tensor of the tap that produced it;
/// -1 where a padding mode folds several taps into one entry.
std::vector<index_t> tap_map(const ConvSpec& spec, bool transpose = false, double memory_limit = 0);

/// For each stored entry of the row-major W (transpose = false) or T, in storage order, every
/// flat weight index whose tap adds into it: entry e sums weight[taps[offsets[e]] .. taps[offsets[e+1]]).
struct TapLists {
    std::vector<index_t> offsets;  ///< nnz + 1
    std::vector<index_t> taps;     ///< flat weight indices, entry by entry
};
/// The TapLists of W (transpose = false) or T; memory_limit as in BuildOptions.
TapLists tap_lists(const ConvSpec& spec, bool transpose = false, double memory_limit = 0);

/// Bytes a build of W or T takes at its peak, as checked against BuildOptions::memory_limit: the
/// values and inner indices of structural_nnz entries, the outer index (outer_size + 1 entries)
/// and the geometry's tap tables. outer_size is W's rows for a row-major W or a column-major T,
/// W's columns otherwise.
double build_bytes(const ConvGeometry& geometry, std::size_t scalar_bytes, std::size_t index_bytes, index_t outer_size);

/// Upper bound of the number of entries of W (exact unless zero entries are dropped).
index_t structural_nnz(const ConvSpec& spec);

}  // namespace convmtx

namespace convmtx {
#define CONVMTX_EXTERN(S, O, I)                                                                             \
    extern template Eigen::SparseMatrix<S, O, I> conv_matrix<S, O, I>(const ConvGeometry&, span<const S>,     \
                                                                      const BuildOptions&);                   \
    extern template Eigen::SparseMatrix<S, O, I> conv_transpose_matrix<S, O, I>(const ConvGeometry&, span<const S>, \
                                                                                const BuildOptions&);
#define CONVMTX_EXTERN_ALL(S)                        \
    CONVMTX_EXTERN(S, Eigen::RowMajor, std::int32_t) \
    CONVMTX_EXTERN(S, Eigen::RowMajor, std::int64_t) \
    CONVMTX_EXTERN(S, Eigen::ColMajor, std::int32_t) \
    CONVMTX_EXTERN(S, Eigen::ColMajor, std::int64_t)
CONVMTX_EXTERN_ALL(float)
CONVMTX_EXTERN_ALL(double)
#undef CONVMTX_EXTERN_ALL
#undef CONVMTX_EXTERN
}  // namespace convmtx
