// check_kernel's diagnosis (detail/diagnosis.hpp): J against M entry by entry, the bug models
// (detail/bug_models.hpp) scored by how many entries they leave unexplained, the structural
// observations (channels of other groups, border, scaling, zero) and the readable report lines.
#include "convmtx/detail/diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "convmtx/detail/bug_models.hpp"
#include "convmtx/geometry.hpp"

namespace convmtx::detail {

namespace {

using DMatrix = ProbeMatrix<double>;

/// True unless |a - b| <= atol (a NaN always differs).
bool differs(double a, double b, double atol) { return !(std::abs(a - b) <= atol); }

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
    merge_entries(J, M, [&](index_t, index_t, double a, double b, index_t) { n += differs(a, b, atol); });
    return n;
}

std::string list_some(const std::vector<std::string>& items, index_t total, index_t cap) {
    std::string s;
    for (size_t i = 0; i < items.size() && static_cast<index_t>(i) < cap; ++i) s += (i ? ", " : "") + items[i];
    if (total > cap) s += ", ... (" + std::to_string(total - cap) + " more)";
    return s;
}

/// Per-tap counts of the differing entries, to tell taps never applied from taps wrong at some positions only.
struct TapCounts {
    std::map<index_t, index_t> missing, wrong;
    std::set<index_t> cols_missing, cols_extra;
};

/// Every entry where J and M differ, classified, with the differing rows, columns and taps.
void compare(const DMatrix& J, const DMatrix& M, const std::vector<index_t>& taps, double atol, Diagnosis& D,
             TapCounts& counts) {
    std::set<index_t> rows, cols, tapset;
    merge_entries(J, M, [&](index_t r, index_t c, double a, double b, index_t pos) {
        if (!differs(a, b, atol)) return;
        const double e = std::abs(a - b);
        if (!(e <= D.max_err)) D.max_err = e;
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
            ++(d.kind == EntryDiff::Kind::missing ? counts.missing : counts.wrong)[d.tap];
        }
        (d.kind == EntryDiff::Kind::extra ? counts.cols_extra : counts.cols_missing).insert(c);
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
}

/// The bug models that reproduce J exactly, or the closest one when it explains 80% of the differences.
void explain(const ConvSpec& spec, const std::vector<double>& w, const DMatrix& J, index_t ndiff, double atol,
             Diagnosis& D) {
    std::vector<std::pair<index_t, BugFinding>> scored;
    for (const BugModel& b : bug_models(spec)) {
        const index_t rem = count_diff(J, model_matrix(spec, w, b), atol);
        if (rem < ndiff) scored.push_back({rem, BugFinding{b.name, b.message, rem}});
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& s : scored) {
        const bool seen = std::any_of(D.findings.begin(), D.findings.end(),
                                      [&](const BugFinding& f) { return f.message == s.second.message; });
        if (!seen && (s.first == 0 || (s.first * 5 <= ndiff && s.first == scored.front().first)))
            D.findings.push_back(s.second);
    }
}

/// J = 0, J = alpha M, connections between channels of different groups, differing outputs all on a border.
void observe(const ConvSpec& spec, const DMatrix& J, const DMatrix& M, index_t ndiff, double atol,
             const CheckOptions& opt, Diagnosis& D) {
    const Shape out_shape = spec.output_shape(), in_shape = spec.input_shape();
    const index_t out_sp = M.rows() / out_shape[0], in_sp = M.cols() / in_shape[0];
    if (J.nonZeros() == 0) D.findings.push_back({"zero", "the kernel's output is identically zero", ndiff});
    {  // J = alpha M?
        double alpha = 0;
        bool scaled = J.nonZeros() > 0 && D.extra == 0 && D.missing == 0;
        merge_entries(J, M, [&](index_t, index_t, double a, double b, index_t) {
            if (!scaled || std::abs(b) <= atol) return;
            const double r = a / b;
            if (alpha == 0) alpha = r;
            else if (!(std::abs(r - alpha) <= 1e-6 * std::abs(alpha))) scaled = false;
        });
        if (scaled && alpha != 0 && std::abs(alpha - 1) > 1e-6)
            D.findings.push_back({"scaled", "every entry is scaled by " + format_value(alpha) +
                                                " (a normalisation, or a weight scaled by mistake?)", 0});
    }
    {  // channel pairs the configuration does not connect
        const ConvGeometry G(spec);
        std::set<std::pair<index_t, index_t>> pairs;
        for (const auto& d : D.diffs) {
            if (d.kind != EntryDiff::Kind::extra) continue;
            const index_t o = d.row / out_sp, c = d.col / in_sp;
            const index_t conv_out = spec.transposed ? c : o, conv_in = spec.transposed ? o : c;
            if (G.group_of_output(conv_out) != G.group_of_input(conv_in)) pairs.insert({o, c});
        }
        if (!pairs.empty()) {
            std::vector<std::string> items;
            for (const auto& p : pairs)
                items.push_back("out channel " + std::to_string(p.first) + " <- in channel " + std::to_string(p.second));
            D.findings.push_back({"cross_group", "the kernel connects channels of different groups (groups=" +
                                                     std::to_string(spec.groups) + "): " +
                                                     list_some(items, static_cast<index_t>(items.size()), opt.max_listed),
                                  ndiff});
        }
    }
    {  // differing outputs all on the border?
        std::vector<std::string> where;
        const Dims osp(out_shape.begin() + 1, out_shape.end());
        for (int j = 0; j < spec.rank(); ++j) {
            index_t inner = 1;
            for (int jj = j + 1; jj < spec.rank(); ++jj) inner *= osp[static_cast<size_t>(jj)];
            bool lo = true, hi = true;
            for (index_t r : D.rows) {
                const index_t q = (r % out_sp) / inner % osp[static_cast<size_t>(j)];
                lo &= q == 0;
                hi &= q == osp[static_cast<size_t>(j)] - 1;
            }
            if (lo) where.push_back("the first position of spatial dimension " + std::to_string(j));
            if (hi) where.push_back("the last position of spatial dimension " + std::to_string(j));
        }
        if (!where.empty())
            D.findings.push_back({"border", "every differing output lies at " +
                                                list_some(where, static_cast<index_t>(where.size()), 6) +
                                                ": an edge/padding bug",
                                  ndiff});
    }
}

/// The readable lines: counts, wrong outputs and inputs, taps by kind, the first differing entries.
void describe(const ConvSpec& spec, const std::vector<double>& w, const DMatrix& M, const std::vector<index_t>& taps,
              const TapCounts& counts, double atol, const CheckOptions& opt, Diagnosis& D) {
    const Shape out_shape = spec.output_shape(), in_shape = spec.input_shape(), w_shape = spec.weight_shape();
    const index_t ndiff = D.missing + D.extra + D.wrong;
    // Which weights hold the kernel's value (one or two: named; none or many: nothing).
    auto where_w = [&](double v) {
        std::vector<index_t> hits;
        for (index_t i = 0; i < static_cast<index_t>(w.size()) && hits.size() < 3; ++i)
            if (std::abs(w[static_cast<size_t>(i)] - v) <= atol) hits.push_back(i);
        if (hits.empty() || hits.size() > 2) return std::string();
        std::string s = " (= w" + format_index(w_shape, hits[0]);
        if (hits.size() > 1) s += " or w" + format_index(w_shape, hits[1]);
        return s + ")";
    };
    D.lines.push_back("Jacobian vs " + std::string(spec.transposed ? "T" : "W") + ": " + std::to_string(ndiff) +
                      " entries differ (" + std::to_string(D.missing) + " missing, " + std::to_string(D.extra) +
                      " extra, " + std::to_string(D.wrong) + " wrong weight; reference has " +
                      std::to_string(M.nonZeros()) + "), max |difference| " + format_value(D.max_err));
    std::vector<std::string> items;
    for (size_t i = 0; i < D.rows.size() && static_cast<index_t>(i) < opt.max_listed; ++i)
        items.push_back("out" + format_index(out_shape, D.rows[i]));
    D.lines.push_back("wrong outputs (" + std::to_string(D.rows.size()) + " of " + std::to_string(M.rows()) +
                      "): " + list_some(items, static_cast<index_t>(D.rows.size()), opt.max_listed));
    auto list_cols = [&](const std::set<index_t>& set, const std::string& what) {
        if (set.empty()) return;
        std::vector<std::string> names;
        for (index_t c : set) {
            if (static_cast<index_t>(names.size()) >= opt.max_listed) break;
            names.push_back("in" + format_index(in_shape, c));
        }
        D.lines.push_back(what + " (" + std::to_string(set.size()) + "): " +
                          list_some(names, static_cast<index_t>(set.size()), opt.max_listed));
    };
    list_cols(counts.cols_missing, "inputs with a missing or wrong-weight entry");
    list_cols(counts.cols_extra, "inputs with extra entries, used where the configuration does not use them");
    if (!D.taps.empty()) {
        std::map<index_t, index_t> uses;  // uses of each tap in M
        for (index_t t : taps)
            if (t >= 0) ++uses[t];
        std::vector<std::string> never, wrong_all, partly;
        index_t n_never = 0, n_wrong = 0, n_partly = 0;
        auto count_of = [](const std::map<index_t, index_t>& m, index_t t) {
            const auto it = m.find(t);
            return it == m.end() ? index_t(0) : it->second;
        };
        for (index_t t : D.taps) {
            const index_t u = uses[t], mi = count_of(counts.missing, t), wr = count_of(counts.wrong, t);
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
            D.lines.push_back("taps missing or wrong at some of their positions (" + std::to_string(n_partly) + of +
                              "): " + list_some(partly, n_partly, opt.max_listed));
    }
    D.lines.push_back("first differing entries (out <- in: kernel value, expected value):");
    for (size_t i = 0; i < D.diffs.size() && static_cast<index_t>(i) < opt.max_listed; ++i) {
        const auto& d = D.diffs[i];
        std::string s = "  out" + format_index(out_shape, d.row) + " <- in" + format_index(in_shape, d.col) + ": ";
        switch (d.kind) {
            case EntryDiff::Kind::missing: s += "MISSING (kernel 0"; break;
            case EntryDiff::Kind::extra: s += "EXTRA (kernel " + format_value(d.actual) + where_w(d.actual); break;
            case EntryDiff::Kind::wrong_weight: s += "WRONG WEIGHT (kernel " + format_value(d.actual) + where_w(d.actual); break;
        }
        s += ", expected " + format_value(d.expected);
        if (d.tap >= 0) s += " = tap w" + format_index(w_shape, d.tap);
        if (d.kind == EntryDiff::Kind::extra && d.tap < 0) s += ": no tap reaches this pair";
        D.lines.push_back(s + ")");
    }
}

}  // namespace

Diagnosis diagnose(const ConvSpec& spec, const std::vector<double>& weight, const DMatrix& J, const DMatrix& M,
                   const std::vector<index_t>& taps, double atol, const CheckOptions& options) {
    Diagnosis D;
    TapCounts counts;
    compare(J, M, taps, atol, D, counts);
    const index_t ndiff = D.missing + D.extra + D.wrong;
    if (ndiff == 0) return D;
    if (options.classify && M.nonZeros() <= 2000000) explain(spec, weight, J, ndiff, atol, D);
    observe(spec, J, M, ndiff, atol, options, D);
    describe(spec, weight, M, taps, counts, atol, options, D);
    return D;
}

}  // namespace convmtx::detail
