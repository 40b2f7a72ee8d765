// Overlap of a transposed convolution: how many (input, tap) pairs reach each output
// position, and whether that count is even (the checkerboard of Odena, Dumoulin & Olah,
// "Deconvolution and Checkerboard Artifacts", Distill 2016).
#pragma once

#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// Overlap of a transposed conv along one dimension.
struct OverlapDim {
    index_t kernel_size = 1;  ///< k
    index_t stride = 1;       ///< s
    index_t dilation = 1;     ///< d
    std::vector<index_t> counts;          ///< per output position x: #{(i, t): i*s - pl + t*d = x}
    /// Interior count of outputs x with x + pl = r (mod s), r = 0..s-1: the taps t with t*d = r (mod s).
    /// Empty for strides above 65536 (the verdict and the interior bounds are closed form).
    std::vector<index_t> residue_counts;
    index_t interior_lo = 0;              ///< first interior x: (k-1)d - pl
    index_t interior_hi = -1;             ///< last interior x: (m-1)s - pl
    bool even = true;                     ///< all residue counts equal: s = 1, or gcd(d, s) = 1 and s divides k
    index_t smaller_even_kernel = 0;      ///< nearest kernel size below that is even (0: none): multiples of s when gcd(d, s) = 1
    index_t larger_even_kernel = 0;       ///< nearest kernel size above that is even (0: none)
};

/// Overlap of a transposed conv (for a conv: of its adjoint transposed conv, W^T).
struct OverlapReport {
    Dims shape;                          ///< output spatial size n
    std::vector<index_t> counts;         ///< per output position (C order): product of the dims' counts
    index_t channels_per_output = 1;     ///< input channels summed into each output (C_in/G of the transposed conv): row sums of T = this * counts
    std::vector<OverlapDim> dims;        ///< per spatial dimension
    bool interior_empty = false;         ///< some dimension's interior is shorter than its stride: min/max from the phase counts
    index_t interior_min = 0;            ///< smallest interior count
    index_t interior_max = 0;            ///< largest interior count
    double uniformity = 1;               ///< interior max/min (infinity when min is 0)
    bool even = true;                    ///< every dimension is even: the interior count is constant
    std::string verdict;                 ///< one or more lines
};
/// The overlap report of a transposed conv, or of the adjoint W^T of a conv.
OverlapReport overlap(const ConvSpec& spec);

}  // namespace convmtx
