// Kernel validation: verified colored probing of a black-box linear kernel, the
// entry-by-entry comparison of its Jacobian with W (or T) and the diagnosis.
// See validate.hpp for the coloring and its probe bound, docs/validation.md for
// the bug models the diagnosis tries.
#include "convmtx/validate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "convmtx/geometry.hpp"

namespace convmtx {

namespace {

using DMatrix = ProbeMatrix<double>;
using Arr3 = std::array<index_t, 3>;

/// The geometry's sizes brought to three dimensions (leading dimensions of size 1), W's sides:
/// n/Cb the conv's input (W's columns), m/Cs its output (W's rows).
struct Geom {
    index_t Cb = 1, Cs = 1, G = 1, cb_g = 1, cs_g = 1;
    Arr3 n{1, 1, 1}, m{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pl{0, 0, 0}, ph{0, 0, 0};
    PaddingMode mode = PaddingMode::zeros;
    index_t nvol = 1, mvol = 1, kvol = 1;
};

Geom make_geom(const ConvSpec& spec) {
    const ConvGeometry cg(spec);
    Geom g;
    for (int j = 0; j < 3; ++j) {
        const DimGeometry& d = cg.dim3(j);
        g.n[j] = d.input_size;
        g.m[j] = d.output_size;
        g.k[j] = d.kernel_size;
        g.s[j] = d.stride;
        g.d[j] = d.dilation;
        g.pl[j] = d.padding_lo;
        g.ph[j] = d.padding_hi;
    }
    g.Cb = cg.conv_in_channels();
    g.Cs = cg.conv_out_channels();
    g.G = cg.groups();
    g.cb_g = cg.in_per_group();
    g.cs_g = cg.out_per_group();
    g.mode = spec.padding_mode;
    g.nvol = cg.input_volume();
    g.mvol = cg.output_volume();
    g.kvol = cg.kernel_volume();
    return g;
}

template <class Scalar>
double eps_of() {
    return static_cast<double>(std::numeric_limits<Scalar>::epsilon());
}

std::string fmt(double v) {
    std::ostringstream os;
    os.precision(4);
    os << v;
    return os.str();
}

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

Coloring unit_coloring(const std::vector<char>& todo) {
    Coloring c;
    c.name = "unit vectors";
    for (index_t j = 0; j < static_cast<index_t>(todo.size()); ++j)
        if (todo[static_cast<size_t>(j)]) c.members.push_back({j});
    auto members = std::make_shared<std::vector<std::vector<index_t>>>(c.members);
    c.owner = [members](index_t color, index_t) { return (*members)[static_cast<size_t>(color)][0]; };
    return c;
}

// Per spatial dimension of the operation: footprint (sorted op-output positions) of each op-input position.
struct DimPlan {
    index_t in_len = 1, out_len = 1, period = 1;
    std::vector<std::vector<index_t>> owner;  // [residue][output position] -> input position or -1
};

DimPlan plan_dimension(const Geom& g, int j, bool big_to_small, index_t margin) {
    const index_t n = g.n[j], m = g.m[j], k = g.k[j], s = g.s[j], d = g.d[j], pl = g.pl[j];
    DimPlan p;
    p.in_len = big_to_small ? n : m;
    p.out_len = big_to_small ? m : n;
    std::vector<std::vector<index_t>> fp(static_cast<size_t>(p.in_len));
    auto add = [&](index_t q, index_t i) {
        if (big_to_small) fp[static_cast<size_t>(i)].push_back(q);
        else fp[static_cast<size_t>(q)].push_back(i);
    };
    for (index_t q = 0; q < m; ++q) {
        const index_t lo = std::max<index_t>(0, q * s - pl - margin);
        const index_t hi = std::min<index_t>(n - 1, q * s - pl + (k - 1) * d + margin);
        for (index_t i = lo; i <= hi; ++i) add(q, i);
        if (g.mode != PaddingMode::zeros)
            for (index_t t = 0; t < k; ++t) {
                const index_t i = pad_fold(q * s - pl + t * d, n, g.mode);
                if (i >= 0 && (i < lo || i > hi)) add(q, i);
            }
    }
    for (auto& f : fp) {
        std::sort(f.begin(), f.end());
        f.erase(std::unique(f.begin(), f.end()), f.end());
    }
    for (index_t P = 1; P <= p.in_len; ++P) {
        std::vector<std::vector<index_t>> owner(static_cast<size_t>(P),
                                                std::vector<index_t>(static_cast<size_t>(p.out_len), -1));
        bool ok = true;
        for (index_t i = 0; i < p.in_len && ok; ++i)
            for (index_t q : fp[static_cast<size_t>(i)]) {
                index_t& o = owner[static_cast<size_t>(i % P)][static_cast<size_t>(q)];
                if (o != -1) {
                    ok = false;
                    break;
                }
                o = i;
            }
        if (ok) {
            p.period = P;
            p.owner = std::move(owner);
            return p;
        }
    }
    return p;  // unreachable: P = in_len gives every residue one member
}

struct ConvPlan {
    index_t cin = 1, cout = 1;
    std::array<DimPlan, 3> dims;
    index_t colors() const { return cin * dims[0].period * dims[1].period * dims[2].period; }
};

ConvPlan plan_conv(const ConvSpec& spec, index_t margin, bool adjoint) {
    if (margin < 0) throw config_error("margin=" + std::to_string(margin) + " must be >= 0");
    const Geom g = make_geom(spec);
    const bool big_to_small = spec.transposed == adjoint;
    ConvPlan c;
    c.cin = big_to_small ? g.Cb : g.Cs;
    c.cout = big_to_small ? g.Cs : g.Cb;
    for (int j = 0; j < 3; ++j) c.dims[j] = plan_dimension(g, j, big_to_small, margin);
    return c;
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
             std::to_string(D[1].period) + "x" + std::to_string(D[2].period) + ", " + std::to_string(plan->cin) +
             " channels)";
    for (index_t col = 0; col < static_cast<index_t>(todo.size()); ++col) {
        if (!todo[static_cast<size_t>(col)]) continue;
        const index_t ch = col / in_vol, sp = col % in_vol;
        const index_t i2 = sp % D[2].in_len, i1 = (sp / D[2].in_len) % D[1].in_len, i0 = sp / (D[2].in_len * D[1].in_len);
        const index_t id = ((ch * D[0].period + i0 % D[0].period) * D[1].period + i1 % D[1].period) * D[2].period +
                           i2 % D[2].period;
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
        const auto& D = plan->dims;
        index_t id = (*full_ids)[static_cast<size_t>(color)];
        const index_t r2 = id % D[2].period;
        id /= D[2].period;
        const index_t r1 = id % D[1].period;
        id /= D[1].period;
        const index_t r0 = id % D[0].period;
        const index_t ch = id / D[0].period;
        const index_t sp = row % out_vol;
        const index_t q2 = sp % D[2].out_len, q1 = (sp / D[2].out_len) % D[1].out_len,
                      q0 = sp / (D[2].out_len * D[1].out_len);
        const index_t i0 = D[0].owner[static_cast<size_t>(r0)][static_cast<size_t>(q0)];
        const index_t i1 = D[1].owner[static_cast<size_t>(r1)][static_cast<size_t>(q1)];
        const index_t i2 = D[2].owner[static_cast<size_t>(r2)][static_cast<size_t>(q2)];
        if (i0 < 0 || i1 < 0 || i2 < 0) return -1;
        const index_t col = ch * in_vol + (i0 * D[1].in_len + i1) * D[2].in_len + i2;
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
    Prober(const KernelFn<Scalar>& f, index_t rows, index_t cols, const ProbeOptions& opt)
        : f_(f), rows_(rows), cols_(cols), opt_(opt), entries_(static_cast<size_t>(cols)) {
        if (opt.batch < 1) throw config_error("batch=" + std::to_string(opt.batch) + " must be >= 1");
    }

    Batch<Scalar> call(const Batch<Scalar>& X) const {
        Batch<Scalar> Y = f_(X);
        if (Y.rows() != rows_ || Y.cols() != X.cols())
            throw shape_error("kernel returned " + std::to_string(Y.rows()) + "x" + std::to_string(Y.cols()) +
                              " values for " + std::to_string(X.cols()) + " samples; expected " +
                              std::to_string(rows_) + " values per sample");
        return Y;
    }

    // Probes the colors; returns the columns of colors with a nonzero outside their footprints.
    std::vector<char> run(const Coloring& c, const std::vector<char>& todo) {
        for (index_t j = 0; j < cols_; ++j)
            if (todo[static_cast<size_t>(j)]) entries_[static_cast<size_t>(j)].clear();
        const index_t cap = std::max<index_t>(1, 4000000 / std::max<index_t>(1, std::max(rows_, cols_)));
        const index_t b = std::min(opt_.batch, cap);
        std::vector<char> flagged(static_cast<size_t>(cols_), 0);
        for (index_t c0 = 0; c0 < c.size(); c0 += b) {
            const index_t nb = std::min(b, c.size() - c0);
            Batch<Scalar> X = Batch<Scalar>::Zero(cols_, nb);
            for (index_t k = 0; k < nb; ++k)
                for (index_t j : c.members[static_cast<size_t>(c0 + k)]) X(j, k) = Scalar(1);
            const Batch<Scalar> Y = call(X);
            ++stats.calls;
            stats.probes += nb;
            for (index_t k = 0; k < nb; ++k) {
                bool bad = false;
                for (index_t r = 0; r < rows_; ++r) {
                    const Scalar v = Y(r, k);
                    if (v == Scalar(0)) continue;
                    const index_t j = std::isfinite(static_cast<double>(v)) ? c.owner(c0 + k, r) : -1;
                    if (j < 0) {
                        bad = true;
                        continue;
                    }
                    entries_[static_cast<size_t>(j)].emplace_back(r, v);
                }
                if (bad)
                    for (index_t j : c.members[static_cast<size_t>(c0 + k)]) flagged[static_cast<size_t>(j)] = 1;
            }
        }
        return flagged;
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

    // kernel(X) = J X on random inputs, row error relative to |J||X| + |kernel(X)|.
    double verify(const ProbeMatrix<Scalar>& J) {
        const int v = std::max(1, opt_.verify_samples);
        std::mt19937_64 rng(opt_.seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(++verifications_));
        std::normal_distribution<double> normal;
        Batch<Scalar> X(cols_, v);
        for (index_t i = 0; i < X.size(); ++i) X.data()[i] = static_cast<Scalar>(normal(rng));
        const Batch<Scalar> Y = call(X);
        stats.verify_samples += v;
        return row_error(J, X, Y);
    }

    static double row_error(const ProbeMatrix<Scalar>& J, const Batch<Scalar>& X, const Batch<Scalar>& Y) {
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
                if (!std::isfinite(y)) return std::numeric_limits<double>::infinity();
                const double diff = std::abs(y - z);
                scale += std::abs(y);
                if (diff > 0) worst = std::max(worst, scale > 0 ? diff / scale : 1.0);
            }
        return worst;
    }

    double rtol() const { return opt_.rtol > 0 ? opt_.rtol : 1000 * eps_of<Scalar>(); }

    ProbeStats stats;

private:
    const KernelFn<Scalar>& f_;
    index_t rows_, cols_;
    ProbeOptions opt_;
    std::vector<std::vector<std::pair<index_t, Scalar>>> entries_;
    int verifications_ = 0;
};

// levels: colorings from coarse to fine; the unit coloring is always appended.
template <class Scalar>
Materialized<Scalar> probe(const KernelFn<Scalar>& f, index_t rows, index_t cols, const ProbeOptions& opt,
                           const std::vector<std::function<Coloring(const std::vector<char>&)>>& levels) {
    Prober<Scalar> P(f, rows, cols, opt);
    std::vector<char> all(static_cast<size_t>(cols), 1), todo = all;
    Materialized<Scalar> out;
    auto count = [](const std::vector<char>& v) { return static_cast<index_t>(std::count(v.begin(), v.end(), 1)); };
    const size_t L = levels.size() + 1;
    for (size_t level = 0; level < L; ++level) {
        const bool unit = level + 1 == L;
        const Coloring c = unit ? unit_coloring(todo) : levels[level](todo);
        if (level == 0) P.stats.first_colors = c.size();
        const index_t before = P.stats.probes;
        const std::vector<char> flagged = P.run(c, todo);
        ++P.stats.levels;
        const index_t nflag = count(flagged);
        std::string line = "level " + std::to_string(level) + ": " + c.name + ", " + std::to_string(count(todo)) +
                           " columns in " + std::to_string(P.stats.probes - before) + " probes";
        if (nflag && !unit) {
            line += "; " + std::to_string(nflag) + " columns had nonzeros outside their footprints";
            P.stats.log.push_back(line);
            todo = flagged;
            continue;
        }
        out.matrix = P.assemble();
        const double err = P.verify(out.matrix);
        P.stats.verify_error = err;
        P.stats.verified = err <= P.rtol();
        line += "; verification on random inputs: max row error " + fmt(err) + (P.stats.verified ? " (ok)" : " (FAILED)");
        P.stats.log.push_back(line);
        if (P.stats.verified || unit) break;
        todo = all;
    }
    out.stats = P.stats;
    return out;
}

template <class Scalar>
KernelFn<Scalar> op_fn(const LinearOperator<Scalar>& op) {
    return [&op](const Eigen::Ref<const Batch<Scalar>>& x) { return op.apply(x); };
}

template <class Scalar>
Materialized<Scalar> probe_conv(const KernelFn<Scalar>& f, index_t rows, index_t cols, const ConvSpec& spec,
                                const ProbeOptions& opt, bool adjoint) {
    const index_t in = adjoint ? spec.output_numel() : spec.input_numel();
    const index_t out = adjoint ? spec.input_numel() : spec.output_numel();
    if (in != cols || out != rows)
        throw shape_error("operator maps " + std::to_string(cols) + " -> " + std::to_string(rows) +
                          " values but the hint " + spec.describe() + (adjoint ? " (adjoint)" : "") + " maps " +
                          std::to_string(in) + " -> " + std::to_string(out));
    const index_t m0 = opt.margin;
    const index_t m1 = std::max<index_t>(4 * m0, m0 + 4);
    std::vector<std::function<Coloring(const std::vector<char>&)>> levels = {
        [&](const std::vector<char>& todo) { return conv_coloring(spec, adjoint, m0, todo); },
        [&](const std::vector<char>& todo) { return conv_coloring(spec, adjoint, m1, todo); }};
    return probe<Scalar>(f, rows, cols, opt, levels);
}

// ---------------------------------------------------------------------------
// Comparison and diagnosis
// ---------------------------------------------------------------------------

struct Variant {
    std::string name, message;
    int flip = -2;  // -2 none, -1 every dimension, j: dimension j only
    bool swap = false;
    int group_map = 0;  // bit 0: group of o = o mod G; bit 1: input channels interleaved
    int rel = 0;        // 0 normal, 1 dilation ignored, 2 stride on the other side, 3 stride ignored
    std::array<index_t, 3> big_shift{0, 0, 0}, small_shift{0, 0, 0};  // per spatial dimension of the spec
    std::optional<PaddingMode> mode;
};

// The op-oriented matrix of the configuration under a bug model (double).
DMatrix variant_matrix(const ConvSpec& spec, const std::vector<double>& w, const Variant& v) {
    const Geom g = make_geom(spec);
    const int off = 3 - spec.rank();
    const PaddingMode mode = v.mode ? *v.mode : g.mode;
    std::vector<Eigen::Triplet<double, std::int64_t>> trip;
    for (index_t o = 0; o < g.Cs; ++o) {
        const index_t grp = (v.group_map & 1) ? o % g.G : o / g.cs_g;
        for (index_t cp = 0; cp < g.cb_g; ++cp) {
            const index_t c = (v.group_map & 2) ? cp * g.G + grp : grp * g.cb_g + cp;
            for (index_t q0 = 0; q0 < g.m[0]; ++q0)
                for (index_t q1 = 0; q1 < g.m[1]; ++q1)
                    for (index_t q2 = 0; q2 < g.m[2]; ++q2)
                        for (index_t t0 = 0; t0 < g.k[0]; ++t0)
                            for (index_t t1 = 0; t1 < g.k[1]; ++t1)
                                for (index_t t2 = 0; t2 < g.k[2]; ++t2) {
                                    const std::array<index_t, 3> q{q0, q1, q2}, t{t0, t1, t2};
                                    std::array<index_t, 3> i{}, tw{};
                                    bool ok = true;
                                    for (int j = 0; j < 3 && ok; ++j) {
                                        const bool flip = v.flip == -1 || v.flip == j - off;
                                        tw[j] = flip ? g.k[j] - 1 - t[j] : t[j];
                                        const index_t sj = j - off;
                                        const index_t qs = q[j] + (sj >= 0 ? v.small_shift[sj] : 0);
                                        if (qs < 0 || qs >= g.m[j]) {
                                            ok = false;
                                            break;
                                        }
                                        index_t pos = 0;
                                        switch (v.rel) {
                                            case 0: pos = qs * g.s[j] - g.pl[j] + t[j] * g.d[j]; break;
                                            case 1: pos = qs * g.s[j] - g.pl[j] + t[j]; break;
                                            case 2: {
                                                const index_t num = qs - g.pl[j] + t[j] * g.d[j];
                                                const index_t r = ((num % g.s[j]) + g.s[j]) % g.s[j];
                                                if (r) ok = false;
                                                pos = (num - r) / g.s[j];
                                                break;
                                            }
                                            default: pos = qs - g.pl[j] + t[j] * g.d[j]; break;
                                        }
                                        pos += sj >= 0 ? v.big_shift[sj] : 0;
                                        i[j] = pad_fold(pos, g.n[j], mode);
                                        if (i[j] < 0) ok = false;
                                    }
                                    if (!ok) continue;
                                    const index_t tflat = (tw[0] * g.k[1] + tw[1]) * g.k[2] + tw[2];
                                    const index_t wi = v.swap ? (c * g.cs_g + (o - grp * g.cs_g)) * g.kvol + tflat
                                                              : (o * g.cb_g + cp) * g.kvol + tflat;
                                    const index_t row = o * g.mvol + (q0 * g.m[1] + q1) * g.m[2] + q2;
                                    const index_t col = c * g.nvol + (i[0] * g.n[1] + i[1]) * g.n[2] + i[2];
                                    if (spec.transposed) trip.emplace_back(col, row, w[static_cast<size_t>(wi)]);
                                    else trip.emplace_back(row, col, w[static_cast<size_t>(wi)]);
                                }
        }
    }
    const index_t R = spec.transposed ? g.Cb * g.nvol : g.Cs * g.mvol;
    const index_t C = spec.transposed ? g.Cs * g.mvol : g.Cb * g.nvol;
    DMatrix M(R, C);
    M.setFromTriplets(trip.begin(), trip.end());
    M.makeCompressed();
    return M;
}

// Visits the union of the entries of A and B row by row: fn(row, col, a, b, storage position in B or -1).
template <class Fn>
void merge_entries(const DMatrix& A, const DMatrix& B, Fn&& fn) {
    for (index_t r = 0; r < A.outerSize(); ++r) {
        DMatrix::InnerIterator a(A, r), b(B, r);
        index_t pos = B.outerIndexPtr()[r];
        while (a || b) {
            if (a && (!b || a.col() < b.col())) {
                fn(r, a.col(), a.value(), 0.0, index_t(-1));
                ++a;
            } else if (b && (!a || b.col() < a.col())) {
                fn(r, b.col(), 0.0, b.value(), pos++);
                ++b;
            } else {
                fn(r, a.col(), a.value(), b.value(), pos++);
                ++a;
                ++b;
            }
        }
    }
}

index_t count_diff(const DMatrix& J, const DMatrix& M, double atol) {
    index_t n = 0;
    merge_entries(J, M, [&](index_t, index_t, double a, double b, index_t) { n += std::abs(a - b) > atol; });
    return n;
}

std::vector<Variant> variants(const ConvSpec& spec) {
    std::vector<Variant> out;
    const int r = spec.rank();
    const bool T = spec.transposed;
    bool any_k = false, any_d = false, any_s = false;
    for (int j = 0; j < r; ++j) {
        any_k |= spec.kernel_size[j] > 1;
        any_d |= spec.dilation[j] > 1;
        any_s |= spec.stride[j] > 1;
    }
    const std::string flip_advice =
        T ? "the gather form of a transposed convolution must flip the kernel (and swap its channel axes); the "
            "scatter form must not"
          : "a convolution (cross-correlation, as in PyTorch) must not flip the kernel";
    if (any_k) {
        Variant v;
        v.name = "flipped";
        v.flip = -1;
        v.message = "the kernel is flipped in every spatial dimension: it applies w[..., k-1-t] where the "
                    "configuration applies w[..., t]; " + flip_advice;
        out.push_back(v);
        if (r > 1)
            for (int j = 0; j < r; ++j)
                if (spec.kernel_size[j] > 1) {
                    Variant u;
                    u.name = "flipped_dim";
                    u.flip = j;
                    u.message = "the kernel is flipped along spatial dimension " + std::to_string(j) +
                                " only (tap t read as k-1-t there): flip every dimension or none";
                    out.push_back(u);
                }
    }
    const std::string layout = "(C_" + std::string(T ? "in" : "out") + ", C_" + (T ? "out" : "in") + "/G, k...)";
    const std::string swapped = "(C_" + std::string(T ? "out" : "in") + ", C_" + (T ? "in" : "out") + "/G, k...)";
    const index_t cs = T ? spec.in_channels : spec.out_channels, cb = T ? spec.out_channels : spec.in_channels;
    if (cs / spec.groups > 1 || cb / spec.groups > 1) {
        Variant v;
        v.name = "swapped_layout";
        v.swap = true;
        v.message = "the weight is read with its channel axes swapped (in/out): the kernel indexes it as " + swapped +
                    " but its layout is " + layout +
                    (T ? "; PyTorch's transposed-conv weight is (C_in, C_out/G, k...) and the gather form must "
                         "swap it explicitly"
                       : "; PyTorch's conv weight is (C_out, C_in/G, k...)");
        out.push_back(v);
        if (any_k) {
            Variant u = v;
            u.name = "flipped_swapped";
            u.flip = -1;
            u.message = "the kernel is flipped in every spatial dimension AND its channel axes are swapped; " +
                        flip_advice;
            out.push_back(u);
        }
    }
    // Shifts of the big side (conv input / transposed-conv output): one dimension, every dimension,
    // and (transposed) output_padding per dimension.
    std::vector<std::array<index_t, 3>> big_shifts, small_shifts;
    for (int j = 0; j < r; ++j) {
        std::set<index_t> shifts = {-2, -1, 1, 2};
        if (T && spec.output_padding[j] > 0) {
            shifts.insert(spec.output_padding[j]);
            shifts.insert(-spec.output_padding[j]);
        }
        for (index_t delta : shifts) {
            std::array<index_t, 3> a{0, 0, 0};
            a[j] = delta;
            big_shifts.push_back(a);
        }
        for (index_t delta : {index_t(-1), index_t(1)}) {
            std::array<index_t, 3> a{0, 0, 0};
            a[j] = delta;
            small_shifts.push_back(a);
        }
    }
    if (r > 1) {
        for (index_t delta : {index_t(-2), index_t(-1), index_t(1), index_t(2)}) {
            std::array<index_t, 3> a{0, 0, 0};
            for (int j = 0; j < r; ++j) a[j] = delta;
            big_shifts.push_back(a);
        }
        for (index_t delta : {index_t(-1), index_t(1)}) {
            std::array<index_t, 3> a{0, 0, 0};
            for (int j = 0; j < r; ++j) a[j] = delta;
            small_shifts.push_back(a);
        }
        if (T) {
            std::array<index_t, 3> a{0, 0, 0};
            int nz = 0;
            for (int j = 0; j < r; ++j) nz += (a[j] = spec.output_padding[j]) != 0;
            if (nz > 1) big_shifts.push_back(a);
        }
    }
    auto describe_shift = [&](const std::array<index_t, 3>& a) {
        std::string dims, by;
        int count = 0;
        for (int j = 0; j < r; ++j)
            if (a[j]) {
                dims += std::string(count ? ", " : "") + std::to_string(j);
                by += std::string(count ? ", " : "") + std::to_string(a[j]);
                ++count;
            }
        return count == 1 ? "by " + by + " along spatial dimension " + dims
                          : "by (" + by + ") along spatial dimensions (" + dims + ")";
    };
    for (const auto& a : big_shifts) {
        Variant v;
        v.name = "shift";
        v.big_shift = a;
        bool one = false, opad = T;
        Dims pads;
        for (int j = 0; j < r; ++j) {
            one |= std::abs(a[j]) == 1;
            if (a[j] != 0) opad &= a[j] == spec.output_padding[j];
            pads.push_back(spec.padding_lo[j] - a[j]);
        }
        for (int j = 0; j < r; ++j) opad &= a[j] == 0 || a[j] == spec.output_padding[j];
        const std::string like = "it behaves like pad_lo=(" + to_string(pads) + ") instead of (" +
                                 to_string(spec.padding_lo) + ")";
        if (!T) {
            v.message = "the kernel reads the input shifted " + describe_shift(a) +
                        " (x[q*s - pl + t*d + shift]): " + like + (one ? " - padding off by one?" : "");
        } else {
            v.message = "the outputs are shifted " + describe_shift(a) +
                        " (the kernel writes to out[p + shift] what belongs at out[p]): " + like;
            if (one) v.message += " - padding off by one?";
            if (opad) {
                Dims nz;
                for (int j = 0; j < r; ++j) nz.push_back(spec.output_padding[j]);
                v.message += std::string(one ? " Or: " : " - ") + "output_padding=(" + to_string(nz) +
                             ") applied at the low end? It belongs at the high end only";
            }
        }
        out.push_back(v);
    }
    for (const auto& a : small_shifts) {
        Variant v;
        v.name = "small_shift";
        v.small_shift = a;
        v.message = T ? "the kernel reads the input shifted " + describe_shift(a) + " (y[i + shift] where y[i] belongs)"
                      : "the outputs are shifted " + describe_shift(a) +
                            " (out[q] holds what belongs at out[q + shift])";
        out.push_back(v);
    }
    if (any_d) {
        Variant v;
        v.name = "dilation_ignored";
        v.rel = 1;
        v.message = "dilation is ignored: the kernel places tap t at offset t instead of t*d (dilation=(" +
                    to_string(spec.dilation) + "))";
        out.push_back(v);
    }
    if (any_s) {
        Variant v;
        v.name = "stride_swapped";
        v.rel = 2;
        v.message = T ? "the stride is applied to the output instead of the input: the kernel reads y[p*s - pl + t*d] "
                        "like a strided conv; a transposed conv spreads input i to out[i*s - pl + t*d]"
                      : "the stride is applied to the input instead of the output: the kernel reads the input as if "
                        "s-1 zeros were inserted between its elements (x[(q - pl + t*d)/s], a transposed-conv "
                        "pattern) instead of x[q*s - pl + t*d]";
        out.push_back(v);
        Variant u;
        u.name = "stride_ignored";
        u.rel = 3;
        u.message = "the stride is ignored: positions are computed with stride 1 (stride=(" + to_string(spec.stride) + "))";
        out.push_back(u);
    }
    if (spec.groups > 1) {
        const std::string G = std::to_string(spec.groups);
        const std::string so = T ? "input" : "output", bi = T ? "output" : "input";
        Variant v;
        v.name = "groups";
        v.group_map = 1;
        v.message = "channels mixed across groups: " + so + " channel o is connected to the " + bi +
                    " channels of group o mod " + G + " instead of group o / (C_" + so + "/G)";
        out.push_back(v);
        Variant u;
        u.name = "groups";
        u.group_map = 2;
        u.message = "channels mixed across groups: group g uses the " + bi + " channels c'*" + G +
                    " + g (interleaved) instead of g*C_" + bi + "/G + c' (contiguous blocks)";
        out.push_back(u);
        Variant b;
        b.name = "groups";
        b.group_map = 3;
        b.message = "channels mixed across groups: both the group of each " + so + " channel (o mod " + G +
                    ") and the " + bi + " channels of a group (interleaved) are wrong";
        out.push_back(b);
    }
    if (!T)
        for (PaddingMode m : {PaddingMode::zeros, PaddingMode::circular, PaddingMode::reflect, PaddingMode::replicate})
            if (m != spec.padding_mode) {
                Variant v;
                v.name = "padding_mode";
                v.mode = m;
                v.message = "the kernel pads with padding_mode='" + to_string(m) + "' but the configuration says '" +
                            to_string(spec.padding_mode) + "'";
                out.push_back(v);
            }
    return out;
}

struct Diagnosis {
    index_t missing = 0, extra = 0, wrong = 0;
    double max_err = 0;
    std::vector<EntryDiff> diffs;
    std::vector<index_t> rows, cols, taps;
    std::vector<BugFinding> findings;
    std::vector<std::string> lines;
};

std::string list_some(const std::vector<std::string>& items, index_t total, index_t cap) {
    std::string s;
    for (size_t i = 0; i < items.size() && static_cast<index_t>(i) < cap; ++i) s += (i ? ", " : "") + items[i];
    if (total > cap) s += ", ... (" + std::to_string(total - cap) + " more)";
    return s;
}

Diagnosis diagnose(const ConvSpec& spec, const std::vector<double>& w, const DMatrix& J, const DMatrix& M,
                   const std::vector<index_t>& taps, double atol, const CheckOptions& opt) {
    Diagnosis D;
    std::set<index_t> rows, cols, tapset, cols_missing, cols_extra;
    std::map<index_t, index_t> tap_missing, tap_wrong;  // tap -> differing uses of each kind
    merge_entries(J, M, [&](index_t r, index_t c, double a, double b, index_t pos) {
        const double e = std::abs(a - b);
        if (e <= atol) return;
        D.max_err = std::max(D.max_err, e);
        EntryDiff d;
        d.row = r;
        d.col = c;
        d.actual = a;
        d.expected = b;
        d.kind = std::abs(b) <= atol ? EntryDiff::Kind::extra
                                     : (std::abs(a) <= atol ? EntryDiff::Kind::missing : EntryDiff::Kind::wrong_weight);
        d.tap = pos >= 0 ? taps[static_cast<size_t>(pos)] : -1;
        if (d.tap >= 0) {
            tapset.insert(d.tap);
            ++(d.kind == EntryDiff::Kind::missing ? tap_missing : tap_wrong)[d.tap];
        }
        (d.kind == EntryDiff::Kind::extra ? cols_extra : cols_missing).insert(c);
        if (d.kind == EntryDiff::Kind::extra) ++D.extra;
        else if (d.kind == EntryDiff::Kind::missing) ++D.missing;
        else ++D.wrong;
        if (D.diffs.size() < 100000) D.diffs.push_back(d);
        rows.insert(r);
        cols.insert(c);
    });
    D.rows.assign(rows.begin(), rows.end());
    D.cols.assign(cols.begin(), cols.end());
    D.taps.assign(tapset.begin(), tapset.end());
    const index_t ndiff = D.missing + D.extra + D.wrong;
    if (ndiff == 0) return D;

    const Shape out_shape = spec.output_shape(), in_shape = spec.input_shape(), w_shape = spec.weight_shape();
    auto where_w = [&](double v) {
        std::vector<index_t> hits;
        for (index_t i = 0; i < static_cast<index_t>(w.size()) && hits.size() < 3; ++i)
            if (std::abs(w[static_cast<size_t>(i)] - v) <= atol) hits.push_back(i);
        if (hits.empty() || hits.size() > 2) return std::string();
        std::string s = " (= w" + format_index(w_shape, hits[0]);
        if (hits.size() > 1) s += " or w" + format_index(w_shape, hits[1]);
        return s + ")";
    };

    // Bug models.
    if (opt.classify && M.nonZeros() <= 2000000) {
        std::vector<std::pair<index_t, BugFinding>> scored;
        for (const Variant& v : variants(spec)) {
            const DMatrix C = variant_matrix(spec, w, v);
            const index_t rem = count_diff(J, C, atol);
            if (rem < ndiff) scored.push_back({rem, BugFinding{v.name, v.message, rem}});
        }
        std::stable_sort(scored.begin(), scored.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& s : scored) {
            const bool seen = std::any_of(D.findings.begin(), D.findings.end(),
                                          [&](const BugFinding& f) { return f.message == s.second.message; });
            if (!seen && (s.first == 0 || (s.first * 5 <= ndiff && s.first == scored.front().first)))
                D.findings.push_back(s.second);
        }
    }
    // Structural observations.
    const index_t out_sp = M.rows() / out_shape[0], in_sp = M.cols() / in_shape[0];
    if (J.nonZeros() == 0) D.findings.push_back({"zero", "the kernel's output is identically zero", ndiff});
    {  // J = alpha M?
        double alpha = 0;
        bool scaled = J.nonZeros() > 0 && D.extra == 0 && D.missing == 0;
        merge_entries(J, M, [&](index_t, index_t, double a, double b, index_t) {
            if (!scaled || std::abs(b) <= atol) return;
            const double r = a / b;
            if (alpha == 0) alpha = r;
            else if (std::abs(r - alpha) > 1e-6 * std::abs(alpha)) scaled = false;
        });
        if (scaled && alpha != 0 && std::abs(alpha - 1) > 1e-6)
            D.findings.push_back({"scaled", "every entry is scaled by " + fmt(alpha) +
                                                " (a normalisation, or a weight scaled by mistake?)", 0});
    }
    {  // channel pairs the configuration does not connect
        const index_t G = spec.groups;
        const index_t cs_g = spec.conv_out_channels() / G, cb_g = spec.conv_in_channels() / G;
        std::set<std::pair<index_t, index_t>> pairs;
        for (const auto& d : D.diffs) {
            if (d.kind != EntryDiff::Kind::extra) continue;
            const index_t o = d.row / out_sp, c = d.col / in_sp;
            const index_t small = spec.transposed ? c : o, big = spec.transposed ? o : c;
            if (small / cs_g != big / cb_g) pairs.insert({o, c});
        }
        if (!pairs.empty()) {
            std::vector<std::string> items;
            for (const auto& p : pairs)
                items.push_back("out channel " + std::to_string(p.first) + " <- in channel " + std::to_string(p.second));
            D.findings.push_back({"cross_group", "the kernel connects channels of different groups (groups=" +
                                                     std::to_string(G) + "): " +
                                                     list_some(items, static_cast<index_t>(items.size()), opt.max_listed),
                                  ndiff});
        }
    }
    {  // differing outputs all on the border?
        std::vector<std::string> where;
        const Dims osp(out_shape.begin() + 1, out_shape.end());
        for (int j = 0; j < spec.rank(); ++j) {
            index_t inner = 1;
            for (int jj = j + 1; jj < spec.rank(); ++jj) inner *= osp[jj];
            bool lo = true, hi = true;
            for (index_t r : D.rows) {
                const index_t q = (r % out_sp) / inner % osp[j];
                lo &= q == 0;
                hi &= q == osp[j] - 1;
            }
            if (lo) where.push_back("the first position of spatial dimension " + std::to_string(j));
            if (hi) where.push_back("the last position of spatial dimension " + std::to_string(j));
        }
        if (!where.empty())
            D.findings.push_back({"border", "every differing output lies at " + list_some(where, static_cast<index_t>(where.size()), 6) +
                                                ": an edge/padding bug", ndiff});
    }

    // Readable lines.
    std::ostringstream os;
    os << "Jacobian vs " << (spec.transposed ? "T" : "W") << ": " << ndiff << " entries differ (" << D.missing
       << " missing, " << D.extra << " extra, " << D.wrong << " wrong weight; reference has " << M.nonZeros()
       << "), max |difference| " << fmt(D.max_err);
    D.lines.push_back(os.str());
    std::vector<std::string> items;
    for (size_t i = 0; i < D.rows.size() && static_cast<index_t>(i) < opt.max_listed; ++i)
        items.push_back("out" + format_index(out_shape, D.rows[i]));
    D.lines.push_back("wrong outputs (" + std::to_string(D.rows.size()) + " of " + std::to_string(M.rows()) +
                      "): " + list_some(items, static_cast<index_t>(D.rows.size()), opt.max_listed));
    auto list_cols = [&](const std::set<index_t>& set, const std::string& what) {
        if (set.empty()) return;
        std::vector<std::string> it;
        for (index_t c : set) {
            if (static_cast<index_t>(it.size()) >= opt.max_listed) break;
            it.push_back("in" + format_index(in_shape, c));
        }
        D.lines.push_back(what + " (" + std::to_string(set.size()) + "): " +
                          list_some(it, static_cast<index_t>(set.size()), opt.max_listed));
    };
    list_cols(cols_missing, "inputs with a missing or wrong-weight entry");
    list_cols(cols_extra, "inputs with extra entries, used where the configuration does not use them");
    if (!D.taps.empty()) {
        // Uses of each tap in M, to tell taps never applied from taps wrong at some positions only.
        std::map<index_t, index_t> uses;
        for (index_t t : taps)
            if (t >= 0) ++uses[t];
        std::vector<std::string> never, wrong_all, partly;
        index_t n_never = 0, n_wrong = 0, n_partly = 0;
        for (index_t t : D.taps) {
            const index_t u = uses[t], mi = tap_missing[t], wr = tap_wrong[t];
            const std::string name = "w" + format_index(w_shape, t);
            if (mi == u) {
                if (n_never++ < opt.max_listed) never.push_back(name);
            } else if (wr == u) {
                if (n_wrong++ < opt.max_listed) wrong_all.push_back(name);
            } else if (n_partly++ < opt.max_listed) {
                partly.push_back(name + " (" + std::to_string(mi + wr) + " of " + std::to_string(u) + " uses)");
            }
        }
        const std::string of = " of " + std::to_string(w.size()) + " taps";
        if (n_never)
            D.lines.push_back("taps missing at every position W uses them (" + std::to_string(n_never) + of + "): " +
                              list_some(never, n_never, opt.max_listed));
        if (n_wrong)
            D.lines.push_back("taps with a wrong weight at every position (" + std::to_string(n_wrong) + of + "): " +
                              list_some(wrong_all, n_wrong, opt.max_listed));
        if (n_partly)
            D.lines.push_back("taps missing or wrong at some of their positions (" + std::to_string(n_partly) + of + "): " +
                              list_some(partly, n_partly, opt.max_listed));
    }
    D.lines.push_back("first differing entries (out <- in: kernel value, expected value):");
    for (size_t i = 0; i < D.diffs.size() && static_cast<index_t>(i) < opt.max_listed; ++i) {
        const auto& d = D.diffs[i];
        std::string s = "  out" + format_index(out_shape, d.row) + " <- in" + format_index(in_shape, d.col) + ": ";
        switch (d.kind) {
            case EntryDiff::Kind::missing: s += "MISSING (kernel 0"; break;
            case EntryDiff::Kind::extra: s += "EXTRA (kernel " + fmt(d.actual) + where_w(d.actual); break;
            case EntryDiff::Kind::wrong_weight: s += "WRONG WEIGHT (kernel " + fmt(d.actual) + where_w(d.actual); break;
        }
        s += ", expected " + fmt(d.expected);
        if (d.tap >= 0) s += " = tap w" + format_index(w_shape, d.tap);
        if (d.kind == EntryDiff::Kind::extra && d.tap < 0) s += ": no tap reaches this pair";
        D.lines.push_back(s + ")");
    }
    return D;
}

DMatrix transpose_of(const DMatrix& A) {
    DMatrix T = A.transpose();
    T.makeCompressed();
    return T;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------

std::string format_index(const Shape& shape, index_t flat) {
    std::vector<index_t> idx(shape.size());
    for (int j = static_cast<int>(shape.size()) - 1; j >= 0; --j) {
        idx[static_cast<size_t>(j)] = flat % shape[static_cast<size_t>(j)];
        flat /= shape[static_cast<size_t>(j)];
    }
    std::string s = "[";
    for (size_t j = 0; j < idx.size(); ++j) s += (j ? ", " : "") + std::to_string(idx[j]);
    return s + "]";
}

std::string ProbeStats::str() const {
    std::ostringstream os;
    os << probes << " probes in " << calls << (calls == 1 ? " kernel call" : " kernel calls") << " (first coloring " << first_colors << " colors, "
       << levels << " level" << (levels == 1 ? "" : "s") << "), " << (verified ? "verified" : "NOT verified")
       << " on " << verify_samples << " random inputs (max row error " << fmt(verify_error) << ")";
    return os.str();
}

index_t probe_colors(const ConvSpec& spec, index_t margin, bool adjoint) {
    return plan_conv(spec, margin, adjoint).colors();
}

index_t probe_bound(const ConvSpec& spec, index_t margin, bool adjoint) {
    spec.validate();
    const bool big_to_small = spec.transposed == adjoint;
    const Dims big = spec.conv_input_size(), small = spec.conv_output_size();
    index_t b = big_to_small ? spec.conv_in_channels() : spec.conv_out_channels();
    for (int j = 0; j < spec.rank(); ++j) {
        const index_t reach = (spec.kernel_size[j] - 1) * spec.dilation[j];
        const index_t P = big_to_small ? std::min(big[j], reach + 2 * margin + 1)
                                       : std::min(small[j], (reach + 2 * margin) / spec.stride[j] + 1);
        b *= P;
    }
    return b;
}

template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ProbeOptions& options) {
    return probe<Scalar>(op_fn(op), op.data_size(), op.model_size(), options, {});
}

template <class Scalar>
Materialized<Scalar> to_sparse(const LinearOperator<Scalar>& op, const ConvSpec& hint, const ProbeOptions& options,
                               bool adjoint) {
    return probe_conv<Scalar>(op_fn(op), op.data_size(), op.model_size(), hint, options, adjoint);
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
    std::vector<std::function<Coloring(const std::vector<char>&)>> levels = {
        [&](const std::vector<char>& todo) { return pattern_coloring(hint, todo); }};
    return probe<Scalar>(op_fn(op), op.data_size(), op.model_size(), options, levels);
}

template <class Scalar>
KernelReport check_kernel(const ConvSpec& spec, span<const Scalar> weight, const KernelFn<Scalar>& forward,
                          const KernelFn<Scalar>& adjoint, const CheckOptions& options) {
    spec.validate();
    if (!forward) throw config_error("check_kernel: no forward kernel was given");
    KernelReport R;
    R.spec = spec.describe();
    const index_t in = spec.input_numel(), out = spec.output_numel();
    R.rows = out;
    R.cols = in;
    check_size(weight, spec.weight_numel(), "check_kernel: weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    std::vector<double> w(weight.begin(), weight.end());
    double wmax = 0;
    for (double v : w) wmax = std::max(wmax, std::abs(v));
    const double rtol = options.rtol > 0 ? options.rtol : 1000 * eps_of<Scalar>();
    const double atol = rtol * std::max(1.0, wmax);
    const double vtol = options.probe.rtol > 0 ? options.probe.rtol : 1000 * eps_of<Scalar>();

    auto checked = [&](const KernelFn<Scalar>& f, index_t rows, const char* which) {
        return [&f, rows, which](const Eigen::Ref<const Batch<Scalar>>& x) {
            Batch<Scalar> y = f(x);
            if (y.rows() != rows || y.cols() != x.cols())
                throw shape_error(std::string(which) + " kernel returned " + std::to_string(y.rows()) + "x" +
                                  std::to_string(y.cols()) + " values for " + std::to_string(x.cols()) +
                                  " samples; expected " + std::to_string(rows) + " values per sample");
            return y;
        };
    };
    const KernelFn<Scalar> fwd = checked(forward, out, "forward");

    // kernel(0): an affine kernel (bias) is reported and its offset removed before probing.
    const Batch<Scalar> zero_out = fwd(Batch<Scalar>::Zero(in, 1));
    R.zero_response = static_cast<double>(zero_out.cwiseAbs().maxCoeff());
    const bool affine = R.zero_response > atol;
    KernelFn<Scalar> lin = fwd;
    if (affine)
        lin = [&fwd, zero_out](const Eigen::Ref<const Batch<Scalar>>& x) {
            Batch<Scalar> y = fwd(x);
            y.colwise() -= zero_out.col(0);
            return y;
        };

    const auto M = operator_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, weight);
    const std::vector<index_t> taps = tap_map(spec, spec.transposed);
    const DMatrix Md = M.template cast<double>();

    {  // random inputs
        std::mt19937_64 rng(options.probe.seed ^ 0x5bd1e995ULL);
        std::normal_distribution<double> normal;
        Batch<Scalar> X(in, std::max(1, options.random_inputs));
        for (index_t i = 0; i < X.size(); ++i) X.data()[i] = static_cast<Scalar>(normal(rng));
        R.random_error = Prober<Scalar>::row_error(M, X, lin(X));
    }
    const Materialized<Scalar> J = probe_conv<Scalar>(lin, out, in, spec, options.probe, false);
    R.probe = J.stats;
    const DMatrix Jd = J.matrix.template cast<double>();
    R.nnz_reference = M.nonZeros();
    R.nnz_kernel = Jd.nonZeros();
    Diagnosis D = diagnose(spec, w, Jd, Md, taps, atol, options);
    R.missing = D.missing;
    R.extra = D.extra;
    R.wrong_weight = D.wrong;
    R.max_entry_error = D.max_err;
    R.diffs = std::move(D.diffs);
    R.wrong_rows = std::move(D.rows);
    R.wrong_cols = std::move(D.cols);
    R.wrong_taps = std::move(D.taps);
    R.findings = std::move(D.findings);
    R.lines = std::move(D.lines);
    if (affine)
        R.findings.insert(R.findings.begin(),
                          BugFinding{"affine",
                                     "kernel(0) is not zero (max |kernel(0)| = " + fmt(R.zero_response) +
                                         "): the kernel adds a bias or is not linear; the Jacobian was taken of "
                                         "kernel(x) - kernel(0)",
                                     0});
    if (!R.probe.verified)
        R.findings.push_back({"nonlinear",
                              "the recovered Jacobian does not reproduce the kernel on random inputs even with unit "
                              "probes (max row error " + fmt(R.probe.verify_error) +
                                  "): the kernel is not linear or not deterministic",
                              0});
    R.passed = !affine && R.probe.verified && R.diffs.empty() && R.random_error <= vtol;

    if (adjoint) {
        R.has_adjoint = true;
        const KernelFn<Scalar> adj = checked(adjoint, in, "adjoint");
        using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
        R.dot = dot_test<Scalar>(
            in, out, [&](const Vec& x) { return Vec(lin(x)); }, [&](const Vec& y) { return Vec(adj(y)); }, 5, 0,
            options.probe.seed);
        const Materialized<Scalar> Ja = probe_conv<Scalar>(adj, in, out, spec, options.probe, true);
        R.probe.probes += Ja.stats.probes;
        R.probe.calls += Ja.stats.calls;
        R.probe.verify_samples += Ja.stats.verify_samples;
        const DMatrix JaT = transpose_of(Ja.matrix.template cast<double>());
        CheckOptions o2 = options;
        Diagnosis A = diagnose(spec, w, JaT, Md, taps, atol, o2);
        R.adjoint_mismatches = A.missing + A.extra + A.wrong;
        R.adjoint_passed = R.adjoint_mismatches == 0 && Ja.stats.verified && R.dot.passed;
        R.adjoint_lines.push_back(R.dot.str());
        R.adjoint_lines.push_back("adjoint Jacobian: " + Ja.stats.str());
        if (R.adjoint_mismatches == 0) {
            R.adjoint_lines.push_back("the adjoint's Jacobian equals " + std::string(spec.transposed ? "T" : "W") +
                                      "^T exactly");
        } else {
            R.adjoint_lines.push_back("the adjoint's Jacobian, transposed, differs from " +
                                      std::string(spec.transposed ? "T" : "W") + ":");
            for (const auto& f : A.findings) R.adjoint_lines.push_back("  diagnosis: " + f.message);
            for (const auto& l : A.lines) R.adjoint_lines.push_back("  " + l);
        }
        R.passed = R.passed && R.adjoint_passed;
    }
    return R;
}

std::string KernelReport::str() const {
    std::ostringstream os;
    os << "check_kernel " << (passed ? "PASSED" : "FAILED") << ": " << spec << "\n";
    os << "  random inputs: max row error |kernel(x) - M x| / (|M||x| + |kernel(x)|) = " << fmt(random_error) << "\n";
    os << "  Jacobian: " << probe.str() << "\n";
    if (diffs.empty() && missing + extra + wrong_weight == 0) {
        os << "  the kernel's Jacobian equals " << (spec.rfind("conv_transpose", 0) == 0 ? "T" : "W")
           << " entry by entry (" << nnz_reference << " entries)\n";
    }
    for (const auto& f : findings)
        os << "  diagnosis: " << f.message
           << (f.remaining == 0 || f.name == "border" || f.name == "cross_group" || f.name == "zero"
                   ? ""
                   : " (closest explanation; " + std::to_string(f.remaining) + " entries still differ)")
           << "\n";
    for (const auto& l : lines) os << "  " << l << "\n";
    for (const auto& l : adjoint_lines) os << "  adjoint: " << l << "\n";
    std::string s = os.str();
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

#define CONVMTX_VALIDATE_INST(S)                                                                                     \
    template Materialized<S> to_sparse<S>(const LinearOperator<S>&, const ProbeOptions&);                           \
    template Materialized<S> to_sparse<S>(const LinearOperator<S>&, const ConvSpec&, const ProbeOptions&, bool);    \
    template Materialized<S> to_sparse<S>(const LinearOperator<S>&, const SparsityPattern<std::int64_t>&,           \
                                          const ProbeOptions&);                                                      \
    template KernelReport check_kernel<S>(const ConvSpec&, span<const S>, const KernelFn<S>&, const KernelFn<S>&, \
                                          const CheckOptions&);
CONVMTX_VALIDATE_INST(float)
CONVMTX_VALIDATE_INST(double)
#undef CONVMTX_VALIDATE_INST

}  // namespace convmtx
