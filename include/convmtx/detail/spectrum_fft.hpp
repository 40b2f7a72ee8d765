// Internal: the singular values of a block-circulant convolution, one small matrix per frequency
// (spectrum.hpp gives the formula and the sources). Not part of the public API.
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "convmtx/geometry.hpp"
#include "convmtx/spectrum.hpp"

namespace convmtx::detail {

/// A circular convolution whose output size times stride is its input size in every dimension:
/// per dimension (three, the leading ones of size 1 for a lower rank) input n = m s, output m,
/// kernel k, stride s, dilation d and low padding p_lo; channels and groups as in ConvGeometry.
struct CirculantConv {
    int rank = 1;
    std::array<index_t, 3> n{1, 1, 1}, m{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pl{0, 0, 0};
    index_t out_channels = 1, in_channels = 1, groups = 1;

    index_t frequencies() const { return m[0] * m[1] * m[2]; }
    index_t phases() const { return s[0] * s[1] * s[2]; }
    index_t kernel_volume() const { return k[0] * k[1] * k[2]; }
    index_t block_rows() const { return out_channels / groups; }
    index_t block_cols() const { return in_channels / groups * phases(); }
    /// Singular values per block: min(block_rows, block_cols).
    index_t block_values() const { return std::min(block_rows(), block_cols()); }
    /// The frequency grid (m_j of the spatial dimensions).
    Dims frequency_shape() const;
};

/// "" when W of the geometry is block-circulant (circular padding, or no tap reading the padding,
/// with m_j s_j = n_j in every dimension); otherwise the first reason why not, naming the dimension.
std::string circulant_obstacle(const ConvGeometry& G);
/// The block-circulant W of the geometry (circulant_obstacle must be empty).
CirculantConv circulant_of(const ConvGeometry& G);
/// The cost of circulant_singular_values: its work in units (about 6e7 a second on one core) and
/// the bytes it allocates besides the weight (the frequency list, the values, the map).
FftCost fft_cost(const CirculantConv& c, bool all_values, bool want_map);
/// The circular convolution on the smallest grid (a multiple of the stride) that contains the
/// zeros-padded W of the geometry as its rows q < m and inputs i < n: ||W||_2 <= its norm.
CirculantConv circulant_embedding(const ConvGeometry& G);

struct BlockSpectrum {
    std::vector<double> values;         ///< every singular value of every block (all_values), unsorted
    std::vector<double> frequency_max;  ///< each frequency's largest singular value (want_map), C order
    double sigma_max = 0;               ///< the largest of all
    index_t computed = 0;               ///< blocks factorized (a frequency and its conjugate share one)
    bool fft = false;                   ///< the blocks came from Eigen's FFT (else from direct sums)
};

/// The singular values of every block A(f) (all_values) or only each block's largest (via the
/// eigenvalues of its Gram matrix), in double, in parallel over the frequencies. `weight` is the
/// conv weight (C_out, C_in/G, k...). memory_limit in bytes (> 0).
BlockSpectrum circulant_singular_values(const CirculantConv& c, const double* weight, bool all_values, bool want_map,
                                        double memory_limit, const SpectrumCallback& progress);

/// A bound on the rounding error of circulant_singular_values' values: sigma computed within it of
/// the exact singular value of the block (block sums, twiddle factors and the SVD's backward error).
double circulant_margin(const CirculantConv& c, const double* weight);

/// The Schur test sqrt(||W||_1 ||W||_inf) >= ||W||_2 from the weights and the geometry (the absolute
/// row and column sums of W bounded by the sums of |w| over the taps reaching them), rounding included.
double schur_bound(const ConvGeometry& G, const double* weight);

}  // namespace convmtx::detail
