#include "convmtx/spec.hpp"

#include <limits>
#include <ostream>
#include <sstream>

#include "convmtx/detail/checked.hpp"

namespace convmtx {

namespace {

std::string dim_name(const char* name, int j) {
    return std::string(name) + "[" + std::to_string(j) + "]";
}

[[noreturn]] void fail(const std::string& msg) { throw config_error(msg); }

Dims broadcast(const Dims& v, int rank, const char* name) {
    if (static_cast<int>(v.size()) == rank) return v;
    if (v.size() == 1) return Dims(static_cast<size_t>(rank), v[0]);
    fail(std::string(name) + " has " + std::to_string(v.size()) + " values (" + to_string(v) +
         "); expected 1 or " + std::to_string(rank) + " (one per spatial dimension)");
}

void check_positive(index_t v, const std::string& name) {
    if (v <= 0) fail(name + "=" + std::to_string(v) + " must be positive");
}

index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Keras/TF 'same' padding of a conv on n inputs: m = ceil(n/s), total split with the odd pixel at the end.
void tf_same_padding(index_t n, index_t k, index_t s, index_t d, index_t& lo, index_t& hi) {
    const index_t m = ceil_div(n, s);
    const index_t total = std::max<index_t>((m - 1) * s + d * (k - 1) + 1 - n, 0);
    lo = total / 2;
    hi = total - lo;
}

Shape spatial_tail(const Shape& shape, int rank, const char* name) {
    const int size = static_cast<int>(shape.size());
    if (size == rank) return shape;
    if (size == rank + 1 || size == rank + 2)
        return Shape(shape.end() - rank, shape.end());
    fail(std::string(name) + " has " + std::to_string(size) + " entries (" + to_string(shape) +
         "); expected " + std::to_string(rank) + " spatial sizes (optionally preceded by N, C)");
}

}  // namespace

std::string to_string(PaddingMode mode) {
    switch (mode) {
        case PaddingMode::zeros: return "zeros";
        case PaddingMode::circular: return "circular";
        case PaddingMode::reflect: return "reflect";
        case PaddingMode::replicate: return "replicate";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& os, PaddingMode mode) { return os << to_string(mode); }

std::string to_string(Convention convention) {
    switch (convention) {
        case Convention::torch: return "torch";
        case Convention::keras: return "keras";
        case Convention::mxnet: return "mxnet";
    }
    return "?";
}

Convention parse_convention(const std::string& name) {
    if (name == "torch") return Convention::torch;
    if (name == "keras") return Convention::keras;
    if (name == "mxnet") return Convention::mxnet;
    fail("convention='" + name + "' must be one of 'torch', 'keras', 'mxnet'");
}

PaddingMode parse_padding_mode(const std::string& name) {
    if (name == "zeros") return PaddingMode::zeros;
    if (name == "circular") return PaddingMode::circular;
    if (name == "reflect") return PaddingMode::reflect;
    if (name == "replicate") return PaddingMode::replicate;
    fail("padding_mode='" + name + "' must be one of 'zeros', 'circular', 'reflect', 'replicate'");
}

std::string to_string(const Dims& dims, const char* sep) {
    std::string s;
    for (size_t i = 0; i < dims.size(); ++i) {
        if (i) s += sep;
        s += std::to_string(dims[i]);
    }
    return s;
}

Padding Padding::symmetric(Dims p) { return Padding{Kind::explicit_sides, p, p}; }
Padding Padding::sides(Dims lo, Dims hi) { return Padding{Kind::explicit_sides, std::move(lo), std::move(hi)}; }
Padding Padding::same() { return Padding{Kind::same, {0}, {0}}; }
Padding Padding::valid() { return Padding{Kind::valid, {0}, {0}}; }

namespace {

/// A length computed in 128 bits; one that does not fit 64 bits is a config_error naming the formula.
index_t fit_length(__int128 v, const char* formula) {
    if (v > static_cast<__int128>(std::numeric_limits<index_t>::max()) ||
        v < static_cast<__int128>(std::numeric_limits<index_t>::min()))
        fail(std::string(formula) + " does not fit a 64-bit integer");
    return static_cast<index_t>(v);
}

}  // namespace

index_t conv_output_length(index_t n, index_t k, index_t s, index_t d, index_t pl, index_t ph) {
    using W = __int128;
    const W span = W(n) + pl + ph - W(d) * (k - 1) - 1;
    if (span < 0 || s <= 0) return 0;
    return fit_length(span / s + 1, "output length (input + padding_lo + padding_hi - dilation*(kernel_size-1) - 1)/stride + 1");
}

index_t conv_transpose_output_length(index_t m, index_t k, index_t s, index_t d, index_t pl,
                                     index_t ph, index_t a) {
    using W = __int128;
    const W n = (W(m) - 1) * s - pl - ph + W(d) * (k - 1) + a + 1;
    return fit_length(n, "output length (input-1)*stride - padding_lo - padding_hi + dilation*(kernel_size-1) + "
                         "output_padding + 1");
}

Dims ConvSpec::output_size() const {
    Dims out(kernel_size.size());
    for (size_t j = 0; j < kernel_size.size(); ++j) {
        out[j] = transposed ? conv_transpose_output_length(input_size[j], kernel_size[j], stride[j], dilation[j],
                                                           padding_lo[j], padding_hi[j], output_padding[j])
                            : conv_output_length(input_size[j], kernel_size[j], stride[j], dilation[j],
                                                 padding_lo[j], padding_hi[j]);
    }
    return out;
}

Shape ConvSpec::input_shape() const {
    Shape s{in_channels};
    s.insert(s.end(), input_size.begin(), input_size.end());
    return s;
}

Shape ConvSpec::output_shape() const {
    Shape s{out_channels};
    const Dims out = output_size();
    s.insert(s.end(), out.begin(), out.end());
    return s;
}

Shape ConvSpec::weight_shape() const {
    Shape s{conv_out_channels(), conv_in_channels() / groups};
    s.insert(s.end(), kernel_size.begin(), kernel_size.end());
    return s;
}

index_t ConvSpec::input_numel() const { return detail::checked_product(input_shape(), "input size"); }
index_t ConvSpec::output_numel() const { return detail::checked_product(output_shape(), "output size"); }
index_t ConvSpec::weight_numel() const { return detail::checked_product(weight_shape(), "weight size"); }

void ConvSpec::validate() const {
    const int r = rank();
    if (r < 1 || r > 3) fail("rank=" + std::to_string(r) + " (number of kernel sizes) must be 1, 2 or 3");
    const std::pair<const char*, const Dims*> vecs[] = {
        {"input_size", &input_size}, {"stride", &stride},         {"dilation", &dilation},
        {"padding_lo", &padding_lo}, {"padding_hi", &padding_hi}, {"output_padding", &output_padding}};
    for (const auto& [name, v] : vecs) {
        if (static_cast<int>(v->size()) != r)
            fail(std::string(name) + " has " + std::to_string(v->size()) + " values (" + to_string(*v) +
                 ") but kernel_size has " + std::to_string(r) + " (" + to_string(kernel_size) + ")");
    }
    check_positive(in_channels, "in_channels");
    check_positive(out_channels, "out_channels");
    check_positive(groups, "groups");
    if (in_channels % groups)
        fail("in_channels=" + std::to_string(in_channels) + " must be divisible by groups=" +
             std::to_string(groups));
    if (out_channels % groups)
        fail("out_channels=" + std::to_string(out_channels) + " must be divisible by groups=" +
             std::to_string(groups));
    if (transposed && padding_mode != PaddingMode::zeros)
        fail("padding_mode='" + to_string(padding_mode) +
             "' is not supported for conv_transpose: only 'zeros' (as in PyTorch)");
    for (int j = 0; j < r; ++j) {
        check_positive(input_size[j], dim_name("input_size", j));
        check_positive(kernel_size[j], dim_name("kernel_size", j));
        check_positive(stride[j], dim_name("stride", j));
        check_positive(dilation[j], dim_name("dilation", j));
        if (padding_lo[j] < 0)
            fail(dim_name("padding_lo", j) + "=" + std::to_string(padding_lo[j]) + " must be non-negative");
        if (padding_hi[j] < 0)
            fail(dim_name("padding_hi", j) + "=" + std::to_string(padding_hi[j]) + " must be non-negative");
        if (!transposed && output_padding[j] != 0)
            fail(dim_name("output_padding", j) + "=" + std::to_string(output_padding[j]) +
                 " must be 0 for a (non-transposed) convolution");
        if (output_padding[j] < 0)
            fail(dim_name("output_padding", j) + "=" + std::to_string(output_padding[j]) +
                 " must be non-negative");
        if (output_padding[j] >= stride[j] && output_padding[j] >= dilation[j])
            fail(dim_name("output_padding", j) + "=" + std::to_string(output_padding[j]) +
                 " must be smaller than " + dim_name("stride", j) + "=" + std::to_string(stride[j]) +
                 " or " + dim_name("dilation", j) + "=" + std::to_string(dilation[j]));
        // Every later index computation stays within the padded extent n + pl + ph of the conv's input
        // and the dilated kernel; both must fit 64 bits.
        const __int128 reach = static_cast<__int128>(dilation[j]) * (kernel_size[j] - 1) + 1;
        if (reach > std::numeric_limits<index_t>::max())
            fail(dim_name("dilation", j) + "*(" + dim_name("kernel_size", j) + "-1)+1 = " + std::to_string(dilation[j]) +
                 "*" + std::to_string(kernel_size[j] - 1) + "+1 does not fit a 64-bit integer");
        const __int128 extent = static_cast<__int128>(transposed ? 0 : input_size[j]) + padding_lo[j] + padding_hi[j];
        if (extent > std::numeric_limits<index_t>::max() / 4) {
            // Blame what makes the extent large: the input size alone, or the padding added to it.
            const bool input_alone = !transposed && input_size[j] > std::numeric_limits<index_t>::max() / 8;
            fail(input_alone ? dim_name("input_size", j) + "=" + std::to_string(input_size[j]) +
                                   ": the padded extent input + padding_lo + padding_hi must stay below 2^61"
                             : dim_name("padding", j) + "=" + std::to_string(padding_lo[j]) + ":" +
                                   std::to_string(padding_hi[j]) + " with " + dim_name("input_size", j) + "=" +
                                   std::to_string(transposed ? 0 : input_size[j]) +
                                   ": the padded extent input + padding_lo + padding_hi must stay below 2^61");
        }
        if (static_cast<__int128>(input_size[j]) * stride[j] > std::numeric_limits<index_t>::max() / 4)
            fail(dim_name("input_size", j) + "*" + dim_name("stride", j) + " = " + std::to_string(input_size[j]) + "*" +
                 std::to_string(stride[j]) + " must stay below 2^61");
        if (padding_mode == PaddingMode::reflect && (padding_lo[j] >= input_size[j] || padding_hi[j] >= input_size[j]))
            fail(dim_name("padding", j) + "=" + std::to_string(padding_lo[j]) + ":" + std::to_string(padding_hi[j]) +
                 " must be smaller than " + dim_name("input_size", j) + "=" + std::to_string(input_size[j]) +
                 " for padding_mode='reflect'");
        if (padding_mode == PaddingMode::circular && (padding_lo[j] > input_size[j] || padding_hi[j] > input_size[j]))
            fail(dim_name("padding", j) + "=" + std::to_string(padding_lo[j]) + ":" + std::to_string(padding_hi[j]) +
                 " must not exceed " + dim_name("input_size", j) + "=" + std::to_string(input_size[j]) +
                 " for padding_mode='circular' (it would wrap around more than once)");
    }
    const Dims out = output_size();
    for (int j = 0; j < r; ++j) {
        if (out[j] >= 1) continue;
        const index_t span = dilation[j] * (kernel_size[j] - 1) + 1;
        if (transposed)
            fail(dim_name("output_size", j) + "=" + std::to_string(out[j]) +
                 " must be at least 1: (input_size-1)*stride - padding_lo - padding_hi + dilation*(kernel_size-1) + "
                 "output_padding + 1 = (" + std::to_string(input_size[j]) + "-1)*" + std::to_string(stride[j]) +
                 " - " + std::to_string(padding_lo[j]) + " - " + std::to_string(padding_hi[j]) + " + " +
                 std::to_string(span - 1) + " + " + std::to_string(output_padding[j]) + " + 1");
        fail(dim_name("output_size", j) + "=" + std::to_string(out[j]) + " must be at least 1: " +
             dim_name("input_size", j) + "=" + std::to_string(input_size[j]) + " plus padding " +
             std::to_string(padding_lo[j]) + "+" + std::to_string(padding_hi[j]) +
             " is smaller than the dilated kernel dilation*(kernel_size-1)+1=" + std::to_string(span));
    }
    for (int j = 0; j < r && transposed; ++j)
        if (out[j] > std::numeric_limits<index_t>::max() / 4)
            fail(dim_name("output_size", j) + "=" + std::to_string(out[j]) + " must stay below 2^61");
    input_numel();
    output_numel();
    weight_numel();
    detail::checked_product(Dims{output_numel(), weight_numel() / conv_out_channels()},
                            "number of matrix entries");
}

void ConvSpec::check_weight_shape(const Shape& shape) const {
    const Shape expected = weight_shape();
    if (shape == expected) return;
    std::string what = transposed ? "(in_channels, out_channels/groups, kernel_size...)"
                                  : "(out_channels, in_channels/groups, kernel_size...)";
    throw shape_error("weight shape (" + to_string(shape) + ") does not match " + what + " = (" +
                      to_string(expected) + ") for in_channels=" + std::to_string(in_channels) +
                      ", out_channels=" + std::to_string(out_channels) + ", groups=" +
                      std::to_string(groups) + ", kernel_size=(" + to_string(kernel_size) + ")");
}

void ConvSpec::check_input_shape(const Shape& shape) const {
    const Shape expected = input_shape();
    if (shape == expected) return;
    if (shape.size() == expected.size() + 1 && Shape(shape.begin() + 1, shape.end()) == expected) return;
    throw shape_error("input shape (" + to_string(shape) + ") does not match (C_in, spatial...) = (" +
                      to_string(expected) + ") or (N, " + to_string(expected) + ")");
}

ConvSpec ConvSpec::adjoint() const {
    ConvSpec a = *this;
    a.transposed = !transposed;
    a.in_channels = out_channels;
    a.out_channels = in_channels;
    a.input_size = output_size();
    a.output_padding.assign(kernel_size.size(), 0);
    if (transposed) return a;
    if (padding_mode != PaddingMode::zeros)
        fail("the adjoint of a conv with padding_mode='" + to_string(padding_mode) +
             "' is not a transposed convolution; only padding_mode='zeros' has one");
    for (size_t j = 0; j < kernel_size.size(); ++j)
        a.output_padding[j] = input_size[j] - conv_transpose_output_length(a.input_size[j], kernel_size[j], stride[j],
                                                                           dilation[j], padding_lo[j], padding_hi[j], 0);
    return a;
}

std::string ConvSpec::describe() const {
    std::ostringstream os;
    os << (transposed ? "conv_transpose" : "conv") << rank() << "d input=(" << to_string(input_shape())
       << ") output=(" << to_string(output_shape()) << ") kernel_size=(" << to_string(kernel_size) << ") stride=("
       << to_string(stride) << ") padding=(";
    for (int j = 0; j < rank(); ++j) os << (j ? ", " : "") << padding_lo[j] << ":" << padding_hi[j];
    os << ") dilation=(" << to_string(dilation) << ")";
    if (transposed) os << " output_padding=(" << to_string(output_padding) << ")";
    os << " groups=" << groups;
    if (!transposed) os << " padding_mode=" << to_string(padding_mode);
    return os.str();
}

namespace {

int rank_from_weight(const Shape& weight_shape, const char* layout) {
    const int r = static_cast<int>(weight_shape.size()) - 2;
    if (r < 1 || r > 3)
        throw shape_error("weight has " + std::to_string(weight_shape.size()) + " dimensions (" +
                          to_string(weight_shape) + "); expected " + layout +
                          " with 1 to 3 spatial dimensions");
    return r;
}

void check_input_rank(const Shape& input_shape, int r) {
    if (static_cast<int>(input_shape.size()) != r + 1)
        throw shape_error("input_shape (" + to_string(input_shape) + ") has " +
                          std::to_string(input_shape.size()) + " entries; the weight implies " +
                          std::to_string(r) + " spatial dimensions, so expected (C_in, " + std::to_string(r) +
                          " spatial sizes)");
}

void fill_common(ConvSpec& s, int r, const Dims& stride, const Dims& dilation) {
    s.stride = broadcast(stride, r, "stride");
    s.dilation = broadcast(dilation, r, "dilation");
    s.padding_lo.assign(r, 0);
    s.padding_hi.assign(r, 0);
    s.output_padding.assign(r, 0);
}

void explicit_padding(ConvSpec& s, const Padding& p, int r) {
    s.padding_lo = broadcast(p.lo, r, "padding");
    s.padding_hi = broadcast(p.hi, r, "padding");
}

}  // namespace

ConvSpec make_conv(const Shape& input_shape, const Shape& weight_shape, const ConvOptions& o) {
    const int r = rank_from_weight(weight_shape, "(C_out, C_in/groups, k...)");
    check_input_rank(input_shape, r);
    check_positive(o.groups, "groups");
    ConvSpec s;
    s.transposed = false;
    s.in_channels = input_shape[0];
    s.out_channels = weight_shape[0];
    s.groups = o.groups;
    s.input_size = Dims(input_shape.begin() + 1, input_shape.end());
    s.kernel_size = Dims(weight_shape.begin() + 2, weight_shape.end());
    s.padding_mode = o.padding_mode;
    fill_common(s, r, o.stride, o.dilation);
    if (weight_shape[1] * o.groups != s.in_channels)
        throw shape_error("weight shape (" + to_string(weight_shape) + ") has in_channels/groups=" +
                          std::to_string(weight_shape[1]) + ", so with groups=" + std::to_string(o.groups) +
                          " it needs " + std::to_string(weight_shape[1] * o.groups) +
                          " input channels, but the input has in_channels=" + std::to_string(s.in_channels));
    switch (o.padding.kind) {
        case Padding::Kind::explicit_sides: explicit_padding(s, o.padding, r); break;
        case Padding::Kind::valid: break;
        case Padding::Kind::same:
            if (o.convention == Convention::mxnet)
                fail("padding='same' is not an MXNet padding: MXNet's Convolution takes a symmetric pad");
            for (int j = 0; j < r; ++j) {
                if (s.stride[j] <= 0 || s.dilation[j] <= 0 || s.kernel_size[j] <= 0) continue;  // validate() reports it
                if (o.convention == Convention::torch) {
                    if (s.stride[j] != 1)
                        fail("padding='same' requires stride 1 in PyTorch, but " + dim_name("stride", j) + "=" +
                             std::to_string(s.stride[j]) + "; use the Keras convention for strided 'same'");
                    const index_t total = s.dilation[j] * (s.kernel_size[j] - 1);
                    s.padding_lo[j] = total / 2;
                    s.padding_hi[j] = total - s.padding_lo[j];
                } else {
                    tf_same_padding(s.input_size[j], s.kernel_size[j], s.stride[j], s.dilation[j], s.padding_lo[j], s.padding_hi[j]);
                }
            }
            break;
    }
    s.validate();
    return s;
}

namespace {

// MXNet's Deconvolution: a symmetric pad p and adj a (or both derived from target_shape by MXNet's rule)
// crop p outputs at the start and p - a at the end. Expressed as PyTorch's padding p with output_padding a
// when a < max(stride, dilation), otherwise as padding (p, p - a).
ConvSpec mxnet_conv_transpose(ConvSpec& s, const ConvTransposeOptions& o, int r) {
    if (o.output_size) fail("output_size is PyTorch's argument; with the MXNet convention give target_shape");
    if (o.padding.kind == Padding::Kind::same)
        fail("padding='same' is not an MXNet padding: MXNet's Deconvolution takes pad, adj or target_shape");
    Dims pad(r, 0), adj = s.output_padding;
    if (o.padding.kind == Padding::Kind::explicit_sides) {
        const Dims lo = broadcast(o.padding.lo, r, "pad"), hi = broadcast(o.padding.hi, r, "pad");
        if (lo != hi)
            fail("pad=(" + to_string(lo) + ") before and (" + to_string(hi) + ") after: MXNet's pad is symmetric, "
                 "one value per dimension");
        pad = lo;
    }
    for (int j = 0; j < r; ++j) {
        if (pad[j] < 0) fail(dim_name("pad", j) + "=" + std::to_string(pad[j]) + " must be non-negative");
        if (adj[j] < 0) fail(dim_name("adj", j) + "=" + std::to_string(adj[j]) + " must be non-negative");
    }
    bool target = false;
    if (o.target_shape) {
        if (static_cast<int>(o.target_shape->size()) != r)
            fail("target_shape has " + std::to_string(o.target_shape->size()) + " values (" +
                 to_string(*o.target_shape) + "); expected " + std::to_string(r) + " (one per spatial dimension)");
        for (index_t t : *o.target_shape) target |= t != 0;
    }
    if (target) {
        for (int j = 0; j < r; ++j)
            if (pad[j] != 0 || adj[j] != 0)
                fail("target_shape=(" + to_string(*o.target_shape) + ") replaces pad and adj (MXNet ignores them "
                     "when target_shape is set): give pad=(" + to_string(pad) + ") and adj=(" + to_string(adj) +
                     ") or target_shape, not both");
        for (int j = 0; j < r; ++j) {
            const index_t t = (*o.target_shape)[j];
            check_positive(t, dim_name("target_shape", j));
            const __int128 full = static_cast<__int128>(s.stride[j]) * (s.input_size[j] - 1) +
                                  static_cast<__int128>(s.dilation[j]) * (s.kernel_size[j] - 1) + 1;
            if (full < t)
                fail(dim_name("target_shape", j) + "=" + std::to_string(t) + " must be at most stride*(input-1) + " +
                     "dilation*(kernel_size-1) + 1 = " + std::to_string(static_cast<long long>(full)) +
                     " (MXNet: too big target shape)");
            const index_t total = static_cast<index_t>(full - t);
            adj[j] = total % 2;
            pad[j] = (total + 1) / 2;
        }
    }
    for (int j = 0; j < r; ++j) {
        s.padding_lo[j] = pad[j];
        if (adj[j] < s.stride[j] || adj[j] < s.dilation[j]) {
            s.padding_hi[j] = pad[j];
            s.output_padding[j] = adj[j];
        } else if (adj[j] <= pad[j]) {
            s.padding_hi[j] = pad[j] - adj[j];
            s.output_padding[j] = 0;
        } else {
            fail(dim_name("adj", j) + "=" + std::to_string(adj[j]) + " must be smaller than " + dim_name("stride", j) +
                 "=" + std::to_string(s.stride[j]) + " or " + dim_name("dilation", j) + "=" +
                 std::to_string(s.dilation[j]) + ", or at most " + dim_name("pad", j) + "=" + std::to_string(pad[j]) +
                 ": outputs beyond the last one a kernel tap reaches are not part of the transposed convolution");
        }
    }
    s.validate();
    return s;
}

}  // namespace

ConvSpec make_conv_transpose(const Shape& input_shape, const Shape& weight_shape, const ConvTransposeOptions& o) {
    const int r = rank_from_weight(weight_shape, "(C_in, C_out/groups, k...)");
    check_input_rank(input_shape, r);
    check_positive(o.groups, "groups");
    ConvSpec s;
    s.transposed = true;
    s.in_channels = input_shape[0];
    s.out_channels = weight_shape[1] * o.groups;
    s.groups = o.groups;
    s.input_size = Dims(input_shape.begin() + 1, input_shape.end());
    s.kernel_size = Dims(weight_shape.begin() + 2, weight_shape.end());
    fill_common(s, r, o.stride, o.dilation);
    if (weight_shape[0] != s.in_channels)
        throw shape_error("weight shape (" + to_string(weight_shape) + ") has in_channels=" +
                          std::to_string(weight_shape[0]) + " in its first axis, but the input has in_channels=" +
                          std::to_string(s.in_channels));
    if (o.output_padding) s.output_padding = broadcast(*o.output_padding, r, "output_padding");
    for (int j = 0; j < r; ++j) {
        check_positive(s.kernel_size[j], dim_name("kernel_size", j));
        check_positive(s.stride[j], dim_name("stride", j));
        check_positive(s.dilation[j], dim_name("dilation", j));
        check_positive(s.input_size[j], dim_name("input", j));
    }
    if (o.target_shape && o.convention != Convention::mxnet)
        fail("target_shape is MXNet's argument: use it with the MXNet convention (PyTorch's is output_size)");
    if (o.convention == Convention::keras && o.output_padding)
        for (int j = 0; j < r; ++j)
            if (s.output_padding[j] >= s.stride[j])
                fail(dim_name("output_padding", j) + "=" + std::to_string(s.output_padding[j]) +
                     " must be smaller than " + dim_name("stride", j) + "=" + std::to_string(s.stride[j]) +
                     " (Keras: strides must be greater than output_padding)");
    if (o.convention == Convention::mxnet) return mxnet_conv_transpose(s, o, r);

    if (o.convention == Convention::keras && o.padding.kind != Padding::Kind::explicit_sides) {
        // Keras: the target length n first, then TF's padding of the conv on n inputs; output_padding follows.
        if (o.output_size) fail("output_size is a PyTorch argument; with the Keras convention give output_padding");
        const bool same = o.padding.kind == Padding::Kind::same;
        for (int j = 0; j < r; ++j) {
            const index_t m = s.input_size[j], k = s.kernel_size[j], st = s.stride[j], d = s.dilation[j];
            const index_t span = d * (k - 1) + 1;
            index_t n;
            if (o.output_padding) {
                const index_t a = s.output_padding[j];
                n = same ? (m - 1) * st + span - 2 * (span / 2) + a : (m - 1) * st + span + a;
            } else {
                n = same ? m * st : m * st + std::max<index_t>(span - st, 0);
            }
            if (n < 1)
                fail(dim_name("output", j) + "=" + std::to_string(n) + " must be at least 1 (Keras " +
                     (same ? "'same'" : "'valid'") + " transposed conv)");
            if (same) tf_same_padding(n, k, st, d, s.padding_lo[j], s.padding_hi[j]);
            s.output_padding[j] = n - conv_transpose_output_length(m, k, st, d, s.padding_lo[j], s.padding_hi[j], 0);
            if (s.output_padding[j] < 0 || (s.output_padding[j] >= st && s.output_padding[j] >= d))
                fail("Keras " + std::string(same ? "'same'" : "'valid'") + " output length " + std::to_string(n) +
                     " along dimension " + std::to_string(j) + " needs output_padding=" +
                     std::to_string(s.output_padding[j]) + ", which must lie in [0, max(" + dim_name("stride", j) +
                     "=" + std::to_string(st) + ", " + dim_name("dilation", j) + "=" + std::to_string(d) + "))");
        }
        s.validate();
        return s;
    }

    switch (o.padding.kind) {
        case Padding::Kind::explicit_sides: explicit_padding(s, o.padding, r); break;
        case Padding::Kind::valid: break;
        case Padding::Kind::same:
            fail("padding='same' is not defined for PyTorch's conv_transpose; use the Keras convention "
                 "(output length input*stride) or explicit padding");
    }
    if (o.output_size) {
        const Shape want = spatial_tail(*o.output_size, r, "output_size");
        Dims derived(r);
        for (int j = 0; j < r; ++j) {
            const index_t n0 = conv_transpose_output_length(s.input_size[j], s.kernel_size[j], s.stride[j], s.dilation[j],
                                                            s.padding_lo[j], s.padding_hi[j], 0);
            const index_t n1 = n0 + s.stride[j] - 1;
            if (want[j] < n0 || want[j] > n1)
                fail(dim_name("output_size", j) + "=" + std::to_string(want[j]) + " must be between " +
                     std::to_string(n0) + " and " + std::to_string(n1) + " (output_padding 0.." +
                     std::to_string(s.stride[j] - 1) + " with " + dim_name("stride", j) + "=" +
                     std::to_string(s.stride[j]) + ")");
            derived[j] = want[j] - n0;
        }
        if (o.output_padding && s.output_padding != derived && *o.output_padding != Dims{0})
            fail("output_padding=(" + to_string(s.output_padding) + ") contradicts output_size=(" +
                 to_string(want) + "), which needs output_padding=(" + to_string(derived) + ")");
        s.output_padding = derived;
    }
    s.validate();
    return s;
}

}  // namespace convmtx
