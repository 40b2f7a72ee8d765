// convmtx explore: writes one self-contained HTML page showing the input grid, the kernel and the
// output of a 1-D or 2-D single-channel convolution or transposed convolution. The page is
// src/cli/explore/ (page.html, page.css, explore_core.js, explore_ui.js), inlined at build time into
// the generated header explore_page_embedded.hpp (CMakeLists.txt, src/cli/explore/embed_page.cmake).
// This command puts the JSON of its configuration in place of the page's data token: the values,
// the output y = W x (conv) or y = W^T x (transposed) and the library's W (CSR, rows: the conv's
// output). The page recomputes everything itself (explore_core.js) when its controls change.
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "config_flags.hpp"
#include <cmath>

#include "convmtx/builder.hpp"
#include "convmtx/npy.hpp"
#include "initializers.hpp"
#include "explore_page_embedded.hpp"  // generated from src/cli/explore/ (CMakeLists.txt)

namespace convmtx::cli {

namespace {

constexpr index_t kMaxSide = 64;  // every cell is drawn; the page's own limit

std::string shape_text(const Shape& s) {
    std::string t;
    for (auto v : s) t += (t.empty() ? "" : "x") + std::to_string(v);
    return t;
}

/// The JSON embedded in the page; 1-D configurations become 1 x n grids.
nlohmann::json page_data(const Problem& p, const std::vector<double>& x, const std::string& x_source) {
    const ConvSpec& spec = p.spec;
    auto two = [&](const Dims& v, index_t fill) {
        return spec.rank() == 1 ? std::vector<index_t>{fill, v[0]} : std::vector<index_t>(v.begin(), v.end());
    };
    const auto W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, p.weight);
    Eigen::Map<const Eigen::VectorXd> xv(x.data(), static_cast<Eigen::Index>(x.size()));
    const Eigen::VectorXd y = spec.transposed ? Eigen::VectorXd(W.transpose() * xv) : Eigen::VectorXd(W * xv);
    for (Eigen::Index i = 0; i < y.size(); ++i)
        if (!std::isfinite(y(i)))
            throw usage_error("--weights " + p.weight_source + " with --input-values " + x_source + ": the output y[" +
                              std::to_string(i) + "] = " + (std::isnan(y(i)) ? "nan" : "inf") +
                              " is larger than the largest double (1.8e308); scale the weights or the input down");

    nlohmann::json d;
    d["describe"] = spec.describe();
    d["transposed"] = spec.transposed;
    d["rank"] = spec.rank();
    d["padding_mode"] = to_string(spec.padding_mode);
    d["input"] = two(spec.input_size, 1);
    d["kernel"] = two(spec.kernel_size, 1);
    d["stride"] = two(spec.stride, 1);
    d["padding_lo"] = two(spec.padding_lo, 0);
    d["padding_hi"] = two(spec.padding_hi, 0);
    d["output_padding"] = spec.transposed ? two(spec.output_padding, 0) : std::vector<index_t>{0, 0};
    d["dilation"] = two(spec.dilation, 1);
    d["output"] = two(spec.output_size(), 1);
    d["x"] = x;
    d["w"] = p.weight;
    d["x_source"] = x_source;
    d["w_source"] = p.weight_source;
    d["y"] = std::vector<double>(y.data(), y.data() + y.size());
    if (spec.rank() == 1) d["note"] = "a 1-D configuration, drawn as 1 x n grids";
    nlohmann::json m;
    m["rows"] = W.rows();
    m["cols"] = W.cols();
    m["indptr"] = std::vector<std::int64_t>(W.outerIndexPtr(), W.outerIndexPtr() + W.rows() + 1);
    m["indices"] = std::vector<std::int64_t>(W.innerIndexPtr(), W.innerIndexPtr() + W.nonZeros());
    m["data"] = std::vector<double>(W.valuePtr(), W.valuePtr() + W.nonZeros());
    d["W"] = m;
    return d;
}

std::string explore_page(const Problem& p, const std::vector<double>& x, const std::string& x_source) {
    std::string json = page_data(p, x, x_source).dump();
    // Inside <script>, "</" could end the element: "<\/" is the same JSON string.
    std::string safe;
    safe.reserve(json.size());
    for (size_t i = 0; i < json.size(); ++i) {
        safe += json[i];
        if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') safe += '\\';
    }
    std::string page = explore_page_template();
    const std::string token = "/*CONVMTX_DATA*/null";
    const size_t at = page.find(token);
    if (at == std::string::npos)  // embed_page.cmake checks it at build time
        throw std::logic_error("the embedded explore page has no data token " + token);
    page.replace(at, token.size(), safe);
    return page;
}

struct ExploreFlags {
    ConfigFlags config;
    std::string output;
    std::string input_values;
};

void run_explore(const ExploreFlags& f) {
    if (!f.config.given()) throw usage_error("--input and --kernel are required (e.g. --input 1x4x4 --kernel 3x3)");
    const Problem p = f.config.problem();
    const ConvSpec& spec = p.spec;
    if (spec.rank() > 2)
        throw usage_error("--kernel " + shape_text(Shape(spec.kernel_size.begin(), spec.kernel_size.end())) +
                          ": explore draws 1-D and 2-D convolutions, not " + std::to_string(spec.rank()) + "-D");
    if (spec.in_channels != 1)
        throw usage_error("--input " + shape_text(spec.input_shape()) + " has " + std::to_string(spec.in_channels) +
                          " channels: explore draws a single-channel convolution (use --input 1x...)");
    if (spec.out_channels != 1)
        throw usage_error("--out-channels " + std::to_string(spec.out_channels) +
                          ": explore draws a single-channel convolution (use --out-channels 1)");
    for (int j = 0; j < spec.rank(); ++j) {
        if (spec.input_size[j] > kMaxSide)
            throw usage_error("--input " + shape_text(spec.input_shape()) + ": explore draws every cell, at most " +
                              std::to_string(kMaxSide) + " per dimension");
        if (spec.kernel_size[j] > 16)
            throw usage_error("--kernel " + shape_text(Shape(spec.kernel_size.begin(), spec.kernel_size.end())) +
                              ": explore draws kernels of at most 16 per dimension");
        if (spec.output_size()[j] > 4 * kMaxSide)
            throw usage_error("the output (" + to_string(spec.output_size()) + ") is too large to draw: at most " +
                              std::to_string(4 * kMaxSide) + " per dimension");
    }
    begin_build_work(spec);
    std::vector<double> x;
    try {
        x = input_values(parse_initializer(f.input_values, true), spec.input_shape());
    } catch (const value_error& e) {
        throw usage_error("--input-values: " + std::string(e.what()));
    }
    const std::string page = explore_page(p, x, f.input_values);
    if (!f.output.empty() && f.output != "-") {
        write_file_atomic(f.output, page);
        std::cout << "wrote " << f.output << ": " << spec.describe() << "\n";
    } else {
        std::cout << page;
    }
}

}  // namespace

void setup_explore(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "explore", "an interactive HTML page: input, kernel, output; hover a cell for its dot product",
        "Writes one self-contained HTML page (no network) that draws the input grid, the kernel and the output of a "
        "single-channel 1-D or 2-D convolution or transposed convolution. Hovering an output cell highlights the "
        "inputs that reach it and shows its dot product; hovering an input shows where it spreads. Controls for the "
        "input size, kernel size, stride, padding, output_padding and dilation recompute in the page. The page embeds "
        "the library's W for this configuration and shows that its own computation agrees. The input values are "
        "those of convmtx explain, so a cell shows the same value in both.\n"
        "  convmtx explore --input 1x2x2 --kernel 3x3 --stride 2 --transposed --output page.html");
    auto f = std::make_shared<ExploreFlags>();
    cmd->add_option("-o,--output", f->output, "write the page to FILE (default, or -: standard output)")
        ->option_text("FILE")
        ->check(writable_file());
    add_input_values_flag(*cmd, f->input_values);
    f->config.add_to(*cmd);
    cmd->callback([f] { run_explore(*f); });
}

}  // namespace convmtx::cli
