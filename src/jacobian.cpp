// Verified colored probing (jacobian.hpp): the colorings (convolution footprints read off the tap
// tables of ConvGeometry, greedy distance-2 coloring of a pattern, unit vectors), the prober with its
// verification on random inputs, and the probe counts.
#include "convmtx/jacobian.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <random>

#include "convmtx/geometry.hpp"
#include "convmtx/terms.hpp"

namespace convmtx {

namespace {

/// Names of the probed operator's two sides in messages: its inputs ("in") and results ("out").
struct Labels {
    std::string input = "in", output = "out";
};

// ---------------------------------------------------------------------------
// Colorings
// ---------------------------------------------------------------------------

struct Coloring {
    std::string name;
    std::vector<std::vector<index_t>> members;  // columns of each color
    // The column of `color` whose footprint holds `row`, or -1.
    std::function<index_t(index_t color, index_t row)> owner;
    index_t size() const { return static_cast<index_t>(members.size()); }
};

using ColoringLevel = std::function<Coloring(const std::vector<char>& todo)>;

Coloring unit_coloring(const std::vector<char>& todo) {
    Coloring c;
    c.name = "unit vectors";
    for (index_t j = 0; j < static_cast<index_t>(todo.size()); ++j)
        if (todo[static_cast<size_t>(j)]) c.members.push_back({j});
    auto members = std::make_shared<std::vector<std::vector<index_t>>>(c.members);
    c.owner = [members](index_t color, index_t) { return (*members)[static_cast<size_t>(color)][0]; };
    return c;
}

/// One spatial dimension of the probed operation: input length, output length, the coloring period
/// and, per residue of the period, the input position whose footprint holds each output position (-1: none).
struct DimPlan {
    index_t in_len = 1, out_len = 1, period = 1;
    std::vector<std::vector<index_t>> owner{{0}};
};

/// The one-channel convolution whose dense taps (dilation 1, zeros padding) cover the window of every
/// output of G widened by `margin` positions on each side: kernel (k-1)d + 1 + 2 margin, padding
/// lo/hi + margin, same stride; its output length is G's conv output length m (a transposed conv whose
/// output_padding >= stride uses only its first m positions). A margin beyond n + p_lo + p_hi widens
/// no footprint further and is capped there.
ConvSpec widened_window(const ConvGeometry& G, index_t margin) {
    ConvSpec w;
    for (int j = 0; j < G.rank(); ++j) {
        const DimGeometry& d = G.dim(j);
        const index_t mu = std::min(margin, d.input_size + d.padding_lo + d.padding_hi);
        w.input_size.push_back(d.input_size);
        w.kernel_size.push_back((d.kernel_size - 1) * d.dilation + 1 + 2 * mu);
        w.stride.push_back(d.stride);
        w.dilation.push_back(1);
        w.padding_lo.push_back(d.padding_lo + mu);
        w.padding_hi.push_back(d.padding_hi + mu);
        w.output_padding.push_back(0);
    }
    return w;
}

/// Footprints along dimension j: input position a of the probed operation (conv direction: conv input
/// i; transposed direction: conv output q) reaches the positions its widened windows meet (tap tables of
/// `widened`) and those the padding mode folds onto it (tap tables of G). Then the smallest period P
/// such that positions with equal residues mod P have disjoint footprints.
DimPlan plan_dimension(const ConvGeometry& G, const ConvGeometry& widened, int j, bool conv_direction) {
    const DimGeometry& d = G.dim(j);
    DimPlan p;
    p.in_len = conv_direction ? d.input_size : d.output_size;
    p.out_len = conv_direction ? d.output_size : d.input_size;
    const TapTable& wide = conv_direction ? widened.input_taps(j) : widened.output_taps(j);
    const TapTable& exact = conv_direction ? G.input_taps(j) : G.output_taps(j);
    std::vector<std::vector<index_t>> fp(static_cast<size_t>(p.in_len));
    for (index_t a = 0; a < p.in_len; ++a) {
        auto& f = fp[static_cast<size_t>(a)];
        for (index_t g = wide.begin(a); g < wide.end(a); ++g)
            if (wide.target(g) < p.out_len) f.push_back(wide.target(g));
        for (index_t g = exact.begin(a); g < exact.end(a); ++g) f.push_back(exact.target(g));
        std::sort(f.begin(), f.end());
        f.erase(std::unique(f.begin(), f.end()), f.end());
    }
    for (index_t P = 1; P <= p.in_len; ++P) {
        std::vector<std::vector<index_t>> owner(static_cast<size_t>(P),
                                                std::vector<index_t>(static_cast<size_t>(p.out_len), -1));
        bool disjoint = true;
        for (index_t a = 0; a < p.in_len && disjoint; ++a)
            for (index_t b : fp[static_cast<size_t>(a)]) {
                index_t& o = owner[static_cast<size_t>(a % P)][static_cast<size_t>(b)];
                if (o != -1) {
                    disjoint = false;
                    break;
                }
                o = a;
            }
        if (disjoint) {
            p.period = P;
            p.owner = std::move(owner);
            return p;
        }
    }
    return p;  // unreachable: P = in_len gives every residue one member
}

/// The coloring plan of a convolution hint: the probed operation's input channels and, per spatial
/// dimension (brought to three, leading dimensions of length 1), its DimPlan.
struct ConvPlan {
    index_t in_channels = 1;
    std::array<DimPlan, 3> dims;
    index_t colors() const { return in_channels * dims[0].period * dims[1].period * dims[2].period; }
};

ConvPlan plan_conv(const ConvSpec& spec, index_t margin, bool adjoint) {
    if (margin < 0) throw config_error("margin=" + std::to_string(margin) + " must be >= 0");
    const ConvGeometry G(spec);
    const ConvGeometry widened(widened_window(G, margin));
    const bool conv_direction = spec.transposed == adjoint;  // the probed operation maps the conv's input to its output
    ConvPlan c;
    c.in_channels = conv_direction ? G.conv_in_channels() : G.conv_out_channels();
    const int off = 3 - G.rank();
    for (int j = 0; j < G.rank(); ++j) c.dims[static_cast<size_t>(off + j)] = plan_dimension(G, widened, j, conv_direction);
    return c;
}

/// Position (p0, p1, p2) of a flat spatial index over three lengths, C order.
std::array<index_t, 3> unravel3(index_t flat, index_t len1, index_t len2) {
    return {flat / (len1 * len2), (flat / len2) % len1, flat % len2};
}

Coloring conv_coloring(const ConvSpec& spec, bool adjoint, index_t margin, const std::vector<char>& todo) {
    auto plan = std::make_shared<ConvPlan>(plan_conv(spec, margin, adjoint));
    const auto& D = plan->dims;
    const index_t in_vol = D[0].in_len * D[1].in_len * D[2].in_len;
    const index_t out_vol = D[0].out_len * D[1].out_len * D[2].out_len;
    std::map<index_t, index_t> compact;  // full color id -> color
    auto full_ids = std::make_shared<std::vector<index_t>>();
    Coloring c;
    c.name = "conv coloring (margin " + std::to_string(margin) + ", periods " + std::to_string(D[0].period) + "x" +
             std::to_string(D[1].period) + "x" + std::to_string(D[2].period) + ", " + std::to_string(plan->in_channels) +
             " channels)";
    for (index_t col = 0; col < static_cast<index_t>(todo.size()); ++col) {
        if (!todo[static_cast<size_t>(col)]) continue;
        const index_t ch = col / in_vol;
        const auto i = unravel3(col % in_vol, D[1].in_len, D[2].in_len);
        const index_t id = ((ch * D[0].period + i[0] % D[0].period) * D[1].period + i[1] % D[1].period) * D[2].period +
                           i[2] % D[2].period;
        auto it = compact.find(id);
        if (it == compact.end()) {
            it = compact.emplace(id, c.size()).first;
            c.members.emplace_back();
            full_ids->push_back(id);
        }
        c.members[static_cast<size_t>(it->second)].push_back(col);
    }
    auto todo_copy = std::make_shared<std::vector<char>>(todo);
    c.owner = [plan, full_ids, todo_copy, in_vol, out_vol](index_t color, index_t row) -> index_t {
        const auto& P = plan->dims;
        index_t id = (*full_ids)[static_cast<size_t>(color)];
        std::array<index_t, 3> residue{};
        for (int j = 2; j >= 0; --j) {
            residue[static_cast<size_t>(j)] = id % P[static_cast<size_t>(j)].period;
            id /= P[static_cast<size_t>(j)].period;
        }
        const index_t ch = id;
        const auto q = unravel3(row % out_vol, P[1].out_len, P[2].out_len);
        std::array<index_t, 3> i{};
        for (size_t j = 0; j < 3; ++j) {
            i[j] = P[j].owner[static_cast<size_t>(residue[j])][static_cast<size_t>(q[j])];
            if (i[j] < 0) return -1;
        }
        const index_t col = ch * in_vol + (i[0] * P[1].in_len + i[1]) * P[2].in_len + i[2];
        return (*todo_copy)[static_cast<size_t>(col)] ? col : -1;
    };
    return c;
}

Coloring pattern_coloring(const SparsityPattern<std::int64_t>& P, const std::vector<char>& todo) {
    // Column footprints = the pattern's columns; greedy distance-2 coloring.
    const index_t rows = P.rows, cols = P.cols;
    std::vector<std::int64_t> cptr(static_cast<size_t>(cols) + 1, 0), crow(P.inner.size());
    for (auto j : P.inner) ++cptr[static_cast<size_t>(j) + 1];
    for (index_t j = 0; j < cols; ++j) cptr[static_cast<size_t>(j) + 1] += cptr[static_cast<size_t>(j)];
    {
        std::vector<std::int64_t> pos(cptr.begin(), cptr.end() - 1);
        for (index_t r = 0; r < rows; ++r)
            for (auto e = P.outer[static_cast<size_t>(r)]; e < P.outer[static_cast<size_t>(r) + 1]; ++e)
                crow[static_cast<size_t>(pos[static_cast<size_t>(P.inner[static_cast<size_t>(e)])]++)] = r;
    }
    auto color = std::make_shared<std::vector<index_t>>(static_cast<size_t>(cols), -1);
    std::vector<index_t> stamp;
    Coloring c;
    c.name = "pattern coloring (greedy, distance 2)";
    for (index_t j = 0; j < cols; ++j) {
        if (!todo[static_cast<size_t>(j)]) continue;
        for (auto e = cptr[static_cast<size_t>(j)]; e < cptr[static_cast<size_t>(j) + 1]; ++e) {
            const index_t r = crow[static_cast<size_t>(e)];
            for (auto f = P.outer[static_cast<size_t>(r)]; f < P.outer[static_cast<size_t>(r) + 1]; ++f) {
                const index_t cc = (*color)[static_cast<size_t>(P.inner[static_cast<size_t>(f)])];
                if (cc >= 0) stamp[static_cast<size_t>(cc)] = j;
            }
        }
        index_t pick = 0;
        while (pick < c.size() && stamp[static_cast<size_t>(pick)] == j) ++pick;
        if (pick == c.size()) {
            c.members.emplace_back();
            stamp.push_back(-1);
        }
        (*color)[static_cast<size_t>(j)] = pick;
        c.members[static_cast<size_t>(pick)].push_back(j);
    }
    auto outer = std::make_shared<std::vector<std::int64_t>>(P.outer);
    auto inner = std::make_shared<std::vector<std::int64_t>>(P.inner);
    c.owner = [outer, inner, color](index_t col, index_t row) -> index_t {
        for (auto e = (*outer)[static_cast<size_t>(row)]; e < (*outer)[static_cast<size_t>(row) + 1]; ++e) {
            const index_t j = (*inner)[static_cast<size_t>(e)];
            if ((*color)[static_cast<size_t>(j)] == col) return j;
        }
        return -1;
    };
    return c;
}

// ---------------------------------------------------------------------------
// The prober
// ---------------------------------------------------------------------------

template <class Scalar>
class Prober {
public:
    Prober(const LinearOperator<Scalar>& op, const ProbeOptions& opt, Labels labels)
        : op_(op), rows_(op.data_size()), cols_(op.model_size()), opt_(opt), labels_(std::move(labels)),
          entries_(static_cast<size_t>(cols_)) {
        if (opt.batch < 1) throw config_error("batch=" + std::to_string(opt.batch) + " must be >= 1");
    }

    /// Y = op(X); false (stats.nonfinite names it) when a result is NaN or infinite; what(b) names sample b.
    bool call(const Batch<Scalar>& X, Batch<Scalar>& Y, const std::function<std::string(index_t)>& what) {
        Y.resize(rows_, X.cols());
        op_.apply(X, Y);
        stats.nonfinite = nonfinite_result<Scalar>(Y, op_.data_shape(), op_.name(), labels_.output, what);
        return stats.nonfinite.empty();
    }

    /// Probes the colors of `c`, marking in `flagged` the columns of colors with a nonzero outside their
    /// footprints. False after a non-finite result (probing stops there).
    bool run(const Coloring& c, const std::vector<char>& todo, int level, std::vector<char>& flagged) {
        for (index_t j = 0; j < cols_; ++j)
            if (todo[static_cast<size_t>(j)]) entries_[static_cast<size_t>(j)].clear();
        const index_t cap = std::max<index_t>(1, 4000000 / std::max<index_t>(1, std::max(rows_, cols_)));
        const index_t b = std::min(opt_.batch, cap);
        flagged.assign(static_cast<size_t>(cols_), 0);
        Batch<Scalar> Y;
        for (index_t c0 = 0; c0 < c.size(); c0 += b) {
            const index_t nb = std::min(b, c.size() - c0);
            Batch<Scalar> X = Batch<Scalar>::Zero(cols_, nb);
            for (index_t k = 0; k < nb; ++k)
                for (index_t j : c.members[static_cast<size_t>(c0 + k)]) X(j, k) = Scalar(1);
            stats.probes += nb;
            ++stats.calls;
            if (!call(X, Y, [&](index_t k) { return probe_name(c, c0 + k, level); })) return false;
            for (index_t k = 0; k < nb; ++k) {
                bool outside = false;
                for (index_t r = 0; r < rows_; ++r) {
                    const Scalar v = Y(r, k);
                    if (v == Scalar(0)) continue;
                    const index_t j = c.owner(c0 + k, r);
                    if (j < 0) {
                        outside = true;
                        continue;
                    }
                    entries_[static_cast<size_t>(j)].emplace_back(r, v);
                }
                if (outside)
                    for (index_t j : c.members[static_cast<size_t>(c0 + k)]) flagged[static_cast<size_t>(j)] = 1;
            }
        }
        return true;
    }

    ProbeMatrix<Scalar> assemble() const {
        std::vector<Eigen::Triplet<Scalar, std::int64_t>> t;
        for (index_t j = 0; j < cols_; ++j)
            for (const auto& e : entries_[static_cast<size_t>(j)]) t.emplace_back(e.first, j, e.second);
        ProbeMatrix<Scalar> J(rows_, cols_);
        J.setFromTriplets(t.begin(), t.end());
        J.makeCompressed();
        return J;
    }

    /// op(X) = J X on random inputs: the row error of relative_row_error; infinity after a non-finite result.
    double verify(const ProbeMatrix<Scalar>& J) {
        const int v = std::max(1, opt_.verify_samples);
        const int round = ++verifications_;
        std::mt19937_64 rng(opt_.seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(round));
        std::normal_distribution<double> normal;
        Batch<Scalar> X(cols_, v), Y;
        for (index_t i = 0; i < X.size(); ++i) X.data()[i] = static_cast<Scalar>(normal(rng));
        stats.verify_samples += v;
        if (!call(X, Y, [round](index_t b) {
                return "random verification input " + std::to_string(b) + " of round " + std::to_string(round);
            }))
            return std::numeric_limits<double>::infinity();
        return relative_row_error<Scalar>(J, X, Y);
    }

    double rtol() const {
        return opt_.rtol > 0 ? opt_.rtol : 1000 * static_cast<double>(std::numeric_limits<Scalar>::epsilon());
    }
    index_t rows() const { return rows_; }
    index_t cols() const { return cols_; }

    ProbeStats stats;

private:
    /// "probe 3 of level 0 (in[0, 0, 1] + in[0, 0, 4] + ... 12 unit inputs)".
    std::string probe_name(const Coloring& c, index_t color, int level) const {
        const auto& cols = c.members[static_cast<size_t>(color)];
        std::string s = "probe " + std::to_string(color) + " of level " + std::to_string(level) + " (";
        for (size_t i = 0; i < cols.size() && i < 3; ++i)
            s += (i ? " + " : "") + labels_.input + format_index(op_.model_shape(), cols[i]);
        if (cols.size() > 3) s += " + ... " + std::to_string(cols.size()) + " unit inputs";
        return s + ")";
    }

    const LinearOperator<Scalar>& op_;
    index_t rows_, cols_;
    ProbeOptions opt_;
    Labels labels_;
    std::vector<std::vector<std::pair<index_t, Scalar>>> entries_;
    int verifications_ = 0;
};

// levels: colorings from coarse to fine; the unit coloring is always appended. Bounded: each level runs
// once, and a failed verification moves on to the next level.
template <class Scalar>
Materialized<Scalar> probe(const LinearOperator<Scalar>& op, const ProbeOptions& opt, const Labels& labels,
                           const std::vector<ColoringLevel>& levels) {
    Prober<Scalar> P(op, opt, labels);
    std::vector<char> all(static_cast<size_t>(P.cols()), 1), todo = all, flagged;
    Materialized<Scalar> out;
    auto count = [](const std::vector<char>& v) { return static_cast<index_t>(std::count(v.begin(), v.end(), 1)); };
    const size_t L = levels.size() + 1;
    for (size_t level = 0; level < L; ++level) {
        const bool unit = level + 1 == L;
        const Coloring c = unit ? unit_coloring(todo) : levels[level](todo);
        if (level == 0) P.stats.first_colors = c.size();
        const index_t before = P.stats.probes;
        const bool finite = P.run(c, todo, static_cast<int>(level), flagged);
        ++P.stats.levels;
        std::string line = "level " + std::to_string(level) + ": " + c.name + ", " + std::to_string(count(todo)) +
                           " columns in " + std::to_string(P.stats.probes - before) + " probes";
        if (!finite) {
            P.stats.log.push_back(line + "; stopped: " + P.stats.nonfinite);
            break;
        }
        const index_t nflag = count(flagged);
        if (nflag && !unit) {
            line += "; " + std::to_string(nflag) + " columns had nonzeros outside their footprints";
            P.stats.log.push_back(line);
            todo = flagged;
            continue;
        }
        out.matrix = P.assemble();
        const double err = P.verify(out.matrix);
        P.stats.verify_error = err;
        P.stats.verified = P.stats.nonfinite.empty() && err <= P.rtol();
        line += "; verification on random inputs: " +
                (P.stats.nonfinite.empty() ? "max row error " + format_value(err) + (P.stats.verified ? " (ok)" : " (FAILED)")
                                           : "stopped: " + P.stats.nonfinite);
        P.stats.log.push_back(line);
        if (P.stats.verified || unit || !P.stats.nonfinite.empty()) break;
        todo = all;
    }
    if (!P.stats.nonfinite.empty()) {
        P.stats.verified = false;
        out.matrix = ProbeMatrix<Scalar>(P.rows(), P.cols());
    }
    out.stats = P.stats;
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------

std::string format_index(const Shape& shape, index_t flat) {
    return "[" + to_string(unravel_index(flat, shape)) + "]";
}

std::string format_value(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string ProbeStats::str() const {
    std::string s = std::to_string(probes) + " probes in " + std::to_string(calls) +
                    (calls == 1 ? " kernel call" : " kernel calls") + " (first coloring " +
                    std::to_string(first_colors) + " colors, " + std::to_string(levels) +
                    (levels == 1 ? " level), " : " levels), ");
    if (!nonfinite.empty()) return s + "NOT verified: " + nonfinite;
    return s + (verified ? "verified" : "NOT verified") + " on " + std::to_string(verify_samples) +
           " random inputs (max row error " + format_value(verify_error) + ")";
}

index_t probe_colors(const ConvSpec& spec, index_t margin, bool adjoint) {
    return plan_conv(spec, margin, adjoint).colors();
}

index_t probe_bound(const ConvSpec& spec, index_t margin, bool adjoint) {
    spec.validate();
    if (margin < 0) throw config_error("margin=" + std::to_string(margin) + " must be >= 0");
    const bool conv_direction = spec.transposed == adjoint;
    const Dims n = spec.conv_input_size(), m = spec.conv_output_size();
    index_t b = conv_direction ? spec.conv_in_channels() : spec.conv_out_channels();
    for (int j = 0; j < spec.rank(); ++j) {
        const index_t reach = (spec.kernel_size[static_cast<size_t>(j)] - 1) * spec.dilation[static_cast<size_t>(j)];
        const index_t P = conv_direction
                              ? std::min(n[static_cast<size_t>(j)], reach + 2 * margin + 1)
                              : std::min(m[static_cast<size_t>(j)], (reach + 2 * margin) / spec.stride[static_cast<size_t>(j)] + 1);
        b *= P;
    }
    return b;
}

template <class Scalar>
double relative_row_error(const ProbeMatrix<Scalar>& J, const Batch<Scalar>& X, const Batch<Scalar>& Y) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    double worst = 0;
    for (index_t b = 0; b < X.cols(); ++b)
        for (index_t r = 0; r < J.rows(); ++r) {
            double z = 0, scale = 0;
            for (typename ProbeMatrix<Scalar>::InnerIterator it(J, r); it; ++it) {
                const double a = static_cast<double>(it.value()), x = static_cast<double>(X(it.col(), b));
                z += a * x;
                scale += std::abs(a * x);
            }
            const double y = static_cast<double>(Y(r, b));
            const double diff = std::abs(y - z);
            if (!std::isfinite(diff)) return inf;
            scale += std::abs(y);
            if (diff > 0) worst = std::max(worst, scale > 0 ? diff / scale : 1.0);
        }
    return worst;
}

template <class Scalar>
std::string nonfinite_result(const Batch<Scalar>& Y, const Shape& shape, const std::string& who,
                             const std::string& label, const std::function<std::string(index_t)>& what) {
    for (index_t b = 0; b < Y.cols(); ++b)
        for (index_t r = 0; r < Y.rows(); ++r) {
            const double v = static_cast<double>(Y(r, b));
            if (!std::isfinite(v))
                return who + " returned " + detail::nonfinite_name(v) + " at " + label + format_index(shape, r) +
                       " for " + what(b);
        }
    return {};
}

template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ProbeOptions& options) {
    return probe<Scalar>(op, options, Labels{}, {});
}

template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ConvSpec& hint, const ProbeOptions& options,
                               bool adjoint) {
    const index_t in = adjoint ? hint.output_numel() : hint.input_numel();
    const index_t out = adjoint ? hint.input_numel() : hint.output_numel();
    if (in != op.model_size() || out != op.data_size())
        throw shape_error("operator '" + op.name() + "' maps " + std::to_string(op.model_size()) + " -> " +
                          std::to_string(op.data_size()) + " values but the hint " + hint.describe() +
                          (adjoint ? " (adjoint)" : "") + " maps " + std::to_string(in) + " -> " + std::to_string(out));
    const index_t m0 = options.margin;
    if (m0 < 0) throw config_error("margin=" + std::to_string(m0) + " must be >= 0");
    const index_t m1 = std::max<index_t>(4 * m0, m0 + 4);
    const std::vector<ColoringLevel> levels = {
        [&](const std::vector<char>& todo) { return conv_coloring(hint, adjoint, m0, todo); },
        [&](const std::vector<char>& todo) { return conv_coloring(hint, adjoint, m1, todo); }};
    return probe<Scalar>(op, options, adjoint ? Labels{"out", "in"} : Labels{}, levels);
}

template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const SparsityPattern<std::int64_t>& hint,
                               const ProbeOptions& options) {
    if (hint.rows != op.data_size() || hint.cols != op.model_size())
        throw shape_error("pattern is " + std::to_string(hint.rows) + "x" + std::to_string(hint.cols) +
                          " but the operator is " + std::to_string(op.data_size()) + "x" +
                          std::to_string(op.model_size()) + " (rows = output size, columns = input size)");
    if (static_cast<index_t>(hint.outer.size()) != hint.rows + 1)
        throw shape_error("pattern.outer has " + std::to_string(hint.outer.size()) + " entries; expected rows+1 = " +
                          std::to_string(hint.rows + 1));
    for (auto j : hint.inner)
        if (j < 0 || j >= hint.cols)
            throw shape_error("pattern has column index " + std::to_string(j) + " outside [0, " +
                              std::to_string(hint.cols) + ")");
    const std::vector<ColoringLevel> levels = {
        [&](const std::vector<char>& todo) { return pattern_coloring(hint, todo); }};
    return probe<Scalar>(op, options, Labels{}, levels);
}

#define CONVMTX_JACOBIAN_INST(S)                                                                                   \
    template Materialized<S> to_sparse<S>(const LinearOperator<S>&, const ProbeOptions&);                         \
    template Materialized<S> to_sparse<S>(const LinearOperator<S>&, const ConvSpec&, const ProbeOptions&, bool);  \
    template Materialized<S> to_sparse<S>(const LinearOperator<S>&, const SparsityPattern<std::int64_t>&,         \
                                          const ProbeOptions&);                                                    \
    template double relative_row_error<S>(const ProbeMatrix<S>&, const Batch<S>&, const Batch<S>&);                \
    template std::string nonfinite_result<S>(const Batch<S>&, const Shape&, const std::string&, const std::string&, \
                                             const std::function<std::string(index_t)>&);
CONVMTX_JACOBIAN_INST(float)
CONVMTX_JACOBIAN_INST(double)
#undef CONVMTX_JACOBIAN_INST

}  // namespace convmtx
