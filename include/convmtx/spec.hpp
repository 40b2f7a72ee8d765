// Geometry of one convolution or transposed convolution: channels, groups,
// per-dimension kernel, stride, dilation, padding (lo/hi), output_padding and
// padding mode, with the output-shape functions and full validation.
// Index formulas: docs/semantics.md (PyTorch's torch.nn.functional is the ground truth).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "convmtx/errors.hpp"

namespace convmtx {

/// Sizes, indices and counts: 64-bit signed.
using index_t = std::int64_t;
/// Per-spatial-dimension values (kernel, stride, ...) or a full tensor shape.
using Dims = std::vector<index_t>;
/// A full tensor shape, e.g. (channels, spatial...) or a weight's (C_out, C_in/G, k...).
using Shape = std::vector<index_t>;

/// How the forward convolution reads outside the input: zeros, or F.pad's
/// circular (i mod n), reflect (-1 -> 1, n -> n-2) and replicate (clamp).
enum class PaddingMode { zeros, circular, reflect, replicate };

/// Which framework's meaning 'same', 'valid' and output_padding have: PyTorch's, Keras'/TensorFlow's,
/// or MXNet's (symmetric pad, adj, and Deconvolution's target_shape).
enum class Convention { torch, keras, mxnet };

/// "zeros", "circular", "reflect" or "replicate".
std::string to_string(PaddingMode mode);
/// "torch", "keras" or "mxnet".
std::string to_string(Convention convention);
/// Writes to_string(mode).
std::ostream& operator<<(std::ostream& os, PaddingMode mode);
/// Parses "torch", "keras" or "mxnet"; throws config_error otherwise.
Convention parse_convention(const std::string& name);
/// Parses "zeros", "circular", "reflect" or "replicate"; throws config_error otherwise.
PaddingMode parse_padding_mode(const std::string& name);
/// The values joined by `sep`, e.g. "3, 3".
std::string to_string(const Dims& dims, const char* sep = ", ");

/// Padding as given by a user: explicit per-dimension lo/hi (one value is
/// broadcast to every dimension), or the keywords 'same' / 'valid'.
struct Padding {
    /// Explicit sides, or a keyword resolved by make_conv / make_conv_transpose.
    enum class Kind { explicit_sides, same, valid };
    Kind kind = Kind::explicit_sides;  ///< which of the three
    Dims lo{0};                        ///< explicit: padding before the data, per dimension
    Dims hi{0};                        ///< explicit: padding after the data, per dimension

    /// Symmetric padding p (PyTorch int or tuple): lo = hi = p.
    static Padding symmetric(Dims p);
    /// Per-side padding: lo[j] at the start, hi[j] at the end of dimension j.
    static Padding sides(Dims lo, Dims hi);
    /// 'same': the output keeps the input's size (PyTorch: stride 1; Keras: m = ceil(n/s)).
    static Padding same();
    /// 'valid': no padding.
    static Padding valid();
};

/// Conv output length: m = floor((n + pl + ph - d(k-1) - 1) / s) + 1 (may be < 1: invalid).
index_t conv_output_length(index_t n, index_t k, index_t s, index_t d, index_t pl, index_t ph);
/// Transposed-conv output length: n = (m-1)s - pl - ph + d(k-1) + a + 1.
index_t conv_transpose_output_length(index_t m, index_t k, index_t s, index_t d, index_t pl,
                                     index_t ph, index_t a);

/// One convolution (transposed = false: x -> W x) or transposed convolution
/// (transposed = true: y -> T y = W^T y). Every per-dimension vector has rank()
/// entries. Spatial sizes (`input_size`, output_size()) and full shapes with the
/// channel axis (input_shape(), output_shape()) are named apart.
///
/// W is always the matrix of a convolution: its rows are the conv's output
/// (conv_out_channels(), conv_output_size()), its columns the conv's input
/// (conv_in_channels(), conv_input_size()). For a conv that is this operation's
/// output and input; for a transposed conv the other way round. The weight tensor
/// is the same for both: (conv_out_channels, conv_in_channels/G, k...), i.e.
/// PyTorch's (C_out, C_in/G, k...) for a conv and PyTorch's and MXNet's
/// (C_in, C_out/G, k...) for a transposed conv.
struct ConvSpec {
    bool transposed = false;   ///< a transposed convolution (T = W^T) rather than a convolution (W)
    index_t in_channels = 1;   ///< of this operation's input
    index_t out_channels = 1;  ///< of this operation's output
    index_t groups = 1;        ///< channel groups G; both channel counts are multiples of G
    Dims input_size;           ///< spatial size of this operation's input
    Dims kernel_size;          ///< k per spatial dimension
    Dims stride;               ///< s per spatial dimension
    Dims dilation;             ///< d per spatial dimension
    Dims padding_lo;           ///< zeros (or padding_mode values) before each dimension
    Dims padding_hi;           ///< and after it
    Dims output_padding;       ///< transposed only; zeros for a conv
    PaddingMode padding_mode = PaddingMode::zeros;  ///< conv only: what a padded position outside the input reads

    /// Number of spatial dimensions (1, 2 or 3).
    int rank() const { return static_cast<int>(kernel_size.size()); }
    /// Spatial output size: conv m_j = floor((n_j + pl_j + ph_j - d_j(k_j-1) - 1)/s_j) + 1,
    /// transposed n_j = (m_j-1)s_j - pl_j - ph_j + d_j(k_j-1) + output_padding_j + 1.
    Dims output_size() const;
    Shape input_shape() const;   ///< (in_channels, input_size...)
    Shape output_shape() const;  ///< (out_channels, output_size()...)
    Shape weight_shape() const;  ///< (conv_out_channels, conv_in_channels/G, kernel_size...)
    index_t input_numel() const;   ///< elements of input_shape()
    index_t output_numel() const;  ///< elements of output_shape()
    index_t weight_numel() const;  ///< elements of weight_shape()
    /// W's columns: the conv's input (a conv's input, a transposed conv's output).
    Dims conv_input_size() const { return transposed ? output_size() : input_size; }
    /// W's column channels: the conv's input channels.
    index_t conv_in_channels() const { return transposed ? out_channels : in_channels; }
    /// W's rows: the conv's output (a conv's output, a transposed conv's input).
    Dims conv_output_size() const { return transposed ? input_size : output_size(); }
    /// W's row channels: the conv's output channels.
    index_t conv_out_channels() const { return transposed ? in_channels : out_channels; }

    /// Throws config_error naming the parameter, dimension, value and rule.
    void validate() const;
    /// Throws shape_error unless `shape` equals weight_shape().
    void check_weight_shape(const Shape& shape) const;
    /// Throws shape_error unless `shape` equals input_shape() (or (N, input_shape()...)).
    void check_input_shape(const Shape& shape) const;

    /// The adjoint operation as a spec: for a transposed conv the conv on its
    /// output size whose W^T (rows q < m) it is; for a zeros-padded conv the
    /// transposed conv with output_padding chosen so that its output is `input_size`.
    ConvSpec adjoint() const;

    /// One-line description, e.g. "conv2d input=(1, 4, 4) output=(1, 2, 2) kernel=(3, 3) ...".
    std::string describe() const;
};

/// Arguments of torch.nn.functional.conv{1,2,3}d beyond the tensors.
struct ConvOptions {
    Dims stride{1};                                 ///< s (one value: every dimension)
    Padding padding{};                              ///< symmetric, per side, 'same' or 'valid'
    Dims dilation{1};                               ///< d (one value: every dimension)
    index_t groups = 1;                             ///< channel groups G
    PaddingMode padding_mode = PaddingMode::zeros;  ///< zeros, circular, reflect or replicate
    Convention convention = Convention::torch;      ///< PyTorch's or Keras' meaning of 'same'
};

/// Arguments of torch.nn.functional.conv_transpose{1,2,3}d, plus PyTorch's
/// output_size, the Keras meanings of 'same'/'valid'/output_padding and MXNet's
/// Deconvolution (padding = its symmetric pad, output_padding = its adj, target_shape).
struct ConvTransposeOptions {
    Dims stride{1};                             ///< s (one value: every dimension)
    Padding padding{};                          ///< symmetric, per side, 'same' or 'valid'
    std::optional<Dims> output_padding{};       ///< a; unset: 0 (PyTorch) or derived (Keras, output_size)
    index_t groups = 1;                         ///< channel groups G
    Dims dilation{1};                           ///< d (one value: every dimension)
    std::optional<Dims> output_size{};          ///< PyTorch's output_size: the wanted spatial size (derives a)
    Convention convention = Convention::torch;  ///< PyTorch's, Keras' or MXNet's meaning of 'same', 'valid', output_padding
    /// MXNet's target_shape (spatial output size; Convention::mxnet only; all zeros = not given):
    /// total = s(m-1) + d(k-1) + 1 - target, adj = total mod 2, pad = ceil(total/2).
    std::optional<Dims> target_shape{};
};

/// Spec of a conv on one sample of shape (C_in, n...) with a PyTorch weight
/// of shape (C_out, C_in/G, k...). The rank is weight_shape.size() - 2.
ConvSpec make_conv(const Shape& input_shape, const Shape& weight_shape, const ConvOptions& options = {});
/// Spec of a transposed conv on one sample (C_in, m...) with a weight of shape
/// (C_in, C_out/G, k...). Keras: an explicit output_padding must be smaller than the stride
/// (Keras' rule). MXNet: pad p and adj a crop p at the start and p - a at the end
/// (output (m-1)s + d(k-1) + 1 - 2p + a), PyTorch's padding p with output_padding a.
ConvSpec make_conv_transpose(const Shape& input_shape, const Shape& weight_shape,
                             const ConvTransposeOptions& options = {});

}  // namespace convmtx
