// convmtx spy: the sparsity pattern of W (or T, or a matrix file) as a figure with axes (row =
// output index, column = input index), a colour bar (kernel tap, value, or entries per block),
// channel-block outlines, and an optional region; PNG or SVG by the extension.
#include <algorithm>
#include <cmath>
#include <limits>
#include <iostream>
#include <optional>
#include <sstream>

#include "convmtx/errors.hpp"
#include "convmtx/figure.hpp"
#include "convmtx/inspect.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

struct SpyFlags {
    SubjectFlags subject;
    std::string output;
    std::string region;
    index_t size = 1200;
    index_t cell = 0;
    bool density = false, no_outline = false;
};

/// The rows r0..r1-1 and columns c0..c1-1 of --region R0:R1,C0:C1 (whole matrix when empty).
struct Region {
    index_t r0 = 0, r1 = 0, c0 = 0, c1 = 0;
};

Region parse_region(const std::string& text, index_t rows, index_t cols) {
    if (text.empty()) return {0, rows, 0, cols};
    const std::string rule = " (R0:R1,C0:C1 with 0 <= R0 < R1 <= " + std::to_string(rows) + " rows and 0 <= C0 < C1 <= " +
                             std::to_string(cols) + " columns)";
    // Strictly four decimal numbers (digits only: no spaces, signs or exponents) in R0:R1,C0:C1.
    index_t v[4] = {0, 0, 0, 0};
    const char seps[3] = {':', ',', ':'};
    size_t at = 0;
    for (int i = 0; i < 4; ++i) {
        const size_t end = i < 3 ? text.find(seps[i], at) : text.size();
        const std::string item = end == std::string::npos ? std::string() : text.substr(at, end - at);
        if (end == std::string::npos || item.empty() || item.size() > 18 ||
            item.find_first_not_of("0123456789") != std::string::npos)
            throw usage_error("--region " + text + ": not of the form R0:R1,C0:C1 (decimal digits only)" + rule);
        v[i] = static_cast<index_t>(std::stoll(item));
        at = end + 1;
    }
    if (!(0 <= v[0] && v[0] < v[1] && v[1] <= rows && 0 <= v[2] && v[2] < v[3] && v[3] <= cols))
        throw usage_error("--region " + text + ": outside the matrix" + rule);
    return {v[0], v[1], v[2], v[3]};
}

/// How a region of nr x nc entries is drawn: as density when forced or larger than --size (bin x bin
/// entries per cell), else one cell of `cell` pixels per entry; gh x gw cells.
struct Layout {
    bool density = false;
    index_t bin = 1, gh = 0, gw = 0, cell = 1;
};

/// The layout of `reg`, checked before anything is built: usage_error when a side would be wider than
/// 16000 pixels, memory_limit_error when the picture's pixels exceed the memory limit.
Layout picture_layout(const SpyFlags& f, const Region& reg) {
    Layout L;
    const index_t nr = reg.r1 - reg.r0, nc = reg.c1 - reg.c0;
    L.density = f.density || std::max(nr, nc) > f.size;
    L.bin = L.density ? (std::max(nr, nc) + f.size - 1) / f.size : 1;
    L.gh = (nr + L.bin - 1) / L.bin;
    L.gw = (nc + L.bin - 1) / L.bin;
    if (L.density && f.cell > 0)
        throw usage_error("--cell " + std::to_string(f.cell) + " applies when entries are drawn one cell each, but " +
                          (f.density ? std::string("--density draws density")
                                     : "this " + std::to_string(nr) + " x " + std::to_string(nc) +
                                           " region is drawn as density (more than --size " + std::to_string(f.size) +
                                           " entries per side)") +
                          ": leave out --cell" + (f.density ? "" : ", or raise --size or draw a smaller --region"));
    L.cell = L.density ? 1 : f.cell > 0 ? f.cell : std::clamp<index_t>(f.size / std::max<index_t>({L.gh, L.gw, 1}), 1, 24);
    if (std::max(L.gh, L.gw) > 16000 / L.cell) {
        const std::string cells = "the picture of " + std::to_string(L.gh) + " x " + std::to_string(L.gw) + " cells";
        if (f.cell > 0)
            throw usage_error("--cell " + std::to_string(L.cell) + ": " + cells + " would be wider than 16000 pixels");
        throw usage_error("--size " + std::to_string(f.size) + ": " + cells + " at " + std::to_string(L.cell) +
                          " pixel(s) each would be wider than 16000 pixels; use --size 16000 or less");
    }
    const double pixels = static_cast<double>(L.gh * L.cell + 120) * static_cast<double>(L.gw * L.cell + 230);
    if (4 * pixels > memory_limit())
        throw memory_limit_error(std::string(f.cell > 0 ? "--cell " + std::to_string(L.cell) : "--size " + std::to_string(f.size)) +
                                     ": the picture's " + format_bytes(4 * pixels) +
                                     " exceed the memory limit " + format_bytes(memory_limit()),
                                 4 * pixels, memory_limit());
    begin_work(pixels);
    return L;
}

void run_spy(const SpyFlags& f) {
    const std::string& out = f.output;
    // A configuration drawn as density needs only the pattern: no values, no taps (less memory).
    Subject s;
    std::optional<SparsityPattern<std::int64_t>> pattern;
    if (f.subject.matrix.empty() && f.subject.config.given()) {
        s.problem = f.subject.config.problem();
        s.transpose = f.subject.transpose(s.problem->spec.transposed);
        const ConvGeometry g(s.problem->spec);
        const index_t rows = s.transpose ? g.cols() : g.rows(), cols = s.transpose ? g.rows() : g.cols();
        const Layout L = picture_layout(f, parse_region(f.region, rows, cols));
        begin_work(g.table_bytes() / 24);  // the tap tables that count the entries
        begin_work(static_cast<double>(g.structural_nnz()));
        if (L.density)
            pattern = matrix_pattern<std::int64_t>(s.problem->spec, s.transpose);
        else s.M = build_matrix(*s.problem, s.transpose);
    } else {
        s = load_subject(f.subject);
    }
    const index_t n_rows = pattern ? pattern->rows : s.M.rows(), n_cols = pattern ? pattern->cols : s.M.cols();
    const index_t n_entries = pattern ? pattern->nnz() : s.M.nonZeros();
    const Region reg = parse_region(f.region, n_rows, n_cols);
    const Layout layout = picture_layout(f, reg);
    const bool density = layout.density;

    // Colour: the kernel tap (a configuration whose pattern is the file's), else the value; density: entries per block.
    std::vector<index_t> taps;
    index_t K = 0;
    std::string coloring = "value";
    if (s.problem && !density) {
        const ConvSpec& sp = s.problem->spec;
        K = ConvGeometry(sp).kernel_volume();
        bool same_pattern = true;
        if (s.from_file) {
            const auto pat = matrix_pattern<std::int64_t>(sp, s.transpose);
            same_pattern = pat.nnz() == s.M.nonZeros() &&
                           std::equal(pat.outer.begin(), pat.outer.end(), s.M.outerIndexPtr()) &&
                           std::equal(pat.inner.begin(), pat.inner.end(), s.M.innerIndexPtr());
        }
        if (same_pattern) {
            taps = tap_map(sp, s.transpose);
            coloring = "tap";
        } else {
            coloring = "value (the file's pattern differs from the configuration's)";
        }
    }
    const index_t bin = layout.bin, gh = layout.gh, gw = layout.gw, cell = layout.cell;

    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> grid(static_cast<size_t>(gh * gw), density ? 0.0 : nan);
    index_t drawn = 0, folded = 0;
    double vmax_abs = 0;
    auto visit = [&](index_t r, index_t c, index_t k, double value) {
        if (c < reg.c0 || c >= reg.c1) return;
        ++drawn;
        double& g = grid[static_cast<size_t>(((r - reg.r0) / bin) * gw + (c - reg.c0) / bin)];
        if (density) g += 1;
        else if (!taps.empty()) {
            const index_t t = taps[static_cast<size_t>(k)];
            folded += t < 0;
            g = t < 0 ? static_cast<double>(K) : static_cast<double>(t % K);
        } else {
            g = value;
            vmax_abs = std::max(vmax_abs, std::abs(value));
        }
    };
    if (pattern) {
        for (index_t r = reg.r0; r < reg.r1; ++r)
            for (auto k = pattern->outer[static_cast<size_t>(r)]; k < pattern->outer[static_cast<size_t>(r + 1)]; ++k)
                visit(r, pattern->inner[static_cast<size_t>(k)], k, 1.0);
    } else {
        for (index_t r = reg.r0; r < reg.r1; ++r)
            for (auto k = s.M.outerIndexPtr()[r]; k < s.M.outerIndexPtr()[r + 1]; ++k)
                visit(r, s.M.innerIndexPtr()[k], k, s.M.valuePtr()[k]);
    }
    double max_count = 0;
    if (density)
        for (auto& g : grid) {
            max_count = std::max(max_count, g);
            if (g == 0) g = nan;
        }

    figure::HeatMapStyle style;
    style.colormap = figure::Colormap::viridis;
    if (density) {
        style.colorbar_label = "stored entries per block of " + std::to_string(bin) + " x " + std::to_string(bin);
        style.vmin = 1;
        style.vmax = std::max(max_count, 2.0);
        style.discrete = true;
    } else if (!taps.empty()) {
        style.discrete = true;
        style.colorbar_label = folded ? "kernel tap t (flat spatial index; " + std::to_string(K) + ": folded taps)"
                                      : "kernel tap t (flat spatial index)";
        style.vmin = 0;
        style.vmax = static_cast<double>(folded ? K : std::max<index_t>(K - 1, 1));
    } else {
        style.colormap = figure::Colormap::magma;
        style.colorbar_label = "entry value";
        style.vmin = -std::max(vmax_abs, 1e-300);
        style.vmax = std::max(vmax_abs, 1e-300);
    }
    figure::Figure fig(std::clamp<double>(static_cast<double>(gw * cell) + 230, 360, 16384),
                       std::clamp<double>(static_cast<double>(gh * cell) + 120, 240, 16384));
    std::string row_label = "row", col_label = "column";
    index_t row_block = 0, col_block = 0;
    if (s.problem) {
        const ConvGeometry g(s.problem->spec);
        row_block = s.transpose ? g.input_volume() : g.output_volume();
        col_block = s.transpose ? g.output_volume() : g.input_volume();
        const bool conv_rows = !s.transpose;
        row_label = std::string("row = ") + (conv_rows ? "conv output" : "conv input") + " index = channel x " +
                    std::to_string(row_block) + " + position";
        col_label = std::string("column = ") + (conv_rows ? "conv input" : "conv output") + " index = channel x " +
                    std::to_string(col_block) + " + position";
    }
    std::ostringstream title;
    title << s.name() << " " << n_rows << " x " << n_cols << ", " << n_entries << " entries";
    if (!f.region.empty()) title << "; rows " << reg.r0 << "-" << reg.r1 - 1 << ", columns " << reg.c0 << "-" << reg.c1 - 1;
    const double x0 = static_cast<double>(reg.c0) - 0.5, y0 = static_cast<double>(reg.r0) - 0.5;
    figure::Axes& ax = fig.axes().title(title.str()).xlabel(col_label).ylabel(row_label).grid(false).yreverse(true).legend(false);
    ax.xinteger(true).yinteger(true).aspect_equal(true);
    ax.xlim(x0, x0 + static_cast<double>(gw * bin)).ylim(y0, y0 + static_cast<double>(gh * bin));
    ax.heat_map(std::move(grid), gh, gw,
                {x0, x0 + static_cast<double>(gw * bin), y0, y0 + static_cast<double>(gh * bin)}, style);
    // Grey lines between the channel blocks (at most 256 of each).
    index_t outlines = 0;
    const figure::SeriesStyle grey{{0.55, 0.55, 0.55, 1}, 1, 0, ""};
    if (!f.no_outline && row_block > 0 && col_block > 0) {
        if ((reg.r1 - reg.r0) / row_block < 256)
            for (index_t b = (reg.r0 / row_block + 1) * row_block; b < reg.r1; b += row_block, ++outlines)
                ax.plot({x0, x0 + static_cast<double>(gw * bin)}, {static_cast<double>(b) - 0.5, static_cast<double>(b) - 0.5}, grey);
        if ((reg.c1 - reg.c0) / col_block < 256)
            for (index_t b = (reg.c0 / col_block + 1) * col_block; b < reg.c1; b += col_block, ++outlines)
                ax.plot({static_cast<double>(b) - 0.5, static_cast<double>(b) - 0.5}, {y0, y0 + static_cast<double>(gh * bin)}, grey);
    }
    // The margins are measured from the texts: the figure grows around a plot of cell pixels per entry.
    fig.fit_plot(static_cast<double>(gw * cell), static_cast<double>(gh * cell), 360, 240);
    const double width = fig.width(), height = fig.height();
    fig.save(out);

    std::cout << "wrote " << out << ": " << static_cast<index_t>(width) << " x " << static_cast<index_t>(height)
              << (has_extension(out, ".svg") ? " points, " : " pixels, ") << s.name() << " " << n_rows << " x " << n_cols
              << ", " << n_entries << " entries\n";
    if (!f.region.empty())
        std::cout << "region: rows " << reg.r0 << " to " << reg.r1 - 1 << ", columns " << reg.c0 << " to " << reg.c1 - 1
                  << " (" << drawn << " entries); the axes keep the matrix's indices\n";
    if (density) {
        std::cout << "density: each cell of the picture counts the entries of a block of " << bin << " x " << bin
                  << " (rows x columns); colour bar from 1 to " << static_cast<index_t>(max_count)
                  << " entries, gray: none\n";
    } else {
        std::cout << "entries: " << cell << " x " << cell << (has_extension(out, ".svg") ? " points" : " pixels")
                  << " each, gray where there is none; colour = "
                  << coloring << " (colour bar on the right)\n";
        if (!taps.empty()) {
            const ConvSpec& sp = s.problem->spec;
            Shape kshape(sp.kernel_size.begin(), sp.kernel_size.end());
            std::cout << "taps: t = 0 .. " << K - 1 << " is the flat spatial index of";
            for (index_t t = 0; t < std::min<index_t>(K, 6); ++t)
                std::cout << (t ? ", " : " ") << index_text("tap", unravel_index(t, kshape));
            std::cout << (K > 6 ? ", ..." : "") << "\n";
            if (folded) std::cout << "folded: " << folded << " entries where the padding mode folds several taps (colour " << K << ")\n";
        }
    }
    if (outlines)
        std::cout << "outlines: " << outlines << " gray lines between the channel blocks (" << row_block << " rows x "
                  << col_block << " columns each)\n";
}

}  // namespace

void setup_spy(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "spy", "the sparsity pattern of W as a picture with axes, colour bar and channel blocks",
        "Draws the sparsity pattern of W (or T, or a .mtx/.npz file) as a PNG or SVG (by the extension) with axes: "
        "row = the output index of the matrix (channel x block + position), column = its input index. Each entry is "
        "a cell coloured by its kernel tap (the flat spatial index t, colour bar on the right; the highest colour "
        "where a padding mode folds taps together), or by its value for a matrix file without configuration; gray "
        "cells have no entry. Gray lines separate the channel blocks. Matrices with more rows or columns than --size "
        "are drawn as density: each cell counts the entries of a square block. --region R0:R1,C0:C1 draws rows "
        "R0..R1-1 and columns C0..C1-1 of a large W, keeping its indices on the axes.\n"
        "  convmtx spy --input 1x4x4 --kernel 3x3 --stride 2 --padding 1 -o W.png\n"
        "  convmtx spy --input 1x256x256 --kernel 3x3 --padding 1 --region 0:600,0:600 -o corner.svg");
    auto f = std::make_shared<SpyFlags>();
    cmd->add_option("-o,--output", f->output, "the picture to write: PNG or SVG by the extension")
        ->option_text("FILE")
        ->required()
        ->check(file_extension({".png", ".svg"}))
        ->check(writable_file());
    cmd->add_option("--region", f->region, "draw rows R0..R1-1 and columns C0..C1-1 only (e.g. 0:100,0:300)")
        ->option_text("R0:R1,C0:C1");
    cmd->add_option("--size", f->size,
                    "largest number of cells per side (default 1200); a larger matrix or region is drawn as density")
        ->option_text("N")
        ->check(integer_in(16, 1 << 14));
    cmd->add_option("--cell", f->cell,
                    "pixels per entry when entries are drawn (default: size / largest side, at most 24)")
        ->option_text("PX")
        ->check(integer_in(1, 1 << 14));
    cmd->add_flag("--density", f->density, "draw density (entries per block) even for a small matrix");
    cmd->add_flag("--no-outline", f->no_outline, "do not outline the channel blocks");
    f->subject.add_to(*cmd, true);
    cmd->callback([f] { run_spy(*f); });
}

}  // namespace convmtx::cli
