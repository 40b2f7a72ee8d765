#include "convmtx/detail/builder_impl.hpp"

#include <unistd.h>

#include <cstdio>

namespace convmtx {

template <class Scalar, int Order, class StorageIndex>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_matrix(const ConvGeometry& G, span<const Scalar> weight,
                                                             const BuildOptions& options) {
    check_size(weight, G.spec().weight_numel(), "weight", "prod(" + to_string(G.spec().weight_shape(), "x") + ")");
    return detail::assemble<Scalar, Order, StorageIndex>(G, weight.data(), options, true);
}

template <class Scalar, int Order, class StorageIndex>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_transpose_matrix(const ConvGeometry& G, span<const Scalar> weight,
                                                                       const BuildOptions& options) {
    check_size(weight, G.spec().weight_numel(), "weight", "prod(" + to_string(G.spec().weight_shape(), "x") + ")");
    return detail::assemble<Scalar, Order, StorageIndex>(G, weight.data(), options, false);
}

#define CONVMTX_INSTANTIATE(S, O, I)                                                                             \
    template Eigen::SparseMatrix<S, O, I> conv_matrix<S, O, I>(const ConvGeometry&, span<const S>,               \
                                                               const BuildOptions&);                             \
    template Eigen::SparseMatrix<S, O, I> conv_transpose_matrix<S, O, I>(const ConvGeometry&, span<const S>,     \
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
SparsityPattern<StorageIndex> matrix_pattern(const ConvSpec& spec, bool transpose, double memory_limit) {
    const ConvGeometry G(spec);
    SparsityPattern<StorageIndex> pat;
    pat.rows = transpose ? G.cols() : G.rows();
    pat.cols = transpose ? G.rows() : G.cols();
    detail::check_memory(0, 0, 0, 0, G.table_bytes(), memory_limit, "matrix_pattern");
    detail::check_fits<StorageIndex>(pat.rows, pat.cols, G.structural_nnz(), "matrix_pattern");
    detail::check_memory(G.structural_nnz(), pat.rows, 0, sizeof(StorageIndex), G.table_bytes(), memory_limit,
                         "matrix_pattern");
    pat.outer.resize(static_cast<size_t>(pat.rows) + 1);
    const index_t nnz = detail::count_entries<double>(G, !transpose, nullptr, false, pat.outer.data());
    pat.inner.resize(static_cast<size_t>(nnz));
    detail::fill_entries<double>(G, !transpose, nullptr, false, pat.outer.data(), pat.inner.data(), nullptr, nullptr);
    return pat;
}
template SparsityPattern<std::int32_t> matrix_pattern<std::int32_t>(const ConvSpec&, bool, double);
template SparsityPattern<std::int64_t> matrix_pattern<std::int64_t>(const ConvSpec&, bool, double);

std::vector<index_t> tap_map(const ConvSpec& spec, bool transpose, double memory_limit) {
    const ConvGeometry G(spec);
    const index_t rows = transpose ? G.cols() : G.rows();
    detail::check_memory(0, 0, 0, 0, G.table_bytes(), memory_limit, "tap_map");
    // outer and inner indices plus one tap per entry
    detail::check_memory(G.structural_nnz(), rows, sizeof(index_t), sizeof(index_t), G.table_bytes(), memory_limit,
                         "tap_map");
    std::vector<index_t> outer(static_cast<size_t>(rows) + 1), inner;
    const index_t nnz = detail::count_entries<double>(G, !transpose, nullptr, false, outer.data());
    inner.resize(static_cast<size_t>(nnz));
    std::vector<index_t> taps(static_cast<size_t>(nnz));
    detail::fill_entries<double>(G, !transpose, nullptr, false, outer.data(), inner.data(), nullptr, taps.data());
    return taps;
}

TapLists tap_lists(const ConvSpec& spec, bool transpose, double memory_limit) {
    const ConvGeometry G(spec);
    const index_t rows = transpose ? G.cols() : G.rows();
    detail::check_memory(0, 0, 0, 0, G.table_bytes(), memory_limit, "tap_lists");
    // offsets and at least one tap per entry (entries of folded taps hold a few more)
    detail::check_memory(G.structural_nnz(), 0, sizeof(index_t), sizeof(index_t), G.table_bytes(), memory_limit,
                         "tap_lists");
    TapLists out;
    out.offsets.reserve(static_cast<size_t>(G.structural_nnz()) + 1);
    out.offsets.push_back(0);
    for (index_t r = 0; r < rows; ++r)
        detail::visit_line_taps(G, !transpose, r, [&](index_t, bool single, index_t tap, const detail::EntryTaps& et) {
            if (single) out.taps.push_back(tap);
            else et.for_each([&](index_t t) { out.taps.push_back(t); });
            out.offsets.push_back(static_cast<index_t>(out.taps.size()));
        });
    return out;
}

double physical_memory_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string format_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) {
        bytes /= 1024;
        ++u;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
    return buf;
}

namespace detail {

void check_memory(index_t nnz, index_t outer, size_t scalar_bytes, size_t index_bytes, double extra_bytes,
                  double limit, const char* what) {
    const double need = static_cast<double>(nnz) * static_cast<double>(scalar_bytes + index_bytes) +
                        (nnz ? static_cast<double>(outer + 1) * static_cast<double>(index_bytes) : 0.0) + extra_bytes;
    const bool physical = limit <= 0;
    if (physical) limit = physical_memory_bytes();
    if (limit <= 0 || need <= limit) return;
    throw memory_limit_error(std::string(what) + ": " +
                                 (nnz ? std::to_string(nnz) + " entries and their index tables need "
                                      : std::string("the index tables alone need ")) +
                                 format_bytes(need) +
                                 ", more than the memory limit " + format_bytes(limit) +
                                 (physical ? " (the physical memory; set BuildOptions::memory_limit, memory_limit= in Python)"
                                       : " (BuildOptions::memory_limit, memory_limit= in Python)") +
                                 "; use a smaller configuration, or apply the operator matrix-free "
                                 "(conv_direct, conv_transpose_scatter)",
                             need, limit);
}

}  // namespace detail

double build_bytes(const ConvGeometry& G, std::size_t scalar_bytes, std::size_t index_bytes, index_t outer_size) {
    return static_cast<double>(G.structural_nnz()) * static_cast<double>(scalar_bytes + index_bytes) +
           static_cast<double>(outer_size + 1) * static_cast<double>(index_bytes) + G.table_bytes();
}

index_t structural_nnz(const ConvSpec& spec) { return ConvGeometry(spec).structural_nnz(); }

}  // namespace convmtx
