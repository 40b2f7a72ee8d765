// Inspection of W (and T = W^T): statistics, an entry-by-entry check of the
// (block-)Toeplitz structure a configuration implies, the formula of one
// output element ("explain"), and the overlap counts of a transposed conv
// (the checkerboard of https://distill.pub/2016/deconv-checkerboard/).
//
// Geometry (SEMANTICS.md): W has rows (o, q) on the small side (C_small, m...)
// and columns (c, i) on the big side (C_big, n...);
//   W[(o,q),(c,i)] = sum of v[o, c', t] over taps t with map(q*s - pl + t*d) = i,
// c = g*C_big/G + c' with g = o / (C_small/G), map = the padding mode's fold.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "convmtx/io.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

// ---------------- statistics ----------------

/// Statistics of a sparse matrix (stored entries; explicit zeros count as stored).
struct MatrixStats {
    index_t rows = 0, cols = 0, nnz = 0;
    double density = 0;                 ///< nnz / (rows * cols)
    index_t row_min = 0, row_max = 0;   ///< stored entries per row
    double row_mean = 0;
    index_t empty_rows = 0;
    index_t lower_bandwidth = 0;        ///< max(r - c) over entries, at least 0
    index_t upper_bandwidth = 0;        ///< max(c - r) over entries, at least 0
    index_t distinct_values = 0;        ///< distinct stored values (exact comparison)
    index_t explicit_zeros = 0;         ///< stored entries equal to 0
    std::uint64_t csr_bytes_int32 = 0;  ///< (rows+1)*4 + nnz*(4 + 8): double values, int32 indices
    std::uint64_t csr_bytes_int64 = 0;  ///< (rows+1)*8 + nnz*(8 + 8)
};
MatrixStats matrix_stats(const CsrMatrix& M);

// ---------------- structure ----------------

/// Result of check_structure.
struct StructureReport {
    bool ok = false;               ///< every entry equals the structure's (Toeplitz relation holds)
    bool determined = true;        ///< false when tap values could not be inferred (no row free of folded taps, no weights)
    std::string description;       ///< describe_structure(spec, matrix_is_transpose)
    std::string violation;         ///< first violating entry, "" when ok
    index_t violation_row = -1, violation_col = -1;  ///< in the checked matrix (W or T as given)
    double expected = 0, actual = 0;
    index_t checked_entries = 0;   ///< stored plus expected entries compared
    bool weights_checked = false;  ///< the tap values were compared with `weight`
    bool weights_ok = false;       ///< M equals, entry by entry, the matrix `weight` builds
    std::string weight_violation;  ///< first entry that differs from it (and the first differing tap)
    index_t weight_violation_row = -1, weight_violation_col = -1;
};

/// Verifies entry by entry that M (W, or T when matrix_is_transpose) has the structure of `spec`:
/// in every (group, out-channel, in-channel) block the entry at (q, i) is v[o,c',t] for
/// i = map(q*s - pl + t*d) (summed where a padding mode folds taps), zero elsewhere, and zero
/// outside the groups; i.e. W[q, i] = W[q+1, i+s] away from folded borders. The tap values v
/// are inferred from the rows without folded taps (the most frequent of the first 1001 values on each diagonal);
/// with `weight` (spec.weight_numel() values) M is also compared entry by entry with the matrix
/// the weights build (weights_ok). Entries agree when |a - e| <= rtol * max|v| (max|w| for the weights).
StructureReport check_structure(const ConvSpec& spec, const CsrMatrix& M, bool matrix_is_transpose,
                                const double* weight = nullptr, double rtol = 0);

/// What the structure is, in words: block count, block size, (doubly/triply) block Toeplitz at
/// stride 1, the strided relation W[q, i] = W[q+1, i+s] otherwise, dilation and folded borders.
std::string describe_structure(const ConvSpec& spec, bool matrix_is_transpose = false);

// ---------------- explain ----------------

/// One product w[weight]·x[input] of the sum that gives y[output].
struct Term {
    Shape weight_index;     ///< (C_small, C_big/G, k...) multi-index into the weight
    index_t weight_flat = 0;
    Shape input_index;      ///< the operation's input element (channel, spatial...)
    index_t input_flat = 0; ///< column of the operation's matrix (W for a conv, T transposed)
    Shape output_index;     ///< the operation's output element
    index_t output_flat = 0;///< row of the operation's matrix
    Dims padded_position;   ///< conv: the position read before the padding fold (q*s - pl + t*d)
    bool folded = false;    ///< the position lies in the padding and was mapped by the padding mode
};

/// The terms of y[output] = sum w·x of the operation (conv: the taps of output (o, q);
/// transposed: every (input, tap) pair reaching output (c, i)). Grouping them by input_flat
/// (summing the weights of folded taps) gives row `output_flat` of the operation's matrix.
std::vector<Term> output_terms(const ConvSpec& spec, index_t output_flat);
/// The reverse view: every term that input element `input_flat` contributes to (column of the matrix).
std::vector<Term> input_terms(const ConvSpec& spec, index_t input_flat);

/// C-order multi-index of `flat` in `shape`, and back; throw std::out_of_range naming `what`.
Shape unravel_index(index_t flat, const Shape& shape, const std::string& what = "index");
index_t ravel_index(const Shape& index, const Shape& shape, const std::string& what = "index");
/// "name[a,b,c]".
std::string index_text(const std::string& name, const Shape& index);

// ---------------- overlap (checkerboard) ----------------

/// Overlap of a transposed conv along one dimension.
struct OverlapDim {
    index_t kernel = 1, stride = 1, dilation = 1;
    std::vector<index_t> counts;          ///< per output position: #{(i, t): i*s - pl + t*d = x}
    std::vector<index_t> residue_counts;  ///< interior count of outputs x with x + pl = r (mod s), r = 0..s-1
    index_t interior_lo = 0, interior_hi = -1;  ///< interior x: (k-1)d - pl <= x <= (m-1)s - pl
    bool even = true;                     ///< all residue counts equal
    index_t smaller_even_kernel = 0;      ///< nearest kernel size below / above that is even (0: none)
    index_t larger_even_kernel = 0;
};

/// Overlap of a transposed conv (for a conv: of its adjoint transposed conv, W^T).
struct OverlapReport {
    Dims shape;                          ///< output spatial size n
    std::vector<index_t> counts;         ///< per output position (C order): product of the dims' counts
    index_t channels_per_output = 1;     ///< input channels summed into each output (C_small/G): row sums of T = this * counts
    std::vector<OverlapDim> dims;
    bool interior_empty = false;         ///< some dimension's interior is shorter than its stride: min/max from the phase counts
    index_t interior_min = 0, interior_max = 0;
    double uniformity = 1;               ///< interior max/min (infinity when min is 0)
    bool even = true;
    std::string verdict;                 ///< one or more lines
};
OverlapReport overlap(const ConvSpec& spec);

}  // namespace convmtx
