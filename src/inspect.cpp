// Statistics, structure check, explain terms and overlap counts (see inspect.hpp).
// The index arithmetic here is written independently of the builder (src/builder.cpp,
// detail/*), so that check_structure is a test of the builder and not a copy of it.
#include "convmtx/inspect.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace convmtx {

namespace {

struct Geo {
    int r = 1;
    Dims n, m, k, s, d, pl;
    index_t Cb = 1, Cs = 1, G = 1, cb_g = 1, cs_g = 1, nvol = 1, mvol = 1, kvol = 1;
    PaddingMode mode = PaddingMode::zeros;
};

Geo geo_of(const ConvSpec& spec) {
    spec.validate();
    Geo g;
    g.r = spec.rank();
    g.n = spec.big_spatial();
    g.m = spec.small_spatial();
    g.k = spec.kernel;
    g.s = spec.stride;
    g.d = spec.dilation;
    g.pl = spec.pad_lo;
    g.Cb = spec.big_channels();
    g.Cs = spec.small_channels();
    g.G = spec.groups;
    g.cb_g = g.Cb / g.G;
    g.cs_g = g.Cs / g.G;
    g.mode = spec.padding_mode;
    for (int j = 0; j < g.r; ++j) {
        g.nvol *= g.n[j];
        g.mvol *= g.m[j];
        g.kvol *= g.k[j];
    }
    return g;
}

/// The input index a padded position p reads (-1: a zero of zeros padding).
index_t fold(index_t p, index_t n, PaddingMode mode) {
    if (p >= 0 && p < n) return p;
    switch (mode) {
        case PaddingMode::zeros: return -1;
        case PaddingMode::circular: return ((p % n) + n) % n;
        case PaddingMode::replicate: return p < 0 ? 0 : n - 1;
        case PaddingMode::reflect:
            if (n == 1) return 0;
            while (p < 0 || p >= n) p = p < 0 ? -p : 2 * (n - 1) - p;
            return p;
    }
    return -1;
}

// One dimension's share of a term: small position q, tap t, padded position p, big position i.
struct Hit {
    index_t q, t, p, i;
    bool folded;
};

/// Taps of small position q along dimension j (zeros padding drops positions outside [0, n)).
std::vector<Hit> hits_from_small(const Geo& g, int j, index_t q) {
    std::vector<Hit> out;
    for (index_t t = 0; t < g.k[j]; ++t) {
        const index_t p = q * g.s[j] - g.pl[j] + t * g.d[j];
        const index_t i = fold(p, g.n[j], g.mode);
        if (i >= 0) out.push_back({q, t, p, i, p != i});
    }
    return out;
}

/// (q, t) pairs whose padded position folds onto big position i along dimension j.
std::vector<Hit> hits_to_big(const Geo& g, int j, index_t i) {
    std::vector<Hit> out;
    if (g.mode == PaddingMode::zeros) {
        for (index_t t = 0; t < g.k[j]; ++t) {
            const index_t x = i + g.pl[j] - t * g.d[j];
            if (x < 0 || x % g.s[j] != 0 || x / g.s[j] >= g.m[j]) continue;
            out.push_back({x / g.s[j], t, i, i, false});
        }
        std::sort(out.begin(), out.end(), [](const Hit& a, const Hit& b) { return a.q != b.q ? a.q < b.q : a.t < b.t; });
        return out;
    }
    for (index_t q = 0; q < g.m[j]; ++q)
        for (const Hit& h : hits_from_small(g, j, q))
            if (h.i == i) out.push_back(h);
    return out;
}

/// Calls f(choice) for every element of the Cartesian product of lists (C order).
template <class F>
void for_product(const std::vector<std::vector<Hit>>& lists, F&& f) {
    for (const auto& l : lists)
        if (l.empty()) return;
    std::vector<size_t> idx(lists.size(), 0);
    std::vector<const Hit*> cur(lists.size());
    for (;;) {
        for (size_t j = 0; j < lists.size(); ++j) cur[j] = &lists[j][idx[j]];
        f(cur);
        size_t j = lists.size();
        while (j > 0) {
            --j;
            if (++idx[j] < lists[j].size()) break;
            idx[j] = 0;
            if (j == 0) return;
        }
        if (lists.empty()) return;
    }
}

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

std::string join(const Dims& v, const char* sep = ",") {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
    return s;
}

std::string dims_x(const Dims& v) { return join(v, "x"); }

}  // namespace

// ---------------- statistics ----------------

MatrixStats matrix_stats(const CsrMatrix& M) {
    MatrixStats st;
    st.rows = M.rows();
    st.cols = M.cols();
    st.nnz = M.nonZeros();
    st.density = st.rows && st.cols ? static_cast<double>(st.nnz) / (static_cast<double>(st.rows) * st.cols) : 0;
    st.row_min = std::numeric_limits<index_t>::max();
    std::vector<double> values;
    values.reserve(static_cast<size_t>(st.nnz));
    for (index_t r = 0; r < M.rows(); ++r) {
        index_t cnt = 0;
        for (CsrMatrix::InnerIterator it(M, r); it; ++it) {
            ++cnt;
            st.lower_bandwidth = std::max(st.lower_bandwidth, r - static_cast<index_t>(it.col()));
            st.upper_bandwidth = std::max(st.upper_bandwidth, static_cast<index_t>(it.col()) - r);
            values.push_back(it.value());
            if (it.value() == 0) ++st.explicit_zeros;
        }
        st.row_min = std::min(st.row_min, cnt);
        st.row_max = std::max(st.row_max, cnt);
        if (cnt == 0) ++st.empty_rows;
    }
    if (st.rows == 0) st.row_min = 0;
    st.row_mean = st.rows ? static_cast<double>(st.nnz) / st.rows : 0;
    std::sort(values.begin(), values.end());
    st.distinct_values = static_cast<index_t>(std::unique(values.begin(), values.end()) - values.begin());
    const auto R = static_cast<std::uint64_t>(st.rows + 1), N = static_cast<std::uint64_t>(st.nnz);
    st.csr_bytes_int32 = R * 4 + N * (4 + 8);
    st.csr_bytes_int64 = R * 8 + N * (8 + 8);
    return st;
}

// ---------------- structure ----------------

std::string describe_structure(const ConvSpec& spec, bool T) {
    const Geo g = geo_of(spec);
    std::ostringstream os;
    const std::string M = T ? "T" : "W";
    const index_t rows = g.Cs * g.mvol, cols = g.Cb * g.nvol;
    os << (T ? "T = W^T is " + std::to_string(cols) + " x " + std::to_string(rows)
             : "W is " + std::to_string(rows) + " x " + std::to_string(cols))
       << ": W's rows are " << g.Cs << " channel(s) x (" << dims_x(g.m) << ") positions, its columns " << g.Cb
       << " channel(s) x (" << dims_x(g.n) << ") positions\n";
    const index_t nonzero_blocks = g.Cs * g.cb_g;
    os << nonzero_blocks << " block(s) (" << g.G << " group(s) x " << g.cs_g << " out x " << g.cb_g << " in) of "
       << (T ? std::to_string(g.nvol) + " x " + std::to_string(g.mvol) : std::to_string(g.mvol) + " x " + std::to_string(g.nvol));
    if (g.G > 1) os << " on the block diagonal of the groups; the other " << g.Cs * g.Cb - nonzero_blocks << " blocks are zero";
    os << "\n";
    static const char* names[] = {"", "Toeplitz", "doubly block Toeplitz", "triply block Toeplitz"};
    bool unit = true;
    for (auto v : g.s) unit &= v == 1;
    const bool circulant = g.mode == PaddingMode::circular && unit && g.m == g.n;
    std::string qs, is;
    for (int j = 0; j < g.r; ++j) {
        qs += (j ? "," : "") + std::string("q") + std::to_string(j);
        is += (j ? "," : "") + std::string("i") + std::to_string(j);
    }
    auto wrap = [&](const std::string& a, const std::string& b) {
        if (T) return M + "[(" + b + "),(" + a + ")]";
        return M + "[(" + a + "),(" + b + ")]";
    };
    std::string relation = wrap(qs, is);
    for (int j = 0; j < g.r; ++j) {
        std::string q2, i2;
        for (int l = 0; l < g.r; ++l) {
            q2 += (l ? "," : "") + std::string("q") + std::to_string(l) + (l == j ? "+1" : "");
            i2 += (l ? "," : "") + std::string("i") + std::to_string(l) +
                  (l == j ? "+" + std::to_string(g.s[j]) : "");
        }
        relation += " = " + wrap(q2, i2);
    }
    os << "each block is ";
    if (circulant) os << (g.r == 1 ? "circulant" : "block circulant (" + std::string(names[g.r]) + " with wrap-around)");
    else if (unit) os << names[g.r] << " (stride 1): an entry depends only on i - q";
    else os << "strided " << names[g.r] << " (stride " << dims_x(g.s) << ")";
    os << ": " << relation << "\n";
    os << "each row of W holds up to " << g.kvol * g.cb_g << " entries (" << dims_x(g.k) << " taps";
    bool dil = false;
    for (auto v : g.d) dil |= v != 1;
    if (dil) os << " spaced by dilation " << dims_x(g.d);
    os << " x " << g.cb_g << " input channel(s)); entry (q, i) holds tap t where i = q*s - pl + t*d";
    if (g.mode != PaddingMode::zeros)
        os << ";\nrows near the borders fold taps by " << to_string(g.mode)
           << " padding: there several taps add into one entry and the relation holds in the interior only";
    os << "\n";
    return os.str();
}

StructureReport check_structure(const ConvSpec& spec, const CsrMatrix& Min, bool T, const double* weight, double rtol) {
    const Geo g = geo_of(spec);
    StructureReport rep;
    rep.description = describe_structure(spec, T);
    const index_t rows = g.Cs * g.mvol, cols = g.Cb * g.nvol;
    const std::string name = T ? "T" : "W";
    {
        const index_t er = T ? cols : rows, ec = T ? rows : cols;
        if (Min.rows() != er || Min.cols() != ec) {
            rep.violation = "the matrix is " + std::to_string(Min.rows()) + " x " + std::to_string(Min.cols()) +
                            " but the configuration's " + name + " is " + std::to_string(er) + " x " + std::to_string(ec);
            return rep;
        }
    }
    CsrMatrix Wt;
    if (T) Wt = Min.transpose();
    const CsrMatrix& W = T ? Wt : Min;
    const index_t nw = g.Cs * g.cb_g * g.kvol;

    auto lookup = [&](index_t row, index_t col, bool* present) {
        const auto* inner = W.innerIndexPtr();
        const auto b = W.outerIndexPtr()[row], e = W.outerIndexPtr()[row + 1];
        const auto* it = std::lower_bound(inner + b, inner + e, col);
        if (it != inner + e && *it == col) {
            *present = true;
            return W.valuePtr()[it - inner];
        }
        *present = false;
        return 0.0;
    };
    // Visits every (row, col, weight index, folded?) term of W, row by row.
    auto visit_rows = [&](const std::function<void(index_t row, bool clean, const std::vector<std::pair<index_t, index_t>>&)>& f) {
        std::vector<index_t> q(static_cast<size_t>(g.r), 0);
        std::vector<std::pair<index_t, index_t>> terms;  // (col, weight flat)
        std::vector<std::vector<Hit>> lists(static_cast<size_t>(g.r));
        for (index_t qf = 0; qf < g.mvol; ++qf) {
            bool clean = true;
            for (int j = 0; j < g.r; ++j) {
                lists[j] = hits_from_small(g, j, q[j]);
                if (g.mode != PaddingMode::zeros)
                    clean &= q[j] * g.s[j] - g.pl[j] >= 0 && q[j] * g.s[j] - g.pl[j] + (g.k[j] - 1) * g.d[j] < g.n[j];
            }
            for (index_t o = 0; o < g.Cs; ++o) {
                const index_t grp = o / g.cs_g;
                terms.clear();
                for (index_t cp = 0; cp < g.cb_g; ++cp) {
                    const index_t c = grp * g.cb_g + cp;
                    for_product(lists, [&](const std::vector<const Hit*>& h) {
                        index_t col = c, tf = 0;
                        for (int j = 0; j < g.r; ++j) {
                            col = col * g.n[j] + h[j]->i;
                            tf = tf * g.k[j] + h[j]->t;
                        }
                        terms.emplace_back(col, (o * g.cb_g + cp) * g.kvol + tf);
                    });
                }
                f(o * g.mvol + qf, clean, terms);
            }
            for (int j = g.r - 1; j >= 0; --j) {
                if (++q[j] < g.m[j]) break;
                q[j] = 0;
            }
        }
    };

    // 1. Infer the tap values from the rows without folded taps.
    std::vector<std::vector<double>> obs(static_cast<size_t>(nw));
    visit_rows([&](index_t row, bool clean, const std::vector<std::pair<index_t, index_t>>& terms) {
        if (!clean) return;
        for (const auto& [col, wf] : terms) {
            auto& o = obs[static_cast<size_t>(wf)];
            if (o.size() >= 1001) continue;  // enough to find the diagonal's value; every entry is compared below
            bool present;
            o.push_back(lookup(row, col, &present));
        }
    });
    std::vector<double> v(static_cast<size_t>(nw), std::nan(""));
    double vmax = 0;
    for (index_t w = 0; w < nw; ++w) {
        auto& o = obs[static_cast<size_t>(w)];
        if (o.empty()) {
            if (weight) v[static_cast<size_t>(w)] = weight[w];
            continue;
        }
        std::sort(o.begin(), o.end());
        size_t best = 0, best_len = 0;
        for (size_t a = 0; a < o.size();) {
            size_t b = a;
            while (b < o.size() && o[b] == o[a]) ++b;
            const bool prefer = weight && o[a] == weight[w];
            if (b - a > best_len || (b - a == best_len && prefer)) best = a, best_len = b - a;
            a = b;
        }
        v[static_cast<size_t>(w)] = o[best];
        std::vector<double>().swap(o);
    }
    for (double x : v)
        if (!std::isnan(x)) vmax = std::max(vmax, std::abs(x));
    const double tol = rtol * (vmax > 0 ? vmax : 1.0);

    auto weight_text = [&](index_t wf) {
        Shape shape = spec.weight_shape();
        return index_text("w", unravel_index(wf, shape));
    };
    auto entry_text = [&](index_t row, index_t col) {
        Shape rshape = {g.Cs}, cshape = {g.Cb};
        rshape.insert(rshape.end(), g.m.begin(), g.m.end());
        cshape.insert(cshape.end(), g.n.begin(), g.n.end());
        const Shape ri = unravel_index(row, rshape), ci = unravel_index(col, cshape);
        std::string a = T ? std::to_string(col) : std::to_string(row), b = T ? std::to_string(row) : std::to_string(col);
        return name + "[" + a + ", " + b + "] (small side " + index_text("", ri) + ", big side " + index_text("", ci) + ")";
    };

    // 2. Compare every stored and every expected entry with the matrix the tap values `vals` give.
    struct Outcome {
        bool ok = true, determined = true;
        std::string text;
        index_t row = -1, col = -1, checked = 0;
        double expected = 0, actual = 0;
    };
    auto compare = [&](const std::vector<double>& vals, double tolerance, const std::string& source) {
        Outcome out;
        std::vector<std::tuple<index_t, double, index_t, int>> expect;  // col, value, a tap, number of taps
        visit_rows([&](index_t row, bool, const std::vector<std::pair<index_t, index_t>>& terms) {
            if (!out.ok) return;
            expect.clear();
            for (const auto& [col, wf] : terms) expect.emplace_back(col, vals[static_cast<size_t>(wf)], wf, 1);
            std::sort(expect.begin(), expect.end());
            size_t w = 0;
            for (size_t a = 0; a < expect.size(); ++a) {
                if (w > 0 && std::get<0>(expect[w - 1]) == std::get<0>(expect[a])) {
                    std::get<1>(expect[w - 1]) += std::get<1>(expect[a]);
                    std::get<3>(expect[w - 1]) += 1;
                } else {
                    expect[w++] = expect[a];
                }
            }
            expect.resize(w);
            const auto* inner = W.innerIndexPtr();
            const auto* val = W.valuePtr();
            auto k = W.outerIndexPtr()[row];
            const auto e = W.outerIndexPtr()[row + 1];
            size_t x = 0;
            auto fail = [&](index_t col, double expected, double actual, const std::string& why) {
                out.ok = false;
                out.row = T ? col : row;
                out.col = T ? row : col;
                out.expected = expected;
                out.actual = actual;
                out.text = entry_text(row, col) + " " + why;
            };
            while (k < e || x < expect.size()) {
                const index_t ac = k < e ? static_cast<index_t>(inner[k]) : std::numeric_limits<index_t>::max();
                const index_t ec = x < expect.size() ? std::get<0>(expect[x]) : std::numeric_limits<index_t>::max();
                ++out.checked;
                if (ac < ec) {
                    if (std::abs(val[k]) > tolerance) {
                        fail(ac, 0, val[k], "= " + fmt(val[k]) + " lies outside the band: no tap of the configuration reaches it");
                        return;
                    }
                    ++k;
                    continue;
                }
                const auto& [col, ev, wf, ntaps] = expect[x];
                const double av = ac == ec ? val[k] : 0.0;
                if (std::isnan(ev)) {
                    out.determined = false;
                } else if (std::abs(av - ev) > tolerance) {
                    const std::string src = ntaps > 1 ? "the sum of " + std::to_string(ntaps) + " folded taps"
                                                      : "tap " + weight_text(wf) + source;
                    fail(col, ev, av,
                         (ac == ec ? "= " + fmt(av) : std::string("is not stored")) + " but " +
                             (source.empty() ? "the weights give " : "the structure gives ") + fmt(ev) + " (" + src + ")");
                    return;
                }
                if (ac == ec) ++k;
                ++x;
            }
        });
        return out;
    };
    const Outcome a = compare(v, tol, ", the value on this diagonal elsewhere");
    rep.ok = a.ok;
    rep.determined = a.determined;
    rep.violation = a.text;
    rep.violation_row = a.row;
    rep.violation_col = a.col;
    rep.expected = a.expected;
    rep.actual = a.actual;
    rep.checked_entries = a.checked;
    // 3. Against the weights: the tap values, then the matrix they build, entry by entry.
    if (weight) {
        rep.weights_checked = true;
        double wmax = 0;
        for (index_t w = 0; w < nw; ++w) wmax = std::max(wmax, std::abs(weight[w]));
        const double wtol = rtol * (wmax > 0 ? wmax : 1.0);
        std::string tap_note;
        for (index_t w = 0; w < nw && tap_note.empty(); ++w) {
            const double x = v[static_cast<size_t>(w)];
            if (!std::isnan(x) && std::abs(x - weight[w]) > wtol)
                tap_note = "; tap " + weight_text(w) + ": the matrix's diagonal has " + fmt(x) + ", the weights " + fmt(weight[w]);
        }
        const Outcome b = compare(std::vector<double>(weight, weight + nw), wtol, "");
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

// ---------------- explain ----------------

Shape unravel_index(index_t flat, const Shape& shape, const std::string& what) {
    index_t total = 1;
    for (auto s : shape) total *= s;
    if (flat < 0 || flat >= total)
        throw std::out_of_range(what + " " + std::to_string(flat) + " is outside [0, " + std::to_string(total) + ")");
    Shape idx(shape.size());
    for (size_t j = shape.size(); j-- > 0;) {
        idx[j] = flat % shape[j];
        flat /= shape[j];
    }
    return idx;
}

index_t ravel_index(const Shape& index, const Shape& shape, const std::string& what) {
    if (index.size() != shape.size())
        throw std::out_of_range(what + " (" + join(index) + ") has " + std::to_string(index.size()) +
                                " entries; the shape (" + join(shape) + ") has " + std::to_string(shape.size()));
    index_t flat = 0;
    for (size_t j = 0; j < shape.size(); ++j) {
        if (index[j] < 0 || index[j] >= shape[j])
            throw std::out_of_range(what + " (" + join(index) + "): entry " + std::to_string(j) + " = " +
                                    std::to_string(index[j]) + " is outside [0, " + std::to_string(shape[j]) + ")");
        flat = flat * shape[j] + index[j];
    }
    return flat;
}

std::string index_text(const std::string& name, const Shape& index) { return name + "[" + join(index) + "]"; }

namespace {

Term make_term(const Geo& g, index_t o, index_t cp, const std::vector<const Hit*>& h, bool transposed) {
    Term t;
    const index_t c = (o / g.cs_g) * g.cb_g + cp;
    Shape small = {o}, big = {c};
    t.weight_index = {o, cp};
    for (int j = 0; j < g.r; ++j) {
        small.push_back(h[j]->q);
        big.push_back(h[j]->i);
        t.weight_index.push_back(h[j]->t);
        t.padded_position.push_back(h[j]->p);
        t.folded |= h[j]->folded;
    }
    index_t sf = o, bf = c, wf = o * g.cb_g + cp;
    for (int j = 0; j < g.r; ++j) {
        sf = sf * g.m[j] + h[j]->q;
        bf = bf * g.n[j] + h[j]->i;
        wf = wf * g.k[j] + h[j]->t;
    }
    t.weight_flat = wf;
    if (!transposed) {
        t.output_index = small, t.output_flat = sf;
        t.input_index = big, t.input_flat = bf;
    } else {
        t.output_index = big, t.output_flat = bf;
        t.input_index = small, t.input_flat = sf;
    }
    return t;
}

// Terms touching one small-side element (o, q): its taps over every input channel of the group.
std::vector<Term> small_terms(const Geo& g, index_t small_flat, bool transposed) {
    Shape shape = {g.Cs};
    shape.insert(shape.end(), g.m.begin(), g.m.end());
    const Shape idx = unravel_index(small_flat, shape, transposed ? "input element" : "output element");
    std::vector<std::vector<Hit>> lists;
    for (int j = 0; j < g.r; ++j) lists.push_back(hits_from_small(g, j, idx[j + 1]));
    std::vector<Term> out;
    for (index_t cp = 0; cp < g.cb_g; ++cp)
        for_product(lists, [&](const std::vector<const Hit*>& h) { out.push_back(make_term(g, idx[0], cp, h, transposed)); });
    return out;
}

// Terms touching one big-side element (c, i): every (o, q, t) of the group that reads it.
std::vector<Term> big_terms(const Geo& g, index_t big_flat, bool transposed) {
    Shape shape = {g.Cb};
    shape.insert(shape.end(), g.n.begin(), g.n.end());
    const Shape idx = unravel_index(big_flat, shape, transposed ? "output element" : "input element");
    std::vector<std::vector<Hit>> lists;
    for (int j = 0; j < g.r; ++j) lists.push_back(hits_to_big(g, j, idx[j + 1]));
    const index_t grp = idx[0] / g.cb_g, cp = idx[0] % g.cb_g;
    std::vector<Term> out;
    for (index_t o = grp * g.cs_g; o < (grp + 1) * g.cs_g; ++o)
        for_product(lists, [&](const std::vector<const Hit*>& h) { out.push_back(make_term(g, o, cp, h, transposed)); });
    return out;
}

}  // namespace

std::vector<Term> output_terms(const ConvSpec& spec, index_t output_flat) {
    const Geo g = geo_of(spec);
    return spec.transposed ? big_terms(g, output_flat, true) : small_terms(g, output_flat, false);
}

std::vector<Term> input_terms(const ConvSpec& spec, index_t input_flat) {
    const Geo g = geo_of(spec);
    return spec.transposed ? small_terms(g, input_flat, true) : big_terms(g, input_flat, false);
}

// ---------------- overlap ----------------

namespace {

std::vector<index_t> residues(index_t k, index_t s, index_t d) {
    std::vector<index_t> r(static_cast<size_t>(s), 0);
    for (index_t t = 0; t < k; ++t) ++r[static_cast<size_t>((t * d) % s)];
    return r;
}

bool all_equal(const std::vector<index_t>& v) {
    return std::all_of(v.begin(), v.end(), [&](index_t x) { return x == v.front(); });
}

}  // namespace

OverlapReport overlap(const ConvSpec& spec_in) {
    const ConvSpec spec = spec_in.transposed ? spec_in : spec_in.adjoint();
    const Geo g = geo_of(spec);
    OverlapReport rep;
    rep.shape = g.n;
    rep.channels_per_output = g.cs_g;
    std::vector<index_t> mins, maxs;
    std::ostringstream verdict;
    for (int j = 0; j < g.r; ++j) {
        OverlapDim od;
        od.kernel = g.k[j];
        od.stride = g.s[j];
        od.dilation = g.d[j];
        od.counts.assign(static_cast<size_t>(g.n[j]), 0);
        for (index_t q = 0; q < g.m[j]; ++q)
            for (index_t t = 0; t < g.k[j]; ++t) {
                const index_t x = q * g.s[j] - g.pl[j] + t * g.d[j];
                if (x >= 0 && x < g.n[j]) ++od.counts[static_cast<size_t>(x)];
            }
        od.residue_counts = residues(g.k[j], g.s[j], g.d[j]);
        od.even = all_equal(od.residue_counts);
        for (index_t kk = g.k[j] - 1; kk >= 1 && !od.smaller_even_kernel; --kk)
            if (all_equal(residues(kk, g.s[j], g.d[j]))) od.smaller_even_kernel = kk;
        for (index_t kk = g.k[j] + 1; kk <= g.k[j] + g.s[j] * g.s[j] + g.s[j] && !od.larger_even_kernel; ++kk)
            if (all_equal(residues(kk, g.s[j], g.d[j]))) od.larger_even_kernel = kk;
        od.interior_lo = std::max<index_t>(0, (g.k[j] - 1) * g.d[j] - g.pl[j]);
        od.interior_hi = std::min<index_t>(g.n[j] - 1, (g.m[j] - 1) * g.s[j] - g.pl[j]);
        const index_t lo = od.interior_lo, hi = od.interior_hi;
        if (hi - lo + 1 < g.s[j]) {
            // The interior does not hold one full stride period: take the phase counts, which
            // are the interior counts of any input large enough.
            rep.interior_empty = true;
            mins.push_back(*std::min_element(od.residue_counts.begin(), od.residue_counts.end()));
            maxs.push_back(*std::max_element(od.residue_counts.begin(), od.residue_counts.end()));
        } else {
            mins.push_back(*std::min_element(od.counts.begin() + lo, od.counts.begin() + hi + 1));
            maxs.push_back(*std::max_element(od.counts.begin() + lo, od.counts.begin() + hi + 1));
        }
        rep.even &= od.even;
        rep.dims.push_back(std::move(od));
    }
    rep.counts.assign(static_cast<size_t>(g.nvol), 1);
    std::vector<index_t> x(static_cast<size_t>(g.r), 0);
    for (index_t f = 0; f < g.nvol; ++f) {
        index_t c = 1;
        for (int j = 0; j < g.r; ++j) c *= rep.dims[j].counts[static_cast<size_t>(x[j])];
        rep.counts[static_cast<size_t>(f)] = c;
        for (int j = g.r - 1; j >= 0; --j) {
            if (++x[j] < g.n[j]) break;
            x[j] = 0;
        }
    }
    rep.interior_min = std::accumulate(mins.begin(), mins.end(), index_t{1}, std::multiplies<index_t>());
    rep.interior_max = std::accumulate(maxs.begin(), maxs.end(), index_t{1}, std::multiplies<index_t>());
    rep.uniformity = rep.interior_min > 0 ? static_cast<double>(rep.interior_max) / rep.interior_min
                                          : std::numeric_limits<double>::infinity();
    const std::string where = rep.interior_empty ? "in the interior of a large enough input (this one is too small to show a full period)"
                                                 : "in the interior";
    if (rep.even) {
        verdict << "even overlap: every output " << where << " receives " << rep.interior_max
                << " (input, tap) pair(s) per channel pair: no checkerboard from the overlap";
    } else {
        verdict << "uneven overlap (checkerboard): outputs " << where << " receive between " << rep.interior_min << " and "
                << rep.interior_max << " (input, tap) pairs per channel pair";
    }
    for (int j = 0; j < g.r; ++j) {
        const OverlapDim& od = rep.dims[j];
        verdict << "\n  dimension " << j << ": kernel " << od.kernel << ", stride " << od.stride;
        if (od.dilation != 1) verdict << ", dilation " << od.dilation;
        if (od.even) {
            verdict << ": even";
            if (od.stride > 1)
                verdict << " (the " << od.kernel << " taps split evenly over the " << od.stride << " output phases: "
                        << join(od.residue_counts) << ")";
            continue;
        }
        if (od.dilation == 1) verdict << ": kernel size " << od.kernel << " is not divisible by stride " << od.stride;
        else verdict << ": the taps t*" << od.dilation << " reach the " << od.stride << " output phases unevenly";
        verdict << " (phase counts " << join(od.residue_counts) << ")";
        if (od.smaller_even_kernel || od.larger_even_kernel) {
            verdict << "; kernel size ";
            if (od.smaller_even_kernel) verdict << od.smaller_even_kernel;
            if (od.smaller_even_kernel && od.larger_even_kernel) verdict << " or ";
            if (od.larger_even_kernel) verdict << od.larger_even_kernel;
            verdict << " would be even";
        } else {
            verdict << "; no kernel size is even with this stride and dilation (the taps miss some phases)";
        }
    }
    rep.verdict = verdict.str();
    return rep;
}

}  // namespace convmtx
