// Statistics of a sparse matrix: shape, entries per row, bandwidth, distinct values, CSR size.
#pragma once

#include <cstdint>

#include "convmtx/builder.hpp"

namespace convmtx {

/// Statistics of a sparse matrix (stored entries; explicit zeros count as stored).
struct MatrixStats {
    index_t rows = 0, cols = 0, nnz = 0;
    double density = 0;                 ///< nnz / (rows * cols)
    index_t row_min = 0, row_max = 0;   ///< stored entries per row
    double row_mean = 0;
    index_t empty_rows = 0;
    index_t lower_bandwidth = 0;        ///< max(r - c) over entries, at least 0
    index_t upper_bandwidth = 0;        ///< max(c - r) over entries, at least 0
    index_t distinct_values = 0;        ///< distinct stored values (exact comparison; NaNs count as one value)
    index_t explicit_zeros = 0;         ///< stored entries equal to 0
    index_t non_finite = 0;             ///< stored entries that are NaN or infinite
    std::uint64_t csr_bytes_int32 = 0;  ///< (rows+1)*4 + nnz*(4 + 8): double values, int32 indices
    std::uint64_t csr_bytes_int64 = 0;  ///< (rows+1)*8 + nnz*(8 + 8)
};
MatrixStats matrix_stats(const CsrMatrix& M);

}  // namespace convmtx
