#include "convmtx/layout.hpp"

#include "convmtx/detail/checked.hpp"

namespace convmtx {

std::string to_string(WeightLayout layout) {
    switch (layout) {
        case WeightLayout::torch_conv: return "torch_conv";
        case WeightLayout::torch_transposed: return "torch_transposed";
        case WeightLayout::keras_conv: return "keras_conv";
        case WeightLayout::keras_transposed: return "keras_transposed";
    }
    return "?";
}

WeightLayout parse_weight_layout(const std::string& name) {
    if (name == "torch_conv") return WeightLayout::torch_conv;
    if (name == "torch_transposed" || name == "mxnet_transposed") return WeightLayout::torch_transposed;
    if (name == "keras_conv") return WeightLayout::keras_conv;
    if (name == "keras_transposed") return WeightLayout::keras_transposed;
    throw config_error("layout='" + name +
                       "' must be one of 'torch_conv', 'torch_transposed', 'mxnet_transposed', 'keras_conv', "
                       "'keras_transposed'");
}

template <class Scalar>
std::vector<Scalar> permute_axes(const Scalar* data, const Shape& shape, const std::vector<int>& perm,
                                 Shape* out_shape) {
    const int r = static_cast<int>(shape.size());
    std::vector<bool> seen(r, false);
    if (static_cast<int>(perm.size()) != r)
        throw shape_error("permutation has " + std::to_string(perm.size()) + " axes but the tensor has " +
                          std::to_string(r));
    for (int p : perm) {
        if (p < 0 || p >= r || seen[p]) throw shape_error("axis permutation is not a permutation of 0.." + std::to_string(r - 1));
        seen[p] = true;
    }
    Shape out(r);
    for (int a = 0; a < r; ++a) out[a] = shape[perm[a]];
    std::vector<index_t> src_stride(r, 1);
    for (int a = r - 2; a >= 0; --a) src_stride[a] = src_stride[a + 1] * shape[a + 1];
    const index_t total = detail::checked_product(shape, "tensor size");
    std::vector<Scalar> result(static_cast<size_t>(total));
    std::vector<index_t> idx(r, 0);
    for (index_t lin = 0; lin < total; ++lin) {
        index_t src = 0;
        for (int a = 0; a < r; ++a) src += idx[a] * src_stride[perm[a]];
        result[lin] = data[src];
        for (int a = r - 1; a >= 0; --a) {
            if (++idx[a] < out[a]) break;
            idx[a] = 0;
        }
    }
    if (out_shape) *out_shape = out;
    return result;
}

template <class Scalar>
std::vector<Scalar> convert_weight(const Scalar* data, const Shape& shape, WeightLayout from, WeightLayout to,
                                   Shape* out_shape) {
    const int r = static_cast<int>(shape.size()) - 2;
    if (r < 1 || r > 3)
        throw shape_error("weight has " + std::to_string(shape.size()) + " axes (" + to_string(shape) +
                          "); a " + to_string(from) + " weight has 2 channel axes and 1 to 3 kernel axes");
    const bool from_keras = from == WeightLayout::keras_conv || from == WeightLayout::keras_transposed;
    const bool to_keras = to == WeightLayout::keras_conv || to == WeightLayout::keras_transposed;
    std::vector<int> perm;
    if (from_keras && !to_keras) {  // (k..., A, B) -> (B, A, k...)
        perm = {r + 1, r};
        for (int j = 0; j < r; ++j) perm.push_back(j);
    } else if (!from_keras && to_keras) {  // (B, A, k...) -> (k..., A, B)
        for (int j = 0; j < r; ++j) perm.push_back(2 + j);
        perm.push_back(1);
        perm.push_back(0);
    } else {
        for (int j = 0; j < r + 2; ++j) perm.push_back(j);
    }
    return permute_axes(data, shape, perm, out_shape);
}

#define CONVMTX_LAYOUT(S)                                                                                       \
    template std::vector<S> permute_axes<S>(const S*, const Shape&, const std::vector<int>&, Shape*);          \
    template std::vector<S> convert_weight<S>(const S*, const Shape&, WeightLayout, WeightLayout, Shape*);
CONVMTX_LAYOUT(float)
CONVMTX_LAYOUT(double)
#undef CONVMTX_LAYOUT

}  // namespace convmtx
