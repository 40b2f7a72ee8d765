// Kernel validation: the Jacobian of a black-box linear kernel recovered by
// verified colored probing, compared with W entry by entry, with a diagnosis of
// what is wrong; and to_sparse, the explicit matrix of any linear operator.
//
// Colored probing. A probe is the sum of the unit vectors e_j of one "color":
// columns whose footprints (row sets) are disjoint, so every nonzero of
// y = kernel(probe) belongs to exactly one column:  J[r, j] = y[r] for the
// column j of that color whose footprint contains r. For a convolution the
// footprint of input position i along dimension j is every output whose
// window, widened by `margin` positions of the conv's input side (conv input /
// transposed-conv output) on each side, contains i, in every output channel;
// colors are (input channel, i mod P_j per dimension) with the smallest
// periods P_j that keep same-colored footprints disjoint. With zeros padding:
//   conv (n -> m):        P_j <= min(n_j, (k_j-1)d_j + 2*margin + 1)
//   transposed (m -> n):  P_j <= min(m_j, floor(((k_j-1)d_j + 2*margin) / s_j) + 1)
//   probes of the first coloring = C_in * prod_j P_j   (probe_bound())
// A nonzero outside every footprint of its color marks the color; its columns
// are probed again with a finer coloring (margin*4, then unit vectors). The
// assembled Jacobian is then verified on random inputs (kernel(X) = J X); if
// that fails every column is probed again at the next level. Unit vectors are
// exact for any linear kernel, so the result is exact whatever the bug.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/SparseCore>

#include "convmtx/builder.hpp"
#include "convmtx/dot_test.hpp"
#include "convmtx/kernels.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// A kernel on a block of samples (one C-order flattened sample per column).
template <class Scalar>
using KernelFn = std::function<Batch<Scalar>(const Eigen::Ref<const Batch<Scalar>>&)>;

/// The matrix type produced by probing: row-major, 64-bit indices.
template <class Scalar>
using ProbeMatrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t>;

struct ProbeOptions {
    index_t margin = 1;       ///< footprint widening, in positions of the conv's input side (>= 0)
    index_t batch = 256;      ///< probe samples per kernel call (also capped at ~4M values per call)
    int verify_samples = 2;   ///< random inputs verifying the recovered Jacobian
    double rtol = 0;          ///< verification tolerance; 0: 1000 * eps(Scalar)
    std::uint64_t seed = 0;   ///< seed of the verification inputs
};

struct ProbeStats {
    index_t probes = 0;          ///< probe inputs evaluated to recover the Jacobian (all levels)
    index_t calls = 0;           ///< kernel invocations for them (probes in batches)
    index_t first_colors = 0;    ///< size of the first coloring (= probes when it was verified)
    index_t verify_samples = 0;  ///< random inputs evaluated by the verifications
    int levels = 0;              ///< colorings used (1: the first one was exact)
    bool verified = false;       ///< kernel(X) = J X on the final verification
    double verify_error = 0;     ///< its largest row error |kernel(X) - J X| / (|J| |X| + |kernel(X)|)
    std::vector<std::string> log;  ///< one line per level
    std::string str() const;
};

template <class Scalar>
struct Materialized {
    ProbeMatrix<Scalar> matrix;  ///< rows = data (output) size, columns = model (input) size
    ProbeStats stats;
};

/// The explicit matrix of `op` by unit probes e_j applied in batches (no pattern needed):
/// op.model_size() probes in ceil(model_size / batch) calls.
template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ProbeOptions& options = {});

/// The explicit matrix of `op` by verified colored probing with a convolution as the
/// pattern hint: op has the shapes of hint's operation (adjoint = false) or of its adjoint.
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
/// The closed-form bound above: C_in_op * prod_j min(n_j, (k_j-1)d_j + 2*margin + 1) for a
/// conv direction, C_in_op * prod_j min(m_j, floor(((k_j-1)d_j + 2*margin)/s_j) + 1) for a
/// transposed direction. Holds for zeros padding (other modes add the wrapped entries to the
/// footprints; probe_colors() gives their exact count).
index_t probe_bound(const ConvSpec& spec, index_t margin = 1, bool adjoint = false);

struct CheckOptions {
    ProbeOptions probe;     ///< Jacobian recovery
    int random_inputs = 3;  ///< random inputs compared with W x before probing
    double rtol = 0;        ///< entry tolerance relative to max|w|; 0: 1000 * eps(Scalar)
    index_t max_listed = 8; ///< positions / taps / entries listed in str()
    bool classify = true;   ///< try the typical bugs (flip, shifts, layouts, groups, ...)
};

/// One entry where the kernel's Jacobian J and the reference matrix M differ
/// (M = W for a conv, T for a transposed conv; row = output, col = input).
struct EntryDiff {
    enum class Kind { missing, extra, wrong_weight };
    Kind kind = Kind::wrong_weight;
    index_t row = 0, col = 0;
    double expected = 0, actual = 0;
    index_t tap = -1;  ///< flat weight index of M's entry (-1: none, or several folded by padding)
};

/// A typical bug whose matrix equals (or nearly equals) the kernel's Jacobian.
struct BugFinding {
    std::string name;     ///< short id: "flipped", "shift", "swapped_layout", "groups", ...
    std::string message;  ///< a sentence a person can act on
    index_t remaining = 0;  ///< entries where the bug model still differs from J (0: exact)
};

struct KernelReport {
    bool passed = false;
    std::string spec;          ///< spec.describe()
    index_t rows = 0, cols = 0;
    double random_error = 0;   ///< max over rows of |kernel(x) - M x| / (|M| |x| + |kernel(x)|), random x
    double zero_response = 0;  ///< max |kernel(0)| (nonzero: not linear, e.g. a bias)
    ProbeStats probe;          ///< Jacobian recovery
    index_t nnz_reference = 0, nnz_kernel = 0;
    index_t missing = 0, extra = 0, wrong_weight = 0;
    double max_entry_error = 0;
    std::vector<EntryDiff> diffs;  ///< every differing entry (row-major order), capped at 100000
    std::vector<index_t> wrong_rows, wrong_cols, wrong_taps;  ///< distinct, sorted
    std::vector<BugFinding> findings;                          ///< best explanation first
    std::vector<std::string> lines;                            ///< the readable diagnosis
    // Adjoint, when one was given.
    bool has_adjoint = false;
    bool adjoint_passed = true;
    DotTestReport dot;              ///< dot test of (forward, adjoint)
    index_t adjoint_mismatches = 0; ///< entries where the adjoint's Jacobian differs from M^T
    std::vector<std::string> adjoint_lines;
    index_t probes() const { return probe.probes; }
    std::string str() const;
};

/// Compares a user kernel (forward: input -> output of `spec`'s operation, on blocks of
/// samples) with M = W (conv) or T (transposed conv) for `weight` (layout (C_conv_out, C_conv_in/G, k...)):
/// random inputs, kernel(0), the whole Jacobian by verified colored probing, entry by entry
/// comparison, and a diagnosis naming wrong outputs, inputs and taps and the typical bug.
/// With an adjoint: its Jacobian against M^T and a dot test of the pair.
template <class Scalar>
KernelReport check_kernel(const ConvSpec& spec, span<const Scalar> weight, const KernelFn<Scalar>& forward,
                          const KernelFn<Scalar>& adjoint = {}, const CheckOptions& options = {});

/// check_kernel on an operator: forward = op.apply, adjoint = op.apply_adjoint when `with_adjoint`.
/// op must map spec.input_shape() to spec.output_shape().
template <class Scalar>
KernelReport check_kernel(const ConvSpec& spec, span<const Scalar> weight, const LinearOperator<Scalar>& op,
                          bool with_adjoint = true, const CheckOptions& options = {}) {
    if (op.model_size() != spec.input_numel() || op.data_size() != spec.output_numel())
        throw shape_error("check_kernel: operator '" + op.name() + "' maps " + std::to_string(op.model_size()) +
                          " -> " + std::to_string(op.data_size()) + " values but " + spec.describe() + " maps " +
                          std::to_string(spec.input_numel()) + " -> " + std::to_string(spec.output_numel()));
    const KernelFn<Scalar> f = [&op](const Eigen::Ref<const Batch<Scalar>>& x) { return op.apply(x); };
    KernelFn<Scalar> a;
    if (with_adjoint) a = [&op](const Eigen::Ref<const Batch<Scalar>>& y) { return op.apply_adjoint(y); };
    return check_kernel<Scalar>(spec, weight, f, a, options);
}

/// Index of a flattened sample as numpy indexing text, e.g. "[1, 2, 0]" for shape (C, H, W).
std::string format_index(const Shape& shape, index_t flat);

}  // namespace convmtx
