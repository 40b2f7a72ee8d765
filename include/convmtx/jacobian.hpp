// The explicit sparse matrix (Jacobian) of a black-box linear operator, by verified colored probing.
//
// A probe is the sum of the unit vectors e_j of one "color": columns whose footprints (row sets) are
// disjoint, so every nonzero of y = op(probe) belongs to exactly one column:  J[r, j] = y[r] for the
// column j of that color whose footprint contains r. For a convolution hint the footprints come from
// the configuration's geometry (ConvGeometry): along dimension j, input position i of the probed
// operation reaches the positions whose window contains it after widening the window by `margin`
// positions of the conv's input side on each side (the tap tables of the convolution whose taps
// cover that widened window), plus the positions a padding mode folds onto i; in every output
// channel. Colors are (input channel, i mod P_j per dimension) with the smallest periods P_j that keep
// same-colored footprints disjoint. With zeros padding:
//   conv direction (conv input n -> conv output m):       P_j <= min(n_j, (k_j-1)d_j + 2*margin + 1)
//   transposed direction (conv output m -> conv input n): P_j <= min(m_j, floor(((k_j-1)d_j + 2*margin) / s_j) + 1)
//   probes of the first coloring = C_in * prod_j P_j   (probe_bound(); derivation in docs/validation.md)
// A nonzero outside every footprint of its color marks the color; its columns are probed again with a
// finer coloring (margin*4, then unit vectors). The assembled Jacobian is then verified on random
// inputs (op(X) = J X); if that fails every column is probed again at the next level. Unit vectors
// are exact for any linear operator, so the result is exact whatever the operator does. A NaN or
// infinite result stops the probing: stats.nonfinite names it and the matrix is left empty.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/SparseCore>

#include "convmtx/builder.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// A kernel on a block of samples (one C-order flattened sample per column).
template <class Scalar>
using KernelFn = std::function<Batch<Scalar>(const Eigen::Ref<const Batch<Scalar>>&)>;

/// The matrix type produced by probing: row-major, 64-bit indices.
template <class Scalar>
using ProbeMatrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t>;

/// How to_sparse and check_kernel probe an operator: footprint margin, batches, verification.
struct ProbeOptions {
    index_t margin = 1;       ///< footprint widening, in positions of the conv's input side (>= 0)
    index_t batch = 256;      ///< probe samples per kernel call (also capped at ~4M values per call)
    int verify_samples = 2;   ///< random inputs verifying the recovered Jacobian
    double rtol = 0;          ///< verification tolerance; 0: 1000 * eps(Scalar)
    std::uint64_t seed = 0;   ///< seed of the verification inputs
};

/// How a Jacobian was recovered by colored probing.
struct ProbeStats {
    index_t probes = 0;          ///< probe inputs evaluated to recover the Jacobian (all levels)
    index_t calls = 0;           ///< operator invocations for them (probes in batches)
    index_t first_colors = 0;    ///< size of the first coloring (= probes when it was verified)
    index_t verify_samples = 0;  ///< random inputs evaluated by the verifications
    int levels = 0;              ///< colorings used (1: the first one was exact)
    bool verified = false;       ///< op(X) = J X on the final verification (false after a non-finite result)
    double verify_error = 0;     ///< its largest row error |op(X) - J X| / (|J| |X| + |op(X)|)
    /// The first NaN or infinite result, e.g. "forward returned NaN at out[0, 2, 1] for probe 3 of level 0
    /// (in[0, 0, 1] + in[0, 0, 4])"; empty when every result was finite.
    std::string nonfinite;
    std::vector<std::string> log;  ///< one line per level
    /// The statistics as one readable paragraph.
    std::string str() const;
};

/// A Jacobian recovered by probing, with how it was recovered.
template <class Scalar>
struct Materialized {
    ProbeMatrix<Scalar> matrix;  ///< rows = data (output) size, columns = model (input) size
    ProbeStats stats;            ///< probes, calls and verification
};

/// The explicit matrix of `op` by unit probes e_j applied in batches (no pattern needed):
/// op.model_size() probes in ceil(model_size / batch) calls. Use the matrix only when stats.verified.
template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ProbeOptions& options = {});

/// The explicit matrix of `op` by verified colored probing with a convolution as the pattern hint:
/// op has the shapes of hint's operation (adjoint = false) or of its adjoint (adjoint = true; positions
/// are then named after hint's operation: op's input elements are out[...], its results in[...]).
/// shape_error when the shapes differ, config_error for margin < 0 or batch < 1.
template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ConvSpec& hint,
                               const ProbeOptions& options = {}, bool adjoint = false);

/// The explicit matrix of `op` by verified colored probing with a sparsity pattern as the
/// hint (greedy distance-2 coloring: columns of one color share no row of the pattern).
template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const SparsityPattern<std::int64_t>& hint,
                               const ProbeOptions& options = {});

/// Probes of the first coloring of a convolution hint: C_in_op * prod_j P_j (exact count).
index_t probe_colors(const ConvSpec& spec, index_t margin = 1, bool adjoint = false);
/// The closed-form bound above: C_in_op * prod_j min(n_j, (k_j-1)d_j + 2*margin + 1) for the conv
/// direction, C_in_op * prod_j min(m_j, floor(((k_j-1)d_j + 2*margin)/s_j) + 1) for the transposed
/// direction. Holds for zeros padding (other modes add the folded entries to the footprints;
/// probe_colors() gives their exact count).
index_t probe_bound(const ConvSpec& spec, index_t margin = 1, bool adjoint = false);

/// max over samples b and rows r of |Y - J X|_{r,b} / (|J| |X| + |Y|)_{r,b} (0 where both sides are 0);
/// infinity when a value of Y is NaN or infinite.
template <class Scalar>
double relative_row_error(const ProbeMatrix<Scalar>& J, const Batch<Scalar>& X, const Batch<Scalar>& Y);

/// "<who> returned NaN at <label>[c, i, j] for <what(b)>" for the first NaN or infinite value of Y
/// (one sample of `shape` per column b); empty when every value is finite.
template <class Scalar>
std::string nonfinite_result(const Batch<Scalar>& Y, const Shape& shape, const std::string& who,
                             const std::string& label, const std::function<std::string(index_t)>& what);

/// Index of a flattened sample as numpy indexing text, e.g. "[1, 2, 0]" for shape (C, H, W).
std::string format_index(const Shape& shape, index_t flat);
/// A value as the reports print it: 4 significant digits (printf "%.4g"), e.g. "0.0001234", "inf".
std::string format_value(double v);

}  // namespace convmtx
