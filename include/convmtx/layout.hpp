// Weight layouts of the frameworks and conversions between them.
//   torch_conv        PyTorch conv                   (C_out, C_in/G, k...)
//   torch_transposed  PyTorch / MXNet transposed     (C_in, C_out/G, k...)
//   keras_conv        Keras/TF conv                  (k..., C_in/G, C_out)
//   keras_transposed  Keras Conv*DTranspose, TF conv2d_transpose filter (k..., C_out, C_in)
// A transposed conv is the adjoint of the conv with the same tensor read as a
// conv weight, so torch_conv <-> torch_transposed moves no data.
#pragma once

#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx {

/// Weight layouts: PyTorch's conv (C_out, C_in/G, k...) and transposed (C_in, C_out/G, k...), Keras' conv
/// (k..., C_in/G, C_out) and transposed (k..., C_out, C_in).
enum class WeightLayout { torch_conv, torch_transposed, keras_conv, keras_transposed };

/// "torch_conv", "torch_transposed", "keras_conv" or "keras_transposed".
std::string to_string(WeightLayout layout);
/// Parses "torch_conv", "torch_transposed" (alias "mxnet_transposed"), "keras_conv", "keras_transposed".
WeightLayout parse_weight_layout(const std::string& name);

/// Permutes a C-order tensor: result axis a is source axis perm[a]. Throws shape_error on a bad perm.
template <class Scalar>
std::vector<Scalar> permute_axes(const Scalar* data, const Shape& shape, const std::vector<int>& perm,
                                 Shape* out_shape = nullptr);

/// Converts a weight between layouts; `shape` is in the `from` layout and must have 3 to 5 axes.
template <class Scalar>
std::vector<Scalar> convert_weight(const Scalar* data, const Shape& shape, WeightLayout from, WeightLayout to,
                                   Shape* out_shape = nullptr);

}  // namespace convmtx
