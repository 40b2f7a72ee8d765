// convmtx solve: forward-model a degraded image (blur, optional stride for
// super-resolution, Gaussian noise), then recover it by regularized least squares
// and compare with the transposed-convolution estimate W^T b.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <limits>
#include <sstream>
#include <tuple>

#include "cli.hpp"
#include "convmtx/convmtx.hpp"
#include "convmtx/image.hpp"
#include "convmtx/npy.hpp"
#include "convmtx/solvers.hpp"
#include "convmtx/suitesparse.hpp"
#include "blur.hpp"
#include "flag_values.hpp"
#include "initializers.hpp"

namespace convmtx::cli {

namespace {

Image to_image(const Vector<double>& v, index_t h, index_t w) {
    Image im(h, w);
    for (index_t i = 0; i < im.size(); ++i) im.pixels[static_cast<size_t>(i)] = static_cast<float>(v(i));
    return im;
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

struct SolveFlags {
    std::string image;
    index_t size = 128;
    std::optional<index_t> downscale;
    std::string blur = "gaussian:9:2.0";
    std::string kernel;
    index_t stride = 1;
    double noise = 0.01;
    index_t seed = 0;
    std::string lambda = "auto";
    std::string rule = "auto";
    std::string regularizer = "tikhonov";
    std::string method = "lsqr";
    std::optional<index_t> iters;
    std::string bounds;
    bool accelerate = false;
    double atol = 1e-6, btol = 1e-6;
    bool matrix_free = false;
    std::string memory_limit;
    std::string output, degraded, adjoint, montage;
};

/// "LO:HI" with finite LO <= HI.
std::pair<double, double> parse_bounds(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) throw value_error("'" + text + "' must be LO:HI, e.g. 0:1");
    const double lo = parse_number(text.substr(0, colon), -std::numeric_limits<double>::max());
    const double hi = parse_number(text.substr(colon + 1), -std::numeric_limits<double>::max());
    if (!(lo <= hi)) throw value_error("'" + text + "' needs LO <= HI");
    return {lo, hi};
}

/// A CLI11 check that runs `parse` (a value_error or a library config_error is the message).
template <class Parse>
CLI::Validator parsed_by(Parse parse) {
    return CLI::Validator(
        [parse](std::string& text) -> std::string {
            try {
                parse(text);
            } catch (const std::invalid_argument& e) {
                return e.what();
            }
            return {};
        },
        "");
}

void run_solve(const SolveFlags& f);

/// One status line on stderr, drawn from the solvers' callbacks only when stderr is a terminal,
/// at most 10 times a second; cleared before the results are printed.
class ProgressLine {
public:
    ProgressLine() : on_(isatty(2) == 1) {}
    ~ProgressLine() { clear(); }
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;
    void iteration(const IterationInfo& i) {
        if (!due(i.iteration <= 1)) return;
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s: iteration %lld/%lld  ||r|| = %.4e  %.1f s", i.method.c_str(),
                      static_cast<long long>(i.iteration), static_cast<long long>(i.iteration_limit),
                      i.residual_norm, i.seconds);
        draw(buf);
    }
    void step(const ProgressInfo& p) {
        if (!due(true)) return;
        std::string text = p.task + ": " + p.phase;
        if (p.steps > 0) text += " " + std::to_string(p.step) + "/" + std::to_string(p.steps);
        if (std::isfinite(p.value)) text += fmt("  lambda = %.4e", p.value);
        draw(text + fmt("  %.1f s", p.seconds));
    }
    void clear() {
        if (on_ && drawn_) std::fprintf(stderr, "\r%*s\r", 79, "");
        drawn_ = false;
    }

private:
    bool due(bool always) {
        if (!on_) return false;
        const auto now = std::chrono::steady_clock::now();
        if (!always && now - last_ < std::chrono::milliseconds(100)) return false;
        last_ = now;
        return true;
    }
    void draw(const std::string& text) {
        std::fprintf(stderr, "\r%-79.79s", text.c_str());
        std::fflush(stderr);
        drawn_ = true;
    }
    bool on_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace

void setup_solve(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "solve", "deblurring / super-resolution by least squares (LSQR, CGLS, Landweber, SPQR, CHOLMOD) vs W^T b",
        "Forward-models a degraded image b = W x + noise (W: a blur as a convolution, with --stride a strided one), "
        "recovers x by regularized least squares min ||W x - b||^2 + lambda^2 ||x||^2, and prints the PSNR of b, of "
        "the transposed-convolution estimate W^T b (what an upsampling layer computes) and of the solution. With no "
        "options it deblurs the 128x128 Shepp-Logan phantom.\n"
        "  convmtx solve --image camera.png --downscale 4 --stride 2 --montage sr.png");
    auto f = std::make_shared<SolveFlags>();
    auto* img = cmd->add_option("--image", f->image, "PNG or PGM image to degrade (default: the Shepp-Logan phantom)")
                    ->option_text("FILE")
                    ->check(readable_file());
    cmd->add_option("--size", f->size, "phantom size N x N (default 128)")
        ->option_text("N")
        ->check(integer_in(8, 16384))
        ->excludes(img);
    cmd->add_option("--downscale", f->downscale, "downscale the image by F x F block means first (e.g. 4: 512 -> 128)")
        ->option_text("F")
        ->check(integer_in(1, 65536));
    auto* blur = cmd->add_option("--blur", f->blur, "the blur: gaussian:SIZE:SIGMA or box:SIZE (default gaussian:9:2.0)")
                     ->option_text("SPEC")
                     ->check(parsed_by([](const std::string& t) { parse_blur(t); }));
    cmd->add_option("--kernel", f->kernel, "blur kernel from a .npy file, shape (kh, kw) or (1, 1, kh, kw); replaces --blur")
        ->option_text("FILE")
        ->check(readable_file())
        ->check(file_extension({".npy"}))
        ->excludes(blur);
    cmd->add_option("--stride", f->stride, "stride of the forward conv (2: 2x super-resolution; default 1)")
        ->option_text("S")
        ->check(integer_in(1, 1024));
    cmd->add_option("--noise", f->noise, "standard deviation of the Gaussian noise added to W x (default 0.01; images in [0, 1])")
        ->option_text("SIGMA")
        ->check(number_in(0.0));
    cmd->add_option("--seed", f->seed, "noise seed (default 0)")->option_text("N")->check(integer_in(0));
    cmd->add_option("--lambda", f->lambda,
                    "regularization weight >= 0, or auto (default): the discrepancy principle with the known noise, "
                    "GCV when --noise 0")
        ->option_text("VALUE")
        ->check(parsed_by([](const std::string& t) {
            if (t != "auto") parse_number(t, 0.0);
        }));
    cmd->add_option("--rule", f->rule, "rule of --lambda auto: auto, discrepancy, gcv or lcurve")
        ->option_text("RULE")
        ->check(parsed_by([](const std::string& t) { parse_lambda_rule(t); }));
    cmd->add_option("--regularizer", f->regularizer,
                    "tikhonov (damp^2 ||x||^2, default) or gradient (lambda^2 ||D x||^2)")
        ->option_text("R")
        ->check(parsed_by([](const std::string& t) { parse_regularizer(t); }));
    cmd->add_option("--method", f->method, "lsqr (default), cgls, landweber, spqr or cholmod")
        ->option_text("M")
        ->check(CLI::IsMember({"lsqr", "cgls", "landweber", "spqr", "cholmod"}));
    cmd->add_option("--iters", f->iters, "iteration limit (default: 2n for lsqr/cgls, 500 for landweber)")
        ->option_text("N")
        ->check(integer_in(1));
    cmd->add_option("--bounds", f->bounds, "landweber: keep every pixel in [LO, HI], e.g. 0:1 (projected Landweber)")
        ->option_text("LO:HI")
        ->check(parsed_by([](const std::string& t) { parse_bounds(t); }));
    cmd->add_flag("--accelerate", f->accelerate, "landweber: Nesterov/FISTA momentum");
    cmd->add_option("--atol", f->atol, "stopping tolerance atol (default 1e-6)")->option_text("TOL")->check(number_in(0.0));
    cmd->add_option("--btol", f->btol, "stopping tolerance btol (default 1e-6)")->option_text("TOL")->check(number_in(0.0));
    cmd->add_flag("--matrix-free", f->matrix_free, "iterate with the direct conv kernels instead of the explicit W");
    cmd->add_option("--memory-limit", f->memory_limit, "refuse direct factorizations estimated above SIZE (e.g. 512M)")
        ->option_text("SIZE")
        ->check(parsed_by([](const std::string& t) { parse_memory_size(t); }));
    const std::pair<const char*, const char*> images[] = {
        {"-o,--output", "write the solution (PNG, or PGM for *.pgm)"},
        {"--degraded", "write the degraded image b"},
        {"--adjoint", "write the transposed-convolution estimate W^T b"},
        {"--montage", "write original | degraded | W^T b | solution side by side"}};
    std::string* targets[] = {&f->output, &f->degraded, &f->adjoint, &f->montage};
    for (size_t i = 0; i < 4; ++i)
        cmd->add_option(images[i].first, *targets[i], images[i].second)
            ->option_text("FILE")
            ->check(file_extension({".png", ".pgm"}))
            ->check(writable_file());
    cmd->callback([f] { run_solve(*f); });
}

namespace {

void run_solve(const SolveFlags& f) {
    // ---- the image ----
    Image truth;
    std::string source;
    if (!f.image.empty()) {
        try {
            truth = read_image(f.image);
        } catch (const std::runtime_error& e) {
            throw usage_error(std::string("--image: ") + e.what());
        }
        source = f.image;
    } else {
        truth = shepp_logan(f.size);
        source = "Shepp-Logan phantom";
    }
    if (f.downscale) truth = downscale(truth, *f.downscale);
    if (truth.height < 2 || truth.width < 2)
        throw usage_error("the image is " + std::to_string(truth.height) + "x" + std::to_string(truth.width) +
                          "; it needs at least 2x2 pixels");
    const index_t H = truth.height, Wd = truth.width;

    // ---- the forward model ----
    const Kernel k = !f.kernel.empty() ? read_kernel(f.kernel) : parse_blur(f.blur);
    const index_t stride = f.stride;
    const double noise = f.noise;
    const index_t seed = f.seed;
    ConvOptions copt;
    copt.stride = {stride};
    // "same" padding: k - 1 in total, the extra one of an even kernel at the end (PyTorch's choice).
    copt.padding = Padding::sides({(k.kh - 1) / 2, (k.kw - 1) / 2}, {k.kh / 2, k.kw / 2});
    const ConvSpec spec = make_conv({1, H, Wd}, {1, 1, k.kh, k.kw}, copt);
    const Dims out = spec.output_size();
    const index_t oh = out[0], ow = out[1];

    const std::string& method = f.method;
    const bool matrix_free = f.matrix_free;
    if (matrix_free && (method == "spqr" || method == "cholmod"))
        throw usage_error("--matrix-free conflicts with --method " + method + ", which factorizes the explicit W");
    std::shared_ptr<const LinearOperator<double>> A;
    std::shared_ptr<SparseOperator<double>> Wop;
    if (matrix_free) {
        A = std::make_shared<ConvOperator<double>>(spec, k.w, ApplyMethod::direct);
    } else {
        Wop = make_matrix_operator<double>(spec, k.w);
        A = Wop;
    }

    Vector<double> x_true(truth.size());
    for (index_t i = 0; i < truth.size(); ++i) x_true(i) = truth.pixels[static_cast<size_t>(i)];
    Vector<double> b = A->apply(x_true);
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
    std::normal_distribution<double> nd(0.0, 1.0);
    for (index_t i = 0; i < b.size(); ++i) b(i) += noise * nd(rng);

    // ---- solver options ----
    ProgressLine line;
    SolverOptions so;
    so.callback = [&line](const IterationInfo& i) {
        line.iteration(i);
        return true;
    };
    so.atol = f.atol;
    so.btol = f.btol;
    so.regularizer = parse_regularizer(f.regularizer);
    so.lambda.rule = parse_lambda_rule(f.rule);
    so.lambda.noise_sigma = noise;
    so.lambda.callback = [&line](const ProgressInfo& p) { line.step(p); };
    if ((!f.bounds.empty() || f.accelerate) && method != "landweber")
        throw usage_error(std::string("--") + (!f.bounds.empty() ? "bounds" : "accelerate") +
                          " applies to --method landweber only");
    if (!f.bounds.empty()) std::tie(so.lower, so.upper) = parse_bounds(f.bounds);
    so.accelerate = f.accelerate;
    if (f.iters) so.iter_lim = *f.iters;
    else if (method == "landweber") so.iter_lim = 500;
    const std::string& lam = f.lambda;
    std::optional<LambdaChoice> choice;
    double lambda = 0;
    const auto t_lambda = std::chrono::steady_clock::now();
    if (lam == "auto") {
        if (noise == 0 && so.lambda.rule == LambdaRule::discrepancy)
            throw usage_error("--rule discrepancy needs the noise level, but --noise is 0");
        choice = choose_lambda<double>(*A, b, so.regularizer, so.lambda, {});
        lambda = choice->lambda;
    } else {
        lambda = parse_number(lam, 0.0);
    }
    const double lambda_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_lambda).count();
    if (so.regularizer == Regularizer::tikhonov) so.damp = lambda;
    else so.gradient_weight = lambda;

    // ---- solve ----
    SolveResult<double> res;
    if (method == "spqr" || method == "cholmod") {
#if CONVMTX_WITH_SUITESPARSE
        DirectOptions d;
        d.damp = so.damp;
        d.gradient_weight = so.gradient_weight;
        if (!f.memory_limit.empty()) d.memory_limit = parse_memory_size(f.memory_limit);
        d.callback = [&line](const ProgressInfo& p) { line.step(p); };
        res = method == "spqr" ? solve_spqr<double>(*A, b, d) : solve_cholmod<double>(*A, b, d);
#else
        throw usage_error("--method " + method + " needs the SuiteSparse component: this convmtx was built "
                          "with CONVMTX_WITH_SUITESPARSE=OFF");
#endif
    } else if (method == "lsqr") {
        res = lsqr<double>(*A, b, so);
    } else if (method == "cgls") {
        res = cgls<double>(*A, b, so);
    } else {
        res = landweber<double>(*A, b, so);
    }

    line.clear();

    // ---- the three estimates ----
    const Vector<double> wtb = A->apply_adjoint(b);
    const double denom = wtb.squaredNorm();
    const double best_scale = denom > 0 ? wtb.dot(x_true) / denom : 0.0;
    const Image degraded = to_image(b, oh, ow);
    const Image degraded_view = stride > 1 ? crop_or_pad(upscale_nearest(degraded, stride), H, Wd) : degraded;
    const Image adjoint = to_image(wtb, H, Wd);
    const Image adjoint_scaled = to_image(best_scale * wtb, H, Wd);
    const Image solution = to_image(res.x, H, Wd);
    // PSNR of the images as written (clipped to [0, 1]); the solution's unclipped PSNR too.
    const double p_degraded = psnr(clipped(degraded_view), truth), p_adjoint = psnr(clipped(adjoint), truth);
    const double p_adjoint_scaled = psnr(clipped(adjoint_scaled), truth);
    const double p_solution = psnr(clipped(solution), truth), p_raw = psnr(solution, truth);

    std::cout << "convmtx solve: " << source << " " << H << "x" << Wd << ", " << k.describe << ", stride " << stride
              << ", noise " << noise << " (seed " << seed << ")\n";
    std::cout << "W: " << A->data_size() << "x" << A->model_size() << " (" << oh << "x" << ow << " <- " << H << "x"
              << Wd << "), " << (matrix_free ? std::string("matrix-free direct kernels")
                                             : std::to_string(Wop->matrix().nonZeros()) + " stored entries")
              << "\n";
    if (choice) std::cout << choice->str() << ", chosen in " << fmt("%.2f", lambda_seconds) << " s\n";
    else std::cout << "lambda=" << lambda << " (" << to_string(so.regularizer) << ", given)\n";
    auto row = [](const std::string& label, double value) {
        std::string l = label;
        if (l.size() < 40) l += std::string(40 - l.size(), ' ');
        return l + fmt("%6.2f", value) + " dB";
    };
    std::cout << "PSNR (images clipped to [0, 1] as written):\n"
              << row(stride > 1 ? "  degraded b (nearest upscaled)" : "  degraded b", p_degraded) << "\n"
              << row("  transposed conv W^T b", p_adjoint) << "   (rescaled by the truth's best factor "
              << fmt("%.3g", best_scale) << ": " << fmt("%.2f", p_adjoint_scaled) << " dB)\n"
              << row("  least squares (" + method + ")", p_solution) << "   (unclipped " << fmt("%.2f", p_raw)
              << " dB)\n  ";
    if (method == "spqr" || method == "cholmod")
        std::cout << method << ": direct, " << fmt("%.2f", res.seconds) << " s, estimated memory "
                  << format_bytes(res.estimated_bytes);
    else
        std::cout << method << ": " << res.iterations << " iterations, " << fmt("%.2f", res.seconds) << " s, istop "
                  << res.istop << " (" << res.reason() << ")";
    std::cout << "\n||W x - b|| = " << fmt("%.4g", res.residual_norm) << ", ||x|| = " << fmt("%.4g", res.xnorm) << "\n";

    auto write = [&](const std::string& path, const Image& im) {
        if (path.empty()) return;
        write_image(path, im);
        std::cout << "wrote " << path << " (" << im.height << "x" << im.width << ")\n";
    };
    write(f.output, solution);
    write(f.degraded, degraded);
    write(f.adjoint, adjoint);
    if (!f.montage.empty()) write(f.montage, hconcat({truth, degraded_view, adjoint, solution}));
}

}  // namespace

}  // namespace convmtx::cli
