// The checkerboard of a transposed convolution from its weights (not only its geometry): for an
// input that is constant 1 on every channel, the interior of the output is periodic with period s
// (the stride) in every dimension, and output position x of channel o (in group g) takes the level
//     L[o, phase] = sum over the input channels c of group g, and over the taps t with
//                   (t_j d_j - p_lo_j) mod s_j = phase_j = x_j mod s_j in every dimension j, of w[c, o', t]
// i.e. the sums of the kernel's prod(s) polyphase components. Equal levels (per output channel) are
// necessary for a checkerboard-free upsampler (Odena, Dumoulin & Olah, "Deconvolution and
// Checkerboard Artifacts", Distill 2016, and Sugawara et al., "Super-resolution using convolutional
// neural networks without any checkerboard artifacts", ICIP 2018). With all weights 1 the levels
// are the overlap counts times C_in/G, and the verdict equals overlap()'s structural one.
//
// For a conv configuration, its adjoint W^T (the transposed conv with the same weights) is analysed.
#pragma once

#include <string>
#include <vector>

#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// The polyphase levels L[o, phase] of a transposed conv (see the top of this header) and whether
/// they agree per output channel: the verdict of checkerboard.
struct CheckerboardReport {
    Dims stride;                 ///< s_j per spatial dimension: the period, and the phases per dimension
    index_t channels = 0;        ///< output channels of the transposed conv (W's input channels)
    /// (channels, s_0, ..., s_{r-1}), C order: the interior response to an all-ones input at the
    /// output positions x with x_j mod s_j = phase_j.
    std::vector<double> levels;
    /// Per channel (max - min) / max |level| over its phases; 0 when the levels agree within their
    /// rounding (8 (n + 1) eps sum |w| over the n weights of a level), and when all are 0.
    std::vector<double> channel_spread;
    double spread = 0;           ///< the largest channel_spread: 0 exactly when checkerboard-free
    index_t worst_channel = 0;   ///< the channel with that spread
    bool free = true;            ///< spread == 0
    std::string verdict;         ///< one line, then one per dimension with its phases
};

/// Levels of a transposed conv with weight (C_in, C_out/groups, k...) (PyTorch's layout, which is
/// W's (C_conv_out, C_conv_in/groups, k...)), stride, dilation and low padding per spatial dimension
/// (one value is broadcast). config_error for a non-positive stride, dilation or groups, negative
/// padding, a non-finite weight, or more than 2^24 levels; shape_error for a wrong-sized weight.
template <class Scalar>
CheckerboardReport checkerboard(span<const Scalar> weight, const Shape& weight_shape, const Dims& stride,
                                const Dims& dilation = {1}, const Dims& padding_lo = {0}, index_t groups = 1);
/// The same for a configuration: a transposed conv, or the adjoint of a conv.
template <class Scalar>
CheckerboardReport checkerboard(const ConvSpec& spec, span<const Scalar> weight);

}  // namespace convmtx
