#include "convmtx/spmv.hpp"

#include <algorithm>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace convmtx {

namespace {

constexpr index_t kChunk = 8;  // columns of a block processed per pass over A

int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
int thread_id() {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
int team_size() {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/// Runs body(t, T) on `parts` OpenMP threads, or body(0, 1) on this thread when parts is 1: libgomp
/// allocates the team of a one-thread region on every entry, and the solvers' iterations must not
/// allocate. Barriers inside body are orphaned constructs (no-ops outside a parallel region).
template <class F>
void run_parts(index_t parts, F&& body) {
    if (parts <= 1) {
        body(index_t(0), index_t(1));
        return;
    }
#pragma omp parallel num_threads(static_cast<int>(parts))
    body(static_cast<index_t>(thread_id()), static_cast<index_t>(team_size()));
}

/// First outer line of part t of `parts`, splitting the entries evenly (lines stay whole).
template <class StorageIndex>
index_t split_line(const StorageIndex* outer, index_t n_outer, index_t t, index_t parts) {
    if (t <= 0) return 0;
    if (t >= parts) return n_outer;
    const double nnz = static_cast<double>(outer[n_outer]);
    const auto target = static_cast<StorageIndex>(nnz * static_cast<double>(t) / static_cast<double>(parts));
    return static_cast<index_t>(std::lower_bound(outer, outer + n_outer + 1, target) - outer);
}

/// y_l = sum_e values[e] x_{inner[e]} for lines [l0, l1) and B columns, starting at column kx of x
/// and column ky of y.
template <int B, class Scalar, class StorageIndex>
void gather_lines(const CompressedView<Scalar, StorageIndex>& A, index_t l0, index_t l1,
                  const DenseView<const Scalar>& x, index_t kx, const DenseView<Scalar>& y, index_t ky) {
    const StorageIndex* outer = A.outer;
    const StorageIndex* inner = A.inner;
    const Scalar* val = A.values;
    if constexpr (B == 1) {
        const Scalar* xp = x.data + kx * x.col_stride;
        Scalar* yp = y.data + ky * y.col_stride;
        const index_t xs = x.row_stride;
        if (xs == 1) {
            for (index_t l = l0; l < l1; ++l) {
                Scalar acc(0);
                const index_t e1 = static_cast<index_t>(outer[l + 1]);
#pragma omp simd reduction(+ : acc)
                for (index_t e = static_cast<index_t>(outer[l]); e < e1; ++e)
                    acc += val[e] * xp[static_cast<index_t>(inner[e])];
                yp[l * y.row_stride] = acc;
            }
        } else {
            for (index_t l = l0; l < l1; ++l) {
                Scalar acc(0);
                const index_t e1 = static_cast<index_t>(outer[l + 1]);
#pragma omp simd reduction(+ : acc)
                for (index_t e = static_cast<index_t>(outer[l]); e < e1; ++e)
                    acc += val[e] * xp[static_cast<index_t>(inner[e]) * xs];
                yp[l * y.row_stride] = acc;
            }
        }
    } else {
        const index_t xr = x.row_stride, xc = x.col_stride, yr = y.row_stride, yc = y.col_stride;
        const Scalar* xp = x.data + kx * xc;
        Scalar* yp = y.data + ky * yc;
        for (index_t l = l0; l < l1; ++l) {
            Scalar acc[B] = {};
            const index_t e1 = static_cast<index_t>(outer[l + 1]);
            for (index_t e = static_cast<index_t>(outer[l]); e < e1; ++e) {
                const Scalar v = val[e];
                const Scalar* xj = xp + static_cast<index_t>(inner[e]) * xr;
                for (int k = 0; k < B; ++k) acc[k] += v * xj[k * xc];
            }
            for (int k = 0; k < B; ++k) yp[l * yr + k * yc] = acc[k];
        }
    }
}

/// out_{inner[e]} += values[e] x_l for lines [l0, l1) and B columns starting at column k0 of x;
/// out holds B columns (element (j, k) at out[j * out_r + k * out_c]).
template <int B, class Scalar, class StorageIndex>
void scatter_lines(const CompressedView<Scalar, StorageIndex>& A, index_t l0, index_t l1,
                   const DenseView<const Scalar>& x, index_t k0, Scalar* out, index_t out_r, index_t out_c) {
    const StorageIndex* outer = A.outer;
    const StorageIndex* inner = A.inner;
    const Scalar* val = A.values;
    const index_t xr = x.row_stride, xc = x.col_stride;
    const Scalar* xp = x.data + k0 * xc;
    for (index_t l = l0; l < l1; ++l) {
        Scalar xl[B];
        for (int k = 0; k < B; ++k) xl[k] = xp[l * xr + k * xc];
        const index_t e1 = static_cast<index_t>(outer[l + 1]);
        if constexpr (B == 1) {
            if (xl[0] == Scalar(0)) continue;
            if (out_r == 1) {
                // No simd: a line may repeat an index (scipy keeps duplicates until sum_duplicates).
                for (index_t e = static_cast<index_t>(outer[l]); e < e1; ++e)
                    out[static_cast<index_t>(inner[e])] += val[e] * xl[0];
                continue;
            }
        }
        for (index_t e = static_cast<index_t>(outer[l]); e < e1; ++e) {
            const Scalar v = val[e];
            Scalar* oj = out + static_cast<index_t>(inner[e]) * out_r;
            for (int k = 0; k < B; ++k) oj[k * out_c] += v * xl[k];
        }
    }
}

template <class Scalar>
std::vector<Scalar>& packed_workspace() {
    static thread_local std::vector<Scalar> buffer;
    return buffer;
}

template <class Scalar, class StorageIndex>
void gather(const CompressedView<Scalar, StorageIndex>& A, const DenseView<const Scalar>& x,
            const DenseView<Scalar>& y) {
    const index_t n = A.outer_size(), m = A.inner_size();
    const index_t parts = A.nnz() + n < 32768 ? 1 : max_threads();
    // A block whose columns are not contiguous per row (column-major) is packed 8 columns at a time
    // into a row-major copy, so that each entry reads one cache line of x, not B of them.
    std::vector<Scalar>& packed = packed_workspace<Scalar>();
    // (Not for a one-thread product: small, and the solvers' first iterations must not allocate.)
    const bool pack = parts > 1 && x.cols > 1 && x.col_stride != 1;
    if (pack && packed.size() < static_cast<size_t>(m * std::min(kChunk, x.cols)))
        packed.resize(static_cast<size_t>(m * std::min(kChunk, x.cols)));
    for (index_t k0 = 0; k0 < x.cols; k0 += kChunk) {
        const index_t B = std::min(kChunk, x.cols - k0);
        DenseView<const Scalar> xs = x;
        index_t kx = k0;
        if (pack) {
            xs = DenseView<const Scalar>{packed.data(), m, B, B, 1};
            kx = 0;
        }
        run_parts(parts, [&](index_t t, index_t T) {
            if (pack && B > 1) {
                Scalar* pk = packed.data();
                const index_t r0 = m * t / T, r1 = m * (t + 1) / T;
                for (index_t r = r0; r < r1; ++r)
                    for (index_t k = 0; k < B; ++k) pk[r * B + k] = x.data[r * x.row_stride + (k0 + k) * x.col_stride];
#pragma omp barrier
            }
            const index_t l0 = split_line(A.outer, n, t, T), l1 = split_line(A.outer, n, t + 1, T);
            switch (B) {
                case 1: gather_lines<1>(A, l0, l1, x, k0, y, k0); break;
                case 2: gather_lines<2>(A, l0, l1, xs, kx, y, k0); break;
                case 3: gather_lines<3>(A, l0, l1, xs, kx, y, k0); break;
                case 4: gather_lines<4>(A, l0, l1, xs, kx, y, k0); break;
                case 5: gather_lines<5>(A, l0, l1, xs, kx, y, k0); break;
                case 6: gather_lines<6>(A, l0, l1, xs, kx, y, k0); break;
                case 7: gather_lines<7>(A, l0, l1, xs, kx, y, k0); break;
                default: gather_lines<8>(A, l0, l1, xs, kx, y, k0); break;
            }
        });
    }
}

template <class Scalar, class StorageIndex>
void scatter_block(const CompressedView<Scalar, StorageIndex>& A, index_t l0, index_t l1,
                   const DenseView<const Scalar>& x, index_t k0, index_t B, Scalar* out, index_t out_r, index_t out_c) {
    switch (B) {
        case 1: scatter_lines<1>(A, l0, l1, x, k0, out, out_r, out_c); break;
        case 2: scatter_lines<2>(A, l0, l1, x, k0, out, out_r, out_c); break;
        case 3: scatter_lines<3>(A, l0, l1, x, k0, out, out_r, out_c); break;
        case 4: scatter_lines<4>(A, l0, l1, x, k0, out, out_r, out_c); break;
        case 5: scatter_lines<5>(A, l0, l1, x, k0, out, out_r, out_c); break;
        case 6: scatter_lines<6>(A, l0, l1, x, k0, out, out_r, out_c); break;
        case 7: scatter_lines<7>(A, l0, l1, x, k0, out, out_r, out_c); break;
        default: scatter_lines<8>(A, l0, l1, x, k0, out, out_r, out_c); break;
    }
}

template <class Scalar>
std::vector<Scalar>& scatter_workspace() {
    static thread_local std::vector<Scalar> buffer;
    return buffer;
}

template <class Scalar, class StorageIndex>
void scatter(const CompressedView<Scalar, StorageIndex>& A, const DenseView<const Scalar>& x,
             const DenseView<Scalar>& y) {
    const index_t n = A.outer_size(), m = A.inner_size();
    // Private copies of y cost (threads - 1) * m values to clear and add: worth it when entries dominate.
    const index_t parts = (A.nnz() < 32768 || A.nnz() < 4 * m) ? 1 : max_threads();
    // The copies' addresses, kept between calls (no allocation once the threads' workspaces are sized).
    // (A thread_local is named through a plain pointer: inside the region each thread would see its own.)
    static thread_local std::vector<Scalar*> copy_table;
    if (copy_table.size() < static_cast<size_t>(parts)) copy_table.resize(static_cast<size_t>(parts), nullptr);
    Scalar** const copies = copy_table.data();
    for (index_t k0 = 0; k0 < x.cols; k0 += kChunk) {
        const index_t B = std::min(kChunk, x.cols - k0);
        Scalar* y0 = y.data + k0 * y.col_stride;
        const index_t yr = y.row_stride, yc = y.col_stride;
        // Thread 0 adds into y itself when y is one contiguous vector; otherwise every thread adds
        // into its own row-major copy (B values per row, one cache line per entry), summed into y.
        const bool direct = B == 1 && yr == 1;
        run_parts(parts, [&](index_t t, index_t T) {
            const index_t r0 = m * t / T, r1 = m * (t + 1) / T;
            if (direct) {
                std::fill(y0 + r0, y0 + r1, Scalar(0));
            }
            if (t > 0 || !direct) {
                std::vector<Scalar>& ws = scatter_workspace<Scalar>();
                if (ws.size() < static_cast<size_t>(m * B)) ws.resize(static_cast<size_t>(m * B));
                std::fill(ws.data(), ws.data() + m * B, Scalar(0));
                copies[static_cast<size_t>(t)] = ws.data();
            }
#pragma omp barrier
            const index_t l0 = split_line(A.outer, n, t, T), l1 = split_line(A.outer, n, t + 1, T);
            if (t == 0 && direct) scatter_block(A, l0, l1, x, k0, B, y0, 1, 0);
            else scatter_block(A, l0, l1, x, k0, B, copies[static_cast<size_t>(t)], B, 1);
#pragma omp barrier
            if (direct) {
                for (index_t u = 1; u < T; ++u) {
                    const Scalar* c = copies[static_cast<size_t>(u)];
#pragma omp simd
                    for (index_t r = r0; r < r1; ++r) y0[r] += c[r];
                }
            } else {
                for (index_t r = r0; r < r1; ++r)
                    for (index_t k = 0; k < B; ++k) {
                        Scalar v(0);
                        for (index_t u = 0; u < T; ++u) v += copies[static_cast<size_t>(u)][r * B + k];
                        y0[r * yr + k * yc] = v;
                    }
            }
        });
    }
}

template <class Scalar>
bool overlap(const DenseView<const Scalar>& x, const DenseView<Scalar>& y) {
    auto extent = [](const Scalar* p, index_t rows, index_t cols, index_t rs, index_t cs) {
        const Scalar* hi = p + (rows > 0 && cols > 0 ? (rows - 1) * rs + (cols - 1) * cs : -1);
        return std::make_pair(p, hi);
    };
    if (x.rows == 0 || x.cols == 0 || y.rows == 0 || y.cols == 0) return false;
    const auto a = extent(x.data, x.rows, x.cols, x.row_stride, x.col_stride);
    const auto b = extent(y.data, y.rows, y.cols, y.row_stride, y.col_stride);
    return !(a.second < b.first || b.second < a.first);
}

}  // namespace

template <class Scalar, class StorageIndex>
void spmv(const CompressedView<Scalar, StorageIndex>& A, bool transpose, DenseView<const Scalar> x,
          DenseView<Scalar> y) {
    const index_t op_rows = transpose ? A.cols : A.rows, op_cols = transpose ? A.rows : A.cols;
    if (x.rows != op_cols || y.rows != op_rows || x.cols != y.cols)
        throw shape_error("spmv: " + std::string(transpose ? "A^T" : "A") + " is " + std::to_string(op_rows) + " x " +
                          std::to_string(op_cols) + " but x is " + std::to_string(x.rows) + " x " +
                          std::to_string(x.cols) + " and y " + std::to_string(y.rows) + " x " +
                          std::to_string(y.cols) + " (x needs " + std::to_string(op_cols) + " rows, y " +
                          std::to_string(op_rows) + ", both the same columns)");
    if (overlap(x, y)) throw shape_error("spmv: x and y overlap in memory; y must be a separate block");
    if (y.cols == 0 || y.rows == 0) return;
    if (x.rows == 0 || A.nnz() == 0) {
        for (index_t k = 0; k < y.cols; ++k)
            for (index_t r = 0; r < y.rows; ++r) y.data[r * y.row_stride + k * y.col_stride] = Scalar(0);
        return;
    }
    if (A.row_major != transpose) gather(A, x, y);
    else scatter(A, x, y);
}

template <class Scalar, class StorageIndex>
void check_structure(const CompressedView<Scalar, StorageIndex>& A) {
    const index_t n = A.outer_size(), m = A.inner_size();
    if (n < 0 || m < 0) throw config_error("spmv: the matrix has negative dimensions");
    if (n == 0) return;
    if (A.outer[0] != 0)
        throw config_error("spmv: indptr[0]=" + std::to_string(A.outer[0]) + " must be 0");
    index_t bad_line = n;
#pragma omp parallel for reduction(min : bad_line) schedule(static) if (n > 65536)
    for (index_t l = 0; l < n; ++l)
        if (A.outer[l + 1] < A.outer[l]) bad_line = std::min(bad_line, l);
    if (bad_line < n)
        throw config_error("spmv: indptr[" + std::to_string(bad_line + 1) + "]=" +
                           std::to_string(A.outer[bad_line + 1]) + " is less than indptr[" + std::to_string(bad_line) +
                           "]=" + std::to_string(A.outer[bad_line]) + "; indptr must be nondecreasing");
    const index_t nnz = A.nnz();
    index_t bad = nnz;
#pragma omp parallel for reduction(min : bad) schedule(static) if (nnz > 65536)
    for (index_t e = 0; e < nnz; ++e)
        if (A.inner[e] < 0 || A.inner[e] >= m) bad = std::min(bad, e);
    if (bad < nnz)
        throw config_error("spmv: indices[" + std::to_string(bad) + "]=" + std::to_string(A.inner[bad]) +
                           " is outside [0, " + std::to_string(m) + ") (the matrix has " + std::to_string(m) + " " +
                           (A.row_major ? "columns" : "rows") + ")");
}

#define CONVMTX_SPMV(S, I) \
    template void spmv<S, I>(const CompressedView<S, I>&, bool, DenseView<const S>, DenseView<S>); \
    template void check_structure<S, I>(const CompressedView<S, I>&);
CONVMTX_SPMV(float, std::int32_t)
CONVMTX_SPMV(float, std::int64_t)
CONVMTX_SPMV(double, std::int32_t)
CONVMTX_SPMV(double, std::int64_t)
#undef CONVMTX_SPMV

}  // namespace convmtx
