// convmtx spreadsheet: a 1-D or 2-D convolution or transposed convolution as an .xlsx workbook whose
// output cells are live formulas over the input and kernel cells (the spreadsheet view of the MXNet/Excel
// blog post), read off the library's matrix and tap lists; the same layout as convmtx.to_spreadsheet.
#include <iostream>
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "convmtx/builder.hpp"
#include "convmtx/xlsx.hpp"
#include "initializers.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

constexpr index_t kMaxOutputCells = 200000;

struct SpreadsheetFlags {
    ConfigFlags config;
    std::string output;
    std::string input_values = "count";
};

/// (rows, cols) of a 1-D or 2-D spatial size drawn as a grid.
std::pair<index_t, index_t> grid2(const Dims& d) { return d.size() == 1 ? std::make_pair(index_t{1}, d[0]) : std::make_pair(d[0], d[1]); }

struct Pos {
    std::string sheet;
    index_t row = 0, col = 0;
};

std::string ref(const Pos& p, const std::string& from) {
    const std::string a = xlsx::column_name(p.col) + std::to_string(p.row);
    return p.sheet == from ? a : p.sheet + "!" + a;
}

void run_spreadsheet(const SpreadsheetFlags& f) {
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.config.problem();
    const ConvSpec& spec = p.spec;
    if (spec.rank() > 2)
        throw usage_error("--kernel " + to_string(spec.kernel_size, "x") +
                          ": a spreadsheet draws 1-D and 2-D convolutions, not " + std::to_string(spec.rank()) + "-D");
    const Shape in_shape = spec.input_shape(), out_shape = spec.output_shape(), w_shape = spec.weight_shape();
    if (spec.output_numel() > kMaxOutputCells)
        throw usage_error("the output has " + std::to_string(spec.output_numel()) + " cells (shape (" + to_string(out_shape) +
                          ")): a spreadsheet holds at most " + std::to_string(kMaxOutputCells) + " formulas");
    // Sizes known before anything is built: the input and kernel cells, and the terms of the
    // longest formula (each at least 6 characters, "B5*C7+", in a spreadsheet's 8192).
    {
        const double cells = static_cast<double>(spec.input_numel()) + static_cast<double>(spec.weight_numel());
        if (cells > 1e6)
            throw usage_error("the input and the kernel would take " + std::to_string(spec.input_numel()) + " + " +
                              std::to_string(spec.weight_numel()) + " cells (input (" + to_string(in_shape) +
                              "), weight (" + to_string(w_shape) + ")): a spreadsheet of at most 1000000 value cells "
                              "is drawn; use fewer channels or a smaller input");
        double terms = static_cast<double>(spec.in_channels / spec.groups);
        for (size_t d = 0; d < spec.kernel_size.size(); ++d) {
            const double k = static_cast<double>(std::min(spec.kernel_size[d], spec.input_size[d] + spec.padding_lo[d] + spec.padding_hi[d]));
            terms *= spec.transposed ? std::ceil(k / static_cast<double>(spec.stride[d])) : k;
        }
        if (6 * terms + 1 > 8192)
            throw usage_error("the formula of an output element would have " + std::to_string(static_cast<long long>(terms)) +
                              " terms (C_in/groups x the kernel's taps), at least " +
                              std::to_string(static_cast<long long>(6 * terms + 1)) +
                              " characters: more than a spreadsheet's 8192; use fewer input channels (or more groups) or a "
                              "smaller kernel");
    }
    std::vector<double> x;
    try {
        x = input_values(parse_initializer(f.input_values, true), in_shape);
    } catch (const value_error& e) {
        throw usage_error("--input-values: " + std::string(e.what()));
    }
    {
        // A spreadsheet computes in doubles: every output's sum of |w| |x| terms must fit one.
        double wmax = 0, xmax = 0;
        for (double v : p.weight) wmax = std::max(wmax, std::abs(v));
        for (double v : x) xmax = std::max(xmax, std::abs(v));
        const double bound = wmax * xmax * static_cast<double>(spec.weight_numel());
        if (!std::isfinite(bound))
            throw usage_error("--weights " + p.weight_source + " with --input-values " + f.input_values +
                              ": the formulas could reach (largest |w|) x (largest |x|) x terms = inf, beyond the "
                              "largest double (1.8e308); scale the weights or the input down");
    }
    const bool transposed = spec.transposed;
    const index_t c_in = in_shape[0], c_out = out_shape[0];
    const auto ig = grid2(spec.input_size), og = grid2(spec.output_size()), kg = grid2(spec.kernel_size);
    for (const auto& [what, g] : {std::make_pair("input", ig), std::make_pair("output", og)})
        if (g.second + 2 * kg.second + 8 > 16384)
            throw usage_error(std::string("the ") + what + " is " + std::to_string(g.second) +
                              " cells wide: more than a spreadsheet's 16384 columns");

    // Layout (as convmtx.to_spreadsheet): one sheet when one channel goes in and out, else a sheet "input" and
    // one sheet "y<o>" per output channel with the kernel slices it uses and its output grid.
    const bool single = c_in == 1 && c_out == 1;
    auto op_sheet = [&](index_t o) {
        return single ? std::string(transposed ? "conv_transpose" : "conv") : "y" + std::to_string(o);
    };
    const std::string in_sheet = single ? op_sheet(0) : "input";
    const index_t top = 4, col0 = 2;
    struct Block {
        std::string sheet, label;
        index_t row, col;
        xlsx::Style style;
        std::pair<index_t, index_t> grid;
    };
    std::vector<Block> blocks;
    std::map<std::tuple<index_t, index_t, index_t>, Pos> pos_x, pos_y;
    std::map<std::tuple<index_t, index_t, index_t, index_t>, Pos> pos_w;
    index_t row = top;
    for (index_t c = 0; c < c_in; ++c) {
        blocks.push_back({in_sheet, c_in > 1 ? "input x[" + std::to_string(c) + "]" : "input x", row, col0, xlsx::Style::input, ig});
        for (index_t i = 0; i < ig.first; ++i)
            for (index_t j = 0; j < ig.second; ++j) pos_x[{c, i, j}] = {in_sheet, row + 1 + i, col0 + j};
        row += ig.first + 2;
    }
    const index_t per_group_out = c_out / spec.groups, in_per_group = w_shape[0] / spec.groups;
    std::vector<std::vector<std::pair<index_t, index_t>>> slices(static_cast<size_t>(c_out));
    if (transposed) {  // weight (C_in, C_out/G, k): output channel g*C_out/G + o' uses w[c, o'] for c of group g
        for (index_t c = 0; c < w_shape[0]; ++c)
            for (index_t op = 0; op < w_shape[1]; ++op)
                slices[static_cast<size_t>((c / in_per_group) * per_group_out + op)].emplace_back(c, op);
    } else {  // weight (C_out, C_in/G, k): output channel o uses w[o, c'] for every c'
        for (index_t o = 0; o < c_out; ++o)
            for (index_t cp = 0; cp < w_shape[1]; ++cp) slices[static_cast<size_t>(o)].emplace_back(o, cp);
    }
    const index_t k_col = single ? col0 + ig.second + 2 : col0, y_col = k_col + kg.second + 2;
    for (index_t o = 0; o < c_out; ++o) {
        const std::string sheet = op_sheet(o);
        row = top;
        for (const auto& [a, b] : slices[static_cast<size_t>(o)]) {
            blocks.push_back({sheet, single ? "kernel w" : "kernel w[" + std::to_string(a) + "][" + std::to_string(b) + "]", row,
                              k_col, xlsx::Style::kernel, kg});
            for (index_t i = 0; i < kg.first; ++i)
                for (index_t j = 0; j < kg.second; ++j) pos_w[{a, b, i, j}] = {sheet, row + 1 + i, k_col + j};
            row += kg.first + 2;
        }
        blocks.push_back({sheet, std::string(single ? "output y" : "output y[" + std::to_string(o) + "]") +
                                     (transposed ? " = W\xE1\xB5\x80x" : " = W x"),
                          top, y_col, xlsx::Style::output, og});
        for (index_t i = 0; i < og.first; ++i)
            for (index_t j = 0; j < og.second; ++j) pos_y[{o, i, j}] = {sheet, top + 1 + i, y_col + j};
    }

    xlsx::Workbook wb;
    std::map<std::string, xlsx::Sheet*> sheets;
    std::vector<std::string> names;
    if (!single) names.push_back(in_sheet);
    for (index_t o = 0; o < c_out; ++o) names.push_back(op_sheet(o));
    for (const auto& n : names) {
        xlsx::Sheet& ws = wb.add_sheet(n);
        sheets[n] = &ws;
        ws.text(1, 1, "convmtx spreadsheet: " + spec.describe(), xlsx::Style::bold);
        ws.text(2, 1, "Every output cell is a live formula over the input and kernel cells (the library's matrix W "
                      "written out): change a value and the outputs follow.");
    }
    for (const auto& b : blocks) sheets[b.sheet]->text(b.row, b.col, b.label, xlsx::Style::bold);
    const index_t in_sp = spec.input_numel() / c_in, out_sp = spec.output_numel() / c_out;
    index_t k_sp = 1;
    for (auto k : spec.kernel_size) k_sp *= k;
    const index_t wslice = w_shape[1] * k_sp;
    for (const auto& [key, at] : pos_x) {
        const auto [c, i, j] = key;
        sheets[at.sheet]->number(at.row, at.col, x[static_cast<size_t>(c * in_sp + i * ig.second + j)], xlsx::Style::input);
    }
    for (const auto& [key, at] : pos_w) {
        const auto [a, b, i, j] = key;
        sheets[at.sheet]->number(at.row, at.col, p.weight[static_cast<size_t>(a * wslice + b * k_sp + i * kg.second + j)],
                                 xlsx::Style::kernel);
    }
    // Output r sums x[c] * w[t] over the stored entries (r, c) of the operation's matrix and the taps of each entry.
    const auto pattern = matrix_pattern<std::int64_t>(spec, transposed);
    const TapLists lists = tap_lists(spec, transposed);
    index_t formulas = 0;
    for (index_t r = 0; r < spec.output_numel(); ++r) {
        const index_t o = r / out_sp, q = r % out_sp;
        const Pos& at = pos_y.at({o, q / og.second, q % og.second});
        std::string text;
        for (auto e = pattern.outer[static_cast<size_t>(r)]; e < pattern.outer[static_cast<size_t>(r + 1)]; ++e) {
            const index_t cf = pattern.inner[static_cast<size_t>(e)], c = cf / in_sp, pp = cf % in_sp;
            for (auto k = lists.offsets[static_cast<size_t>(e)]; k < lists.offsets[static_cast<size_t>(e + 1)]; ++k) {
                const index_t t = lists.taps[static_cast<size_t>(k)];
                const index_t a = t / wslice, tk = (t % wslice) % k_sp, b = (t % wslice) / k_sp;
                if (!text.empty()) text += "+";
                text += ref(pos_x.at({c, pp / ig.second, pp % ig.second}), at.sheet) + "*" +
                        ref(pos_w.at({a, b, tk / kg.second, tk % kg.second}), at.sheet);
            }
        }
        try {
            sheets[at.sheet]->formula(at.row, at.col, text.empty() ? "0" : text, xlsx::Style::output);
        } catch (const config_error&) {
            throw usage_error("the formula of output element " + std::to_string(r) + " has " + std::to_string(text.size() + 1) +
                              " characters: more than a spreadsheet's 8192");
        }
        ++formulas;
    }
    wb.save(f.output);
    std::cout << "wrote " << f.output << ": " << names.size() << (names.size() == 1 ? " sheet, " : " sheets, ") << formulas
              << " output formulas; " << spec.describe() << "\n";
}

}  // namespace

void setup_spreadsheet(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "spreadsheet", "the convolution as an .xlsx workbook of live formulas",
        "Writes an .xlsx workbook (Excel, LibreOffice) that draws a 1-D or 2-D convolution or transposed convolution: "
        "the input grid(s), the kernel grid(s) and every output cell as a formula over them, e.g. =B5*G6+C5*G5, read "
        "off the library's matrix W (or T) and its tap lists: change a kernel or input value and the outputs follow. "
        "One sheet for one channel in and out; otherwise a sheet 'input' and a sheet 'y<o>' per output channel with "
        "the kernel slices it uses. The input values are those of convmtx explain and explore (--input-values), the "
        "weights those of --weights. The layout is that of convmtx.to_spreadsheet in Python (the spreadsheet view of "
        "the MXNet/Excel blog post on transposed convolutions).\n"
        "  convmtx spreadsheet --input 1x2x2 --kernel 3x3 --stride 2 --transposed --weights ones -o tconv.xlsx");
    auto f = std::make_shared<SpreadsheetFlags>();
    cmd->add_option("-o,--output", f->output, "the .xlsx file to write")
        ->option_text("FILE")
        ->required()
        ->check(file_extension({".xlsx"}))
        ->check(writable_file());
    add_input_values_flag(*cmd, f->input_values);
    f->config.add_to(*cmd);
    cmd->callback([f] { run_spreadsheet(*f); });
}

}  // namespace convmtx::cli
