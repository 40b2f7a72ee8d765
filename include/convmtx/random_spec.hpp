// Seeded random convolution configurations, for test suites and sweeps (the C++ tests and
// `convmtx adjoint-test` draw theirs here): every field uniform in a range, the whole draw
// repeated until ConvSpec::validate() accepts it.
#pragma once

#include <array>
#include <random>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// Which operations random_spec draws.
enum class SpecDirection { conv, transposed, either };

/// An inclusive range of integers [min, max].
struct IndexRange {
    index_t min = 0;  ///< smallest value
    index_t max = 0;  ///< largest value
};

/// The ranges random_spec draws from, all inclusive. The defaults are those the C++ test
/// suites use: rank 1-3, groups 1-3, G*(1-2) channels in and out, per dimension kernel 1-4,
/// stride 1-3, dilation 1-2, padding 0-3 on each side, input size 1-11 (1-d), 1-7 (2-d),
/// 1-5 (3-d), every padding mode for a conv.
struct RandomSpecOptions {
    SpecDirection direction = SpecDirection::either;  ///< conv, transposed or either
    IndexRange rank{1, 3};                       ///< within [1, 3]
    IndexRange groups{1, 3};                     ///< >= 1
    IndexRange channels_per_group{1, 2};         ///< in_channels = G * U, out_channels = G * U' (both drawn)
    /// Spatial input size of each dimension, by rank: input_size[r - 1] for a rank-r configuration. >= 1.
    std::array<IndexRange, 3> input_size{{{1, 11}, {1, 7}, {1, 5}}};
    /// Kernel size of each dimension, by rank, as input_size. >= 1.
    std::array<IndexRange, 3> kernel_size{{{1, 4}, {1, 4}, {1, 4}}};
    IndexRange stride{1, 3};                     ///< >= 1
    IndexRange dilation{1, 2};                   ///< >= 1
    IndexRange padding{0, 3};                    ///< padding_lo and padding_hi, drawn apart; >= 0
    /// The padding modes a conv draws from, uniformly (a transposed conv is always zeros padded).
    /// Not empty.
    std::vector<PaddingMode> padding_modes{PaddingMode::zeros, PaddingMode::circular, PaddingMode::reflect,
                                           PaddingMode::replicate};
    /// Draws before giving up on ranges that (almost) never make a valid configuration. >= 1.
    int max_attempts = 100000;
};

/// A random configuration that passes ConvSpec::validate(), drawn from `rng` in this order:
/// direction (when `either`, uniform), rank, groups, channels per group in then out; per
/// dimension kernel, stride, dilation, input size, padding_lo, padding_hi and, for a transposed
/// conv, output_padding uniform in [0, max(stride, dilation) - 1] (every value PyTorch accepts);
/// for a conv the padding mode (when more than one is allowed). An invalid draw (empty output,
/// reflect padding not below the input size, ...) is discarded and the next one drawn, so the
/// result follows the ranges conditioned on validity. The same rng state and options give the
/// same configuration (the draws use std::uniform_int_distribution: the same sequence for the
/// same standard library). Throws config_error naming the option when a range is empty or out
/// of bounds, and when max_attempts draws gave no valid configuration.
ConvSpec random_spec(std::mt19937_64& rng, const RandomSpecOptions& options = {});

}  // namespace convmtx
