// Kernel validation: check_kernel compares a black-box convolution or transposed-convolution kernel
// with the configuration's matrix M (W for a conv, T = W^T for a transposed conv) entry by entry: its
// whole Jacobian is recovered by verified colored probing (jacobian.hpp), every differing entry is
// listed, and the typical bugs (flipped kernel, swapped weight layout, padding off by one, dilation or
// stride misplaced, groups mixed, another padding mode, ...) are tried as changed configurations to
// name the one that explains the kernel. A NaN or infinite result never passes. docs/validation.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convmtx/dot_test.hpp"
#include "convmtx/jacobian.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// How check_kernel compares a kernel with the library's matrix.
struct CheckOptions {
    ProbeOptions probe;     ///< Jacobian recovery
    int random_inputs = 3;  ///< random inputs compared with M x before probing
    double rtol = 0;        ///< entry tolerance relative to max|w|; 0: 1000 * eps(Scalar)
    index_t max_listed = 8; ///< positions / taps / entries listed in str()
    bool classify = true;   ///< try the typical bugs (flip, shifts, layouts, groups, ...)
};

/// One entry where the kernel's Jacobian J and the reference matrix M differ
/// (M = W for a conv, T for a transposed conv; row = output, col = input).
struct EntryDiff {
    /// An entry of M absent from J, an entry of J absent from M, or both present with different values.
    enum class Kind { missing, extra, wrong_weight };
    Kind kind = Kind::wrong_weight;  ///< which of the three
    index_t row = 0;                 ///< the output element
    index_t col = 0;                 ///< the input element
    double expected = 0;             ///< M's value (0 when absent)
    double actual = 0;               ///< J's value (0 when absent)
    index_t tap = -1;  ///< flat weight index of M's entry (-1: none, or several folded by padding)
};

/// A typical bug whose matrix equals (or nearly equals) the kernel's Jacobian, or an observation.
struct BugFinding {
    std::string name;     ///< short id: "flipped", "shift", "swapped_layout", "groups", "nonfinite", ...
    std::string message;  ///< a sentence a person can act on
    index_t remaining = 0;  ///< entries where the bug model still differs from J (0: exact)
};

/// check_kernel's verdict: the comparison of a kernel's Jacobian with M, the bugs that explain the
/// differences, and the adjoint's checks.
struct KernelReport {
    bool passed = false;       ///< the Jacobian equals M (and the adjoint checks passed)
    std::string spec;          ///< spec.describe()
    index_t rows = 0;          ///< rows of M: the operation's output size
    index_t cols = 0;          ///< columns of M: the operation's input size
    double random_error = 0;   ///< max over rows of |kernel(x) - M x| / (|M| |x| + |kernel(x)|), random x
    double zero_response = 0;  ///< max |kernel(0)| (nonzero: not linear, e.g. a bias)
    ProbeStats probe;          ///< Jacobian recovery
    index_t nnz_reference = 0;  ///< entries of M
    index_t nnz_kernel = 0;     ///< entries of J
    index_t missing = 0;        ///< entries of M absent from J
    index_t extra = 0;          ///< entries of J absent from M
    index_t wrong_weight = 0;   ///< entries in both with different values
    double max_entry_error = 0; ///< largest |J - M| over the entries, relative to max|w|
    std::vector<EntryDiff> diffs;  ///< every differing entry (row-major order), capped at 100000
    std::vector<index_t> wrong_rows;  ///< rows with a differing entry, distinct and sorted
    std::vector<index_t> wrong_cols;  ///< columns with a differing entry, distinct and sorted
    std::vector<index_t> wrong_taps;  ///< weight indices of the differing entries, distinct and sorted
    std::vector<BugFinding> findings;                          ///< best explanation first
    std::vector<std::string> lines;                            ///< the readable diagnosis
    bool has_adjoint = false;       ///< an adjoint kernel was given and checked
    bool adjoint_passed = true;     ///< its dot test and Jacobian passed (true without one)
    DotTestReport dot;              ///< dot test of (forward, adjoint)
    index_t adjoint_mismatches = 0; ///< entries where the adjoint's Jacobian differs from M^T
    std::vector<std::string> adjoint_lines;  ///< the adjoint's readable diagnosis
    /// Probe inputs evaluated to recover the Jacobian.
    index_t probes() const { return probe.probes; }
    /// The whole report as text (lines, then adjoint_lines).
    std::string str() const;
};

/// Why a kernel may have returned an output of shape `got` instead of spec.output_shape(): the
/// single-parameter mistakes (padding p for every dimension, dilation ignored, stride ignored,
/// output_padding ignored, channels swapped) whose output shape is `got`, as one sentence such as
/// "(2, 14, 14) is the output of padding=0 (the configuration has padding=1): padding forgotten?";
/// "" when none matches. Output lengths as in spec.hpp's conv_output_length.
std::string explain_output_shape(const ConvSpec& spec, const Shape& got);

/// Compares a user kernel (forward: input -> output of `spec`'s operation, on blocks of samples) with
/// M = W (conv) or T (transposed conv) for `weight` (layout (C_conv_out, C_conv_in/G, k...)): kernel(0),
/// random inputs, the whole Jacobian by verified colored probing, entry by entry comparison, and a
/// diagnosis naming wrong outputs, inputs and taps and the typical bug. With an adjoint: its Jacobian
/// against M^T and a dot test of the pair.
/// A NaN or infinite kernel result fails the check with the finding "nonfinite" naming the output
/// position and the input it came from. shape_error for a weight of the wrong size or a kernel result
/// of the wrong shape; config_error for an invalid spec, a missing forward kernel, or a NaN/infinite
/// weight (naming its position); memory_limit_error, before allocating, when the reference matrix and
/// the dense blocks of the input and output sizes exceed the physical memory.
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

}  // namespace convmtx
