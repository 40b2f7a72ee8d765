// Checkerboard levels from the weights (checkerboard.hpp): the sums of the kernel's polyphase
// components, per output channel of the transposed conv.
#include "convmtx/checkerboard.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "convmtx/geometry.hpp"

namespace convmtx {

namespace {

index_t mod(index_t a, index_t b) {
    const index_t r = a % b;
    return r < 0 ? r + b : r;
}

Dims broadcast(const Dims& v, int rank, const char* name) {
    if (v.size() == 1) return Dims(static_cast<size_t>(rank), v[0]);
    if (static_cast<int>(v.size()) != rank)
        throw config_error(std::string(name) + " has " + std::to_string(v.size()) + " values; the weight has " +
                           std::to_string(rank) + " spatial dimension(s): give 1 or " + std::to_string(rank));
    return v;
}

std::string format(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

}  // namespace

template <class Scalar>
CheckerboardReport checkerboard(span<const Scalar> weight, const Shape& shape, const Dims& stride_in,
                                const Dims& dilation_in, const Dims& padding_in, index_t groups) {
    if (shape.size() < 3 || shape.size() > 5)
        throw shape_error("weight_shape (" + to_string(shape) + ") must have 3 to 5 axes: (C_in, C_out/groups, k...)");
    const int r = static_cast<int>(shape.size()) - 2;
    for (auto v : shape)
        if (v < 1) throw shape_error("weight_shape (" + to_string(shape) + ") must have positive sizes");
    if (groups < 1) throw config_error("groups=" + std::to_string(groups) + " must be >= 1");
    if (shape[0] % groups)
        throw config_error("groups=" + std::to_string(groups) + " must divide the weight's first axis, " +
                           std::to_string(shape[0]) + " (C_in of the transposed conv)");
    const Dims s = broadcast(stride_in, r, "stride"), d = broadcast(dilation_in, r, "dilation"),
               pl = broadcast(padding_in, r, "padding");
    for (int j = 0; j < r; ++j) {
        const auto J = static_cast<size_t>(j);
        if (s[J] < 1) throw config_error("stride[" + std::to_string(j) + "]=" + std::to_string(s[J]) + " must be >= 1");
        if (d[J] < 1) throw config_error("dilation[" + std::to_string(j) + "]=" + std::to_string(d[J]) + " must be >= 1");
        if (pl[J] < 0) throw config_error("padding[" + std::to_string(j) + "]=" + std::to_string(pl[J]) + " must be >= 0");
    }
    index_t numel = 1, K = 1;
    for (auto v : shape) numel *= v;
    for (int j = 0; j < r; ++j) K *= shape[static_cast<size_t>(j + 2)];
    check_size(weight, numel, "weight", "prod(" + to_string(shape, "x") + ")");
    for (size_t i = 0; i < weight.size(); ++i)
        if (!std::isfinite(static_cast<double>(weight[i]))) {
            std::ostringstream os;
            os << "weight[" << i << "] = " << weight[i] << ": the checkerboard levels need finite weights";
            throw config_error(os.str());
        }

    const index_t cin = shape[0], cout_g = shape[1], cin_g = cin / groups, channels = cout_g * groups;
    double S = 1;
    for (auto v : s) S *= static_cast<double>(v);
    if (S * static_cast<double>(channels) > static_cast<double>(1 << 24))
        throw config_error("the checkerboard has " + format(S) + " phases per channel (prod(stride)) x " +
                           std::to_string(channels) + " channels, more than 2^24 levels");
    const auto P = static_cast<index_t>(S);

    // Each tap's phase: (t_j d_j - p_lo_j) mod s_j per dimension, flattened.
    std::vector<index_t> phase(static_cast<size_t>(K), 0);
    for (index_t t = 0; t < K; ++t) {
        index_t rem = t, ph = 0, mul = 1;
        for (int j = r - 1; j >= 0; --j) {
            const auto J = static_cast<size_t>(j);
            const index_t k = shape[J + 2], tj = rem % k;
            rem /= k;
            ph += mod(tj * d[J] - pl[J], s[J]) * mul;
            mul *= s[J];
        }
        phase[static_cast<size_t>(t)] = ph;
    }

    // The sums are taken of the weights divided by a power of two near the largest (exact), so
    // that they never overflow on the way; the levels are scaled back at the end, and a level
    // beyond the largest double is refused.
    double wmax = 0;
    for (size_t i = 0; i < weight.size(); ++i) wmax = std::max(wmax, std::abs(static_cast<double>(weight[i])));
    int scale_exp = 0;
    if (wmax > 0) std::frexp(wmax, &scale_exp);

    CheckerboardReport rep;
    rep.stride = s;
    rep.channels = channels;
    rep.levels.assign(static_cast<size_t>(channels * P), 0.0);
    std::vector<double> comp(static_cast<size_t>(channels * P), 0.0), abs_sum(static_cast<size_t>(channels * P), 0.0);
    std::vector<index_t> terms(static_cast<size_t>(channels * P), 0);
    // Neumaier's compensated sums: the levels of an exactly balanced kernel come out equal.
    for (index_t c = 0; c < cin; ++c) {
        const index_t g = c / cin_g;
        for (index_t o = 0; o < cout_g; ++o) {
            const index_t oc = g * cout_g + o;
            for (index_t t = 0; t < K; ++t) {
                const auto slot = static_cast<size_t>(oc * P + phase[static_cast<size_t>(t)]);
                const double v = std::ldexp(static_cast<double>(weight[static_cast<size_t>((c * cout_g + o) * K + t)]), -scale_exp);
                double& sum = rep.levels[slot];
                const double next = sum + v;
                comp[slot] += std::abs(sum) >= std::abs(v) ? (sum - next) + v : (v - next) + sum;
                sum = next;
                abs_sum[slot] += std::abs(v);
                ++terms[slot];
            }
        }
    }
    for (size_t i = 0; i < rep.levels.size(); ++i) rep.levels[i] += comp[i];

    const double eps = std::numeric_limits<Scalar>::epsilon();
    rep.channel_spread.assign(static_cast<size_t>(channels), 0.0);
    for (index_t oc = 0; oc < channels; ++oc) {
        const auto b = rep.levels.begin() + oc * P, e = b + P;
        const double lo = *std::min_element(b, e), hi = *std::max_element(b, e);
        double big = 0, rounding = 0;
        index_t n = 0;
        for (index_t p = 0; p < P; ++p) {
            const auto i = static_cast<size_t>(oc * P + p);
            big = std::max(big, std::abs(rep.levels[i]));
            rounding = std::max(rounding, abs_sum[i]);
            n = std::max(n, terms[i]);
        }
        const double tolerance = 8.0 * static_cast<double>(n + 1) * eps * rounding;
        rep.channel_spread[static_cast<size_t>(oc)] = (hi - lo <= tolerance || big == 0) ? 0.0 : (hi - lo) / big;
    }
    const auto worst = std::max_element(rep.channel_spread.begin(), rep.channel_spread.end());
    rep.worst_channel = static_cast<index_t>(worst - rep.channel_spread.begin());
    rep.spread = *worst;
    rep.free = rep.spread == 0;
    for (size_t i = 0; i < rep.levels.size(); ++i) {
        rep.levels[i] = std::ldexp(rep.levels[i], scale_exp);
        if (!std::isfinite(rep.levels[i])) {
            std::ostringstream os;
            os << "weights: the largest |weight| is " << wmax << ", so level " << i << " (a sum of " << terms[i]
               << " weights) is larger than the largest double (1.8e308) and cannot be given; the levels of c*w are "
                  "c times those of w: divide the weights by a constant";
            throw config_error(os.str());
        }
    }

    std::ostringstream os;
    const auto wb = rep.levels.begin() + rep.worst_channel * P;
    if (P == 1) {
        os << "checkerboard-free: stride 1 has one phase (every interior output of a channel takes the same level)";
    } else if (rep.free) {
        os << "checkerboard-free: the " << P << " polyphase components of the kernel sum to the same level in every "
           << "output channel (channel 0: " << format(rep.levels[0]) << ")";
    } else {
        os << "checkerboard from the weights: output channel " << rep.worst_channel << " takes levels from "
           << format(*std::min_element(wb, wb + P)) << " to " << format(*std::max_element(wb, wb + P)) << " over the "
           << P << " phases (relative spread " << format(rep.spread) << ")";
    }
    for (int j = 0; j < r; ++j) {
        const auto J = static_cast<size_t>(j);
        os << "\n  dimension " << j << ": stride " << s[J] << ", kernel " << shape[J + 2];
        if (d[J] != 1) os << ", dilation " << d[J];
        os << ": output position x takes phase x mod " << s[J] << ", summing the taps t with (t*" << d[J] << " - "
           << pl[J] << ") mod " << s[J] << " = phase";
    }
    rep.verdict = os.str();
    return rep;
}

template <class Scalar>
CheckerboardReport checkerboard(const ConvSpec& spec, span<const Scalar> weight) {
    spec.validate();
    const ConvGeometry G(spec);
    Dims s, d, pl;
    for (int j = 0; j < G.rank(); ++j) {
        s.push_back(G.dim(j).stride);
        d.push_back(G.dim(j).dilation);
        pl.push_back(G.dim(j).padding_lo);
    }
    return checkerboard<Scalar>(weight, spec.weight_shape(), s, d, pl, spec.groups);
}

template CheckerboardReport checkerboard<float>(span<const float>, const Shape&, const Dims&, const Dims&, const Dims&, index_t);
template CheckerboardReport checkerboard<double>(span<const double>, const Shape&, const Dims&, const Dims&, const Dims&, index_t);
template CheckerboardReport checkerboard<float>(const ConvSpec&, span<const float>);
template CheckerboardReport checkerboard<double>(const ConvSpec&, span<const double>);

}  // namespace convmtx
