// Internal: assembly of W and T straight into compressed sparse arrays.
// Not part of the public API; include <convmtx/convmtx.hpp> instead.
#pragma once

#include <limits>
#include <numeric>
#include <string>

#include "convmtx/builder.hpp"
#include "convmtx/detail/checked.hpp"
#include "convmtx/detail/geom.hpp"

namespace convmtx::detail {

struct Plan {
    Geom g;
    std::array<DimTable, 3> small;
    std::array<DimTable, 3> big;  // zeros padding only
};

inline Plan make_plan(const ConvSpec& spec) {
    Plan p;
    p.g = make_geom(spec);
    for (int j = 0; j < 3; ++j) {
        p.small[j] = small_table(p.g, j);
        if (p.g.mode == PaddingMode::zeros) p.big[j] = big_table(p.g, j);
    }
    return p;
}

/// Visits the entries of W's row r = (o, q) in increasing column order: f(column, value, tap).
/// With w == nullptr values are 0. tap is -1 where several taps fold into one entry.
template <class Scalar, class F>
void visit_small_row(const Plan& P, index_t r, const Scalar* w, F&& f) {
    const Geom& g = P.g;
    const index_t o = r / g.mvol;
    index_t rem = r % g.mvol;
    const index_t q2 = rem % g.m[2];
    rem /= g.m[2];
    const index_t q1 = rem % g.m[1], q0 = rem / g.m[1];
    const index_t grp = o / g.cs_g;
    const DimTable &T0 = P.small[0], &T1 = P.small[1], &T2 = P.small[2];
    for (index_t cp = 0; cp < g.cb_g; ++cp) {
        const index_t cbase = (grp * g.cb_g + cp) * g.nvol;
        const index_t wbase = (o * g.cb_g + cp) * g.kvol;
        for (index_t a = T0.offs[q0]; a < T0.offs[q0 + 1]; ++a) {
            const index_t c0 = T0.target[a] * g.n[1];
            for (index_t b = T1.offs[q1]; b < T1.offs[q1 + 1]; ++b) {
                const index_t c1 = cbase + (c0 + T1.target[b]) * g.n[2];
                for (index_t c = T2.offs[q2]; c < T2.offs[q2 + 1]; ++c) {
                    const index_t col = c1 + T2.target[c];
                    const index_t n0 = T0.tap_offs[a + 1] - T0.tap_offs[a];
                    const index_t n1 = T1.tap_offs[b + 1] - T1.tap_offs[b];
                    const index_t n2 = T2.tap_offs[c + 1] - T2.tap_offs[c];
                    const index_t single = wbase + (T0.taps[T0.tap_offs[a]] * g.k[1] + T1.taps[T1.tap_offs[b]]) * g.k[2] +
                                           T2.taps[T2.tap_offs[c]];
                    Scalar value(0);
                    if (w) {
                        if (n0 * n1 * n2 == 1) {
                            value = w[single];
                        } else {
                            for (index_t x0 = T0.tap_offs[a]; x0 < T0.tap_offs[a + 1]; ++x0)
                                for (index_t x1 = T1.tap_offs[b]; x1 < T1.tap_offs[b + 1]; ++x1)
                                    for (index_t x2 = T2.tap_offs[c]; x2 < T2.tap_offs[c + 1]; ++x2)
                                        value += w[wbase + (T0.taps[x0] * g.k[1] + T1.taps[x1]) * g.k[2] + T2.taps[x2]];
                        }
                    }
                    f(col, value, n0 * n1 * n2 == 1 ? single : index_t(-1));
                }
            }
        }
    }
}

/// Visits the entries of T's row r = (c, i) (zeros padding) in increasing column order.
template <class Scalar, class F>
void visit_big_row(const Plan& P, index_t r, const Scalar* w, F&& f) {
    const Geom& g = P.g;
    const index_t c = r / g.nvol;
    index_t rem = r % g.nvol;
    const index_t i2 = rem % g.n[2];
    rem /= g.n[2];
    const index_t i1 = rem % g.n[1], i0 = rem / g.n[1];
    const index_t grp = c / g.cb_g, cp = c % g.cb_g;
    const DimTable &B0 = P.big[0], &B1 = P.big[1], &B2 = P.big[2];
    for (index_t op = 0; op < g.cs_g; ++op) {
        const index_t o = grp * g.cs_g + op;
        const index_t wbase = (o * g.cb_g + cp) * g.kvol;
        const index_t obase = o * g.mvol;
        for (index_t a = B0.offs[i0]; a < B0.offs[i0 + 1]; ++a) {
            const index_t c0 = B0.target[a] * g.m[1];
            for (index_t b = B1.offs[i1]; b < B1.offs[i1 + 1]; ++b) {
                const index_t c1 = obase + (c0 + B1.target[b]) * g.m[2];
                const index_t t01 = (B0.taps[a] * g.k[1] + B1.taps[b]) * g.k[2];
                for (index_t e = B2.offs[i2]; e < B2.offs[i2 + 1]; ++e) {
                    const index_t tap = wbase + t01 + B2.taps[e];
                    f(c1 + B2.target[e], w ? w[tap] : Scalar(0), tap);
                }
            }
        }
    }
}

enum class Walk { small_rows, big_rows, big_by_transposition };

inline Walk choose_walk(const Plan& P, bool want_W, bool row_major) {
    const bool outer_small = want_W == row_major;
    if (outer_small) return Walk::small_rows;
    return P.g.mode == PaddingMode::zeros ? Walk::big_rows : Walk::big_by_transposition;
}

inline index_t structural_nnz(const Plan& P) {
    index_t nnz = checked_mul(P.g.Cs, P.g.cb_g, "number of matrix entries");
    for (int j = 0; j < 3; ++j) nnz = checked_mul(nnz, P.small[j].total(), "number of matrix entries");
    return nnz;
}

template <class StorageIndex>
void check_fits(index_t rows, index_t cols, index_t nnz, const char* what) {
    constexpr index_t max = static_cast<index_t>(std::numeric_limits<StorageIndex>::max());
    auto fail = [&](const std::string& item, index_t v) {
        throw index_overflow_error(std::string(what) + ": " + item + "=" + std::to_string(v) +
                                   " exceeds the " + std::to_string(8 * sizeof(StorageIndex)) +
                                   "-bit storage index (max " + std::to_string(max) +
                                   "); build with a 64-bit StorageIndex (std::int64_t, index_dtype=np.int64)");
    };
    if (rows > max) fail("rows", rows);
    if (cols > max) fail("columns", cols);
    if (nnz > max) fail("nnz", nnz);
}

/// Throws memory_limit_error when nnz entries and an outer index of `outer` entries exceed the limit.
void check_memory(index_t nnz, index_t outer, size_t scalar_bytes, size_t index_bytes, double limit,
                  const char* what);

/// Count pass: writes the outer index array (outer_size + 1 entries) and returns nnz.
template <class Scalar, class StorageIndex>
index_t count_entries(const Plan& P, Walk walk, const Scalar* w, bool drop_zeros, StorageIndex* outer) {
    const Geom& g = P.g;
    outer[0] = 0;
    if (walk == Walk::big_by_transposition) {
        const index_t n_outer = g.Cb * g.nvol;
        std::fill(outer, outer + n_outer + 1, StorageIndex(0));
        for (index_t r = 0; r < g.Cs * g.mvol; ++r)
            visit_small_row(P, r, w, [&](index_t col, Scalar v, index_t) {
                if (!(drop_zeros && v == Scalar(0))) ++outer[col + 1];
            });
        for (index_t r = 0; r < n_outer; ++r) outer[r + 1] += outer[r];
        return outer[n_outer];
    }
    const bool small = walk == Walk::small_rows;
    const index_t n_outer = small ? g.Cs * g.mvol : g.Cb * g.nvol;
    const auto& tab = small ? P.small : P.big;
    const index_t per_channel = small ? g.cb_g : g.cs_g;
    const Arr3& ext = small ? g.m : g.n;
    // Rows are independent: counts in parallel (OpenMP when enabled), then a serial prefix sum.
#pragma omp parallel for schedule(static) if (n_outer > 4096)
    for (index_t r = 0; r < n_outer; ++r) {
        index_t cnt = 0;
        if (drop_zeros && w) {
            auto counter = [&](index_t, Scalar v, index_t) { cnt += (v != Scalar(0)); };
            if (small) visit_small_row(P, r, w, counter);
            else visit_big_row(P, r, w, counter);
        } else {
            index_t rem = r % (ext[0] * ext[1] * ext[2]);
            const index_t i2 = rem % ext[2];
            rem /= ext[2];
            cnt = per_channel * tab[0].groups(rem / ext[1]) * tab[1].groups(rem % ext[1]) * tab[2].groups(i2);
        }
        outer[r + 1] = static_cast<StorageIndex>(cnt);
    }
    for (index_t r = 0; r < n_outer; ++r) outer[r + 1] += outer[r];
    return outer[n_outer];
}

/// Fill pass: inner indices, and values and taps where the pointers are not null.
template <class Scalar, class StorageIndex>
void fill_entries(const Plan& P, Walk walk, const Scalar* w, bool drop_zeros, const StorageIndex* outer,
                  StorageIndex* inner, Scalar* values, index_t* taps) {
    const Geom& g = P.g;
    if (walk == Walk::big_by_transposition) {
        const index_t n_outer = g.Cb * g.nvol;
        std::vector<StorageIndex> cursor(outer, outer + n_outer);
        for (index_t r = 0; r < g.Cs * g.mvol; ++r)
            visit_small_row(P, r, w, [&](index_t col, Scalar v, index_t tap) {
                if (drop_zeros && v == Scalar(0)) return;
                const StorageIndex pos = cursor[col]++;
                inner[pos] = static_cast<StorageIndex>(r);
                if (values) values[pos] = v;
                if (taps) taps[pos] = tap;
            });
        return;
    }
    const bool small = walk == Walk::small_rows;
    const index_t n_outer = small ? g.Cs * g.mvol : g.Cb * g.nvol;
#pragma omp parallel for schedule(static) if (n_outer > 4096)
    for (index_t r = 0; r < n_outer; ++r) {
        StorageIndex pos = outer[r];
        auto put = [&](index_t col, Scalar v, index_t tap) {
            if (drop_zeros && v == Scalar(0)) return;
            inner[pos] = static_cast<StorageIndex>(col);
            if (values) values[pos] = v;
            if (taps) taps[pos] = tap;
            ++pos;
        };
        if (small) visit_small_row(P, r, w, put);
        else visit_big_row(P, r, w, put);
    }
}

template <class Scalar, int Order, class StorageIndex>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> assemble(const ConvSpec& spec, const Scalar* weight,
                                                          const BuildOptions& options, bool want_W) {
    static_assert(std::is_integral<StorageIndex>::value && std::is_signed<StorageIndex>::value,
                  "StorageIndex must be a signed integer type (int32 or int64)");
    const Plan P = make_plan(spec);
    const Geom& g = P.g;
    const index_t rows = want_W ? g.Cs * g.mvol : g.Cb * g.nvol;
    const index_t cols = want_W ? g.Cb * g.nvol : g.Cs * g.mvol;
    const char* what = want_W ? "conv_matrix W" : "conv_transpose_matrix T";
    index_t bound = structural_nnz(P);
    if (options.drop_zeros && bound > static_cast<index_t>(std::numeric_limits<StorageIndex>::max())) {
        bound = 0;  // exact count, without allocating anything
        for (index_t r = 0; r < g.Cs * g.mvol; ++r)
            visit_small_row(P, r, weight, [&](index_t, Scalar v, index_t) { bound += (v != Scalar(0)); });
    }
    check_fits<StorageIndex>(rows, cols, bound, what);
    check_memory(bound, (want_W ? rows : cols), sizeof(Scalar), sizeof(StorageIndex), options.memory_limit, what);
    Eigen::SparseMatrix<Scalar, Order, StorageIndex> M(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    const Walk walk = choose_walk(P, want_W, Order == Eigen::RowMajor);
    const index_t nnz = count_entries(P, walk, weight, options.drop_zeros, M.outerIndexPtr());
    M.resizeNonZeros(static_cast<Eigen::Index>(nnz));
    fill_entries(P, walk, weight, options.drop_zeros, M.outerIndexPtr(), M.innerIndexPtr(), M.valuePtr(),
                 static_cast<index_t*>(nullptr));
    return M;
}

}  // namespace convmtx::detail

namespace convmtx {

template <class Scalar, int Order, class StorageIndex>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_matrix(const ConvSpec& spec, const Scalar* weight,
                                                             const BuildOptions& options) {
    return detail::assemble<Scalar, Order, StorageIndex>(spec, weight, options, true);
}

template <class Scalar, int Order, class StorageIndex>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> conv_transpose_matrix(const ConvSpec& spec, const Scalar* weight,
                                                                       const BuildOptions& options) {
    return detail::assemble<Scalar, Order, StorageIndex>(spec, weight, options, false);
}

}  // namespace convmtx
