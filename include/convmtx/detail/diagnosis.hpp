// Internal (check_kernel, docs/validation.md): the comparison of a kernel's Jacobian J with the
// operation's matrix M entry by entry, the bug models that explain J, the structural observations
// and the readable lists of wrong outputs, inputs and taps. Not part of the public API.
#pragma once

#include <string>
#include <vector>

#include "convmtx/validate.hpp"

namespace convmtx::detail {

struct Diagnosis {
    index_t missing = 0, extra = 0, wrong = 0;
    double max_err = 0;
    std::vector<EntryDiff> diffs;              ///< row-major order, capped at 100000
    std::vector<index_t> rows, cols, taps;     ///< distinct, sorted
    std::vector<BugFinding> findings;          ///< best explanation first
    std::vector<std::string> lines;
};

/// J against M (W for a conv, T for a transposed conv; rows = outputs), entries equal within atol (a NaN
/// never equal). `taps`: the flat weight index of each stored entry of M (tap_map(spec, spec.transposed));
/// `weight`: the checked, finite weights in the layout (C_conv_out, C_conv_in/G, k...).
Diagnosis diagnose(const ConvSpec& spec, const std::vector<double>& weight, const ProbeMatrix<double>& J,
                   const ProbeMatrix<double>& M, const std::vector<index_t>& taps, double atol,
                   const CheckOptions& options);

}  // namespace convmtx::detail
