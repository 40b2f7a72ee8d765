// The bug models of check_kernel's diagnosis (detail/bug_models.hpp): each typical bug is a changed
// configuration (permuted weights, other padding, dilation, stride or padding mode, permuted channels)
// whose matrix the builder computes from ConvGeometry, read back into W's positions.
#include "convmtx/detail/bug_models.hpp"

#include <functional>
#include <set>

#include "convmtx/builder.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/terms.hpp"

namespace convmtx::detail {

namespace {

/// The checked configuration as the convolution whose W it is: for a transposed conv, the conv on
/// its output whose first m positions per dimension are the transposed conv's input.
ConvSpec conv_view(const ConvSpec& spec) {
    ConvSpec c = spec;
    c.transposed = false;
    c.in_channels = spec.conv_in_channels();
    c.out_channels = spec.conv_out_channels();
    c.input_size = spec.conv_input_size();
    c.output_padding.assign(static_cast<size_t>(spec.rank()), 0);
    return c;
}

BugModel model(std::string name, std::string message, ConvSpec spec) {
    BugModel b;
    b.name = std::move(name);
    b.message = std::move(message);
    b.row_offset.assign(static_cast<size_t>(spec.rank()), 0);
    b.col_offset.assign(static_cast<size_t>(spec.rank()), 0);
    b.spec = std::move(spec);
    return b;
}

/// Keeps `b` when its configuration is valid (a changed padding can break a padding mode's rule).
void add(std::vector<BugModel>& out, BugModel b) {
    try {
        b.spec.validate();
    } catch (const config_error&) {
        return;
    }
    out.push_back(std::move(b));
}

/// weight'[f] = weight[source(multi-index of f in the model's weight shape)].
std::vector<index_t> weight_map(const ConvSpec& model_spec, const std::function<index_t(const Shape&)>& source) {
    const Shape shape = model_spec.weight_shape();
    std::vector<index_t> out(static_cast<size_t>(model_spec.weight_numel()));
    for (index_t f = 0; f < model_spec.weight_numel(); ++f) out[static_cast<size_t>(f)] = source(unravel_index(f, shape));
    return out;
}

/// A weight multi-index (channel, channel, taps...) with its taps reversed along spatial dimension
/// `dim` (-1: every dimension).
Shape flip_taps(Shape idx, const Dims& kernel, int dim) {
    for (size_t j = 0; j < kernel.size(); ++j)
        if (dim < 0 || dim == static_cast<int>(j)) idx[j + 2] = kernel[j] - 1 - idx[j + 2];
    return idx;
}

/// The flat index the kernel reads for weight element (o, c', t...) when it takes the buffer for the
/// layout (C_conv_in, C_conv_out/G, k...): element [c, o', t...] with c = g*C_conv_in/G + c', o' = o - g*C_conv_out/G.
index_t swapped_source(const ConvGeometry& G, Shape idx) {
    const index_t o = idx[0], g = G.group_of_output(o);
    idx[0] = g * G.in_per_group() + idx[1];
    idx[1] = o - g * G.out_per_group();
    Shape layout = G.spec().weight_shape();
    layout[0] = G.conv_in_channels();
    layout[1] = G.out_per_group();
    return ravel_index(idx, layout);
}

void add_flips_and_layouts(const ConvSpec& spec, std::vector<BugModel>& out) {
    const ConvGeometry G(spec);
    const ConvSpec view = conv_view(spec);
    const Shape wshape = spec.weight_shape();
    const Dims& k = spec.kernel_size;
    const bool T = spec.transposed;
    bool any_k = false;
    for (index_t kj : k) any_k |= kj > 1;
    const std::string flip_advice =
        T ? "the gather form of a transposed convolution must flip the kernel (and swap its channel axes); the "
            "scatter form must not"
          : "a convolution (cross-correlation, as in PyTorch) must not flip the kernel";
    if (any_k) {
        BugModel b = model("flipped",
                           "the kernel is flipped in every spatial dimension: it applies w[..., k-1-t] where the "
                           "configuration applies w[..., t]; " + flip_advice,
                           view);
        b.weight_source = weight_map(view, [&](const Shape& i) { return ravel_index(flip_taps(i, k, -1), wshape); });
        add(out, std::move(b));
        for (int j = 0; j < spec.rank() && spec.rank() > 1; ++j) {
            if (k[static_cast<size_t>(j)] == 1) continue;
            BugModel d = model("flipped_dim",
                               "the kernel is flipped along spatial dimension " + std::to_string(j) +
                                   " only (tap t read as k-1-t there): flip every dimension or none",
                               view);
            d.weight_source = weight_map(view, [&](const Shape& i) { return ravel_index(flip_taps(i, k, j), wshape); });
            add(out, std::move(d));
        }
    }
    if (G.out_per_group() == 1 && G.in_per_group() == 1) return;  // both layouts are the same buffer
    const std::string layout = "(C_" + std::string(T ? "in" : "out") + ", C_" + (T ? "out" : "in") + "/G, k...)";
    const std::string swapped = "(C_" + std::string(T ? "out" : "in") + ", C_" + (T ? "in" : "out") + "/G, k...)";
    BugModel s = model("swapped_layout",
                       "the weight is read with its channel axes swapped (in/out): the kernel indexes it as " +
                           swapped + " but its layout is " + layout +
                           (T ? "; PyTorch's transposed-conv weight is (C_in, C_out/G, k...) and the gather form must "
                                "swap it explicitly"
                              : "; PyTorch's conv weight is (C_out, C_in/G, k...)"),
                       view);
    s.weight_source = weight_map(view, [&](const Shape& i) { return swapped_source(G, i); });
    add(out, std::move(s));
    if (!any_k) return;
    BugModel fs = model("flipped_swapped",
                        "the kernel is flipped in every spatial dimension AND its channel axes are swapped; " +
                            flip_advice,
                        view);
    fs.weight_source = weight_map(view, [&](const Shape& i) { return swapped_source(G, flip_taps(i, k, -1)); });
    add(out, std::move(fs));
}

/// "by 1 along spatial dimension 0" or "by (1, 1) along spatial dimensions (0, 1)".
std::string describe_shift(const Dims& a) {
    std::string dims, by;
    int count = 0;
    for (size_t j = 0; j < a.size(); ++j)
        if (a[j]) {
            dims += std::string(count ? ", " : "") + std::to_string(j);
            by += std::string(count ? ", " : "") + std::to_string(a[j]);
            ++count;
        }
    return count == 1 ? "by " + by + " along spatial dimension " + dims
                      : "by (" + by + ") along spatial dimensions (" + dims + ")";
}

/// The conv view reading its input shifted by delta (position q*s - p_lo + t*d + delta): padding_lo - delta
/// and padding_hi + delta, which keeps the output length. Where one of them would be negative the input
/// is cropped at that end instead (the columns offset by the crop), the same matrix for zeros padding;
/// a padding mode has no such configuration and the model is not tried (false).
bool shift_input(BugModel& b, const Dims& delta) {
    ConvSpec& s = b.spec;
    for (size_t j = 0; j < delta.size(); ++j) {
        index_t lo = s.padding_lo[j] - delta[j], hi = s.padding_hi[j] + delta[j];
        if ((lo < 0 || hi < 0) && s.padding_mode != PaddingMode::zeros) return false;
        if (lo < 0) {
            b.col_offset[j] = -lo;
            s.input_size[j] += lo;
            lo = 0;
        }
        if (hi < 0) {
            s.input_size[j] += hi;
            hi = 0;
        }
        s.padding_lo[j] = lo;
        s.padding_hi[j] = hi;
    }
    return true;
}

void add_shifts(const ConvSpec& spec, std::vector<BugModel>& out) {
    const int r = spec.rank();
    const bool T = spec.transposed;
    const Dims none(static_cast<size_t>(r), 0);
    // The conv's input side (conv input / transposed-conv output): one dimension, every dimension,
    // and (transposed) output_padding per dimension and in every dimension at once.
    std::vector<Dims> input_shifts, output_shifts;
    for (int j = 0; j < r; ++j) {
        std::set<index_t> deltas = {-2, -1, 1, 2};
        if (T && spec.output_padding[static_cast<size_t>(j)] > 0) {
            deltas.insert(spec.output_padding[static_cast<size_t>(j)]);
            deltas.insert(-spec.output_padding[static_cast<size_t>(j)]);
        }
        for (index_t delta : deltas) {
            Dims a = none;
            a[static_cast<size_t>(j)] = delta;
            input_shifts.push_back(a);
        }
        for (index_t delta : {index_t(-1), index_t(1)}) {
            Dims a = none;
            a[static_cast<size_t>(j)] = delta;
            output_shifts.push_back(a);
        }
    }
    if (r > 1) {
        for (index_t delta : {index_t(-2), index_t(-1), index_t(1), index_t(2)}) input_shifts.push_back(Dims(static_cast<size_t>(r), delta));
        for (index_t delta : {index_t(-1), index_t(1)}) output_shifts.push_back(Dims(static_cast<size_t>(r), delta));
        int nonzero = 0;
        for (index_t a : spec.output_padding) nonzero += a != 0;
        if (T && nonzero > 1) input_shifts.push_back(spec.output_padding);
    }
    const ConvSpec view = conv_view(spec);
    for (const Dims& a : input_shifts) {
        bool one = false, opad = T;
        Dims pads;
        for (size_t j = 0; j < a.size(); ++j) {
            one |= std::abs(a[j]) == 1;
            opad &= a[j] == 0 || a[j] == spec.output_padding[j];
            pads.push_back(spec.padding_lo[j] - a[j]);
        }
        const std::string like =
            "it behaves like padding_lo=(" + to_string(pads) + ") instead of (" + to_string(spec.padding_lo) + ")";
        std::string message;
        if (!T) {
            message = "the kernel reads the input shifted " + describe_shift(a) +
                      " (x[q*s - pl + t*d + shift]): " + like + (one ? " - padding off by one?" : "");
        } else {
            message = "the outputs are shifted " + describe_shift(a) +
                      " (the kernel writes to out[p + shift] what belongs at out[p]): " + like;
            if (one) message += " - padding off by one?";
            if (opad)
                message += std::string(one ? " Or: " : " - ") + "output_padding=(" + to_string(spec.output_padding) +
                           ") applied at the low end? It belongs at the high end only";
        }
        BugModel b = model("shift", message, view);
        if (shift_input(b, a)) add(out, std::move(b));
    }
    // The conv's output side: output (o, q) of the model is W's output (o, q + shift).
    for (const Dims& a : output_shifts) {
        BugModel b = model("conv_output_shift",
                           T ? "the kernel reads the input shifted " + describe_shift(a) +
                                   " (y[i + shift] where y[i] belongs)"
                             : "the outputs are shifted " + describe_shift(a) +
                                   " (out[q] holds what belongs at out[q + shift])",
                           view);
        for (size_t j = 0; j < a.size(); ++j) b.row_offset[j] = -a[j];
        add(out, std::move(b));
    }
}

/// Stride applied on the other side: the kernel reads position (q - p_lo + t*d)/s where the configuration
/// reads q*s - p_lo + t*d (the zero insertion of a transposed conv). That is the transposed convolution
/// of the conv's input, same stride and dilation, with the kernel flipped and its channel axes swapped and
/// padding (k-1)d - p_lo: its output position q = i*s - ((k-1)d - p_lo) + (k-1-t)*d is exactly that relation.
/// Negative padding is a row offset. PyTorch has no transposed conv with a padding mode, so for
/// circular/reflect/replicate padding the model is not tried.
void add_stride_swapped(const ConvSpec& spec, std::vector<BugModel>& out) {
    if (spec.padding_mode != PaddingMode::zeros) return;
    const ConvGeometry G(spec);
    const int r = spec.rank();
    ConvSpec t;
    t.transposed = true;
    t.in_channels = G.conv_in_channels();
    t.out_channels = G.conv_out_channels();
    t.groups = G.groups();
    t.input_size = G.conv_input_size();
    t.kernel_size = spec.kernel_size;
    t.stride = spec.stride;
    t.dilation = spec.dilation;
    t.padding_hi.assign(static_cast<size_t>(r), 0);
    t.output_padding.assign(static_cast<size_t>(r), 0);
    Dims row_offset;
    for (int j = 0; j < r; ++j) {
        const DimGeometry& d = G.dim(j);
        const index_t p = (d.kernel_size - 1) * d.dilation - d.padding_lo;
        t.padding_lo.push_back(std::max<index_t>(p, 0));
        row_offset.push_back(std::max<index_t>(-p, 0));
    }
    const bool T = spec.transposed;
    BugModel b = model("stride_swapped",
                       T ? "the stride is applied to the output instead of the input: the kernel reads y[p*s - pl + t*d] "
                           "like a strided conv; a transposed conv spreads input i to out[i*s - pl + t*d]"
                         : "the stride is applied to the input instead of the output: the kernel reads the input as if "
                           "s-1 zeros were inserted between its elements (x[(q - pl + t*d)/s], a transposed-conv "
                           "pattern) instead of x[q*s - pl + t*d]",
                       t);
    b.row_offset = row_offset;
    // Element [c, o', t'] of the transposed weight (C_conv_in, C_conv_out/G, k...) is w[g*C_conv_out/G + o', c mod C_conv_in/G, k-1-t'].
    const Shape wshape = spec.weight_shape();
    b.weight_source = weight_map(t, [&](const Shape& i) {
        Shape src = flip_taps(i, spec.kernel_size, -1);
        const index_t g = G.group_of_input(i[0]);
        src[0] = g * G.out_per_group() + i[1];
        src[1] = i[0] - g * G.in_per_group();
        return ravel_index(src, wshape);
    });
    add(out, std::move(b));
}

void add_relations(const ConvSpec& spec, std::vector<BugModel>& out) {
    bool any_d = false, any_s = false;
    for (int j = 0; j < spec.rank(); ++j) {
        any_d |= spec.dilation[static_cast<size_t>(j)] > 1;
        any_s |= spec.stride[static_cast<size_t>(j)] > 1;
    }
    const Dims ones(static_cast<size_t>(spec.rank()), 1);
    if (any_d) {
        ConvSpec v = conv_view(spec);
        v.dilation = ones;
        add(out, model("dilation_ignored",
                       "dilation is ignored: the kernel places tap t at offset t instead of t*d (dilation=(" +
                           to_string(spec.dilation) + "))",
                       v));
    }
    if (!any_s) return;
    add_stride_swapped(spec, out);
    ConvSpec v = conv_view(spec);
    v.stride = ones;
    add(out, model("stride_ignored",
                   "the stride is ignored: positions are computed with stride 1 (stride=(" + to_string(spec.stride) + "))",
                   v));
}

/// Channels mixed across groups, as channel permutations of W. (1) Output channel o taken as a member of
/// group o mod G: W's row channel pi(o) = (o mod G)*C_out/G + o/G carries o's weights and is read back as o.
/// (2) A group's input channels interleaved, c'*G + g instead of g*C_in/G + c': W's column channel
/// g*C_in/G + c' is read back as c'*G + g. (3) Both.
void add_groups(const ConvSpec& spec, std::vector<BugModel>& out) {
    if (spec.groups == 1) return;
    const ConvGeometry G(spec);
    const index_t groups = G.groups(), out_g = G.out_per_group(), in_g = G.in_per_group();
    std::vector<index_t> row_channel(static_cast<size_t>(G.conv_out_channels())),
        col_channel(static_cast<size_t>(G.conv_in_channels()));
    for (index_t o = 0; o < G.conv_out_channels(); ++o)  // W's channel pi(o) -> o
        row_channel[static_cast<size_t>((o % groups) * out_g + o / groups)] = o;
    for (index_t c = 0; c < G.conv_in_channels(); ++c)
        col_channel[static_cast<size_t>(c)] = (c % in_g) * groups + c / in_g;
    const ConvSpec view = conv_view(spec);
    const Shape wshape = spec.weight_shape();
    const std::vector<index_t> weights = weight_map(view, [&](const Shape& i) {
        Shape src = i;
        src[0] = row_channel[static_cast<size_t>(i[0])];
        return ravel_index(src, wshape);
    });
    const bool T = spec.transposed;
    const std::string Gs = std::to_string(groups);
    const std::string rows = T ? "input" : "output", cols = T ? "output" : "input";
    const std::string messages[3] = {
        rows + " channel o is connected to the " + cols + " channels of group o mod " + Gs + " instead of group o / (C_" +
            rows + "/G)",
        "group g uses the " + cols + " channels c'*" + Gs + " + g (interleaved) instead of g*C_" + cols +
            "/G + c' (contiguous blocks)",
        "both the group of each " + rows + " channel (o mod " + Gs + ") and the " + cols +
            " channels of a group (interleaved) are wrong"};
    for (int mix = 1; mix <= 3; ++mix) {  // bit 0: the rows' groups (1), bit 1: the columns interleaved (2)
        BugModel b = model("groups", "channels mixed across groups: " + messages[mix - 1], view);
        if (mix & 1) {
            b.weight_source = weights;
            b.row_channel = row_channel;
        }
        if (mix & 2) b.col_channel = col_channel;
        add(out, std::move(b));
    }
}

void add_padding_modes(const ConvSpec& spec, std::vector<BugModel>& out) {
    if (spec.transposed) return;  // a transposed conv pads with zeros only
    for (PaddingMode mode : {PaddingMode::zeros, PaddingMode::circular, PaddingMode::reflect, PaddingMode::replicate}) {
        if (mode == spec.padding_mode) continue;
        ConvSpec v = conv_view(spec);
        v.padding_mode = mode;
        add(out, model("padding_mode",
                       "the kernel pads with padding_mode='" + to_string(mode) + "' but the configuration says '" +
                           to_string(spec.padding_mode) + "'",
                       v));
    }
}

/// For each flat position of `from` (channel, spatial...), its flat position in `to` after the channel map
/// and the spatial offsets, or -1 outside `to`.
std::vector<index_t> position_map(const Shape& from, const Shape& to, const Dims& offset,
                                  const std::vector<index_t>& channel) {
    index_t size = 1;
    for (index_t v : from) size *= v;
    std::vector<index_t> out(static_cast<size_t>(size));
    Shape idx(from.size(), 0);  // C-order counter over `from`
    for (index_t f = 0; f < size; ++f) {
        index_t flat = channel.empty() ? idx[0] : channel[static_cast<size_t>(idx[0])];
        bool inside = flat < to[0];
        for (size_t j = 1; j < idx.size() && inside; ++j) {
            const index_t p = idx[j] + offset[j - 1];
            inside = p >= 0 && p < to[j];
            flat = flat * to[j] + p;
        }
        out[static_cast<size_t>(f)] = inside ? flat : -1;
        for (size_t j = idx.size(); j-- > 0;) {
            if (++idx[j] < from[j]) break;
            idx[j] = 0;
        }
    }
    return out;
}

}  // namespace

std::vector<BugModel> bug_models(const ConvSpec& spec) {
    std::vector<BugModel> out;
    add_flips_and_layouts(spec, out);
    add_shifts(spec, out);
    add_relations(spec, out);
    add_groups(spec, out);
    add_padding_modes(spec, out);
    return out;
}

ProbeMatrix<double> model_matrix(const ConvSpec& spec, const std::vector<double>& weight, const BugModel& b) {
    std::vector<double> w(weight.size());
    for (size_t f = 0; f < w.size(); ++f)
        w[f] = weight[b.weight_source.empty() ? f : static_cast<size_t>(b.weight_source[f])];
    const auto A = operator_matrix<double, Eigen::RowMajor, std::int64_t>(b.spec, w);
    const ConvGeometry G(spec);
    const std::vector<index_t> rows = position_map(b.spec.output_shape(), G.conv_output_shape(), b.row_offset, b.row_channel);
    const std::vector<index_t> cols = position_map(b.spec.input_shape(), G.conv_input_shape(), b.col_offset, b.col_channel);
    std::vector<Eigen::Triplet<double, std::int64_t>> entries;
    entries.reserve(static_cast<size_t>(A.nonZeros()));
    for (index_t r = 0; r < A.outerSize(); ++r) {
        const index_t row = rows[static_cast<size_t>(r)];
        if (row < 0) continue;
        for (ProbeMatrix<double>::InnerIterator it(A, r); it; ++it) {
            const index_t col = cols[static_cast<size_t>(it.col())];
            if (col < 0) continue;
            if (spec.transposed) entries.emplace_back(col, row, it.value());
            else entries.emplace_back(row, col, it.value());
        }
    }
    ProbeMatrix<double> M(spec.transposed ? G.cols() : G.rows(), spec.transposed ? G.rows() : G.cols());
    M.setFromTriplets(entries.begin(), entries.end());
    M.makeCompressed();
    return M;
}

}  // namespace convmtx::detail
