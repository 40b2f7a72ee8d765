// Internal (check_kernel's diagnosis, docs/validation.md): the typical bugs of a convolution kernel,
// each expressed as a change of the configuration whose matrix the builder computes, so that the
// index relation is always ConvGeometry's. Not part of the public API.
#pragma once

#include <string>
#include <vector>

#include "convmtx/jacobian.hpp"
#include "convmtx/spec.hpp"

namespace convmtx::detail {

/// One typical bug. The buggy kernel computes A' = operator_matrix(spec, weight') of the changed
/// configuration `spec`, whose rows are the checked conv's output side and whose columns its input
/// side (a conv on the checked conv's input; for the stride model a transposed conv), with
/// weight'[f] = weight[weight_source[f]], read back into W's positions: the entry of A' at
/// ((o', q'), (c', i')) is the model's entry at ((row_channel[o'], q' + row_offset), (col_channel[c'], i' + col_offset)),
/// dropped where that lies outside W.
struct BugModel {
    std::string name;     ///< finding name: "flipped", "shift", "swapped_layout", "groups", ...
    std::string message;  ///< what the kernel does, in the user's terms, and what to change
    ConvSpec spec;
    std::vector<index_t> weight_source;             ///< empty: weight' = weight
    Dims row_offset, col_offset;                    ///< per spatial dimension
    std::vector<index_t> row_channel, col_channel;  ///< empty: the identity
};

/// The bug models tried for a configuration (conv or transposed conv), in the order a tie is reported.
std::vector<BugModel> bug_models(const ConvSpec& spec);

/// The operation's matrix under `model` (W's orientation for a conv, T's for a transposed conv), for `weight`
/// in the checked configuration's layout (C_conv_out, C_conv_in/G, k...).
ProbeMatrix<double> model_matrix(const ConvSpec& spec, const std::vector<double>& weight, const BugModel& model);

}  // namespace convmtx::detail
