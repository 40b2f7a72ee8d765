// convmtx explore: writes one self-contained HTML page showing the input grid, the kernel and the
// output of a 1-D or 2-D single-channel convolution or transposed convolution. The page is
// src/cli/explore/ (page.html, page.css, explore_core.js, explore_ui.js), inlined at build time into
// the generated header explore_page_embedded.hpp (CMakeLists.txt, src/cli/explore/embed_page.cmake).
// This command puts the JSON of its configuration in place of the page's data token: the values,
// the output y = W x (conv) or y = W^T x (transposed) and the library's W (CSR, rows = the small
// side). The page recomputes everything itself (explore_core.js) when its controls change.
#include <iostream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/npy.hpp"
#include "explore_page_embedded.hpp"  // generated from src/cli/explore/ (CMakeLists.txt)

namespace convmtx::cli {

namespace {

constexpr index_t kMaxSide = 64;  // every cell is drawn; the page's own limit

std::string shape_text(const Shape& s) {
    std::string t;
    for (auto v : s) t += (t.empty() ? "" : "x") + std::to_string(v);
    return t;
}

/// Input values: count (1, 2, 3, ...), ones, arange (0, 1, 2, ...), random:SEED (uniform in [-1, 1),
/// the generator of --weights random:SEED) or a .npy file of shape (C, n...).
std::vector<double> input_values(const std::string& source, const Shape& shape) {
    index_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<double> x(static_cast<size_t>(n));
    if (source == "count" || source == "arange") {
        const double first = source == "count" ? 1.0 : 0.0;
        for (index_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = first + static_cast<double>(i);
    } else if (source == "ones") {
        std::fill(x.begin(), x.end(), 1.0);
    } else if (source.rfind("random:", 0) == 0) {
        const std::string seed = source.substr(7);
        size_t used = 0;
        unsigned long long v = 0;
        try {
            v = std::stoull(seed, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (seed.empty() || used != seed.size())
            throw usage_error("--values: '" + source + "' needs an integer seed (random:SEED)");
        std::mt19937_64 rng(v);
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        for (auto& e : x) e = u(rng);
    } else if (source.size() > 4 && source.compare(source.size() - 4, 4, ".npy") == 0) {
        NpyArray a = read_npy(source);
        if (a.shape != shape)
            throw shape_error("--values " + source + " has shape (" + to_string(a.shape) + "); the input is (" +
                              to_string(shape) + ")");
        x = std::move(a.data);
    } else {
        throw usage_error("--values: '" + source + "' must be count, ones, arange, random:SEED or a .npy file");
    }
    return x;
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

    nlohmann::json d;
    d["describe"] = spec.describe();
    d["transposed"] = spec.transposed;
    d["rank"] = spec.rank();
    d["padding_mode"] = to_string(spec.padding_mode);
    d["input"] = two(spec.input_size, 1);
    d["kernel"] = two(spec.kernel_size, 1);
    d["stride"] = two(spec.stride, 1);
    d["pad_lo"] = two(spec.padding_lo, 0);
    d["pad_hi"] = two(spec.padding_hi, 0);
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

}  // namespace

static std::string explore_page(const Problem& p, const std::vector<double>& x, const std::string& x_source) {
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

int run_explore(int argc, char** argv) {
    std::vector<Flag> flags = {
        {"output", "FILE", "write the page to FILE (default: standard output)"},
        {"values", "V", "input values: count (1, 2, 3, ...; default), ones, arange, random:SEED or a .npy file"},
    };
    for (auto& f : config_flags()) flags.push_back(f);
    Args args("explore", flags);
    args.parse(argc, argv);
    const std::string summary =
        "Writes one self-contained HTML page (no network) that draws the input grid, the kernel and the output of a "
        "single-channel 1-D or 2-D convolution or transposed convolution. Hovering an output cell highlights the "
        "inputs that reach it and shows its dot product; hovering an input shows where it spreads. Controls for the "
        "input size, kernel size, stride, padding, output_padding and dilation recompute in the page. The page embeds "
        "the library's W for this configuration and shows that its own computation agrees.\n\n"
        "example: convmtx explore --input 1x2x2 --kernel 3x3 --stride 2 --transposed --output page.html";
    if (args.help_requested()) {
        std::cout << args.help(summary);
        return 0;
    }
    if (!args.positionals().empty()) throw usage_error("unexpected argument '" + args.positionals()[0] + "'");
    if (!has_config(args))
        throw usage_error("--input and --kernel are required (e.g. --input 1x4x4 --kernel 3x3)");
    const Problem p = problem_from_args(args);
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
    const std::string source = args.get("values", "count");
    const std::vector<double> x = input_values(source, spec.input_shape());
    const std::string page = explore_page(p, x, source);
    if (args.has("output") && args.get("output") != "-") {
        write_file_atomic(args.get("output"), page);
        std::cout << "wrote " << args.get("output") << ": " << spec.describe() << "\n";
    } else {
        std::cout << page;
    }
    return 0;
}

}  // namespace convmtx::cli
