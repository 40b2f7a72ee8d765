// convmtx explain: the formula of one output element (a row of the operation's
// matrix) or, with --from, where one input element goes (a column), with values.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convmtx/inspect.hpp"
#include "convmtx/npy.hpp"
#include "format.hpp"
#include "initializers.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

std::string num(double v) {
    char buf[64];
    if (v == std::floor(v) && std::abs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// Joins terms with " + ", wrapping lines at ~100 characters under `indent`.
std::string wrap_sum(const std::vector<std::string>& parts, size_t indent) {
    std::string out, line;
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string piece = (i ? " + " : "") + parts[i];
        if (!line.empty() && indent + line.size() + piece.size() > 100) {
            out += line + "\n" + std::string(indent - 2, ' ');
            line = "+ " + parts[i];
        } else {
            line += piece;
        }
    }
    return out + line;
}

struct ExplainFlags {
    SubjectFlags subject;
    std::string at, from;
    std::string input_values = "count";
    bool all = false, json = false;
    const std::string& element() const { return from.empty() ? at : from; }
    std::string element_flag() const { return from.empty() ? "--at" : "--from"; }
};

/// The element of --at/--from: one number = flat index, several = multi-index of `shape`.
index_t parse_element(const ExplainFlags& f, const Shape& shape) {
    const Dims d = parse_dims(f.element(), 0);
    index_t total = 1;
    for (auto s : shape) total *= s;
    try {
        if (d.size() == 1) {
            if (d[0] >= total)
                throw std::out_of_range("flat index " + std::to_string(d[0]) + " is outside [0, " + std::to_string(total) + ")");
            return d[0];
        }
        return ravel_index(d, shape, "index");
    } catch (const std::out_of_range& e) {
        throw usage_error(f.element_flag() + " " + f.element() + ": " + e.what() + " (shape (" + to_string(shape) + "))");
    }
}

/// The input values of --input-values, naming the flag in errors.
std::vector<double> input_values_of(const ExplainFlags& f, const Shape& shape) {
    try {
        return input_values(parse_initializer(f.input_values, true), shape);
    } catch (const value_error& e) {
        throw usage_error("--input-values: " + std::string(e.what()));
    }
}

void explain_file(const ExplainFlags& f) {
    const Subject s = load_subject(f.subject);
    const bool from = !f.from.empty();
    const CsrMatrix& M = s.M;
    const index_t n_in = M.cols(), n_out = M.rows();
    const std::vector<double> x = input_values_of(f, {n_in});
    const index_t e = parse_element(f, {from ? n_in : n_out});
    std::vector<std::pair<index_t, double>> entries;  // (other index, value)
    if (!from) {
        for (CsrMatrix::InnerIterator it(M, e); it; ++it) entries.emplace_back(it.col(), it.value());
    } else {
        for (index_t r = 0; r < M.rows(); ++r)
            for (CsrMatrix::InnerIterator it(M, r); it; ++it)
                if (it.col() == e) entries.emplace_back(r, it.value());
    }
    if (f.json) {
        nlohmann::json j;
        j["element"] = e;
        j["direction"] = from ? "from" : "at";
        j["entries"] = nlohmann::json::array();
        for (auto& [k, v] : entries) j["entries"].push_back({k, v});
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::cout << "matrix file: " << s.file << " (" << M.rows() << " x " << M.cols() << "); x = " << f.input_values << "\n";
    if (!from) {
        std::vector<std::string> sym, val;
        double total = 0;
        for (auto& [c, v] : entries) {
            sym.push_back("M[" + std::to_string(e) + "," + std::to_string(c) + "]·x[" + std::to_string(c) + "]");
            val.push_back(num(v) + "·" + num(x[static_cast<size_t>(c)]));
            total += v * x[static_cast<size_t>(c)];
        }
        const std::string head = "y[" + std::to_string(e) + "] = ";
        std::cout << "row " << e << " has " << entries.size() << " stored entries\n"
                  << head << (sym.empty() ? "0" : wrap_sum(sym, head.size())) << "\n"
                  << std::string(head.size() - 2, ' ') << "= " << (val.empty() ? "0" : wrap_sum(val, head.size())) << "\n"
                  << std::string(head.size() - 2, ' ') << "= " << num(total) << "\n";
    } else {
        std::cout << "column " << e << ": x[" << e << "] = " << num(x[static_cast<size_t>(e)]) << " reaches " << entries.size()
                  << " output(s)\n";
        for (auto& [r, v] : entries)
            std::cout << "  y[" << r << "] += M[" << r << "," << e << "]·x[" << e << "] = " << num(v) << "·"
                      << num(x[static_cast<size_t>(e)]) << " = " << num(v * x[static_cast<size_t>(e)]) << "\n";
    }
}

void run_explain(const ExplainFlags& f) {
    if (f.at.empty() == f.from.empty())
        throw usage_error("give --at INDEX (an output element) or --from INDEX (an input element)");
    if (!f.subject.matrix.empty()) {
        if (f.subject.config.given())
            throw usage_error("--matrix: explain takes either a configuration or a matrix file, not both");
        return explain_file(f);
    }
    const bool from = !f.from.empty();
    const Subject s = load_subject(f.subject);
    const Problem& p = *s.problem;
    const ConvSpec& sp = p.spec;
    const Shape in_shape = sp.input_shape(), out_shape = sp.output_shape();
    const std::vector<double> x = input_values_of(f, in_shape);
    const index_t e = parse_element(f, from ? in_shape : out_shape);
    const std::vector<Term> terms = from ? input_terms(sp, e) : output_terms(sp, e);
    // The operation's own matrix: y = M x.
    const CsrMatrix M = build_matrix(p, sp.transposed);
    const std::string mname = sp.transposed ? "T" : "W";

    // Group the terms by matrix entry (folded taps add into one entry).
    std::map<index_t, double> by_entry;  // other index -> coefficient
    double total = 0;
    for (const Term& t : terms) {
        const double w = p.weight[static_cast<size_t>(t.weight_flat)];
        by_entry[from ? t.output_flat : t.input_flat] += w;
        total += w * x[static_cast<size_t>(t.input_flat)];
    }
    // The matrix's row (or column) for comparison.
    std::map<index_t, double> matrix_entries;
    if (!from) {
        for (CsrMatrix::InnerIterator it(M, e); it; ++it) matrix_entries[it.col()] = it.value();
    } else {
        for (index_t r = 0; r < M.rows(); ++r)
            for (CsrMatrix::InnerIterator it(M, r); it; ++it)
                if (it.col() == e) matrix_entries[r] = it.value();
    }
    double worst = 0, scale = 1;
    for (auto& [k, v] : by_entry) scale = std::max(scale, std::abs(v));
    bool same_keys = by_entry.size() == matrix_entries.size();
    for (auto& [k, v] : by_entry) {
        auto it = matrix_entries.find(k);
        if (it == matrix_entries.end()) same_keys = false;
        else worst = std::max(worst, std::abs(it->second - v));
    }
    const bool check_ok = same_keys && worst <= 1e-12 * scale;

    if (f.json) {
        nlohmann::json j;
        j["configuration"] = sp.describe();
        j["matrix"] = mname;
        j["direction"] = from ? "from" : "at";
        j["element"] = unravel_index(e, from ? in_shape : out_shape);
        j["flat"] = e;
        j["terms"] = nlohmann::json::array();
        for (const Term& t : terms)
            j["terms"].push_back({{"weight_index", t.weight_index},
                                  {"weight_flat", t.weight_flat},
                                  {"weight", p.weight[static_cast<size_t>(t.weight_flat)]},
                                  {"input_index", t.input_index},
                                  {"input_flat", t.input_flat},
                                  {"x", x[static_cast<size_t>(t.input_flat)]},
                                  {"output_index", t.output_index},
                                  {"output_flat", t.output_flat},
                                  {"folded", t.folded}});
        if (!from) j["total"] = total;
        j["matrix_agrees"] = check_ok;
        std::cout << j.dump(2) << "\n";
        if (!check_ok) checks_failed();
        return;
    }

    std::ostringstream os;
    os << sp.describe() << "\n" << "weights " << p.weight_source << ", x = " << f.input_values << " ("
       << (sp.transposed ? "the transposed conv: y = T x = W^T x" : "the conv: y = W x") << ")\n";
    const size_t limit = f.all ? terms.size() : std::min<size_t>(terms.size(), 64);
    auto term_sym = [&](const Term& t) {
        return index_text("w", t.weight_index) + "·" + index_text("x", t.input_index);
    };
    if (!from) {
        const std::string head = index_text("y", terms.empty() ? unravel_index(e, out_shape) : terms[0].output_index) + " = ";
        os << index_text("y", unravel_index(e, out_shape)) << " is row " << e << " of " << mname << ": " << terms.size()
           << " product(s), " << by_entry.size() << " stored entr" << (by_entry.size() == 1 ? "y" : "ies") << "\n";
        std::vector<std::string> sym, val;
        for (size_t i = 0; i < limit; ++i) {
            sym.push_back(term_sym(terms[i]));
            val.push_back(num(p.weight[static_cast<size_t>(terms[i].weight_flat)]) + "·" +
                          num(x[static_cast<size_t>(terms[i].input_flat)]));
        }
        if (limit < terms.size()) {
            sym.push_back("… (" + std::to_string(terms.size() - limit) + " more; --all lists them)");
            val.push_back("…");
        }
        const std::string pad(head.size() - 2, ' ');
        os << head << (sym.empty() ? "0" : wrap_sum(sym, head.size())) << "\n"
           << pad << "= " << (val.empty() ? "0" : wrap_sum(val, head.size())) << "\n"
           << pad << "= " << num(total) << "\n";
        if (!sp.transposed) {
            const ConvGeometry g(sp);
            const index_t all_taps = g.kernel_volume() * g.in_per_group();
            if (static_cast<index_t>(terms.size()) < all_taps)
                os << "(" << all_taps - static_cast<index_t>(terms.size()) << " of the " << all_taps
                   << " taps read zero padding and are left out)\n";
        }
    } else {
        os << index_text("x", unravel_index(e, in_shape)) << " = " << num(x[static_cast<size_t>(e)]) << " is column " << e
           << " of " << mname << ": it reaches " << by_entry.size() << " output element(s) through " << terms.size()
           << " product(s)\n";
        for (size_t i = 0; i < limit; ++i) {
            const Term& t = terms[i];
            const double w = p.weight[static_cast<size_t>(t.weight_flat)];
            os << "  " << index_text("y", t.output_index) << " += " << term_sym(t) << " = " << num(w) << "·"
               << num(x[static_cast<size_t>(t.input_flat)]) << " = " << num(w * x[static_cast<size_t>(t.input_flat)]) << "\n";
        }
        if (limit < terms.size()) os << "  … (" << terms.size() - limit << " more; --all lists them)\n";
    }
    bool any_folded = false;
    for (const Term& t : terms) any_folded |= t.folded;
    if (any_folded) {
        os << "folded by " << to_string(sp.padding_mode) << " padding:";
        for (size_t i = 0; i < limit; ++i)
            if (terms[i].folded)
                os << " " << index_text("w", terms[i].weight_index) << " reads position (" << to_string(terms[i].padded_position, ",")
                   << ") -> " << index_text("x", terms[i].input_index) << ";";
        os << "\n";
    }
    if (check_ok)
        os << "check: these are exactly the " << matrix_entries.size() << " stored entries of " << (from ? "column " : "row ") << e
           << " of " << mname << (from ? "" : ", and (" + mname + " x)[" + std::to_string(e) + "] = " + num(total)) << "\n";
    else
        os << "CHECK FAILED: the terms do not match " << (from ? "column " : "row ") << e << " of " << mname << " ("
           << matrix_entries.size() << " stored entries, largest difference " << worst << ")\n";
    std::cout << os.str();
    if (!check_ok) checks_failed();
}

}  // namespace

void setup_explain(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "explain", "the formula of one output element (y[...] = w·x + ...), or where one input element goes",
        "Shows how one output element of the conv or transposed conv is computed, as a spreadsheet shows a cell:\n"
        "  y[0,1,1] = w[0,0,0,0]·x[0,1,1] + w[0,0,0,1]·x[0,1,2] + ...   with the values and the total,\n"
        "i.e. the nonzeros of one row of the operation's matrix (W for a conv, T = W^T for a transposed conv). --from "
        "shows the reverse: where one input element is distributed to (a column of the matrix). Indices are (channel, "
        "position...) in the operation's own input and output; w is indexed as PyTorch stores it: (C_out, "
        "C_in/groups, taps...) for a conv, (C_in, C_out/groups, taps...) for a transposed conv. The total is checked "
        "against the matrix (exit status 1 when they differ). The input values are those of convmtx explore.\n"
        "  convmtx explain --input 1x2x2 --kernel 3x3 --stride 2 --transposed --at 0,2,2\n"
        "  convmtx explain --input 1x4x4 --kernel 3x3 --padding 1 --weights arange --from 0,0,0");
    auto f = std::make_shared<ExplainFlags>();
    auto* at = cmd->add_option("--at", f->at, "the output element: channel,position... (e.g. 0,1,2) or a flat index")
                   ->option_text("INDEX")
                   ->check(dims_of(0));
    cmd->add_option("--from", f->from, "instead of --at: the input element whose contributions to list")
        ->option_text("INDEX")
        ->check(dims_of(0))
        ->excludes(at);
    add_input_values_flag(*cmd, f->input_values);
    cmd->add_flag("--all", f->all, "list every term even when there are more than 64");
    cmd->add_flag("--json", f->json, "print the terms as JSON");
    f->subject.add_to(*cmd, true);
    cmd->callback([f] { run_explain(*f); });
}

}  // namespace convmtx::cli
