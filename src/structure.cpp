#include "convmtx/structure.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "convmtx/detail/builder_impl.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/terms.hpp"

namespace convmtx {

namespace {

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

std::string dims_x(const Dims& v) { return to_string(v, "x"); }

/// |a - e| <= tol, false whenever either is NaN or infinite (a non-finite entry never agrees).
bool agrees(double a, double e, double tol) { return std::isfinite(a) && std::isfinite(e) && std::abs(a - e) <= tol; }

}  // namespace

std::string describe_structure(const ConvSpec& spec, bool T) {
    const ConvGeometry G(spec);
    const int r = G.rank();
    const Dims n = G.conv_input_size(), m = G.conv_output_size();
    Dims k, s, d;
    for (int j = 0; j < r; ++j) {
        k.push_back(G.dim(j).kernel_size);
        s.push_back(G.dim(j).stride);
        d.push_back(G.dim(j).dilation);
    }
    std::ostringstream os;
    const std::string M = T ? "T" : "W";
    const index_t rows = G.rows(), cols = G.cols();
    const index_t mvol = G.output_volume(), nvol = G.input_volume();
    os << (T ? "T = W^T is " + std::to_string(cols) + " x " + std::to_string(rows)
             : "W is " + std::to_string(rows) + " x " + std::to_string(cols))
       << ": W's rows are the conv's output, " << G.conv_out_channels() << " channel(s) x (" << dims_x(m)
       << ") positions; its columns the conv's input, " << G.conv_in_channels() << " channel(s) x (" << dims_x(n)
       << ") positions\n";
    const index_t nonzero_blocks = G.conv_out_channels() * G.in_per_group();
    os << nonzero_blocks << " block(s) (" << G.groups() << " group(s) x " << G.out_per_group() << " out x "
       << G.in_per_group() << " in) of "
       << (T ? std::to_string(nvol) + " x " + std::to_string(mvol) : std::to_string(mvol) + " x " + std::to_string(nvol));
    if (G.groups() > 1)
        os << " on the block diagonal of the groups; the other "
           << G.conv_out_channels() * G.conv_in_channels() - nonzero_blocks << " blocks are zero";
    os << "\n";
    static const char* names[] = {"", "Toeplitz", "doubly block Toeplitz", "triply block Toeplitz"};
    bool unit = true;
    for (auto v : s) unit &= v == 1;
    const bool circulant = spec.padding_mode == PaddingMode::circular && unit && m == n;
    std::string qs, is;
    for (int j = 0; j < r; ++j) {
        qs += (j ? "," : "") + std::string("q") + std::to_string(j);
        is += (j ? "," : "") + std::string("i") + std::to_string(j);
    }
    auto wrap = [&](const std::string& a, const std::string& b) {
        if (T) return M + "[(" + b + "),(" + a + ")]";
        return M + "[(" + a + "),(" + b + ")]";
    };
    std::string relation = wrap(qs, is);
    for (int j = 0; j < r; ++j) {
        std::string q2, i2;
        for (int l = 0; l < r; ++l) {
            q2 += (l ? "," : "") + std::string("q") + std::to_string(l) + (l == j ? "+1" : "");
            i2 += (l ? "," : "") + std::string("i") + std::to_string(l) + (l == j ? "+" + std::to_string(s[j]) : "");
        }
        relation += " = " + wrap(q2, i2);
    }
    os << "each block is ";
    if (circulant) os << (r == 1 ? "circulant" : "block circulant (" + std::string(names[r]) + " with wrap-around)");
    else if (unit) os << names[r] << " (stride 1): an entry depends only on i - q";
    else os << "strided " << names[r] << " (stride " << dims_x(s) << ")";
    os << ": " << relation << "\n";
    os << "each row of W holds up to " << G.kernel_volume() * G.in_per_group() << " entries (" << dims_x(k) << " taps";
    bool dil = false;
    for (auto v : d) dil |= v != 1;
    if (dil) os << " spaced by dilation " << dims_x(d);
    os << " x " << G.in_per_group() << " input channel(s)); entry (q, i) holds tap t where i = q*s - pl + t*d";
    if (circulant)
        os << ";\nwith circular padding the relation holds in every row, indices taken modulo the input size";
    else if (spec.padding_mode != PaddingMode::zeros)
        os << ";\nrows near the borders fold taps by " << to_string(spec.padding_mode)
           << " padding: there several taps add into one entry and the relation holds in the interior only";
    os << "\n";
    return os.str();
}

StructureReport check_structure(const ConvSpec& spec, const CsrMatrix& Min, bool T, span<const double> weight,
                                double rtol) {
    const ConvGeometry G(spec);
    StructureReport rep;
    rep.description = describe_structure(spec, T);
    const index_t rows = G.rows(), cols = G.cols();
    const std::string name = T ? "T" : "W";
    {
        const index_t er = T ? cols : rows, ec = T ? rows : cols;
        if (Min.rows() != er || Min.cols() != ec) {
            rep.violation = "the matrix is " + std::to_string(Min.rows()) + " x " + std::to_string(Min.cols()) +
                            " but the configuration's " + name + " is " + std::to_string(er) + " x " + std::to_string(ec);
            return rep;
        }
    }
    const index_t nw = spec.weight_numel();
    if (!weight.empty()) check_size(weight, nw, "check_structure: weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    CsrMatrix Wt;
    if (T) Wt = Min.transpose();
    const CsrMatrix& W = T ? Wt : Min;

    Shape rshape = G.conv_output_shape(), cshape = G.conv_input_shape();
    auto entry_text = [&](index_t row, index_t col) {
        const std::string a = T ? std::to_string(col) : std::to_string(row), b = T ? std::to_string(row) : std::to_string(col);
        return name + "[" + a + ", " + b + "] (conv output " + index_text("", unravel_index(row, rshape)) +
               ", conv input " + index_text("", unravel_index(col, cshape)) + ")";
    };
    auto weight_text = [&](index_t wf) { return index_text("w", unravel_index(wf, spec.weight_shape())); };

    // 0. A NaN or infinite entry fails at once: no structure holds it.
    for (index_t row = 0; row < W.outerSize(); ++row)
        for (CsrMatrix::InnerIterator it(W, row); it; ++it)
            if (!std::isfinite(it.value())) {
                rep.violation = entry_text(row, it.col()) + " = " + fmt(it.value()) + " is not a finite number";
                rep.violation_row = T ? it.col() : row;
                rep.violation_col = T ? row : it.col();
                rep.actual = it.value();
                return rep;
            }

    auto lookup = [&](index_t row, index_t col) {
        const auto* inner = W.innerIndexPtr();
        const auto b = W.outerIndexPtr()[row], e = W.outerIndexPtr()[row + 1];
        const auto* it = std::lower_bound(inner + b, inner + e, col);
        return (it != inner + e && *it == col) ? W.valuePtr()[it - inner] : 0.0;
    };

    // 1. Infer the tap values from the entries a single tap makes.
    std::vector<std::vector<double>> obs(static_cast<size_t>(nw));
    for (index_t row = 0; row < rows; ++row)
        detail::visit_line_taps(G, true, row, [&](index_t col, bool single, index_t tap, const detail::EntryTaps&) {
            if (!single) return;
            auto& o = obs[static_cast<size_t>(tap)];
            if (o.size() < 1001) o.push_back(lookup(row, col));  // enough for the diagonal's value; all are compared below
        });
    std::vector<double> v(static_cast<size_t>(nw), 0.0);
    std::vector<char> known(static_cast<size_t>(nw), 0);
    double vmax = 0;
    for (index_t w = 0; w < nw; ++w) {
        auto& o = obs[static_cast<size_t>(w)];
        if (o.empty()) {
            if (!weight.empty()) v[static_cast<size_t>(w)] = weight[static_cast<size_t>(w)], known[static_cast<size_t>(w)] = 1;
            continue;
        }
        std::sort(o.begin(), o.end());
        size_t best = 0, best_len = 0;
        for (size_t a = 0; a < o.size();) {
            size_t b = a;
            while (b < o.size() && o[b] == o[a]) ++b;
            const bool prefer = !weight.empty() && o[a] == weight[static_cast<size_t>(w)];
            if (b - a > best_len || (b - a == best_len && prefer)) best = a, best_len = b - a;
            a = b;
        }
        v[static_cast<size_t>(w)] = o[best];
        known[static_cast<size_t>(w)] = 1;
        vmax = std::max(vmax, std::abs(o[best]));
        std::vector<double>().swap(o);
    }
    const double tol = rtol * (vmax > 0 ? vmax : 1.0);

    // 2. Compare every stored and every expected entry with the matrix the tap values `vals` give.
    struct Outcome {
        bool ok = true, determined = true;
        std::string text;
        index_t row = -1, col = -1, checked = 0;
        double expected = 0, actual = 0;
    };
    struct Expected {
        index_t col;
        double value;
        index_t tap;  // -1: folded
        index_t ntaps;
        bool known;
    };
    auto compare = [&](const std::vector<double>& vals, const std::vector<char>& have, double tolerance,
                       const std::string& source) {
        Outcome out;
        std::vector<Expected> expect;
        for (index_t row = 0; row < rows && out.ok; ++row) {
            expect.clear();
            detail::visit_line_taps(G, true, row, [&](index_t col, bool single, index_t tap, const detail::EntryTaps& et) {
                Expected e{col, 0.0, single ? tap : index_t(-1), 0, true};
                et.for_each([&](index_t t) {
                    e.value += vals[static_cast<size_t>(t)];
                    e.known &= have[static_cast<size_t>(t)] != 0;
                    ++e.ntaps;
                });
                expect.push_back(e);
            });
            const auto* inner = W.innerIndexPtr();
            const auto* val = W.valuePtr();
            auto k = W.outerIndexPtr()[row];
            const auto end = W.outerIndexPtr()[row + 1];
            size_t x = 0;
            auto fail = [&](index_t col, double expected, double actual, const std::string& why) {
                out.ok = false;
                out.row = T ? col : row;
                out.col = T ? row : col;
                out.expected = expected;
                out.actual = actual;
                out.text = entry_text(row, col) + " " + why;
            };
            while (k < end || x < expect.size()) {
                const index_t ac = k < end ? static_cast<index_t>(inner[k]) : std::numeric_limits<index_t>::max();
                const index_t ec = x < expect.size() ? expect[x].col : std::numeric_limits<index_t>::max();
                ++out.checked;
                if (ac < ec) {
                    if (!agrees(val[k], 0.0, tolerance)) {
                        fail(ac, 0, val[k], "= " + fmt(val[k]) + " lies outside the band: no tap of the configuration reaches it");
                        break;
                    }
                    ++k;
                    continue;
                }
                const Expected& e = expect[x];
                const double av = ac == ec ? val[k] : 0.0;
                if (!e.known) {
                    out.determined = false;
                } else if (!agrees(av, e.value, tolerance)) {
                    const std::string src = e.ntaps > 1 ? "the sum of " + std::to_string(e.ntaps) + " folded taps"
                                                        : "tap " + weight_text(e.tap) + source;
                    fail(e.col, e.value, av,
                         (ac == ec ? "= " + fmt(av) : std::string("is not stored")) + " but " +
                             (source.empty() ? "the weights give " : "the structure gives ") + fmt(e.value) + " (" + src + ")");
                    break;
                }
                if (ac == ec) ++k;
                ++x;
            }
        }
        return out;
    };
    const Outcome a = compare(v, known, tol, ", the value on this diagonal elsewhere");
    rep.ok = a.ok;
    rep.determined = a.determined;
    rep.violation = a.text;
    rep.violation_row = a.row;
    rep.violation_col = a.col;
    rep.expected = a.expected;
    rep.actual = a.actual;
    rep.checked_entries = a.checked;
    // 3. Against the weights: the tap values, then the matrix they build, entry by entry.
    if (!weight.empty()) {
        rep.weights_checked = true;
        double wmax = 0;
        for (double x : weight)
            if (std::isfinite(x)) wmax = std::max(wmax, std::abs(x));
        const double wtol = rtol * (wmax > 0 ? wmax : 1.0);
        std::string tap_note;
        for (index_t w = 0; w < nw && tap_note.empty(); ++w) {
            const double x = v[static_cast<size_t>(w)], y = weight[static_cast<size_t>(w)];
            if (!std::isfinite(y))
                tap_note = "; tap " + weight_text(w) + " of the weights is " + fmt(y) + ", not a finite number";
            else if (known[static_cast<size_t>(w)] && !agrees(x, y, wtol))
                tap_note = "; tap " + weight_text(w) + ": the matrix's diagonal has " + fmt(x) + ", the weights " + fmt(y);
        }
        const Outcome b = compare(std::vector<double>(weight.begin(), weight.end()),
                                  std::vector<char>(static_cast<size_t>(nw), 1), wtol, "");
        rep.weights_ok = b.ok && tap_note.empty();
        if (!b.ok) {
            rep.weight_violation = b.text + tap_note;
            rep.weight_violation_row = b.row;
            rep.weight_violation_col = b.col;
        } else if (!tap_note.empty()) {
            rep.weight_violation = tap_note.substr(2);
        }
    }
    return rep;
}

}  // namespace convmtx
