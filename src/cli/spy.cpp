// convmtx spy: the sparsity pattern of W (or T, or a matrix file) as a PNG,
// entries colored by kernel tap, channel blocks outlined; density for large matrices.
#include <algorithm>
#include <iostream>
#include <optional>

#include "convmtx/errors.hpp"
#include "convmtx/inspect.hpp"
#include "convmtx/png.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

struct SpyFlags {
    SubjectFlags subject;
    std::string output;
    index_t size = 1200;
    index_t cell = 0;
    bool density = false, no_outline = false;
};

/// Pixels of the picture of a rows x cols matrix (spy.hpp's rules); usage_error when --cell makes a side
/// longer than 32768 pixels. Checked before anything is built.
double picture_pixels(const SpyOptions& opt, index_t rows, index_t cols) {
    const index_t big = std::max<index_t>({rows, cols, 1});
    if (opt.density || big > opt.max_pixels) {
        const double side = static_cast<double>(std::min(big, opt.max_pixels));
        return side * side;
    }
    const index_t cell = opt.cell > 0 ? opt.cell : std::clamp<index_t>(opt.max_pixels / big, 1, 24);
    if (big > (index_t{1} << 15) / cell)
        throw usage_error("--cell " + std::to_string(cell) + ": the picture of a " + std::to_string(rows) + " x " +
                          std::to_string(cols) + " matrix would be wider than 32768 pixels");
    const double pixels = static_cast<double>(rows * cell) * static_cast<double>(cols * cell);
    if (3 * pixels > memory_limit())
        throw memory_limit_error("--cell " + std::to_string(cell) + ": the picture's " + format_bytes(3 * pixels) +
                                     " exceed the memory limit " + format_bytes(memory_limit()),
                                 3 * pixels, memory_limit());
    return pixels;
}

void run_spy(const SpyFlags& f) {
    const std::string& out = f.output;
    SpyOptions opt;
    opt.max_pixels = f.size;
    opt.cell = f.cell;
    opt.density = f.density;
    // A configuration drawn as density needs only the pattern: no values, no taps (less memory).
    Subject s;
    std::optional<SparsityPattern<std::int64_t>> pattern;
    if (f.subject.matrix.empty() && f.subject.config.given()) {
        s.problem = f.subject.config.problem();
        s.transpose = f.subject.transpose(s.problem->spec.transposed);
        const ConvGeometry g(s.problem->spec);
        const index_t rows = s.transpose ? g.cols() : g.rows(), cols = s.transpose ? g.rows() : g.cols();
        begin_work(g.table_bytes() / 24);  // the tap tables that count the entries
        begin_work(static_cast<double>(g.structural_nnz()) + picture_pixels(opt, rows, cols));
        if (opt.density || std::max(g.rows(), g.cols()) > opt.max_pixels)
            pattern = matrix_pattern<std::int64_t>(s.problem->spec, s.transpose);
        else s.M = build_matrix(*s.problem, s.transpose);
    } else {
        s = load_subject(f.subject);
        begin_work(picture_pixels(opt, s.M.rows(), s.M.cols()));
    }
    const index_t n_rows = pattern ? pattern->rows : s.M.rows(), n_cols = pattern ? pattern->cols : s.M.cols();
    const index_t n_entries = pattern ? pattern->nnz() : s.M.nonZeros();
    std::vector<index_t> taps;
    index_t K = 0;
    std::string coloring = "by sign (no configuration)";
    if (s.problem) {
        const ConvSpec& sp = s.problem->spec;
        const ConvGeometry g(sp);
        if (!f.no_outline) {
            opt.row_block = s.transpose ? g.input_volume() : g.output_volume();
            opt.col_block = s.transpose ? g.output_volume() : g.input_volume();
        }
        K = g.kernel_volume();
        bool same_pattern = true;
        if (s.from_file) {
            const auto pat = matrix_pattern<std::int64_t>(sp, s.transpose);
            same_pattern = pat.nnz() == s.M.nonZeros() &&
                           std::equal(pat.outer.begin(), pat.outer.end(), s.M.outerIndexPtr()) &&
                           std::equal(pat.inner.begin(), pat.inner.end(), s.M.innerIndexPtr());
        }
        const bool density = opt.density || std::max(n_rows, n_cols) > opt.max_pixels;
        if (same_pattern && !density) {
            taps = tap_map(sp, s.transpose);
            coloring = "by kernel tap";
        } else if (!same_pattern) {
            coloring = "by sign (the file's pattern differs from the configuration's)";
        }
    }
    const SpyPicture pic =
        pattern ? spy_picture(pattern->rows, pattern->cols, pattern->outer.data(), pattern->inner.data(), nullptr, opt)
                : spy_picture(s.M, opt, taps.empty() ? nullptr : &taps, K);
    write_rgb_png(out, pic.image);
    std::cout << "wrote " << out << ": " << pic.image.width << " x " << pic.image.height << " pixels, " << s.name() << " "
              << n_rows << " x " << n_cols << ", " << n_entries << " entries\n";
    if (pic.density) {
        std::cout << "density: each pixel covers " << pic.rows_per_pixel << " rows x " << pic.cols_per_pixel
                  << " columns; color = heat scale of log(1 + entries) / log(1 + " << pic.max_count
                  << ") (white: none, pale yellow: few, dark red: " << pic.max_count << ")\n";
    } else {
        std::cout << "entries: " << pic.cell << " x " << pic.cell << " pixels each, entry (r, c) at x = " << pic.cell
                  << "c, y = " << pic.cell << "r; colored " << coloring << "\n";
        if (!taps.empty()) {
            const ConvSpec& sp = s.problem->spec;
            Shape kshape(sp.kernel_size.begin(), sp.kernel_size.end());
            std::cout << "tap colors:";
            for (index_t t = 0; t < std::min<index_t>(K, 12); ++t)
                std::cout << (t % 4 == 0 ? "\n  " : "  ") << index_text("tap", unravel_index(t, kshape)) << " "
                          << hex_color(tap_color(t));
            if (K > 12) std::cout << "\n  (taps 12 and up repeat the palette: tap t has the color of t mod 12)";
            bool folded = false;
            for (auto t : taps) folded |= t < 0;
            if (folded) std::cout << "\n  black: entries where the padding mode folds several taps together";
            std::cout << "\n";
        }
    }
    if ((opt.row_block && opt.row_block < n_rows) || (opt.col_block && opt.col_block < n_cols))
        std::cout << "outlines: gray lines between the channel blocks (" << opt.row_block << " rows x " << opt.col_block
                  << " columns each)\n";
}

}  // namespace

void setup_spy(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "spy", "the sparsity pattern of W as a PNG, entries colored by kernel tap",
        "Draws the sparsity pattern of W (or T, or a .mtx/.npz file) as a PNG. Each entry is a square colored by its "
        "kernel tap (12-color palette, tap t = flat spatial tap index, black where a padding mode folds taps; by sign "
        "for a matrix file without configuration); channel blocks are outlined in gray. Matrices larger than --size "
        "are drawn as density: each pixel counts the entries of a block of rows and columns (heat scale, "
        "logarithmic).\n"
        "  convmtx spy --input 1x4x4 --kernel 3x3 --stride 2 --padding 1 -o W.png");
    auto f = std::make_shared<SpyFlags>();
    cmd->add_option("-o,--output", f->output, "the PNG file to write")
        ->option_text("FILE")
        ->required()
        ->check(file_extension({".png"}))
        ->check(writable_file());
    cmd->add_option("--size", f->size, "largest picture side in pixels (default 1200); larger matrices are drawn as density")
        ->option_text("PX")
        ->check(integer_in(16, 1 << 15));
    cmd->add_option("--cell", f->cell,
                    "pixels per entry when entries are drawn (default: size / largest matrix side, at most 24)")
        ->option_text("PX")
        ->check(integer_in(1, 1 << 15));
    cmd->add_flag("--density", f->density, "draw density (entries per pixel) even for a small matrix");
    cmd->add_flag("--no-outline", f->no_outline, "do not outline the channel blocks");
    f->subject.add_to(*cmd, true);
    cmd->callback([f] { run_spy(*f); });
}

}  // namespace convmtx::cli
