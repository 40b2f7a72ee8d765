// convmtx overlap: how many (input, tap) pairs reach each output element of a
// transposed conv (the checkerboard of https://distill.pub/2016/deconv-checkerboard/).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convmtx/checkerboard.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/figure.hpp"
#include "convmtx/inspect.hpp"
#include "convmtx/kernels.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

std::string grid_text(const std::vector<index_t>& counts, index_t h, index_t w, index_t offset) {
    index_t width = 1;
    for (index_t k = 0; k < h * w; ++k) width = std::max<index_t>(width, static_cast<index_t>(std::to_string(counts[static_cast<size_t>(offset + k)]).size()));
    std::ostringstream os;
    for (index_t y = 0; y < h; ++y) {
        os << "  ";
        for (index_t x = 0; x < w; ++x) {
            const std::string v = std::to_string(counts[static_cast<size_t>(offset + y * w + x)]);
            os << std::string(static_cast<size_t>(width) - v.size() + (x ? 1 : 0), ' ') << v;
        }
        os << "\n";
    }
    return os.str();
}

struct OverlapFlags {
    ConfigFlags config;
    std::string output;
    std::optional<index_t> cell;
    bool grid = false, json = false;
};

/// The pixels per output element of the picture: --cell, or about 600 pixels per side. usage_error (before
/// anything is computed) when a side would be wider than 16000 pixels, as spy's.
index_t picture_cell(const OverlapFlags& f, const ConvSpec& spec) {
    const ConvSpec t = spec.transposed ? spec : spec.adjoint();
    const Dims n = t.output_size();
    const int r = static_cast<int>(n.size());
    const index_t h = r == 1 ? 1 : n[static_cast<size_t>(r - 2)], w = n.back();
    const index_t cell = f.cell ? *f.cell : std::clamp<index_t>(600 / std::max<index_t>(std::max(h, w), 1), 1, 32);
    if (std::max(h, w) > 16000 / cell)
        throw usage_error("--cell " + std::to_string(cell) + ": the picture of " + std::to_string(h) + " x " +
                          std::to_string(w) + " output elements would be wider than 16000 pixels" +
                          (cell > 1 ? "; give a smaller --cell" : "; draw a smaller configuration"));
    return cell;
}

void run_overlap(const OverlapFlags& f) {
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.config.problem();
    const index_t cell = f.output.empty() ? 1 : picture_cell(f, p.spec);
    begin_work(static_cast<double>(ConvGeometry(p.spec).output_volume()));
    const OverlapReport rep = overlap(p.spec);
    // With --weights: the levels of the all-ones response per output channel and phase (checkerboard.hpp).
    std::optional<CheckerboardReport> levels;
    if (p.weights_given) {
        try {
            levels = checkerboard<double>(p.spec, span<const double>(p.weight));
        } catch (const config_error& e) {  // levels beyond a double: the flag that gave the weights
            const std::string m = e.what();
            if (m.rfind("weights: ", 0) == 0) throw usage_error("--weights " + p.weight_source + ": " + m.substr(9));
            throw;
        }
    }
    const int r = static_cast<int>(rep.shape.size());
    const index_t h = r == 1 ? 1 : rep.shape[static_cast<size_t>(r - 2)], w = rep.shape.back();
    const index_t slices = r == 3 ? rep.shape[0] : 1;

    std::string png_note;
    if (!f.output.empty()) {
        const std::string& out = f.output;
        // 3-D: the middle slice along the first dimension.
        const index_t mid = slices / 2;
        std::vector<double> plane(rep.counts.begin() + mid * h * w, rep.counts.begin() + (mid + 1) * h * w);
        const auto range = std::minmax_element(plane.begin(), plane.end());
        const double lo = *range.first, hi = *range.second;
        figure::HeatMapStyle style{figure::Colormap::viridis, "(input, tap) pairs per output (structure)", true, lo, hi};
        style.discrete = true;
        // With --weights, a second panel: the response of the worst channel to an all-ones input.
        std::vector<double> response;
        double rlo = 0, rhi = 0;
        if (levels) {
            const ConvSpec t = p.spec.transposed ? p.spec : p.spec.adjoint();
            begin_work(static_cast<double>(t.weight_numel()) * static_cast<double>(t.input_numel()) /
                       static_cast<double>(std::max<index_t>(1, t.in_channels)));
            const Batch<double> ones = Batch<double>::Ones(t.input_numel(), 1);
            const Batch<double> y = conv_transpose_scatter<double>(t, span<const double>(p.weight), ones);
            const index_t plane_size = h * w * slices;
            const index_t off = levels->worst_channel * plane_size + mid * h * w;
            response.assign(y.data() + off, y.data() + off + h * w);
            const auto rr = std::minmax_element(response.begin(), response.end());
            rlo = *rr.first;
            rhi = *rr.second;
        }
        const int panels = levels ? 2 : 1;
        figure::Figure fig(std::clamp<double>(static_cast<double>(w * cell) + 190, 320, 16384) * panels,
                           std::clamp<double>(static_cast<double>(h * cell) + 110, r == 1 ? 180 : 320, 16384), 1, panels);
        const ConvSpec ts = p.spec.transposed ? p.spec : p.spec.adjoint();
        std::ostringstream title;
        title << (p.spec.transposed ? "transposed conv" : "W^T of the conv") << " " << to_string(ts.input_shape(), "x")
              << " -> " << to_string(ts.output_shape(), "x") << ", kernel " << to_string(p.spec.kernel_size, "x")
              << ", stride " << to_string(p.spec.stride, "x") << (r == 3 ? ", slice " + std::to_string(mid) + " of dim 0" : "");
        fig.title(title.str());
        std::ostringstream t1;
        t1 << "overlap counts: interior max/min = " << rep.interior_max << "/" << rep.interior_min
           << (rep.even ? " (even)" : " (uneven)");
        figure::Axes& ax = fig.axes(0, 0).title(t1.str()).xlabel("output position, last dimension").grid(false).yreverse(true);
        ax.xinteger(true).yinteger(true).aspect_equal(true);
        if (r > 1) ax.ylabel(r == 3 ? "output position, dimension 1" : "output position, dimension 0");
        ax.heat_map(std::move(plane), h, w,
                    {-0.5, static_cast<double>(w) - 0.5, -0.5, static_cast<double>(h) - 0.5}, style);
        if (levels) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "with the weights: response to all-ones input, channel %lld; phase spread %.3g",
                          static_cast<long long>(levels->worst_channel), levels->spread);
            figure::HeatMapStyle rs{figure::Colormap::magma,
                                    "output value for an all-ones input (weights " + p.weight_source + ")", true, rlo, rhi};
            figure::Axes& bx = fig.axes(0, 1).title(buf).xlabel("output position, last dimension").grid(false).yreverse(true);
            bx.xinteger(true).yinteger(true).aspect_equal(true);
            if (r > 1) bx.ylabel(r == 3 ? "output position, dimension 1" : "output position, dimension 0");
            bx.heat_map(std::move(response), h, w,
                        {-0.5, static_cast<double>(w) - 0.5, -0.5, static_cast<double>(h) - 0.5}, rs);
        }
        fig.save(out);
        png_note = "wrote " + out + ": " + std::to_string(static_cast<index_t>(fig.width())) + " x " +
                   std::to_string(static_cast<index_t>(fig.height())) + (has_extension(out, ".svg") ? " points" : " pixels") +
                   ", about " + std::to_string(cell) + " per output element" +
                   (r == 3 ? ", slice " + std::to_string(mid) + " of dimension 0" : "") +
                   "; colour = (input, tap) pairs per output, one colour per count from the smallest (" +
                   std::to_string(static_cast<index_t>(lo)) + ", dark) to the largest (" +
                   std::to_string(static_cast<index_t>(hi)) + ", yellow)" +
                   (levels ? "; right: the response to an all-ones input with the weights, output channel " +
                                 std::to_string(levels->worst_channel) + " (its own colour bar)"
                           : "");
    }

    if (f.json) {
        nlohmann::json j;
        j["configuration"] = p.spec.describe();
        j["analysed"] = p.spec.transposed ? "transposed conv" : "adjoint of the conv (W^T)";
        j["shape"] = rep.shape;
        j["counts"] = rep.counts;
        j["channels_per_output"] = rep.channels_per_output;
        j["interior_empty"] = rep.interior_empty;
        j["interior_min"] = rep.interior_min;
        j["interior_max"] = rep.interior_max;
        j["uniformity"] = std::isinf(rep.uniformity) ? nlohmann::json(nullptr) : nlohmann::json(rep.uniformity);
        j["even"] = rep.even;
        j["verdict"] = rep.verdict;
        if (levels) {
            nlohmann::json phases = nlohmann::json::array();
            for (auto v : levels->stride) phases.push_back(v);
            j["weights"] = p.weight_source;
            j["levels"] = {{"phases", phases}, {"levels", levels->levels}, {"channel_spread", levels->channel_spread},
                           {"spread", levels->spread}, {"worst_channel", levels->worst_channel}, {"free", levels->free},
                           {"verdict", levels->verdict}};
        }
        j["dims"] = nlohmann::json::array();
        for (const auto& d : rep.dims)
            j["dims"].push_back({{"kernel", d.kernel_size}, {"stride", d.stride}, {"dilation", d.dilation}, {"counts", d.counts},
                                 {"phase_counts", d.residue_counts}, {"even", d.even},
                                 {"smaller_even_kernel", d.smaller_even_kernel}, {"larger_even_kernel", d.larger_even_kernel},
                                 {"interior", {d.interior_lo, d.interior_hi}}});
        std::cout << j.dump(2) << "\n";
        return;
    }

    std::ostringstream os;
    os << p.spec.describe() << "\n";
    if (!p.spec.transposed) os << "(a conv: analysing its adjoint W^T, the transposed conv with the same weights)\n";
    os << "(input, tap) pairs reaching each output element, per channel pair";
    if (rep.channels_per_output > 1)
        os << "; each output also sums " << rep.channels_per_output << " input channels, so T's row sums are "
           << rep.channels_per_output << " x these";
    os << ":\n";
    const bool small = w <= 48 && h <= 48 && slices <= 8;
    if (small || f.grid) {
        for (index_t sl = 0; sl < slices; ++sl) {
            if (r == 3) os << " [" << sl << ", :, :]\n";
            os << grid_text(rep.counts, h, w, sl * h * w);
        }
    } else {
        os << "  (output " << to_string(rep.shape, "x") << " is too large for a text grid: use -o FILE.png or --grid)\n";
        // The repeating interior tile: one period (the strides) from the interior start.
        os << "  interior tile (one stride period):\n";
        const auto& dy = rep.dims[static_cast<size_t>(r == 1 ? 0 : r - 2)];
        const auto& dx = rep.dims.back();
        const index_t th = r == 1 ? 1 : std::min<index_t>(dy.stride, h), tw = std::min<index_t>(dx.stride, w);
        std::vector<index_t> tile;
        for (index_t y = 0; y < th; ++y)
            for (index_t x = 0; x < tw; ++x) {
                const index_t yy = r == 1 ? 0 : std::min<index_t>(dy.interior_lo + y, h - 1);
                const index_t xx = std::min<index_t>(dx.interior_lo + x, w - 1);
                tile.push_back(rep.counts[static_cast<size_t>(((slices / 2) * h + yy) * w + xx)]);
            }
        os << grid_text(tile, th, tw, 0);
    }
    os << "uniformity: max/min over the " << (rep.interior_empty ? "phases (the input is too small for a full interior period)" : "interior") << " = "
       << rep.interior_max << "/" << rep.interior_min << " = ";
    if (std::isinf(rep.uniformity)) os << "inf (some outputs receive nothing)";
    else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", rep.uniformity);
        os << buf;
    }
    os << "\n" << rep.verdict << "\n";
    if (levels) {
        // The levels of the worst channel over its phases, as a grid of the last two dimensions' phases.
        const index_t P = static_cast<index_t>(levels->levels.size()) / std::max<index_t>(1, levels->channels);
        const index_t pw = levels->stride.back(), ph = P / pw;
        os << "with the weights (" << p.weight_source << "): levels of the response to an all-ones input, output channel "
           << levels->worst_channel << ", one per phase (x mod stride):\n";
        for (index_t y = 0; y < ph; ++y) {
            os << "  ";
            for (index_t x = 0; x < pw; ++x) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%s%.6g", x ? "  " : "", levels->levels[static_cast<size_t>(levels->worst_channel * P + y * pw + x)]);
                os << buf;
            }
            os << "\n";
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", levels->spread);
        os << "relative spread (max - min) / max |level| over the phases, worst channel: " << buf << "\n" << levels->verdict << "\n";
    }
    if (!png_note.empty()) os << png_note << "\n";
    std::cout << os.str();
}

}  // namespace

void setup_overlap(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "overlap", "checkerboard check of a transposed conv: (input, tap) pairs reaching each output element",
        "For a transposed convolution, counts how many (input element, kernel tap) pairs reach each output element "
        "(per channel pair; the row sums of T's 0/1 pattern are this count times the input channels per group). "
        "Uneven counts are the checkerboard artifacts of Odena et al., \"Deconvolution and Checkerboard Artifacts\" "
        "(https://distill.pub/2016/deconv-checkerboard/): they occur when the kernel size is not divisible by the "
        "stride. Prints a text grid for small outputs, the uniformity (max/min count over the interior) and the "
        "verdict with kernel sizes that would be even. With --weights (trained weights from a .npy file) it also "
        "prints the levels of the response to an all-ones input, one per phase (output position mod stride): the sums "
        "of the kernel's polyphase components, with their relative spread, 0 exactly when the weights make no "
        "checkerboard (with --weights ones the verdict is the structural one). For a conv configuration, its adjoint "
        "(W^T) is analysed.\n"
        "  convmtx overlap --input 1x4x4 --kernel 3x3 --stride 2 --transposed\n"
        "  convmtx overlap --input 64x32x32 --kernel 5x5 --stride 2 --padding 2 --output-padding 1 --transposed "
        "-o overlap.png\n"
        "  convmtx overlap --input 64x32x32 --kernel 4x4 --stride 2 --padding 1 --transposed --weights up.npy");
    auto f = std::make_shared<OverlapFlags>();
    cmd->add_option("-o,--output", f->output,
                    "also write the counts as a heat map with axes and a colour bar from the smallest count to the "
                    "largest: PNG or SVG by the extension")
        ->option_text("FILE")
        ->check(file_extension({".png", ".svg"}))
        ->check(writable_file());
    cmd->add_option("--cell", f->cell, "pixels per output element in the heat map (default: fit about 600 pixels)")
        ->option_text("PX")
        ->check(integer_in(1, 64));
    cmd->add_flag("--grid", f->grid, "print the text grid even when it is large");
    cmd->add_flag("--json", f->json, "print the counts and the verdict as JSON");
    f->config.add_to(*cmd);
    cmd->callback([f] { run_overlap(*f); });
}

}  // namespace convmtx::cli
