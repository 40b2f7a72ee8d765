// Convolution and transposed convolution computed directly from the index formulas
// (docs/semantics.md), deliberately independent of ConvGeometry and the builder: they
// share nothing with W but the ConvSpec, so agreement between them and W is evidence,
// not tautology. A batch is a dense matrix with one C-order flattened sample per column.
// Each kernel comes as `f(spec, weight, x, y, bias)` writing into caller-owned y (its
// shape is checked: shape_error naming expected and actual) and as `y = f(spec, weight, x, bias)`.
#pragma once

#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// A block of samples: one flattened sample per column.
template <class Scalar>
using Batch = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// Conv by gathering: y[o,q] = sum_{c',t} w[o,c',t] * xpad[g*C_in/G + c', q*s - pl + t*d] (+ bias[o]),
/// xpad = F.pad(x, padding, padding_mode). `spec` must be a conv; weight is (C_out, C_in/G, k...);
/// x has input_numel() rows, y output_numel() rows and as many columns; bias empty or C_out values.
template <class Scalar>
void conv_direct(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& x,
                 Eigen::Ref<Batch<Scalar>> y, span<const Scalar> bias = {});
/// Allocating form of conv_direct: the output block as a new Batch.
template <class Scalar>
Batch<Scalar> conv_direct(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& x,
                          span<const Scalar> bias = {});

/// Transposed conv by scattering (d2l §12.10's trans_conv): out[g*C_out/G + o', i*s - pl + t*d] += y[c,i] * w[c,o',t].
/// `spec` must be transposed; weight is (C_in, C_out/G, k...).
template <class Scalar>
void conv_transpose_scatter(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& y,
                            Eigen::Ref<Batch<Scalar>> out, span<const Scalar> bias = {});
/// Allocating form of conv_transpose_scatter: the output block as a new Batch.
template <class Scalar>
Batch<Scalar> conv_transpose_scatter(const ConvSpec& spec, span<const Scalar> weight,
                                     const Eigen::Ref<const Batch<Scalar>>& y, span<const Scalar> bias = {});

/// Transposed conv by gathering (Dumoulin & Visin 2016, and PyTorch's transposed-convolution
/// tutorial): insert s-1 zeros between inputs, pad d(k-1)-pl low and d(k-1)-ph+a high (negative
/// amounts crop), flip the kernel and swap its channel axes, then run a stride-1 conv with dilation d.
template <class Scalar>
void conv_transpose_gather(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& y,
                           Eigen::Ref<Batch<Scalar>> out, span<const Scalar> bias = {});
/// Allocating form of conv_transpose_gather: the output block as a new Batch.
template <class Scalar>
Batch<Scalar> conv_transpose_gather(const ConvSpec& spec, span<const Scalar> weight,
                                    const Eigen::Ref<const Batch<Scalar>>& y, span<const Scalar> bias = {});

/// The conv weight that the gather form applies: w2[g*C_out/G + o', c', t] = w[g*C_in/G + c', o', k-1-t].
template <class Scalar>
std::vector<Scalar> gather_weight(const ConvSpec& spec, span<const Scalar> weight);

/// Adds bias[c] to every entry of channel c of each column (channels = bias.size(), y.rows() a multiple).
template <class Scalar>
void add_bias(Eigen::Ref<Batch<Scalar>> y, span<const Scalar> bias);

/// y = M x (+ bias) with M the operation's own matrix (W of a conv, T of a transposed conv),
/// or, with adjoint_form, y = M^T x (+ bias) with M the adjoint's matrix (W of a transposed conv).
/// Throws shape_error naming both shapes when M does not have the stated shape.
template <class Scalar, int Order, class StorageIndex>
Batch<Scalar> apply_matrix(const ConvSpec& spec, const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& M,
                           const Eigen::Ref<const Batch<Scalar>>& x, span<const Scalar> bias = {},
                           bool adjoint_form = false) {
    const index_t in = spec.input_numel(), out = spec.output_numel();
    if (x.rows() != in)
        throw shape_error("input has " + std::to_string(x.rows()) + " rows per sample; the configuration needs " +
                          std::to_string(in) + " = prod(" + to_string(spec.input_shape(), "x") + ")");
    const index_t want_rows = adjoint_form ? in : out, want_cols = adjoint_form ? out : in;
    if (M.rows() != want_rows || M.cols() != want_cols)
        throw shape_error("matrix is " + std::to_string(M.rows()) + "x" + std::to_string(M.cols()) + " but " +
                          (adjoint_form ? "the adjoint's matrix" : "the operation's matrix") + " must be " +
                          std::to_string(want_rows) + "x" + std::to_string(want_cols) + " (the operation maps " +
                          std::to_string(in) + " inputs to " + std::to_string(out) + " outputs)");
    Batch<Scalar> y;
    if (adjoint_form) y = M.transpose() * x;
    else y = M * x;
    if (!bias.empty()) {
        check_size(bias, spec.out_channels, "bias", "out_channels");
        add_bias<Scalar>(y, bias);
    }
    return y;
}

}  // namespace convmtx
