#include "convmtx/operator.hpp"

#include "convmtx/spmv.hpp"

namespace convmtx {

std::string to_string(ApplyMethod m) {
    switch (m) {
        case ApplyMethod::matrix: return "matrix";
        case ApplyMethod::direct: return "direct";
        case ApplyMethod::scatter: return "scatter";
        case ApplyMethod::gather: return "gather";
    }
    return "?";
}

ApplyMethod parse_apply_method(const std::string& name) {
    if (name == "matrix") return ApplyMethod::matrix;
    if (name == "direct") return ApplyMethod::direct;
    if (name == "scatter") return ApplyMethod::scatter;
    if (name == "gather") return ApplyMethod::gather;
    throw config_error("method='" + name + "' must be one of 'matrix', 'direct', 'scatter', 'gather'");
}

namespace {

/// Rows of a block of samples of shape (C, full...) restricted to (C, kept...), kept <= full per dimension.
template <class Scalar>
void crop_samples(const Eigen::Ref<const Batch<Scalar>>& in, index_t channels, const Dims& full, const Dims& kept,
                  Eigen::Ref<Batch<Scalar>> out) {
    index_t fv = 1, kv = 1;
    for (size_t j = 0; j < full.size(); ++j) {
        fv *= full[j];
        kv *= kept[j];
    }
    for (index_t c = 0; c < channels; ++c)
        for (index_t lin = 0; lin < kv; ++lin) {
            index_t rem = lin, src = 0, mul = 1;
            for (size_t j = kept.size(); j-- > 0;) {
                src += (rem % kept[j]) * mul;
                rem /= kept[j];
                mul *= full[j];
            }
            out.row(c * kv + lin) = in.row(c * fv + src);
        }
}

}  // namespace

template <class Scalar>
ConvOperator<Scalar>::ConvOperator(const ConvSpec& spec, std::vector<Scalar> weight, ApplyMethod method,
                                   std::vector<Scalar> bias, const BuildOptions& build)
    : LinearOperator<Scalar>(spec.input_shape(), spec.output_shape(),
                             std::string(spec.transposed ? "conv_transpose" : "conv") + "[" + to_string(method) + "]") {
    spec.validate();
    check_size(span<const Scalar>(weight), spec.weight_numel(), "weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    if (!bias.empty()) check_size(span<const Scalar>(bias), spec.out_channels, "bias", "out_channels");
    if (method == ApplyMethod::direct && spec.transposed)
        throw config_error("method='direct' is the convolution's kernel; a transposed convolution takes 'matrix', "
                           "'scatter' or 'gather'");
    if ((method == ApplyMethod::scatter || method == ApplyMethod::gather) && !spec.transposed)
        throw config_error("method='" + to_string(method) + "' is a transposed convolution's kernel; a convolution "
                           "takes 'matrix' or 'direct'");
    auto st = std::make_shared<State>();
    st->spec = spec;
    st->weight = std::move(weight);
    st->bias = std::move(bias);
    st->method = method;
    st->build = build;
    state_ = std::move(st);
}

template <class Scalar>
ConvOperator<Scalar>::ConvOperator(std::shared_ptr<const State> state, bool adjoint)
    : LinearOperator<Scalar>(adjoint ? state->spec.output_shape() : state->spec.input_shape(),
                             adjoint ? state->spec.input_shape() : state->spec.output_shape(),
                             std::string(state->spec.transposed ? "conv_transpose" : "conv") + "[" +
                                 to_string(state->method) + "]" + (adjoint ? "^T" : "")),
      state_(std::move(state)), adjoint_(adjoint) {}

template <class Scalar>
const typename ConvOperator<Scalar>::Matrix& ConvOperator<Scalar>::matrix() const {
    std::call_once(state_->once, [this] {
        state_->matrix = std::make_shared<const Matrix>(
            operator_matrix<Scalar, Eigen::RowMajor, std::int64_t>(state_->spec, state_->weight, state_->build));
    });
    return *state_->matrix;
}

template <class Scalar>
std::shared_ptr<const LinearOperator<Scalar>> ConvOperator<Scalar>::transpose() const {
    return std::shared_ptr<const LinearOperator<Scalar>>(new ConvOperator(state_, !adjoint_));
}

template <class Scalar>
void ConvOperator<Scalar>::apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const {
    if (adjoint_) backward(x, y);
    else forward(x, y);
}

template <class Scalar>
void ConvOperator<Scalar>::apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const {
    if (adjoint_) forward(y, x);
    else backward(y, x);
}

template <class Scalar>
void ConvOperator<Scalar>::forward(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const {
    const State& s = *state_;
    switch (s.method) {
        case ApplyMethod::matrix:
            spmv(matrix(), false, x, y);
            add_bias<Scalar>(y, s.bias);
            return;
        case ApplyMethod::direct: conv_direct<Scalar>(s.spec, s.weight, x, y, s.bias); return;
        case ApplyMethod::scatter: conv_transpose_scatter<Scalar>(s.spec, s.weight, x, y, s.bias); return;
        case ApplyMethod::gather: conv_transpose_gather<Scalar>(s.spec, s.weight, x, y, s.bias); return;
    }
}

template <class Scalar>
void ConvOperator<Scalar>::backward(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const {
    const State& s = *state_;
    if (s.method == ApplyMethod::matrix || (s.method == ApplyMethod::direct && s.spec.padding_mode != PaddingMode::zeros)) {
        spmv(matrix(), true, y, x);
        return;
    }
    const ConvSpec a = s.spec.adjoint();
    if (s.method == ApplyMethod::direct) {
        conv_transpose_scatter<Scalar>(a, s.weight, y, x);
        return;
    }
    // T's adjoint is W restricted to the rows q < m: the conv of the adjoint spec, cropped to the input.
    if (a.output_size() == s.spec.input_size) {
        conv_direct<Scalar>(a, s.weight, y, x);
        return;
    }
    const Block full = conv_direct<Scalar>(a, s.weight, y);
    crop_samples<Scalar>(full, s.spec.in_channels, a.output_size(), s.spec.input_size, x);
}

template class ConvOperator<float>;
template class ConvOperator<double>;

}  // namespace convmtx
