#include "convmtx/detail/builder_impl.hpp"

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

index_t structural_nnz(const ConvSpec& spec) { return detail::structural_nnz(detail::make_plan(spec)); }

}  // namespace convmtx
