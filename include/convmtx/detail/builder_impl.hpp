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

#ifdef _OPENMP
#include <omp.h>
#endif

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
/// Entry c of the run lies at index base + T2.target(c) across the line; when single() its flat
/// weight index is t01 + T2's only tap of group c.
struct LineRun {
    const TapTable* T2;
    index_t begin, end;
    index_t base;
    index_t t01;
    bool single01;  ///< the groups of dimensions 0 and 1 have one tap each
    bool single2;   ///< every group of [begin, end) has one tap
    bool single() const { return single01 && single2; }
};

/// The lines of W: rows (w_row = true: output (o, q), entries by column) or columns (w_row = false:
/// input (c, i), entries by row, i.e. the rows of T), walked from the geometry's tap tables. Made once
/// per pass so that the tables and extents are looked up once, not per line.
class LineWalker {
public:
    /// Position of a line: channel and the three (padded to rank 3) spatial coordinates.
    struct Pos {
        index_t ch = 0, p0 = 0, p1 = 0, p2 = 0;
    };

    LineWalker(const ConvGeometry& G, bool w_row)
        : T0_(w_row ? &G.output_taps3(0) : &G.input_taps3(0)), T1_(w_row ? &G.output_taps3(1) : &G.input_taps3(1)),
          T2_(w_row ? &G.output_taps3(2) : &G.input_taps3(2)), w_row_(w_row) {
        const DimGeometry &d0 = G.dim3(0), &d1 = G.dim3(1), &d2 = G.dim3(2);
        e0_ = w_row ? d0.output_size : d0.input_size;
        e1_ = w_row ? d1.output_size : d1.input_size;
        e2_ = w_row ? d2.output_size : d2.input_size;
        x1_ = w_row ? d1.input_size : d1.output_size;
        x2_ = w_row ? d2.input_size : d2.output_size;
        k1_ = d1.kernel_size;
        k2_ = d2.kernel_size;
        target_vol_ = w_row ? G.input_volume() : G.output_volume();
        cin_g_ = G.in_per_group();
        cout_g_ = G.out_per_group();
        kvol_ = G.kernel_volume();
        channels_ = w_row ? G.conv_out_channels() : G.conv_in_channels();
    }

    index_t lines() const { return channels_ * e0_ * e1_ * e2_; }
    Pos decode(index_t r) const {
        Pos p;
        p.p2 = r % e2_;
        r /= e2_;
        p.p1 = r % e1_;
        r /= e1_;
        p.p0 = r % e0_;
        p.ch = r / e0_;
        return p;
    }
    /// The position of line r + 1 from that of line r.
    void next(Pos& p) const {
        if (++p.p2 < e2_) return;
        p.p2 = 0;
        if (++p.p1 < e1_) return;
        p.p1 = 0;
        if (++p.p0 < e0_) return;
        p.p0 = 0;
        ++p.ch;
    }
    /// Entries of the line when every tap is structural.
    index_t count(const Pos& p) const {
        return (w_row_ ? cin_g_ : cout_g_) * T0_->groups(p.p0) * T1_->groups(p.p1) * T2_->groups(p.p2);
    }
    /// The runs of the line in increasing index order: f(const LineRun&, EntryTaps&), with
    /// et.group[0..1] and et.weight_base set for the run.
    template <class F>
    void runs(const Pos& pos, F&& f) const {
        const TapTable &T0 = *T0_, &T1 = *T1_, &T2 = *T2_;
        const index_t ch = pos.ch;
        const index_t grp = w_row_ ? ch / cout_g_ : ch / cin_g_;
        const index_t partners = w_row_ ? cin_g_ : cout_g_;
        EntryTaps et{{T0_, T1_, T2_}, {0, 0, 0}, 0, k1_, k2_};
        LineRun run{T2_, T2.begin(pos.p2), T2.end(pos.p2), 0, 0, false, false};
        run.single2 = T2.tap_offsets[static_cast<size_t>(run.end)] - T2.tap_offsets[static_cast<size_t>(run.begin)] ==
                      run.end - run.begin;
        const index_t a0 = T0.begin(pos.p0), a1 = T0.end(pos.p0), b0 = T1.begin(pos.p1), b1 = T1.end(pos.p1);
        for (index_t p = 0; p < partners; ++p) {
            const index_t target_base = (grp * partners + p) * target_vol_;
            et.weight_base = w_row_ ? (ch * cin_g_ + p) * kvol_ : ((grp * cout_g_ + p) * cin_g_ + ch % cin_g_) * kvol_;
            for (index_t a = a0; a < a1; ++a) {
                const index_t c0 = T0.target(a) * x1_;
                const bool single0 = T0.tap_count(a) == 1;
                const index_t t0 = T0.first_tap(a) * k1_;
                et.group[0] = a;
                for (index_t b = b0; b < b1; ++b) {
                    run.base = target_base + (c0 + T1.target(b)) * x2_;
                    run.single01 = single0 && T1.tap_count(b) == 1;
                    run.t01 = et.weight_base + (t0 + T1.first_tap(b)) * k2_;
                    et.group[1] = b;
                    f(static_cast<const LineRun&>(run), et);
                }
            }
        }
    }

private:
    const TapTable *T0_, *T1_, *T2_;
    bool w_row_;
    index_t e0_ = 1, e1_ = 1, e2_ = 1, x1_ = 1, x2_ = 1, k1_ = 1, k2_ = 1, target_vol_ = 1, cin_g_ = 1, cout_g_ = 1,
            kvol_ = 1, channels_ = 1;
};

/// The runs of line r of W (see LineWalker::runs), for a single line.
template <class F>
void visit_line_runs(const ConvGeometry& G, bool w_row, index_t r, F&& f) {
    const LineWalker walk(G, w_row);
    walk.runs(walk.decode(r), f);
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

/// Lines [r0, r1) of `walk`, split evenly over the OpenMP threads (contiguous blocks, in thread
/// order), each calling f(r, pos) for its lines in increasing order.
template <class F>
void for_lines(const LineWalker& walk, F&& f) {
    const index_t n = walk.lines();
#pragma omp parallel if (n > 4096)
    {
#ifdef _OPENMP
        const index_t T = omp_get_num_threads(), t = omp_get_thread_num();
#else
        const index_t T = 1, t = 0;
#endif
        const index_t r0 = n * t / T, r1 = n * (t + 1) / T;
        LineWalker::Pos pos = walk.decode(r0);
        for (index_t r = r0; r < r1; ++r, walk.next(pos)) f(r, static_cast<const LineWalker::Pos&>(pos));
    }
}

/// Count pass: writes the outer index array (n_outer + 1 entries) and returns nnz.
template <class Scalar, class StorageIndex>
index_t count_entries(const ConvGeometry& G, bool w_rows, const Scalar* w, bool drop_zeros, StorageIndex* outer) {
    const LineWalker walk(G, w_rows);
    const index_t n_outer = walk.lines();
    outer[0] = 0;
    // Lines are independent: counts in parallel, then a serial prefix sum.
    for_lines(walk, [&](index_t r, const LineWalker::Pos& pos) {
        index_t cnt = 0;
        if (drop_zeros && w)
            visit_line(G, w_rows, r, w, [&](index_t, Scalar v, index_t) { cnt += (v != Scalar(0)); });
        else
            cnt = walk.count(pos);
        outer[r + 1] = static_cast<StorageIndex>(cnt);
    });
    for (index_t r = 0; r < n_outer; ++r) outer[r + 1] += outer[r];
    return outer[n_outer];
}

/// Fill pass, values and indices of one line starting at inner/values: a run whose taps are all
/// single is a copy loop over T2's targets and taps; folded entries sum their taps.
template <class Scalar, class StorageIndex>
void fill_line(const LineWalker& walk, const LineWalker::Pos& pos, const Scalar* w, StorageIndex* inner,
               Scalar* values) {
    walk.runs(pos, [&](const LineRun& run, EntryTaps& et) {
        const TapTable& T2 = *run.T2;
        const index_t len = run.end - run.begin;
        if (run.single()) {
            const index_t* target = T2.targets.data() + run.begin;
            const index_t* tap = T2.taps.data() + T2.tap_offsets[static_cast<size_t>(run.begin)];
            const Scalar* wt = w + run.t01;
            const index_t base = run.base;
            for (index_t j = 0; j < len; ++j) {
                inner[j] = static_cast<StorageIndex>(base + target[j]);
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
/// contiguous blocks of lines, so each first touches its own part of the arrays.
template <class Scalar, class StorageIndex>
void fill_entries(const ConvGeometry& G, bool w_rows, const Scalar* w, bool drop_zeros, const StorageIndex* outer,
                  StorageIndex* inner, Scalar* values, index_t* taps) {
    const LineWalker walk(G, w_rows);
    if (w && values && !taps && !drop_zeros) {
        for_lines(walk, [&](index_t r, const LineWalker::Pos& pos) {
            fill_line(walk, pos, w, inner + outer[r], values + outer[r]);
        });
        return;
    }
    for_lines(walk, [&](index_t r, const LineWalker::Pos&) {
        StorageIndex at = outer[r];
        visit_line(G, w_rows, r, w, [&](index_t idx, Scalar v, index_t tap) {
            if (drop_zeros && v == Scalar(0)) return;
            inner[at] = static_cast<StorageIndex>(idx);
            if (values) values[at] = v;
            if (taps) taps[at] = tap;
            ++at;
        });
    });
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
