// Internal: the entry list matrix readers fill, and its assembly into a CsrMatrix. Not part of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convmtx/csr.hpp"

namespace convmtx::detail {

struct Entry {
    std::int64_t row, col;
    double value;
};

/// Throws format_error naming `what` when rows or cols is negative or above max_matrix_dim(entries),
/// and memory_limit_error when reading `entries` entries (the list, then the CSR arrays: 56 bytes
/// per entry and 8 per row) would exceed the physical memory.
void check_declared_matrix(index_t rows, index_t cols, index_t entries, const std::string& what);

/// The CSR matrix of `entries` (0-based, inside rows x cols): duplicates summed in list order,
/// columns ascending within each row, explicit zeros kept. The row index is allocated here,
/// after the entries were read. Empties `entries`.
CsrMatrix csr_from_entries(index_t rows, index_t cols, std::vector<Entry>& entries);

}  // namespace convmtx::detail
