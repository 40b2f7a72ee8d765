// convmtx spectrum: the singular values of W (spectrum.hpp): sigma_max, sigma_min or the rank
// deficiency, the condition number, the reshaped-weight norm that frameworks' spectral_norm
// divides by, the method used; --k values from either end; --plot the distribution and, for 2-D
// block-circulant configurations, each frequency's largest singular value as a heat map.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/figure.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/spectrum.hpp"
#include "flag_values.hpp"
#if CONVMTX_WITH_SUITESPARSE
#include "convmtx/spectrum_cholmod.hpp"
#endif

namespace convmtx::cli {

namespace {

struct SpectrumFlags {
    ConfigFlags config;
    std::optional<index_t> k;
    std::string which = "largest", method = "auto", plot;
    std::optional<double> tol;
    bool json = false;
};

std::string num(double v) {
    if (std::isinf(v)) return "inf";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

/// One status line on stderr, drawn from the library's progress callback when stderr is a
/// terminal, at most 10 times a second; cleared before the results are printed.
class ProgressLine {
public:
    ProgressLine() : on_(isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}
    ~ProgressLine() { clear(); }
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;
    void step(const SpectrumProgress& p) {
        if (!on_) return;
        const auto now = std::chrono::steady_clock::now();
        if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        char buf[120];
        if (p.total > 0)
            std::snprintf(buf, sizeof buf, "spectrum: %s %lld/%lld  %.1f s", p.stage.c_str(), static_cast<long long>(p.done),
                          static_cast<long long>(p.total), seconds);
        else
            std::snprintf(buf, sizeof buf, "spectrum: %s %lld  %.1f s", p.stage.c_str(), static_cast<long long>(p.done), seconds);
        std::fprintf(stderr, "\r%-79.79s", buf);
        std::fflush(stderr);
        drawn_ = true;
    }
    void clear() {
        if (on_ && drawn_) std::fprintf(stderr, "\r%*s\r", 79, "");
        drawn_ = false;
    }

private:
    bool on_, drawn_ = false;
    std::chrono::steady_clock::time_point start_, last_{};
};

/// The singular-value distribution (and the frequency map of a 2-D block-circulant W) as a figure.
void draw(const std::string& path, const ConvSpec& spec, const Spectrum& s, bool smallest) {
    const bool map = !s.frequency_max.empty() && s.frequency_shape.size() == 2;
    figure::Figure fig(map ? 1000 : 560, 420, 1, map ? 2 : 1);
    const std::string what = spec.transposed ? "T = W^T, transposed conv" : "W, conv";
    fig.title("spectrum of " + what + " " + to_string(spec.input_shape(), "x") + " -> " + to_string(spec.output_shape(), "x") +
              ", kernel " + to_string(spec.kernel_size, "x") + ", " + to_string(spec.padding_mode) + " padding");
    std::vector<double> x, y;
    // The k smallest are the last k of the count values: index them so.
    const index_t first = !s.complete && smallest ? s.count - static_cast<index_t>(s.values.size()) : 0;
    bool positive = false;
    for (size_t i = 0; i < s.values.size(); ++i) {
        x.push_back(static_cast<double>(first + static_cast<index_t>(i) + 1));
        y.push_back(s.values[i]);
        positive |= s.values[i] > 0;
    }
    auto& ax = fig.axes(0, 0);
    ax.title(s.complete ? "all singular values" : "the " + std::to_string(s.values.size()) + " computed singular values")
        .xlabel("index i (descending, from 1)")
        .ylabel("singular value sigma_i")
        .xinteger(true)
        .xlim(static_cast<double>(first) + 0.5, static_cast<double>(first) + static_cast<double>(s.values.size()) + 0.5);
    if (positive && s.values.front() > 0 && s.values.back() > 0 && s.values.front() / s.values.back() > 50)
        ax.yscale(figure::Scale::log);
    ax.plot(x, y, {figure::cycle_color(0), 1.5, s.values.size() <= 64 ? 3.0 : 0.0, "sigma_i (" + to_string(s.method) + ")"});
    if (map) {
        const index_t rows = s.frequency_shape[0], cols = s.frequency_shape[1];
        // Frequencies centred: index f maps to f or f - m (numpy's fftshift order), row 0 at the top.
        std::vector<double> centred(static_cast<size_t>(rows * cols));
        for (index_t r = 0; r < rows; ++r)
            for (index_t q = 0; q < cols; ++q) {
                const index_t rr = (r + rows / 2) % rows, qq = (q + cols / 2) % cols;
                centred[static_cast<size_t>((rows - 1 - r) * cols + q)] = s.frequency_max[static_cast<size_t>(rr * cols + qq)];
            }
        const double y0 = -static_cast<double>(rows / 2) - 0.5, x0 = -static_cast<double>(cols / 2) - 0.5;
        fig.axes(0, 1)
            .title("largest singular value per frequency")
            .xlabel("frequency f_1 (cycles per " + std::to_string(cols) + ")")
            .ylabel("frequency f_0 (cycles per " + std::to_string(rows) + ")")
            .grid(false)
            .xinteger(true)
            .yinteger(true)
            .aspect_equal(true)
            .heat_map(std::move(centred), rows, cols, {x0, x0 + static_cast<double>(cols), y0, y0 + static_cast<double>(rows)},
                      {figure::Colormap::viridis, "sigma_max of the frequency's block"});
    }
    fig.save(path);
}

void run_spectrum_of(const SpectrumFlags& f, std::string& weight_source);

/// The library's "weights: ..." refusals (singular values beyond a double) name the flag.
void run_spectrum(const SpectrumFlags& f) {
    std::string source;
    try {
        run_spectrum_of(f, source);
    } catch (const config_error& e) {
        const std::string m = e.what();
        if (m.rfind("weights: ", 0) == 0) throw usage_error("--weights " + source + ": " + m.substr(9));
        throw;
    }
}

void run_spectrum_of(const SpectrumFlags& f, std::string& weight_source) {
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.config.problem();
    weight_source = p.weight_source;
    ProgressLine line;
    SpectrumOptions o;
    o.method = parse_spectrum_method(f.method);
    o.which = parse_spectrum_side(f.which);
    if (f.tol) o.tol = *f.tol;
#if CONVMTX_WITH_SUITESPARSE
    o.shift_invert = cholmod_shift_invert;
#endif
    o.progress = [&line](const SpectrumProgress& s) { line.step(s); };
    const span<const double> w(p.weight);
    const index_t count = std::min(p.spec.input_numel(), p.spec.output_numel());
    if (f.k && *f.k > count)
        throw usage_error("--k " + std::to_string(*f.k) + " is larger than the number of singular values, min(rows, cols) = " +
                          std::to_string(count));

    o.memory_limit = std::min(memory_limit(), 0.5 * physical_memory_bytes());
    // The fft path's work and memory, estimated before anything is computed: sigma_max/sigma_min
    // (every value), then --k and --plot (every value again, the frequency map).
    if (o.method == SpectrumMethod::fft || o.method == SpectrumMethod::automatic) {
        if (const auto cost = fft_spectrum_cost(p.spec, true, !f.plot.empty())) {
            const double runs = 1 + (f.k ? 1 : 0) + (f.plot.empty() ? 0 : 1);
            const std::string what = "the fft method on " + p.spec.describe();
            check_memory(cost->bytes, what, "use fewer frequencies (a smaller input) or --method lanczos --k K");
            check_time(runs * cost->work, 6e7, what, "use fewer channels or a smaller input, or --method lanczos --k K");
        }
    }

    // sigma_max and sigma_min by the chosen method (k and which do not apply to them).
    SpectrumOptions co = o;
    co.which = SpectrumSide::largest;
    const Conditioning c = condition_number<double>(p.spec, w, co);
    const double reshaped = reshaped_weight_norm<double>(w, p.spec.weight_shape(), p.spec.transposed ? 1 : 0);

    // The values listed (--k) or plotted: the k asked for, else every value when that is exact and
    // cheap (fft, or dense), else the 10 largest.
    std::optional<Spectrum> s, plotted;
    if (f.k) {
        SpectrumOptions so = o;
        so.k = *f.k;
        if (so.k < count && o.method == SpectrumMethod::automatic && c.method == SpectrumMethod::lanczos)
            so.method = SpectrumMethod::lanczos;
        s = singular_values<double>(p.spec, w, so);
    }
    if (!f.plot.empty()) {
        if (c.method != SpectrumMethod::lanczos || !s) {
            SpectrumOptions po = o;
            po.which = SpectrumSide::largest;
            po.frequency_map = true;
            po.k = c.method == SpectrumMethod::lanczos ? std::min<index_t>(10, count - 1) : 0;
            po.method = c.method;
            plotted = singular_values<double>(p.spec, w, po);
        } else {
            plotted = s;
        }
    }
    line.clear();

    if (plotted) draw(f.plot, p.spec, *plotted, !plotted->complete && o.which == SpectrumSide::smallest && s);

    if (f.json) {
        nlohmann::json j;
        j["configuration"] = p.spec.describe();
        j["rows"] = c.rows;
        j["cols"] = c.cols;
        j["sigma_max"] = c.sigma_max;
        j["sigma_min"] = c.sigma_min;
        j["condition"] = std::isinf(c.condition) ? nlohmann::json(nullptr) : nlohmann::json(c.condition);
        j["rank_deficient"] = c.rank_deficient();
        j["nullity"] = c.nullity();
        j["reshaped_weight_norm"] = reshaped;
        j["norm_ratio"] = reshaped > 0 ? nlohmann::json(c.sigma_max / reshaped) : nlohmann::json(nullptr);
        j["method"] = to_string(c.method);
        j["detail"] = c.detail;
        if (s) {
            j["values"] = s->values;
            j["residuals"] = s->residuals;
            j["values_method"] = to_string(s->method);
        }
        if (!f.plot.empty()) j["plot"] = f.plot;
        std::cout << j.dump(2) << "\n";
        return;
    }

    std::ostringstream os;
    os << p.spec.describe() << "\n";
    os << (p.spec.transposed ? "T = W^T: " : "W: ") << c.rows << " x " << c.cols << " (" << c.count
       << " singular values; a transposed conv has those of its W)\n";
    os << "sigma_max (the operator norm ||W||_2): " << num(c.sigma_max) << "\n";
    if (c.rank_deficient())
        os << "sigma_min: 0, W is rank-deficient: nullity " << c.nullity() << (c.zeros_exact ? "" : " at least") << "\n";
    else
        os << "sigma_min: " << num(c.sigma_min) << "\n";
    if (c.cols > c.count && !c.rank_deficient())
        os << "  (W has more columns than rows: its null space has dimension " << c.nullity() << ")\n";
    os << "condition number sigma_max / sigma_min: " << num(c.condition) << "\n";
    os << "reshaped-weight norm (what torch.nn.utils.spectral_norm divides by, weight as (" << p.spec.weight_shape()[p.spec.transposed ? 1 : 0]
       << ", " << (p.spec.weight_numel() / std::max<index_t>(1, p.spec.weight_shape()[p.spec.transposed ? 1 : 0])) << ")): " << num(reshaped)
       << "\n";
    if (reshaped > 0) os << "ratio sigma_max / reshaped-weight norm: " << num(c.sigma_max / reshaped) << "\n";
    os << "method: " << to_string(c.method) << ": " << c.detail << "\n";
    if (s && f.k) {
        os << "the " << s->values.size() << " " << (s->complete ? "" : to_string(o.which) + " ") << "singular values ("
           << to_string(s->method) << (s->residuals.empty() ? "" : "; error bound in brackets") << "):\n";
        for (size_t i = 0; i < s->values.size(); ++i) {
            os << "  " << num(s->values[i]);
            if (!s->residuals.empty()) os << "  [" << num(s->residuals[i]) << "]";
            os << "\n";
        }
    }
    if (!f.plot.empty()) os << "wrote " << f.plot << "\n";
    std::cout << os.str();
}

}  // namespace

void setup_spectrum(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "spectrum", "singular values of W: operator norm, smallest value or rank deficiency, condition number",
        "Prints sigma_max (the operator norm of the convolution), sigma_min (or the nullity when W is rank-deficient), "
        "the condition number, the norm of the weight reshaped to (C_out, C_in/groups * prod(k)) that "
        "torch.nn.utils.spectral_norm divides by (it ignores the input size, stride and padding) with the ratio of the "
        "two, and the method used. Methods: fft (exact, every value, for circular padding with sizes divisible by the "
        "stride: one small SVD per frequency, Sedghi, Gupta & Long 2019, with the polyphase blocks for strides), "
        "lanczos (the largest or smallest values matrix-free on W^T W or W W^T), dense (LAPACK's SVD of the dense "
        "matrix, small W); auto picks fft when it applies, dense for small W, else lanczos. A transposed conv has the "
        "singular values of its W. See docs/spectrum.md.\n"
        "  convmtx spectrum --input 16x32x32 --kernel 3x3 --out-channels 16 --padding 1 --weights random:1\n"
        "  convmtx spectrum --input 8x16x16 --kernel 3x3 --out-channels 8 --padding 1 --padding-mode circular "
        "--weights random:1 --plot spectrum.png\n"
        "  convmtx spectrum --input 1x64x64 --kernel 5x5 --padding 2 --weights random:2 --k 5 --which smallest");
    auto f = std::make_shared<SpectrumFlags>();
    cmd->add_option("--k", f->k, "also list the K largest (or --which smallest) singular values")->option_text("K")->check(integer_in(1));
    cmd->add_option("--which", f->which, "the end of the spectrum --k lists: largest (default) or smallest")
        ->option_text("largest|smallest")
        ->check(CLI::IsMember({"largest", "smallest"}));
    cmd->add_option("--method", f->method, "auto (default), fft, lanczos or dense")
        ->option_text("METHOD")
        ->check(CLI::IsMember({"auto", "fft", "lanczos", "dense"}));
    cmd->add_option("--tol", f->tol, "Lanczos' relative accuracy (default 1e-10)")->option_text("TOL")->check(number_in(1e-15, 0.1));
    cmd->add_option("--plot", f->plot,
                    "draw the singular values (all when exact and cheap, else the --k or 10 largest) and, for a 2-D "
                    "circular configuration, each frequency's largest singular value as a heat map; PNG or SVG")
        ->option_text("FILE")
        ->check(file_extension({".png", ".svg"}))
        ->check(writable_file());
    cmd->add_flag("--json", f->json, "print the results as JSON");
    f->config.add_to(*cmd);
    cmd->callback([f] { run_spectrum(*f); });
}

}  // namespace convmtx::cli
