// CSR arrays: validation, the reader size rule, assembly from entries (see csr.hpp).
#include "convmtx/csr.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

#include "convmtx/builder.hpp"
#include "convmtx/detail/checked.hpp"
#include "convmtx/detail/entries.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

void check_csr_arrays(const CsrArrays& a, const std::string& what) {
    auto fail = [&](const std::string& msg) { throw std::invalid_argument(what + ": " + msg); };
    if (a.rows < 0 || a.cols < 0)
        fail("matrix size " + std::to_string(a.rows) + " x " + std::to_string(a.cols) + " must be non-negative");
    if (a.indptr.size() != static_cast<size_t>(a.rows) + 1)
        fail("CSR indptr has " + std::to_string(a.indptr.size()) + " entries, expected rows+1 = " +
             std::to_string(a.rows + 1));
    if (a.indices.size() != a.data.size())
        fail(std::to_string(a.indices.size()) + " column indices but " + std::to_string(a.data.size()) + " values");
    if (a.indptr[0] != 0) fail("CSR indptr[0]=" + std::to_string(a.indptr[0]) + " must be 0");
    for (size_t r = 0; r < static_cast<size_t>(a.rows); ++r)
        if (a.indptr[r + 1] < a.indptr[r])
            fail("CSR indptr decreases at row " + std::to_string(r) + " (" + std::to_string(a.indptr[r]) + " then " +
                 std::to_string(a.indptr[r + 1]) + ")");
    if (a.indptr.back() != static_cast<std::int64_t>(a.indices.size()))
        fail("CSR indptr ends at " + std::to_string(a.indptr.back()) + " but there are " +
             std::to_string(a.indices.size()) + " entries");
    for (size_t k = 0; k < a.indices.size(); ++k)
        if (a.indices[k] < 0 || a.indices[k] >= a.cols)
            fail("column index " + std::to_string(a.indices[k]) + " of entry " + std::to_string(k) +
                 " is outside [0, " + std::to_string(a.cols) + ")");
}

index_t max_matrix_dim(index_t entries) {
    constexpr index_t floor = index_t{1} << 24, per_entry = 64;
    if (entries <= 0) return floor;
    index_t scaled;
    if (!detail::mul_fits(entries, per_entry, &scaled)) return std::numeric_limits<index_t>::max();
    return std::max(floor, scaled);
}

namespace detail {

void check_declared_matrix(index_t rows, index_t cols, index_t entries, const std::string& what) {
    if (rows < 0 || cols < 0)
        throw format_error(what + ": matrix size " + std::to_string(rows) + " x " + std::to_string(cols) +
                           " must be non-negative");
    const index_t cap = max_matrix_dim(entries);
    for (const auto& [name, v] : {std::pair<const char*, index_t>{"rows", rows}, {"columns", cols}})
        if (v > cap)
            throw format_error(what + ": " + std::to_string(v) + " " + name + " for " + std::to_string(entries) +
                               " stored entries: a matrix file may declare at most max(2^24, 64 x entries) = " +
                               std::to_string(cap) + " rows and columns (the row index would take " +
                               format_bytes(8.0 * static_cast<double>(v)) + ")");
    const double need = 56.0 * static_cast<double>(entries) + 8.0 * (static_cast<double>(rows) + 1);
    const double limit = physical_memory_bytes();
    if (limit > 0 && need > limit)
        throw memory_limit_error(what + ": reading " + std::to_string(entries) + " entries of a " +
                                     std::to_string(rows) + " x " + std::to_string(cols) + " matrix needs " +
                                     format_bytes(need) + ", more than the physical memory " + format_bytes(limit),
                                 need, limit);
}

CsrMatrix csr_from_entries(index_t rows, index_t cols, std::vector<Entry>& entries) {
    const size_t n = entries.size();
    std::vector<std::int64_t> outer(static_cast<size_t>(rows) + 1, 0);
    for (const Entry& e : entries) ++outer[static_cast<size_t>(e.row) + 1];
    for (size_t r = 0; r < static_cast<size_t>(rows); ++r) outer[r + 1] += outer[r];
    std::vector<std::pair<std::int64_t, double>> cells(n);
    {
        std::vector<std::int64_t> next(outer.begin(), outer.end() - 1);
        for (const Entry& e : entries) cells[static_cast<size_t>(next[static_cast<size_t>(e.row)]++)] = {e.col, e.value};
    }
    std::vector<Entry>().swap(entries);
    // Sort each row by column (stable: duplicates are summed in list order) and merge duplicates.
    size_t kept = 0;
    std::int64_t start = 0;
    for (size_t r = 0; r < static_cast<size_t>(rows); ++r) {
        const std::int64_t b = start, e = outer[r + 1];
        std::stable_sort(cells.begin() + b, cells.begin() + e,
                         [](const auto& x, const auto& y) { return x.first < y.first; });
        outer[r] = static_cast<std::int64_t>(kept);
        for (std::int64_t k = b; k < e; ++k) {
            if (kept > static_cast<size_t>(outer[r]) && cells[kept - 1].first == cells[static_cast<size_t>(k)].first)
                cells[kept - 1].second += cells[static_cast<size_t>(k)].second;
            else
                cells[kept++] = cells[static_cast<size_t>(k)];
        }
        start = e;
    }
    outer[static_cast<size_t>(rows)] = static_cast<std::int64_t>(kept);
    CsrMatrix M(rows, cols);
    M.resizeNonZeros(static_cast<Eigen::Index>(kept));
    std::copy(outer.begin(), outer.end(), M.outerIndexPtr());
    for (size_t k = 0; k < kept; ++k) {
        M.innerIndexPtr()[k] = cells[k].first;
        M.valuePtr()[k] = cells[k].second;
    }
    return M;
}

}  // namespace detail

}  // namespace convmtx
