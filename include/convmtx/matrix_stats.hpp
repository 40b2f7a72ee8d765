// Statistics of a sparse matrix: shape, entries per row, bandwidth, distinct values, CSR size.
#pragma once

#include <cstdint>

#include "convmtx/builder.hpp"

namespace convmtx {

/// Statistics of a sparse matrix (stored entries; explicit zeros count as stored).
struct MatrixStats {
    index_t rows = 0;                   ///< rows of the matrix
    index_t cols = 0;                   ///< columns of the matrix
    index_t nnz = 0;                    ///< stored entries
    double density = 0;                 ///< nnz / (rows * cols)
    index_t row_min = 0;                ///< fewest stored entries in a row
    index_t row_max = 0;                ///< most stored entries in a row
    double row_mean = 0;                ///< stored entries per row on average
    index_t empty_rows = 0;             ///< rows without a stored entry
    index_t lower_bandwidth = 0;        ///< max(r - c) over entries, at least 0
    index_t upper_bandwidth = 0;        ///< max(c - r) over entries, at least 0
    index_t distinct_values = 0;        ///< distinct stored values (exact comparison; NaNs count as one value)
    index_t explicit_zeros = 0;         ///< stored entries equal to 0
    index_t non_finite = 0;             ///< stored entries that are NaN or infinite
    std::uint64_t csr_bytes_int32 = 0;  ///< (rows+1)*4 + nnz*(4 + 8): double values, int32 indices
    std::uint64_t csr_bytes_int64 = 0;  ///< (rows+1)*8 + nnz*(8 + 8)
};
/// The statistics of M.
MatrixStats matrix_stats(const CsrMatrix& M);

}  // namespace convmtx
