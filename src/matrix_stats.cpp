#include "convmtx/matrix_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace convmtx {

MatrixStats matrix_stats(const CsrMatrix& M) {
    MatrixStats st;
    st.rows = M.rows();
    st.cols = M.cols();
    st.nnz = M.nonZeros();
    st.density = st.rows && st.cols
                     ? static_cast<double>(st.nnz) / (static_cast<double>(st.rows) * static_cast<double>(st.cols))
                     : 0;
    st.row_min = std::numeric_limits<index_t>::max();
    std::vector<double> values;
    values.reserve(static_cast<size_t>(st.nnz));
    bool any_nan = false;
    for (index_t r = 0; r < M.rows(); ++r) {
        index_t cnt = 0;
        for (CsrMatrix::InnerIterator it(M, r); it; ++it) {
            ++cnt;
            st.lower_bandwidth = std::max(st.lower_bandwidth, r - static_cast<index_t>(it.col()));
            st.upper_bandwidth = std::max(st.upper_bandwidth, static_cast<index_t>(it.col()) - r);
            const double v = it.value();
            if (!std::isfinite(v)) ++st.non_finite;
            if (std::isnan(v)) any_nan = true;
            else values.push_back(v);
            if (v == 0) ++st.explicit_zeros;
        }
        st.row_min = std::min(st.row_min, cnt);
        st.row_max = std::max(st.row_max, cnt);
        if (cnt == 0) ++st.empty_rows;
    }
    if (st.rows == 0) st.row_min = 0;
    st.row_mean = st.rows ? static_cast<double>(st.nnz) / static_cast<double>(st.rows) : 0;
    std::sort(values.begin(), values.end());
    st.distinct_values = static_cast<index_t>(std::unique(values.begin(), values.end()) - values.begin()) + (any_nan ? 1 : 0);
    const auto R = static_cast<std::uint64_t>(st.rows + 1), N = static_cast<std::uint64_t>(st.nnz);
    st.csr_bytes_int32 = R * 4 + N * (4 + 8);
    st.csr_bytes_int64 = R * 8 + N * (8 + 8);
    return st;
}

}  // namespace convmtx
