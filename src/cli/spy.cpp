// convmtx spy: the sparsity pattern of W (or T, or a matrix file) as a PNG,
// entries colored by kernel tap, channel blocks outlined; density for large matrices.
#include <iostream>
#include <optional>

#include "convmtx/inspect.hpp"
#include "convmtx/png.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

index_t parse_count(const Args& args, const std::string& flag, index_t fallback, index_t lo) {
    if (!args.has(flag)) return fallback;
    const std::string t = args.get(flag);
    size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(t, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != t.size() || t.empty()) throw usage_error("--" + flag + ": '" + t + "' is not an integer");
    if (v < lo) throw usage_error("--" + flag + ": " + t + " must be at least " + std::to_string(lo));
    return v;
}

}  // namespace

int run_spy(int argc, char** argv) {
    Args args("spy", with_config({
                         {"output", "FILE", "the PNG file to write (required)"},
                         matrix_flag(),
                         which_flag(),
                         {"size", "PX", "largest picture side in pixels (default 1200); larger matrices are drawn as density"},
                         {"cell", "PX", "pixels per entry when entries are drawn (default: size / largest matrix side, at most 24)"},
                         {"density", "", "draw density (entries per pixel) even for a small matrix"},
                         {"no-outline", "", "do not outline the channel blocks"},
                     }));
    args.parse(argc, argv);
    if (args.help_requested()) {
        std::cout << args.help(
            "Draws the sparsity pattern of W (or T, or a .mtx/.npz file) as a PNG. Each entry is a square colored by\n"
            "its kernel tap (12-color palette, tap t = flat spatial tap index, black where a padding mode folds taps;\n"
            "by sign for a matrix file without configuration); channel blocks are outlined in gray. Matrices larger\n"
            "than --size are drawn as density: each pixel counts the entries of a block of rows and columns (heat scale,\n"
            "logarithmic).\n"
            "  convmtx spy --input 1x4x4 --kernel 3x3 --stride 2 --padding 1 -o W.png");
        return 0;
    }
    no_positionals(args);
    if (!args.has("output")) throw usage_error("--output FILE.png is required (-o)");
    const std::string out = args.get("output");
    if (out.size() < 4 || (out.substr(out.size() - 4) != ".png" && out.substr(out.size() - 4) != ".PNG"))
        throw usage_error("--output: '" + out + "' must end in .png");
    SpyOptions opt;
    opt.max_pixels = parse_count(args, "size", 1200, 16);
    opt.cell = parse_count(args, "cell", 0, 1);
    opt.density = args.has("density");
    // A configuration drawn as density needs only the pattern: no values, no taps (less memory).
    Subject s;
    std::optional<SparsityPattern<std::int64_t>> pattern;
    if (!args.has("matrix") && has_config(args)) {
        s.problem = problem_from_args(args);
        s.transpose = which_is_T(args, s.problem->spec.transposed);
        const ConvSpec& sp = s.problem->spec;
        const index_t rows = sp.conv_out_channels() * [&] { index_t v = 1; for (auto x : sp.conv_output_size()) v *= x; return v; }();
        const index_t cols = sp.conv_in_channels() * [&] { index_t v = 1; for (auto x : sp.conv_input_size()) v *= x; return v; }();
        if (opt.density || std::max(rows, cols) > opt.max_pixels) pattern = matrix_pattern<std::int64_t>(sp, s.transpose);
        else s.M = build_matrix(*s.problem, s.transpose);
    } else {
        s = load_subject(args, true);
    }
    const index_t n_rows = pattern ? pattern->rows : s.M.rows(), n_cols = pattern ? pattern->cols : s.M.cols();
    const index_t n_entries = pattern ? pattern->nnz() : s.M.nonZeros();
    if (opt.cell > 0 && !opt.density && std::max(n_rows, n_cols) * opt.cell > (index_t{1} << 15))
        throw usage_error("--cell " + std::to_string(opt.cell) + ": the picture would be wider than 32768 pixels");
    std::vector<index_t> taps;
    index_t K = 0;
    std::string coloring = "by sign (no configuration)";
    if (s.problem) {
        const ConvSpec& sp = s.problem->spec;
        index_t mv = 1, nv = 1;
        for (auto v : sp.conv_output_size()) mv *= v;
        for (auto v : sp.conv_input_size()) nv *= v;
        if (!args.has("no-outline")) {
            opt.row_block = s.transpose ? nv : mv;
            opt.col_block = s.transpose ? mv : nv;
        }
        K = 1;
        for (auto k : sp.kernel_size) K *= k;
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
    return 0;
}

}  // namespace convmtx::cli
