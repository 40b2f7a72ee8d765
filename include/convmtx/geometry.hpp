// The geometry of a convolution: which input position kernel tap t of output
// position q reads, after stride, dilation, padding (lo/hi) and the padding
// mode, per spatial dimension, in both directions, and how channels and groups
// pair up. Everything in convmtx that needs this relation (W and T, their
// patterns and tap maps, explain, overlap, the structure check, kernel
// validation) reads it from here; the direct kernels (kernels.hpp) are the one
// deliberately independent implementation.
//
// Always stated for the convolution W (docs/semantics.md):
//   W's columns are the conv's input:  (C_in, n_0, ..., n_{r-1}), C order;
//   W's rows are the conv's output:    (C_out, m_0, ..., m_{r-1}), C order;
//   along dimension j, tap t of output q reads padded position p = q*s - p_lo + t*d,
//   which is input i = pad_fold(p, n, padding_mode) (-1: a zero of zeros padding);
//   output channel o belongs to group g = o / (C_out/G) and meets input channels
//   c = g*(C_in/G) + c', c' < C_in/G, through weight w[o, c', t_0, ..., t_{r-1}].
// For a transposed convolution the same W is used (its operator is W^T): the
// transposed conv's input is W's row side, its output W's column side.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// The input index that padded position p of a length-n signal reads (PyTorch's F.pad):
/// p inside [0, n); outside, -1 for zeros, p mod n for circular, the mirror image
/// without repeating the edge for reflect (-1 -> 1, n -> n-2), the nearest edge for replicate.
index_t pad_fold(index_t p, index_t n, PaddingMode mode);

/// For each position of one side of a dimension, the positions of the other side it
/// meets (sorted), each with the taps that connect them: one tap, or several where a
/// padding mode folds taps onto the same input. Compressed like CSR:
///   position a meets targets[g] through taps[tap_offsets[g] .. tap_offsets[g+1]),
///   for g in [offsets[a], offsets[a+1]).
struct TapTable {
    std::vector<index_t> offsets{0};      ///< positions + 1 offsets into targets
    std::vector<index_t> targets;         ///< the positions met, per group g
    std::vector<index_t> tap_offsets{0};  ///< groups + 1 offsets into taps
    std::vector<index_t> taps;            ///< the taps of each group

    /// Positions on this side of the dimension.
    index_t positions() const { return static_cast<index_t>(offsets.size()) - 1; }
    /// The first group of position a.
    index_t begin(index_t a) const { return offsets[static_cast<size_t>(a)]; }
    /// One past the last group of position a.
    index_t end(index_t a) const { return offsets[static_cast<size_t>(a + 1)]; }
    /// Number of positions a meets.
    index_t groups(index_t a) const { return end(a) - begin(a); }
    /// Groups of every position together.
    index_t total_groups() const { return offsets.back(); }
    /// The position group g meets.
    index_t target(index_t g) const { return targets[static_cast<size_t>(g)]; }
    /// Number of taps of group g (1 unless a padding mode folded several).
    index_t tap_count(index_t g) const { return tap_offsets[static_cast<size_t>(g + 1)] - tap_offsets[static_cast<size_t>(g)]; }
    /// The first tap of group g (its only tap unless a padding mode folded several).
    index_t first_tap(index_t g) const { return taps[static_cast<size_t>(tap_offsets[static_cast<size_t>(g)])]; }
};

/// One (output q, tap t) pair that reads an input position, with the padded position p it reads.
struct TapHit {
    index_t output = 0;  ///< the output position q
    index_t tap = 0;     ///< the tap t
    index_t padded = 0;  ///< the padded position q*s - p_lo + t*d
};

/// One spatial dimension of a convolution: input length n (W's columns), output length
/// m = floor((n + p_lo + p_hi - d(k-1) - 1) / s) + 1 (W's rows), kernel k, stride s,
/// dilation d, padding p_lo/p_hi and the padding mode.
struct DimGeometry {
    index_t input_size = 1;   ///< n
    index_t output_size = 1;  ///< m
    index_t kernel_size = 1;  ///< k
    index_t stride = 1;       ///< s
    index_t dilation = 1;     ///< d
    index_t padding_lo = 0;   ///< p_lo, before the data
    index_t padding_hi = 0;   ///< p_hi, after the data
    PaddingMode padding_mode = PaddingMode::zeros;  ///< what a padded position outside [0, n) reads

    /// p = q*s - p_lo + t*d: the position tap t of output q reads before the padding fold.
    index_t padded_position(index_t q, index_t t) const { return q * stride - padding_lo + t * dilation; }
    /// pad_fold(q*s - p_lo + t*d, n): the input tap t of output q reads; -1 for a zero.
    index_t input_position(index_t q, index_t t) const {
        return pad_fold(padded_position(q, t), input_size, padding_mode);
    }
    /// True when tap t of output q reads a padded position outside [0, n) (a zero or a folded copy).
    bool in_padding(index_t q, index_t t) const {
        const index_t p = padded_position(q, t);
        return p < 0 || p >= input_size;
    }
    /// Every (output q, tap t) whose tap reads input i, ordered by q then t; closed form:
    /// no scan over all outputs, so it is cheap for one position of a huge dimension.
    std::vector<TapHit> outputs_reading(index_t i) const;
    /// The same for output q: every tap t with the input it reads, ordered by t.
    std::vector<TapHit> inputs_read_by(index_t q) const;
};

/// A convolution configuration with its index relation evaluated: validated shapes,
/// the channel pairing of the groups, and per spatial dimension the tap tables in both
/// directions (output q -> (input i, taps), input i -> (output q, taps)). Made once,
/// queried many times; copies share the (immutable) tables. The tables are built on
/// first use, O(sum_j m_j k_j) time and memory, thread-safe; every query that needs them
/// (output_taps, input_taps, structural_nnz) throws memory_limit_error, before building them,
/// when table_bytes() exceeds the physical memory.
class ConvGeometry {
public:
    /// Validates the spec (config_error naming the parameter, dimension, value and rule).
    explicit ConvGeometry(const ConvSpec& spec);

    /// The configuration this geometry evaluates.
    const ConvSpec& spec() const;
    /// Number of spatial dimensions (1, 2 or 3).
    int rank() const;
    /// Spatial dimension j in [0, rank()), of the convolution W.
    const DimGeometry& dim(int j) const;

    /// Channel groups G.
    index_t groups() const;
    index_t conv_in_channels() const;   ///< C_in of W (columns): the conv's input channels
    index_t conv_out_channels() const;  ///< C_out of W (rows)
    index_t in_per_group() const;       ///< C_in / G
    index_t out_per_group() const;      ///< C_out / G
    Dims conv_input_size() const;       ///< n_j
    Dims conv_output_size() const;      ///< m_j
    Shape conv_input_shape() const;     ///< (C_in, n...)
    Shape conv_output_shape() const;    ///< (C_out, m...)
    index_t input_volume() const;       ///< prod n_j
    index_t output_volume() const;      ///< prod m_j
    index_t kernel_volume() const;      ///< prod k_j
    index_t rows() const;               ///< of W: C_out * prod m_j
    index_t cols() const;               ///< of W: C_in * prod n_j

    /// Group of output channel o: o / (C_out/G); its input channels are g*(C_in/G) + c'.
    index_t group_of_output(index_t o) const { return o / out_per_group(); }
    /// Group of input channel c: c / (C_in/G).
    index_t group_of_input(index_t c) const { return c / in_per_group(); }
    /// Flat index into the weight (C_out, C_in/G, k...) of output channel o, c' and flat tap tf.
    index_t weight_index(index_t o, index_t c_in_group, index_t tap_flat) const {
        return (o * in_per_group() + c_in_group) * kernel_volume() + tap_flat;
    }

    /// Output q of dimension j -> the inputs it reads with their taps (sorted by input).
    const TapTable& output_taps(int j) const;
    /// Input i of dimension j -> the outputs that read it with their taps (sorted by output).
    const TapTable& input_taps(int j) const;
    /// The tables' bytes for memory budgets: sum over the spatial dimensions of 24 (m_j k_j + n_j + m_j),
    /// an upper bound (entries, offsets and taps of both directions, 8 bytes each).
    double table_bytes() const;

    /// Stored entries of W when every tap is structural: C_out * (C_in/G) * prod_j groups of dimension j.
    index_t structural_nnz() const;

    /// Internal (builder): dimension j of three, leading dimensions of size 1 (k = s = d = 1, no padding).
    const DimGeometry& dim3(int j) const;
    /// Internal (builder): output_taps of dimension j of three (one position, one tap for a leading dimension).
    const TapTable& output_taps3(int j) const;
    /// Internal (builder): input_taps of dimension j of three.
    const TapTable& input_taps3(int j) const;

private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

}  // namespace convmtx
