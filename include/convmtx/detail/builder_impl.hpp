// Internal: assembly of W and T straight into compressed sparse arrays from the
// tap tables of a ConvGeometry. Not part of the public API; include <convmtx/convmtx.hpp>.
#pragma once

#include <limits>
#include <numeric>
#include <string>
#include <type_traits>

#include "convmtx/builder.hpp"
#include "convmtx/detail/checked.hpp"
#include "convmtx/detail/huge_pages.hpp"
#include "convmtx/geometry.hpp"

namespace convmtx::detail {

/// The tap groups of one entry: dimension j contributes the taps of group g[j] of its table.
struct EntryTaps {
    const TapTable* table[3];
    index_t group[3];
    index_t weight_base;  ///< flat weight index of tap (0, 0, 0) for this channel pair
    index_t k1, k2;
    bool single() const {
        return table[0]->tap_count(group[0]) == 1 && table[1]->tap_count(group[1]) == 1 &&
               table[2]->tap_count(group[2]) == 1;
    }
    /// f(flat weight index) for every tap combination adding into the entry.
    template <class F>
    void for_each(F&& f) const {
        const TapTable &T0 = *table[0], &T1 = *table[1], &T2 = *table[2];
        for (index_t y0 = T0.tap_offsets[group[0]]; y0 < T0.tap_offsets[group[0] + 1]; ++y0)
            for (index_t y1 = T1.tap_offsets[group[1]]; y1 < T1.tap_offsets[group[1] + 1]; ++y1)
                for (index_t y2 = T2.tap_offsets[group[2]]; y2 < T2.tap_offsets[group[2] + 1]; ++y2)
                    f(weight_base + (T0.taps[y0] * k1 + T1.taps[y1]) * k2 + T2.taps[y2]);
    }
};

/// One run of a line: the entries that share the taps of dimensions 0 and 1 (groups et.group[0],
/// et.group[1]) and take, in order, the groups [begin, end) of dimension 2's table T2 for their last tap.
/// Entry c of the run lies at index base + T2.target(c) across the line; when single01 and T2's groups
/// have one tap each, its flat weight index is t01 + T2's tap of group c.
struct LineRun {
    const TapTable* T2;
    index_t begin, end;
    index_t base;
    index_t t01;
    bool single01;
    bool single() const {
        return single01 && T2->tap_offsets[static_cast<size_t>(end)] - T2->tap_offsets[static_cast<size_t>(begin)] ==
                               end - begin;
    }
};

/// One line of W: a row (w_row = true: output (o, q), entries by column) or a column
/// (w_row = false: input (c, i), entries by row, i.e. a row of T), as runs in increasing index
/// order: f(const LineRun&, EntryTaps&) with et.group[0..1] set for the run.
template <class F>
void visit_line_runs(const ConvGeometry& G, bool w_row, index_t r, F&& f) {
    const TapTable& T0 = w_row ? G.output_taps3(0) : G.input_taps3(0);
    const TapTable& T1 = w_row ? G.output_taps3(1) : G.input_taps3(1);
    const TapTable& T2 = w_row ? G.output_taps3(2) : G.input_taps3(2);
    const index_t e1 = w_row ? G.dim3(1).output_size : G.dim3(1).input_size;
    const index_t e2 = w_row ? G.dim3(2).output_size : G.dim3(2).input_size;
    const index_t x1 = w_row ? G.dim3(1).input_size : G.dim3(1).output_size;  // target extents
    const index_t x2 = w_row ? G.dim3(2).input_size : G.dim3(2).output_size;
    const index_t k1 = G.dim3(1).kernel_size, k2 = G.dim3(2).kernel_size;
    const index_t vol = w_row ? G.output_volume() : G.input_volume();
    const index_t target_vol = w_row ? G.input_volume() : G.output_volume();
    const index_t cin_g = G.in_per_group(), cout_g = G.out_per_group(), kvol = G.kernel_volume();

    const index_t ch = r / vol;
    const index_t rem = r % vol;
    const index_t p2 = rem % e2, p1 = (rem / e2) % e1, p0 = rem / (e2 * e1);
    const index_t grp = w_row ? ch / cout_g : ch / cin_g;
    const index_t partners = w_row ? cin_g : cout_g;
    EntryTaps et{{&T0, &T1, &T2}, {0, 0, 0}, 0, k1, k2};
    LineRun run{&T2, T2.begin(p2), T2.end(p2), 0, 0, false};
    for (index_t p = 0; p < partners; ++p) {
        const index_t target_base = (grp * partners + p) * target_vol;
        et.weight_base = w_row ? (ch * cin_g + p) * kvol : ((grp * cout_g + p) * cin_g + ch % cin_g) * kvol;
        for (index_t a = T0.begin(p0); a < T0.end(p0); ++a) {
            const index_t c0 = T0.target(a) * x1;
            et.group[0] = a;
            for (index_t b = T1.begin(p1); b < T1.end(p1); ++b) {
                run.base = target_base + (c0 + T1.target(b)) * x2;
                run.single01 = T0.tap_count(a) == 1 && T1.tap_count(b) == 1;
                run.t01 = et.weight_base + (T0.first_tap(a) * k1 + T1.first_tap(b)) * k2;
                et.group[1] = b;
                f(static_cast<const LineRun&>(run), et);
            }
        }
    }
}

/// One line of W as single entries: calls f(index across the line, single, tap, EntryTaps) in
/// increasing index order; `single` is true when one tap makes the entry (its flat weight index is
/// `tap`), false where a padding mode folds several taps into it (EntryTaps::for_each lists them).
template <class F>
void visit_line_taps(const ConvGeometry& G, bool w_row, index_t r, F&& f) {
    visit_line_runs(G, w_row, r, [&](const LineRun& run, EntryTaps& et) {
        const TapTable& T2 = *run.T2;
        for (index_t c = run.begin; c < run.end; ++c) {
            et.group[2] = c;
            const bool single = run.single01 && T2.tap_count(c) == 1;
            f(run.base + T2.target(c), single, single ? run.t01 + T2.first_tap(c) : index_t(-1),
              static_cast<const EntryTaps&>(et));
        }
    });
}

/// visit_line_taps with values: f(index across the line, value, tap) where value is w at the tap,
/// or the sum over folded taps (tap = -1); with w == nullptr values are 0.
template <class Scalar, class F>
void visit_line(const ConvGeometry& G, bool w_row, index_t r, const Scalar* w, F&& f) {
    visit_line_taps(G, w_row, r, [&](index_t idx, bool single, index_t tap, const EntryTaps& et) {
        if (single) {
            f(idx, w ? w[tap] : Scalar(0), tap);
            return;
        }
        Scalar value(0);
        if (w) et.for_each([&](index_t t) { value += w[t]; });
        f(idx, value, index_t(-1));
    });
}

/// Entries of line r when every tap is structural (no visit needed).
inline index_t line_count(const ConvGeometry& G, bool w_row, index_t r) {
    const index_t e1 = w_row ? G.dim3(1).output_size : G.dim3(1).input_size;
    const index_t e2 = w_row ? G.dim3(2).output_size : G.dim3(2).input_size;
    const index_t rem = r % (w_row ? G.output_volume() : G.input_volume());
    const index_t p2 = rem % e2, p1 = (rem / e2) % e1, p0 = rem / (e2 * e1);
    const auto& t = [&](int j) -> const TapTable& { return w_row ? G.output_taps3(j) : G.input_taps3(j); };
    return (w_row ? G.in_per_group() : G.out_per_group()) * t(0).groups(p0) * t(1).groups(p1) * t(2).groups(p2);
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

/// Throws memory_limit_error when a build of nnz entries with an outer index of `outer` entries,
/// plus `extra_bytes` of working memory, exceeds the limit (<= 0: the physical memory).
void check_memory(index_t nnz, index_t outer, size_t scalar_bytes, size_t index_bytes, double extra_bytes,
                  double limit, const char* what);

/// Count pass: writes the outer index array (n_outer + 1 entries) and returns nnz.
template <class Scalar, class StorageIndex>
index_t count_entries(const ConvGeometry& G, bool w_rows, const Scalar* w, bool drop_zeros, StorageIndex* outer) {
    const index_t n_outer = w_rows ? G.rows() : G.cols();
    outer[0] = 0;
    // Lines are independent: counts in parallel (OpenMP when enabled), then a serial prefix sum.
#pragma omp parallel for schedule(static) if (n_outer > 4096)
    for (index_t r = 0; r < n_outer; ++r) {
        index_t cnt = 0;
        if (drop_zeros && w)
            visit_line(G, w_rows, r, w, [&](index_t, Scalar v, index_t) { cnt += (v != Scalar(0)); });
        else
            cnt = line_count(G, w_rows, r);
        outer[r + 1] = static_cast<StorageIndex>(cnt);
    }
    for (index_t r = 0; r < n_outer; ++r) outer[r + 1] += outer[r];
    return outer[n_outer];
}

/// Fill pass, values and indices of one line starting at inner/values: a run whose taps are all
/// single is a copy loop over T2's targets and taps; folded entries sum their taps.
template <class Scalar, class StorageIndex>
void fill_line(const ConvGeometry& G, bool w_rows, index_t r, const Scalar* w, StorageIndex* inner, Scalar* values) {
    visit_line_runs(G, w_rows, r, [&](const LineRun& run, EntryTaps& et) {
        const TapTable& T2 = *run.T2;
        const index_t len = run.end - run.begin;
        if (run.single()) {
            const index_t* target = T2.targets.data() + run.begin;
            const index_t* tap = T2.taps.data() + T2.tap_offsets[static_cast<size_t>(run.begin)];
            const Scalar* wt = w + run.t01;
            for (index_t j = 0; j < len; ++j) {
                inner[j] = static_cast<StorageIndex>(run.base + target[j]);
                values[j] = wt[tap[j]];
            }
        } else {
            for (index_t j = 0; j < len; ++j) {
                const index_t c = run.begin + j;
                et.group[2] = c;
                inner[j] = static_cast<StorageIndex>(run.base + T2.target(c));
                Scalar v(0);
                et.for_each([&](index_t t) { v += w[t]; });
                values[j] = v;
            }
        }
        inner += len;
        values += len;
    });
}

/// Fill pass: inner indices, and values and taps where the pointers are not null. Threads fill
/// contiguous blocks of lines (schedule static, as the count pass), so each first touches its own
/// part of the arrays.
template <class Scalar, class StorageIndex>
void fill_entries(const ConvGeometry& G, bool w_rows, const Scalar* w, bool drop_zeros, const StorageIndex* outer,
                  StorageIndex* inner, Scalar* values, index_t* taps) {
    const index_t n_outer = w_rows ? G.rows() : G.cols();
    if (w && values && !taps && !drop_zeros) {
#pragma omp parallel for schedule(static) if (n_outer > 4096)
        for (index_t r = 0; r < n_outer; ++r) fill_line(G, w_rows, r, w, inner + outer[r], values + outer[r]);
        return;
    }
#pragma omp parallel for schedule(static) if (n_outer > 4096)
    for (index_t r = 0; r < n_outer; ++r) {
        StorageIndex pos = outer[r];
        visit_line(G, w_rows, r, w, [&](index_t idx, Scalar v, index_t tap) {
            if (drop_zeros && v == Scalar(0)) return;
            inner[pos] = static_cast<StorageIndex>(idx);
            if (values) values[pos] = v;
            if (taps) taps[pos] = tap;
            ++pos;
        });
    }
}

template <class Scalar, int Order, class StorageIndex>
Eigen::SparseMatrix<Scalar, Order, StorageIndex> assemble(const ConvGeometry& G, const Scalar* weight,
                                                          const BuildOptions& options, bool want_W) {
    static_assert(std::is_integral<StorageIndex>::value && std::is_signed<StorageIndex>::value,
                  "StorageIndex must be a signed integer type (int32 or int64)");
    const char* what = want_W ? "conv_matrix W" : "conv_transpose_matrix T";
    const index_t rows = want_W ? G.rows() : G.cols();
    const index_t cols = want_W ? G.cols() : G.rows();
    // The tap tables are the only working memory; refuse before building them.
    check_memory(0, 0, sizeof(Scalar), sizeof(StorageIndex), G.table_bytes(), options.memory_limit, what);
    index_t bound = G.structural_nnz();
    if (options.drop_zeros && bound > static_cast<index_t>(std::numeric_limits<StorageIndex>::max())) {
        bound = 0;  // exact count, without allocating anything
        for (index_t r = 0; r < G.rows(); ++r)
            visit_line(G, true, r, weight, [&](index_t, Scalar v, index_t) { bound += (v != Scalar(0)); });
    }
    check_fits<StorageIndex>(rows, cols, bound, what);
    const bool outer_is_W_rows = want_W == (Order == Eigen::RowMajor);
    const index_t n_outer = outer_is_W_rows ? G.rows() : G.cols();
    check_memory(bound, n_outer, sizeof(Scalar), sizeof(StorageIndex), G.table_bytes(), options.memory_limit, what);
    Eigen::SparseMatrix<Scalar, Order, StorageIndex> M(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    const index_t nnz = count_entries(G, outer_is_W_rows, weight, options.drop_zeros, M.outerIndexPtr());
    M.resizeNonZeros(static_cast<Eigen::Index>(nnz));
    // Fresh arrays: huge pages where the kernel allows them, first touched by the filling threads.
    advise_huge_pages(M.valuePtr(), static_cast<size_t>(nnz) * sizeof(Scalar));
    advise_huge_pages(M.innerIndexPtr(), static_cast<size_t>(nnz) * sizeof(StorageIndex));
    fill_entries(G, outer_is_W_rows, weight, options.drop_zeros, M.outerIndexPtr(), M.innerIndexPtr(), M.valuePtr(),
                 static_cast<index_t*>(nullptr));
    return M;
}

}  // namespace convmtx::detail
