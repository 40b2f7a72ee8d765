#include "convmtx/detail/builder_impl.hpp"

#include <unistd.h>

#include <cstdio>

namespace convmtx {

#define CONVMTX_INSTANTIATE(S, O, I)                                                                           \
    template Eigen::SparseMatrix<S, O, I> conv_matrix<S, O, I>(const ConvSpec&, const S*, const BuildOptions&); \
    template Eigen::SparseMatrix<S, O, I> conv_transpose_matrix<S, O, I>(const ConvSpec&, const S*,             \
                                                                         const BuildOptions&);
#define CONVMTX_INSTANTIATE_ALL(S)                          \
    CONVMTX_INSTANTIATE(S, Eigen::RowMajor, std::int32_t)   \
    CONVMTX_INSTANTIATE(S, Eigen::RowMajor, std::int64_t)   \
    CONVMTX_INSTANTIATE(S, Eigen::ColMajor, std::int32_t)   \
    CONVMTX_INSTANTIATE(S, Eigen::ColMajor, std::int64_t)
CONVMTX_INSTANTIATE_ALL(float)
CONVMTX_INSTANTIATE_ALL(double)
#undef CONVMTX_INSTANTIATE_ALL
#undef CONVMTX_INSTANTIATE

template <class StorageIndex>
SparsityPattern<StorageIndex> matrix_pattern(const ConvSpec& spec, bool transpose) {
    const detail::Plan P = detail::make_plan(spec);
    const auto& g = P.g;
    SparsityPattern<StorageIndex> pat;
    pat.rows = transpose ? g.Cb * g.nvol : g.Cs * g.mvol;
    pat.cols = transpose ? g.Cs * g.mvol : g.Cb * g.nvol;
    detail::check_fits<StorageIndex>(pat.rows, pat.cols, detail::structural_nnz(P), "matrix_pattern");
    const auto walk = detail::choose_walk(P, !transpose, true);
    pat.outer.resize(static_cast<size_t>(pat.rows) + 1);
    const index_t nnz = detail::count_entries<double>(P, walk, nullptr, false, pat.outer.data());
    pat.inner.resize(static_cast<size_t>(nnz));
    detail::fill_entries<double>(P, walk, nullptr, false, pat.outer.data(), pat.inner.data(), nullptr, nullptr);
    return pat;
}
template SparsityPattern<std::int32_t> matrix_pattern<std::int32_t>(const ConvSpec&, bool);
template SparsityPattern<std::int64_t> matrix_pattern<std::int64_t>(const ConvSpec&, bool);

std::vector<index_t> tap_map(const ConvSpec& spec, bool transpose) {
    const detail::Plan P = detail::make_plan(spec);
    const auto walk = detail::choose_walk(P, !transpose, true);
    const index_t rows = transpose ? P.g.Cb * P.g.nvol : P.g.Cs * P.g.mvol;
    std::vector<index_t> outer(static_cast<size_t>(rows) + 1), inner;
    const index_t nnz = detail::count_entries<double>(P, walk, nullptr, false, outer.data());
    inner.resize(static_cast<size_t>(nnz));
    std::vector<index_t> taps(static_cast<size_t>(nnz));
    detail::fill_entries<double>(P, walk, nullptr, false, outer.data(), inner.data(), nullptr, taps.data());
    return taps;
}

double physical_memory_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string format_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024 && u < 5) {
        bytes /= 1024;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
    return buf;
}

namespace detail {

void check_memory(index_t nnz, index_t outer, size_t scalar_bytes, size_t index_bytes, double limit,
                  const char* what) {
    const double need = static_cast<double>(nnz) * static_cast<double>(scalar_bytes + index_bytes) +
                        static_cast<double>(outer + 1) * static_cast<double>(index_bytes);
    const bool physical = limit <= 0;
    if (physical) limit = physical_memory_bytes();
    if (limit <= 0 || need <= limit) return;
    throw memory_limit_error(std::string(what) + ": " + std::to_string(nnz) + " entries need " + format_bytes(need) +
                                 ", more than the memory limit " + format_bytes(limit) +
                                 (physical ? " (the physical memory; set BuildOptions::memory_limit, memory_limit= in Python)"
                                       : " (BuildOptions::memory_limit, memory_limit= in Python)") +
                                 "; use a smaller configuration, or apply the operator matrix-free "
                                 "(conv_direct, conv_transpose_scatter)",
                             need, limit);
}

}  // namespace detail

index_t structural_nnz(const ConvSpec& spec) { return detail::structural_nnz(detail::make_plan(spec)); }

}  // namespace convmtx
