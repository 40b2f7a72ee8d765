// The entry-by-entry check that a matrix has the (block-)Toeplitz structure a
// configuration implies, and that structure described in words.
//
//   W[(o,q),(c,i)] = sum of v[o, c', t] over taps t with pad_fold(q*s - pl + t*d) = i,
//   c = g*C_in/G + c', g = o / (C_out/G)   (ConvGeometry; docs/semantics.md)
#pragma once

#include <string>

#include "convmtx/builder.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// Result of check_structure.
struct StructureReport {
    bool ok = false;               ///< every entry equals the structure's (Toeplitz relation holds)
    bool determined = true;        ///< false when tap values could not be inferred (no entry of a single tap, no weights)
    std::string description;       ///< describe_structure(spec, matrix_is_transpose)
    std::string violation;         ///< first violating entry, "" when ok
    index_t violation_row = -1;    ///< row of the first violation in the checked matrix (W or T as given)
    index_t violation_col = -1;    ///< its column
    double expected = 0;           ///< the value the structure gives there
    double actual = 0;             ///< the value stored there
    index_t checked_entries = 0;   ///< stored plus expected entries compared
    bool weights_checked = false;  ///< the tap values were compared with `weight`
    bool weights_ok = false;       ///< M equals, entry by entry, the matrix `weight` builds
    std::string weight_violation;  ///< first entry that differs from it (and the first differing tap)
    index_t weight_violation_row = -1;  ///< row of that entry
    index_t weight_violation_col = -1;  ///< column of that entry
};

/// Verifies entry by entry that M (W, or T when matrix_is_transpose) has the structure of `spec`:
/// in every (group, out-channel, in-channel) block the entry at (q, i) is v[o,c',t] for
/// i = pad_fold(q*s - pl + t*d) (summed where a padding mode folds taps), zero elsewhere, and zero
/// outside the groups; i.e. W[q, i] = W[q+1, i+s] away from folded borders. The tap values v
/// are inferred from the entries made by a single tap (the most frequent of the first 1001 values of
/// each tap); with `weight` (spec.weight_numel() values, shape_error otherwise) M is also compared
/// entry by entry with the matrix the weights build (weights_ok). Entries agree when
/// |a - e| <= rtol * max|v| (max|w| for the weights); a NaN or infinite entry never agrees.
StructureReport check_structure(const ConvSpec& spec, const CsrMatrix& M, bool matrix_is_transpose,
                                span<const double> weight = {}, double rtol = 0);

/// What the structure is, in words: block count, block size, (doubly/triply) block Toeplitz at
/// stride 1, the strided relation W[q, i] = W[q+1, i+s] otherwise, dilation and folded borders.
std::string describe_structure(const ConvSpec& spec, bool matrix_is_transpose = false);

}  // namespace convmtx
