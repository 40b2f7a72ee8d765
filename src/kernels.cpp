// Direct kernels, written from the index formulas. They share nothing with
// ConvGeometry or the builder but the ConvSpec (see kernels.hpp).
#include "convmtx/kernels.hpp"

#include <array>

namespace convmtx {

namespace {

using A3 = std::array<index_t, 3>;

struct Dims3 {
    A3 n{1, 1, 1}, m{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pl{0, 0, 0}, ph{0, 0, 0}, a{0, 0, 0};
};

Dims3 to3(const ConvSpec& spec) {
    Dims3 r;
    const int off = 3 - spec.rank();
    const Dims n = spec.conv_input_size(), m = spec.conv_output_size();
    for (int j = 0; j < spec.rank(); ++j) {
        r.n[off + j] = n[j];
        r.m[off + j] = m[j];
        r.k[off + j] = spec.kernel_size[j];
        r.s[off + j] = spec.stride[j];
        r.d[off + j] = spec.dilation[j];
        r.pl[off + j] = spec.padding_lo[j];
        r.ph[off + j] = spec.padding_hi[j];
        r.a[off + j] = spec.output_padding[j];
    }
    return r;
}

index_t vol(const A3& v) { return v[0] * v[1] * v[2]; }

template <class Scalar>
void check_operands(const ConvSpec& spec, span<const Scalar> w, const Eigen::Ref<const Batch<Scalar>>& x,
                    const Eigen::Ref<Batch<Scalar>>& y, span<const Scalar> bias, const char* fn) {
    spec.validate();
    const std::string f(fn);
    check_size(w, spec.weight_numel(), f + ": weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    if (!bias.empty()) check_size(bias, spec.out_channels, f + ": bias", "out_channels");
    if (x.rows() != spec.input_numel())
        throw shape_error(f + ": input has " + std::to_string(x.rows()) +
                          " values per sample; the configuration needs " + std::to_string(spec.input_numel()) +
                          " = prod(" + to_string(spec.input_shape(), "x") + ")");
    if (y.rows() != spec.output_numel() || y.cols() != x.cols())
        throw shape_error(f + ": output is " + std::to_string(y.rows()) + " x " + std::to_string(y.cols()) +
                          "; the configuration needs " + std::to_string(spec.output_numel()) + " x " +
                          std::to_string(x.cols()) + " (output_numel x samples)");
}

// Source index of padded position p (0 <= p < n + pl + ph) for F.pad's modes; -1 for a zero.
index_t pad_source(index_t p, index_t n, index_t pl, PaddingMode mode) {
    index_t i = p - pl;
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case PaddingMode::zeros: return -1;
        case PaddingMode::replicate: return i < 0 ? 0 : n - 1;
        case PaddingMode::circular: return i < 0 ? i + n : i - n;
        case PaddingMode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;
    }
    return -1;
}

}  // namespace

template <class Scalar>
void add_bias(Eigen::Ref<Batch<Scalar>> y, span<const Scalar> bias) {
    if (bias.empty()) return;
    const index_t channels = static_cast<index_t>(bias.size());
    if (y.rows() % channels)
        throw shape_error("add_bias: " + std::to_string(y.rows()) + " rows are not a multiple of the " +
                          std::to_string(channels) + " bias channels");
    const index_t per = y.rows() / channels;
    for (index_t c = 0; c < channels; ++c) y.middleRows(c * per, per).array() += bias[static_cast<size_t>(c)];
}

template <class Scalar>
void conv_direct(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& x,
                 Eigen::Ref<Batch<Scalar>> y, span<const Scalar> bias) {
    if (spec.transposed)
        throw config_error("conv_direct needs a convolution; this spec is transposed (use conv_transpose_scatter or "
                           "conv_transpose_gather)");
    check_operands<Scalar>(spec, weight, x, y, bias, "conv_direct");
    const Scalar* w = weight.data();
    const Dims3 g = to3(spec);
    const index_t Cin = spec.in_channels, Cout = spec.out_channels, G = spec.groups;
    const index_t cin_g = Cin / G, cout_g = Cout / G;
    A3 P;
    for (int j = 0; j < 3; ++j) P[j] = g.n[j] + g.pl[j] + g.ph[j];
    // F.pad first: the padded input of one sample.
    std::array<std::vector<index_t>, 3> src;
    for (int j = 0; j < 3; ++j)
        for (index_t p = 0; p < P[j]; ++p) src[j].push_back(pad_source(p, g.n[j], g.pl[j], spec.padding_mode));
    const index_t nv = vol(g.n), pv = vol(P), mv = vol(g.m), kv = vol(g.k);
    std::vector<Scalar> xpad(static_cast<size_t>(Cin * pv));
    for (Eigen::Index b = 0; b < x.cols(); ++b) {
        for (index_t c = 0; c < Cin; ++c)
            for (index_t p0 = 0; p0 < P[0]; ++p0)
                for (index_t p1 = 0; p1 < P[1]; ++p1)
                    for (index_t p2 = 0; p2 < P[2]; ++p2) {
                        const index_t i0 = src[0][p0], i1 = src[1][p1], i2 = src[2][p2];
                        const bool inside = i0 >= 0 && i1 >= 0 && i2 >= 0;
                        xpad[((c * P[0] + p0) * P[1] + p1) * P[2] + p2] =
                            inside ? x(c * nv + (i0 * g.n[1] + i1) * g.n[2] + i2, b) : Scalar(0);
                    }
        for (index_t o = 0; o < Cout; ++o) {
            const index_t grp = o / cout_g;
            for (index_t q0 = 0; q0 < g.m[0]; ++q0)
                for (index_t q1 = 0; q1 < g.m[1]; ++q1)
                    for (index_t q2 = 0; q2 < g.m[2]; ++q2) {
                        Scalar acc(0);
                        for (index_t cp = 0; cp < cin_g; ++cp) {
                            const Scalar* xc = xpad.data() + (grp * cin_g + cp) * pv;
                            const Scalar* wc = w + (o * cin_g + cp) * kv;
                            for (index_t t0 = 0; t0 < g.k[0]; ++t0)
                                for (index_t t1 = 0; t1 < g.k[1]; ++t1)
                                    for (index_t t2 = 0; t2 < g.k[2]; ++t2) {
                                        const index_t p0 = q0 * g.s[0] + t0 * g.d[0];
                                        const index_t p1 = q1 * g.s[1] + t1 * g.d[1];
                                        const index_t p2 = q2 * g.s[2] + t2 * g.d[2];
                                        acc += wc[(t0 * g.k[1] + t1) * g.k[2] + t2] * xc[(p0 * P[1] + p1) * P[2] + p2];
                                    }
                        }
                        y(o * mv + (q0 * g.m[1] + q1) * g.m[2] + q2, b) = acc;
                    }
        }
    }
    add_bias<Scalar>(y, bias);
}

template <class Scalar>
Batch<Scalar> conv_direct(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& x,
                          span<const Scalar> bias) {
    Batch<Scalar> y(spec.output_numel(), x.cols());
    conv_direct<Scalar>(spec, weight, x, y, bias);
    return y;
}

template <class Scalar>
void conv_transpose_scatter(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& y,
                            Eigen::Ref<Batch<Scalar>> out, span<const Scalar> bias) {
    if (!spec.transposed)
        throw config_error("conv_transpose_scatter needs a transposed convolution; this spec is a conv");
    check_operands<Scalar>(spec, weight, y, out, bias, "conv_transpose_scatter");
    const Scalar* w = weight.data();
    const Dims3 g = to3(spec);
    const index_t Cin = spec.in_channels, Cout = spec.out_channels, G = spec.groups;
    const index_t cin_g = Cin / G, cout_g = Cout / G;
    const index_t nv = vol(g.n), mv = vol(g.m), kv = vol(g.k);
    out.setZero();
    for (Eigen::Index b = 0; b < y.cols(); ++b)
        for (index_t c = 0; c < Cin; ++c) {
            const index_t grp = c / cin_g;
            for (index_t i0 = 0; i0 < g.m[0]; ++i0)
                for (index_t i1 = 0; i1 < g.m[1]; ++i1)
                    for (index_t i2 = 0; i2 < g.m[2]; ++i2) {
                        const Scalar v = y(c * mv + (i0 * g.m[1] + i1) * g.m[2] + i2, b);
                        for (index_t op = 0; op < cout_g; ++op) {
                            const index_t o = grp * cout_g + op;
                            const Scalar* wc = w + (c * cout_g + op) * kv;
                            for (index_t t0 = 0; t0 < g.k[0]; ++t0) {
                                const index_t p0 = i0 * g.s[0] - g.pl[0] + t0 * g.d[0];
                                if (p0 < 0 || p0 >= g.n[0]) continue;
                                for (index_t t1 = 0; t1 < g.k[1]; ++t1) {
                                    const index_t p1 = i1 * g.s[1] - g.pl[1] + t1 * g.d[1];
                                    if (p1 < 0 || p1 >= g.n[1]) continue;
                                    for (index_t t2 = 0; t2 < g.k[2]; ++t2) {
                                        const index_t p2 = i2 * g.s[2] - g.pl[2] + t2 * g.d[2];
                                        if (p2 < 0 || p2 >= g.n[2]) continue;
                                        out(o * nv + (p0 * g.n[1] + p1) * g.n[2] + p2, b) +=
                                            v * wc[(t0 * g.k[1] + t1) * g.k[2] + t2];
                                    }
                                }
                            }
                        }
                    }
        }
    add_bias<Scalar>(out, bias);
}

template <class Scalar>
Batch<Scalar> conv_transpose_scatter(const ConvSpec& spec, span<const Scalar> weight,
                                     const Eigen::Ref<const Batch<Scalar>>& y, span<const Scalar> bias) {
    Batch<Scalar> out(spec.output_numel(), y.cols());
    conv_transpose_scatter<Scalar>(spec, weight, y, out, bias);
    return out;
}

template <class Scalar>
std::vector<Scalar> gather_weight(const ConvSpec& spec, span<const Scalar> weight) {
    check_size(weight, spec.weight_numel(), "gather_weight: weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    const Scalar* w = weight.data();
    const index_t G = spec.groups, cin_g = spec.in_channels / G, cout_g = spec.out_channels / G;
    const index_t kv = spec.weight_numel() / (spec.in_channels * cout_g);
    std::vector<Scalar> w2(static_cast<size_t>(spec.weight_numel()));
    for (index_t grp = 0; grp < G; ++grp)
        for (index_t op = 0; op < cout_g; ++op)
            for (index_t cp = 0; cp < cin_g; ++cp)
                for (index_t t = 0; t < kv; ++t)
                    w2[(((grp * cout_g + op) * cin_g + cp) * kv) + t] =
                        w[(((grp * cin_g + cp) * cout_g + op) * kv) + (kv - 1 - t)];
    return w2;
}

template <class Scalar>
void conv_transpose_gather(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& y,
                           Eigen::Ref<Batch<Scalar>> out, span<const Scalar> bias) {
    if (!spec.transposed)
        throw config_error("conv_transpose_gather needs a transposed convolution; this spec is a conv");
    check_operands<Scalar>(spec, weight, y, out, bias, "conv_transpose_gather");
    const Dims3 g = to3(spec);
    const index_t Cin = spec.in_channels;
    // Zero insertion and outer padding d(k-1)-pl / d(k-1)-ph+a; a negative amount crops.
    A3 lo, L;
    for (int j = 0; j < 3; ++j) {
        lo[j] = g.d[j] * (g.k[j] - 1) - g.pl[j];
        const index_t hi = g.d[j] * (g.k[j] - 1) - g.ph[j] + g.a[j];
        L[j] = (g.m[j] - 1) * g.s[j] + 1 + lo[j] + hi;
    }
    const index_t mv = vol(g.m), lv = vol(L);
    Batch<Scalar> z = Batch<Scalar>::Zero(Cin * lv, y.cols());
    for (Eigen::Index b = 0; b < y.cols(); ++b)
        for (index_t c = 0; c < Cin; ++c)
            for (index_t i0 = 0; i0 < g.m[0]; ++i0)
                for (index_t i1 = 0; i1 < g.m[1]; ++i1)
                    for (index_t i2 = 0; i2 < g.m[2]; ++i2) {
                        const index_t z0 = lo[0] + i0 * g.s[0], z1 = lo[1] + i1 * g.s[1], z2 = lo[2] + i2 * g.s[2];
                        if (z0 < 0 || z0 >= L[0] || z1 < 0 || z1 >= L[1] || z2 < 0 || z2 >= L[2]) continue;
                        z(c * lv + (z0 * L[1] + z1) * L[2] + z2, b) = y(c * mv + (i0 * g.m[1] + i1) * g.m[2] + i2, b);
                    }
    ConvSpec conv;
    conv.transposed = false;
    conv.in_channels = Cin;
    conv.out_channels = spec.out_channels;
    conv.groups = spec.groups;
    conv.kernel_size = spec.kernel_size;
    conv.dilation = spec.dilation;
    const int r = spec.rank(), off = 3 - r;
    conv.input_size.resize(static_cast<size_t>(r));
    for (int j = 0; j < r; ++j) conv.input_size[static_cast<size_t>(j)] = L[static_cast<size_t>(off + j)];
    conv.stride.assign(static_cast<size_t>(r), 1);
    conv.padding_lo.assign(static_cast<size_t>(r), 0);
    conv.padding_hi.assign(static_cast<size_t>(r), 0);
    conv.output_padding.assign(static_cast<size_t>(r), 0);
    const std::vector<Scalar> w2 = gather_weight<Scalar>(spec, weight);
    conv_direct<Scalar>(conv, w2, z, out, bias);
}

template <class Scalar>
Batch<Scalar> conv_transpose_gather(const ConvSpec& spec, span<const Scalar> weight,
                                    const Eigen::Ref<const Batch<Scalar>>& y, span<const Scalar> bias) {
    Batch<Scalar> out(spec.output_numel(), y.cols());
    conv_transpose_gather<Scalar>(spec, weight, y, out, bias);
    return out;
}

#define CONVMTX_KERNELS(S)                                                                                     \
    template void add_bias<S>(Eigen::Ref<Batch<S>>, span<const S>);                                            \
    template void conv_direct<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&,            \
                                 Eigen::Ref<Batch<S>>, span<const S>);                                          \
    template Batch<S> conv_direct<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&,        \
                                     span<const S>);                                                            \
    template void conv_transpose_scatter<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&, \
                                            Eigen::Ref<Batch<S>>, span<const S>);                               \
    template Batch<S> conv_transpose_scatter<S>(const ConvSpec&, span<const S>,                                \
                                                const Eigen::Ref<const Batch<S>>&, span<const S>);              \
    template void conv_transpose_gather<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&,  \
                                           Eigen::Ref<Batch<S>>, span<const S>);                                \
    template Batch<S> conv_transpose_gather<S>(const ConvSpec&, span<const S>,                                 \
                                               const Eigen::Ref<const Batch<S>>&, span<const S>);               \
    template std::vector<S> gather_weight<S>(const ConvSpec&, span<const S>);
CONVMTX_KERNELS(float)
CONVMTX_KERNELS(double)
#undef CONVMTX_KERNELS

}  // namespace convmtx
