// convmtx solve: deconvolve an observed image with a known PSF (--observed), or forward-model a
// degraded image (blur, optional stride for super-resolution, Gaussian noise) and recover it;
// compare with the transposed-convolution estimate W^T b by PSNR and SSIM.
#include <unistd.h>

#include <algorithm>
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
#include "montage.hpp"

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

struct SolveFlags : DegradeFlags {
    std::string observed, psf, truth;
    std::string boundary = "zeros";
    bool noise_given = false;
    bool quiet = false;
    std::string lambda = "auto";
    std::string rule = "auto";
    std::string regularizer = "auto";
    std::string method = "auto";
    std::optional<index_t> iters;
    std::string bounds = "auto";
    bool accelerate = false;
    double atol = 1e-6, btol = 1e-6;
    bool matrix_free = false;
    std::string memory_limit;
};

/// "LO:HI" with finite LO <= HI ("none": unbounded).
std::pair<double, double> parse_bounds(const std::string& text) {
    if (text == "none") return {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
    const auto colon = text.find(':');
    if (colon == std::string::npos) throw value_error("'" + text + "' must be LO:HI (e.g. 0:1), none or auto");
    const double lo = parse_number(text.substr(0, colon), -std::numeric_limits<double>::max());
    const double hi = parse_number(text.substr(colon + 1), -std::numeric_limits<double>::max());
    if (!(lo <= hi)) throw value_error("'" + text + "' needs LO <= HI");
    return {lo, hi};
}

void run_solve(const SolveFlags& f);

/// One status line on stderr, drawn from the solvers' callbacks only when stderr is a terminal and
/// not --quiet, once the run has taken half a second, at most 10 times a second; cleared before
/// the results are printed.
class ProgressLine {
public:
    explicit ProgressLine(bool quiet) : on_(!quiet && isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}
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
        if (now - start_ < std::chrono::milliseconds(500)) return false;
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
    std::chrono::steady_clock::time_point start_, last_{};
};

}  // namespace

void setup_solve(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "solve",
        "deblurring / super-resolution: deconvolve your image with a PSF (TV, Tikhonov, gradient; bounds; "
        "FFT, preconditioned CGLS, primal-dual, LSQR, LSMR, Landweber, SPQR, CHOLMOD) vs W^T b",
        "With --observed FILE --psf SPEC deconvolves your blurred image b (not blurred again) by "
        "min 1/2 ||W x - b||^2 + R(x) with lower <= x <= upper, W the convolution with the PSF and the chosen "
        "--boundary, R total variation (default) or a quadratic penalty, lambda by the discrepancy principle with "
        "the noise level given (--noise) or estimated from b; --truth adds PSNR and SSIM. Without --observed it "
        "forward-models b = W x + noise from --image (default: the 128x128 Shepp-Logan phantom) and compares the "
        "degraded b, the transposed-convolution estimate W^T b and the solution. The methods lsqr, lsmr, cgls, "
        "landweber, spqr and cholmod run the least-squares problem min ||W x - b||^2 + lambda^2 ||L x||^2 with zeros "
        "boundaries (and --stride for super-resolution).\n"
        "  convmtx solve --observed b.png --psf gaussian:9:2.0 --truth x.png --montage m.png\n"
        "  convmtx solve --image camera.png --downscale 4 --stride 2 --method lsqr --montage sr.png");
    auto f = std::make_shared<SolveFlags>();
    auto* observed = cmd->add_option("--observed", f->observed,
                                     "your blurred image b (PNG or PGM): deconvolve it with --psf, without blurring it again")
                         ->option_text("FILE")
                         ->check(readable_file());
    auto* psf = cmd->add_option("--psf", f->psf,
                                "the blur: gaussian:SIZE:SIGMA, motion:LENGTH:ANGLE (degrees), disk:RADIUS or a .npy "
                                "file (kh, kw); applied as a true convolution (required with --observed)")
                    ->option_text("SPEC")
                    ->check(parsed_by([](const std::string& t) {
                        if (t.size() < 4 || t.compare(t.size() - 4, 4, ".npy") != 0) parse_psf(t);
                    }));
    cmd->add_option("--truth", f->truth, "with --observed: the sharp reference image, for PSNR and SSIM")
        ->option_text("FILE")
        ->check(readable_file())
        ->needs(observed);
    cmd->add_option("--boundary", f->boundary,
                    "what the blur sees outside the image: zeros (default), periodic, reflect or replicate")
        ->option_text("B")
        ->check(CLI::IsMember({"zeros", "periodic", "circular", "reflect", "replicate"}));
    const DegradeOptions d = add_degrade_flags(
        *cmd, *f,
        "standard deviation of the Gaussian noise added to W x (default 0.01; images in [0, 1]); with --observed the "
        "known noise level of b (default: estimated)",
        "stride of the forward conv (2: 2x super-resolution; default 1; least-squares methods)",
        "write the solution (PNG, or PGM for *.pgm)");
    for (CLI::Option* o : {d.image, d.size, d.blur, d.kernel, d.stride, d.seed}) o->excludes(observed);
    d.blur->excludes(psf);
    d.kernel->excludes(psf);
    CLI::Option* noise = d.noise;
    cmd->add_option("--lambda", f->lambda,
                    "regularization weight >= 0, or auto (default): the discrepancy principle with the known noise "
                    "(simulated least-squares runs: --rule, GCV when --noise 0)")
        ->option_text("VALUE")
        ->check(parsed_by([](const std::string& t) {
            if (t != "auto") parse_number(t, 0.0);
        }));
    cmd->add_option("--rule", f->rule, "simulated least-squares runs (lsqr, cgls, landweber, spqr, cholmod without --observed): rule of "
                    "--lambda auto: auto (GCV when --noise 0, else discrepancy), discrepancy, gcv or lcurve")
        ->option_text("RULE")
        ->check(parsed_by([](const std::string& t) { parse_lambda_rule(t); }));
    cmd->add_option("--regularizer", f->regularizer,
                    "tv (isotropic total variation; the default), tv-anisotropic, tikhonov (lambda^2 ||x||^2; the "
                    "least-squares methods' default) or gradient (lambda^2 ||D x||^2)")
        ->option_text("R")
        ->check(CLI::IsMember({"auto", "tv", "tv-anisotropic", "tikhonov", "gradient"}));
    cmd->add_option("--method", f->method,
                    "auto (default: primal-dual for tv or bounds, fft for periodic, pcgls for zeros, cgls for reflect "
                    "and replicate; lsqr with --stride > 1), fft, pcgls "
                    "(CGLS with a circulant preconditioner), primal-dual (Chambolle-Pock), or the least-squares "
                    "methods lsqr, lsmr (monotone ||W^T r||: fewer iterations to the atol test on ill-conditioned "
                    "blurs), cgls, landweber, spqr, cholmod")
        ->option_text("M")
        ->check(CLI::IsMember({"auto", "fft", "pcgls", "primal-dual", "lsqr", "lsmr", "cgls", "landweber", "spqr", "cholmod"}));
    cmd->add_option("--iters", f->iters, "iteration limit (default: 500 for primal-dual and landweber, 2n otherwise)")
        ->option_text("N")
        ->check(integer_in(1));
    cmd->add_option("--bounds", f->bounds,
                    "keep every pixel in [LO, HI], e.g. 0:1, or none; default auto: 0:1 (the range of an image "
                    "file), none for the least-squares methods (which take bounds with landweber only)")
        ->option_text("LO:HI")
        ->check(parsed_by([](const std::string& t) {
            if (t != "auto") parse_bounds(t);
        }));
    cmd->add_flag("--accelerate", f->accelerate, "landweber: Nesterov/FISTA momentum");
    cmd->add_option("--atol", f->atol, "stopping tolerance atol (default 1e-6)")->option_text("TOL")->check(number_in(0.0));
    cmd->add_option("--btol", f->btol, "stopping tolerance btol (default 1e-6)")->option_text("TOL")->check(number_in(0.0));
    cmd->add_flag("--matrix-free", f->matrix_free, "least-squares methods: iterate with the direct conv kernels instead of the explicit W");
    cmd->add_option("--memory-limit", f->memory_limit, "refuse direct factorizations estimated above SIZE (e.g. 512M)")
        ->option_text("SIZE")
        ->check(parsed_by([](const std::string& t) { parse_memory_size(t); }));
    cmd->add_flag("-q,--quiet", f->quiet, "no progress line (otherwise drawn on a terminal once a solve takes 0.5 s)");
    cmd->callback([f, cmd, noise] {
        f->noise_given = noise->count() > 0;
        if (!f->observed.empty() && f->psf.empty())
            throw usage_error("--observed needs --psf: the blur of the observed image (e.g. --psf gaussian:9:2.0)");
        (void)cmd;
        run_solve(*f);
    });
}

namespace {

bool legacy_method(const std::string& m) {
    return m == "lsqr" || m == "lsmr" || m == "cgls" || m == "landweber" || m == "spqr" || m == "cholmod";
}

Psf psf_of(const SolveFlags& f) {
    if (!f.psf.empty()) {
        if (f.psf.size() >= 4 && f.psf.compare(f.psf.size() - 4, 4, ".npy") == 0) {
            Kernel k = read_kernel(f.psf, "--psf");
            k.describe = "psf " + f.psf + " (" + std::to_string(k.kh) + "x" + std::to_string(k.kw) + ")";
            return checked_psf(k, "--psf " + f.psf);
        }
        Psf p = parse_psf(f.psf);
        try {
            return make_psf(p.height, p.width, p.values, p.description);
        } catch (const config_error& e) {
            throw usage_error(std::string("--psf ") + f.psf + ": " + e.what());
        }
    }
    const Kernel k = !f.kernel.empty() ? read_kernel(f.kernel, "--kernel") : parse_blur(f.blur);
    return checked_psf(k, !f.kernel.empty() ? "--kernel " + f.kernel : "--blur " + f.blur);
}

/// The image's size: at least 2x2, and 11x11 when it is compared with a truth (SSIM's window).
void check_image_size(index_t H, index_t Wd, const SolveFlags& f, bool compared) {
    const index_t need = compared ? 11 : 2;
    if (H >= need && Wd >= need) return;
    const std::string size = std::to_string(H) + "x" + std::to_string(Wd);
    const std::string why = compared ? "at least 11x11 pixels (SSIM's 11x11 window compares the results with the truth)"
                                     : "at least 2x2 pixels";
    if (f.downscale)
        throw usage_error("--downscale " + std::to_string(*f.downscale) + ": the image becomes " + size + "; solve needs " + why);
    throw usage_error("the image is " + size + "; solve needs " + why);
}

bool quadratic_method(const std::string& m) { return m == "lsqr" || m == "cgls" || m == "pcgls" || m == "fft"; }

/// The work of a solve on an H x W image with a kh x kw blur, checked before it starts: per
/// iteration two products with W (kh kw multiply-adds a pixel each) and about 40 operations a
/// pixel besides; iterations: the final solve's limit (at most 500 counted for the methods that
/// converge long before their 2n limit) plus the lambda search's trials (about 10 of at most 200).
void check_solve_work(index_t H, index_t Wd, index_t kh, index_t kw, double iterations, bool lambda_search,
                      const std::string& what) {
    const double pixels = static_cast<double>(H) * static_cast<double>(Wd);
    const double per_iteration = pixels * (2.0 * static_cast<double>(kh) * static_cast<double>(kw) + 40);
    const double its = iterations + (lambda_search ? 10 * std::min(iterations, 200.0) : 0);
    check_time(per_iteration * its, 1e9, what,
               "use a smaller image (--downscale), a smaller PSF, fewer --iters or a given --lambda");
}

/// The deconvolution's result must be a solution: a solve that overflowed (the operator returned
/// a non-finite value) is refused naming what made it overflow, never printed as x = 0.
void check_solved(const std::string& stop_reason, const std::string& what) {
    if (stop_reason.find("non-finite") != std::string::npos)
        throw usage_error("the solve overflowed (" + stop_reason + "): " + what +
                          " make W x or W^T W x larger than a double; scale the PSF to sum 1 and the image to [0, 1]");
}

Image read_flag_image(const std::string& path, const char* flag) {
    try {
        return read_image(path);
    } catch (const std::runtime_error& e) {
        throw usage_error(std::string(flag) + ": " + e.what());
    }
}

/// The phantom's size is known before it is drawn: its solve's work is checked first.
void check_phantom_work(const SolveFlags& f, index_t kh, index_t kw, const std::string& method) {
    if (!f.observed.empty() || !f.image.empty()) return;
    const index_t n = f.downscale ? std::max<index_t>(1, f.size / *f.downscale) : f.size;
    const bool direct = method == "spqr" || method == "cholmod";
    if (direct) return;
    const double iterations = f.iters ? static_cast<double>(*f.iters) : 500.0;
    check_solve_work(n, n, kh, kw, iterations, f.lambda == "auto",
                     (method.empty() || method == "auto" ? std::string("solve") : "solve --method " + method) + " on " +
                         std::to_string(n) + "x" + std::to_string(n) + " pixels with a " + std::to_string(kh) + "x" +
                         std::to_string(kw) + " PSF");
}

/// The deconvolution path: --observed, or a simulation with a method of deconvolve.hpp.
void run_deconvolve(const SolveFlags& f) {
    const bool observed = !f.observed.empty();
    const Psf psf = psf_of(f);
    check_phantom_work(f, psf.height, psf.width, f.method);
    const PaddingMode boundary = f.boundary == "periodic" ? PaddingMode::circular : parse_padding_mode(f.boundary);
    Image truth, degraded;
    std::string source;
    index_t H = 0, Wd = 0;
    Vector<double> b;
    std::shared_ptr<LinearOperator<double>> A;
    if (observed) {
        degraded = read_flag_image(f.observed, "--observed");
        if (f.downscale) degraded = downscale(degraded, *f.downscale);
        H = degraded.height, Wd = degraded.width;
        if (!f.truth.empty()) {
            truth = read_flag_image(f.truth, "--truth");
            if (f.downscale) truth = downscale(truth, *f.downscale);
            if (truth.height != H || truth.width != Wd)
                throw usage_error("--truth " + f.truth + " is " + std::to_string(truth.height) + "x" +
                                  std::to_string(truth.width) + " but --observed is " + std::to_string(H) + "x" +
                                  std::to_string(Wd) + "; they must have the same size");
        }
        source = "observed " + f.observed;
        b.resize(degraded.size());
        for (index_t i = 0; i < b.size(); ++i) b(i) = degraded.pixels[static_cast<size_t>(i)];
    } else {
        truth = !f.image.empty() ? read_flag_image(f.image, "--image") : shepp_logan(f.size);
        source = !f.image.empty() ? f.image : "Shepp-Logan phantom";
        if (f.downscale) truth = downscale(truth, *f.downscale);
        H = truth.height, Wd = truth.width;
    }
    check_image_size(H, Wd, f, truth.size() > 0);
    try {
        A = blur_operator<double>(psf, H, Wd, boundary);
    } catch (const config_error& e) {
        throw usage_error(std::string("--psf with --boundary ") + f.boundary + ": " + e.what());
    }
    if (!observed) {
        Vector<double> x_true(truth.size());
        for (index_t i = 0; i < truth.size(); ++i) x_true(i) = truth.pixels[static_cast<size_t>(i)];
        b = A->apply(x_true);
        std::mt19937_64 rng(static_cast<std::uint64_t>(f.seed));
        std::normal_distribution<double> nd(0.0, 1.0);
        for (index_t i = 0; i < b.size(); ++i) b(i) += f.noise * nd(rng);
        degraded = to_image(b, H, Wd);
    }

    DeconvolveOptions o;
    o.boundary = boundary;
    // The least-squares (quadratic) methods: tikhonov and no bounds by default, as the help says.
    const bool quadratic = quadratic_method(f.method);
    o.regularizer = f.regularizer == "auto" ? (quadratic ? Prior::tikhonov : Prior::tv) : parse_prior(f.regularizer);
    if (f.lambda != "auto") o.lambda = parse_number(f.lambda, 0.0);
    if (!observed || f.noise_given) o.noise = f.noise;
    if (f.rule != "auto")
        throw usage_error("--rule " + f.rule + " applies to the simulated least-squares runs (--method lsqr, cgls, "
                          "landweber, spqr or cholmod without --observed); " +
                          std::string(observed ? "with --observed" : "with --method " + f.method) +
                          " --lambda auto is the discrepancy principle");
    if (f.noise_given && f.noise == 0 && f.lambda == "auto")
        throw usage_error("--noise 0 leaves the discrepancy principle nothing to aim at (" +
                          std::string(observed ? "with --observed" : "with --method " + f.method) +
                          " --lambda auto is the discrepancy principle; GCV applies to the simulated least-squares "
                          "runs): give --lambda, or a noise level");
    std::tie(o.lower, o.upper) = parse_bounds(f.bounds == "auto" ? (quadratic ? "none" : "0:1") : f.bounds);
    if (quadratic && f.bounds != "auto" && f.bounds != "none")
        throw usage_error("--bounds " + f.bounds + " needs --method primal-dual (or auto); --method " + f.method +
                          " solves the quadratic problem without bounds");
    if (quadratic && (o.regularizer == Prior::tv || o.regularizer == Prior::tv_anisotropic))
        throw usage_error("--regularizer " + f.regularizer + " needs --method primal-dual (or auto); --method " +
                          f.method + " solves quadratic problems (tikhonov or gradient)");
    o.method = f.method == "auto" ? "" : f.method;
    if (f.iters) o.iter_lim = *f.iters;
    {
        const double limit = f.iters ? static_cast<double>(*f.iters) : 500.0;
        check_solve_work(H, Wd, psf.height, psf.width, limit, f.lambda == "auto",
                         "solve on " + std::to_string(H) + "x" + std::to_string(Wd) + " pixels with a " +
                             std::to_string(psf.height) + "x" + std::to_string(psf.width) + " PSF");
    }
    ProgressLine line(f.quiet);
    o.callback = [&line](const IterationInfo& i) {
        line.iteration(i);
        return true;
    };
    o.progress = [&line](const ProgressInfo& p) { line.step(p); };
    DeconvolveResult<double> res;
    const std::string culprit = observed ? "--psf " + f.psf + " and --observed " + f.observed
                                         : (!f.kernel.empty() ? "--kernel " + f.kernel : "--blur " + f.blur) +
                                               " and --noise " + fmt("%g", f.noise);
    try {
        res = deconvolve<double>(b, H, Wd, psf, o);
    } catch (const config_error& e) {
        throw usage_error(e.what());
    } catch (const std::runtime_error& e) {  // an operator that overflowed inside a norm estimate or lambda search
        check_solved(e.what(), culprit);
        throw;
    }
    line.clear();
    check_solved(res.stop_reason, culprit);

    const Vector<double> wtb = A->apply_adjoint(b);
    const Image adjoint = to_image(wtb, H, Wd), solution = to_image(res.x, H, Wd);
    std::cout << "convmtx solve: " << source << " " << H << "x" << Wd << ", " << psf.description << ", boundary "
              << f.boundary;
    if (!observed) std::cout << ", noise " << f.noise << " (seed " << f.seed << ")";
    std::cout << "\nW: " << A->data_size() << "x" << A->model_size() << " (" << H << "x" << Wd << " <- " << H << "x" << Wd
              << "), " << to_string(boundary) << " padding";
    if (auto* sp = dynamic_cast<const SparseOperator<double>*>(A.get()))
        std::cout << ", " << sp->matrix().nonZeros() << " stored entries";
    std::cout << "\nlambda=" << fmt("%.4g", res.lambda) << " (" << to_string(o.regularizer) << ", " << res.lambda_rule;
    if (res.lambda_rule != "given" && is_tv(o.regularizer))
        std::cout << ": ||W x - b||^2 + sigma^2 df = (tau sigma)^2 m with sigma = " << fmt("%.4g", res.noise)
                  << ", df = " << fmt("%.0f", res.degrees_of_freedom) << ", m = " << H * Wd << ", tau = "
                  << fmt("%.3g", o.tau) << "; " << res.lambda_trials << " trial solves";
    else if (res.lambda_rule != "given")
        std::cout << ": ||W x - b|| = " << fmt("%.4g", res.target) << " = " << fmt("%.3g", o.tau) << "*"
                  << fmt("%.4g", res.noise) << "*sqrt(" << H * Wd << "), " << res.lambda_trials << " trial solves";
    std::cout << ")\n";
    if (!res.lambda_note.empty()) std::cout << "warning: " << res.lambda_note << "\n";
    std::cout << res.method << ": " << res.iterations << " iterations, " << fmt("%.2f", res.seconds) << " s, "
              << res.stop_reason << "; bounds ";
    if (std::isfinite(o.lower) || std::isfinite(o.upper)) std::cout << "[" << o.lower << ", " << o.upper << "]\n";
    else std::cout << "none\n";
    std::cout << "||W x - b|| = " << fmt("%.4g", res.residual_norm) << "\n";
    if (res.step_norm) std::cout << "step sizes from ||[W; D]||: " << res.step_norm->str() << "\n";
    std::vector<MontagePanel> panels;
    auto quality = [&](const Image& im) -> std::pair<double, double> {
        const Image c = clipped(im);
        return {psnr(c, truth), ssim(c.pixels.data(), truth.pixels.data(), H, Wd)};
    };
    const bool have_truth = truth.size() > 0;
    if (have_truth) {
        std::cout << "PSNR / SSIM (images clipped to [0, 1] as written):\n";
        auto row = [&](const std::string& label, const Image& im) {
            const auto [p, s] = quality(im);
            std::string l = label;
            if (l.size() < 40) l += std::string(40 - l.size(), ' ');
            std::cout << l << fmt("%6.2f", p) << " dB  SSIM " << fmt("%.3f", s) << "\n";
            return std::pair<double, double>{p, s};
        };
        const auto qb = row("  degraded b", degraded);
        const auto qa = row("  transposed conv W^T b", adjoint);
        const auto qx = row("  solution (" + to_string(o.regularizer) + ", " + res.method + ")", solution);
        panels = {{truth, "truth"},
                  {degraded, "observed " + panel_quality(qb)},
                  {adjoint, "W^T b " + panel_quality(qa)},
                  {solution, to_string(o.regularizer) + " " + panel_quality(qx)}};
    } else {
        panels = {{degraded, "observed"}, {adjoint, "W^T b"}, {solution, to_string(o.regularizer)}};
    }
    write_picture(f.output, solution);
    write_picture(f.degraded, degraded);
    write_picture(f.adjoint, adjoint);
    if (!f.montage.empty()) {
        const Image m = write_montage(f.montage, panels);
        std::cout << "wrote " << f.montage << " (" << m.height << "x" << m.width << "): " << montage_caption(panels) << "\n";
    }
}

void run_legacy(const SolveFlags& f);

void run_solve(const SolveFlags& flags) {
    // A strided forward model (super-resolution) is a least-squares problem: auto means LSQR.
    SolveFlags f = flags;
    if (f.observed.empty() && f.method == "auto" && f.stride > 1) f.method = "lsqr";
    if (f.observed.empty() && legacy_method(f.method)) {
        if (!f.psf.empty()) throw usage_error("--psf applies to the deconvolution methods; --method " + f.method + " takes --blur or --kernel");
        if (f.boundary != "zeros") throw usage_error("--boundary " + f.boundary + " needs --method auto, fft, pcgls or primal-dual; --method " + f.method + " uses zeros");
        if (f.regularizer == "tv" || f.regularizer == "tv-anisotropic")
            throw usage_error("--regularizer " + f.regularizer + " needs --method primal-dual (or auto); --method " + f.method + " solves least-squares problems");
        run_legacy(f);
        return;
    }
    if (!f.observed.empty() && (f.method == "landweber" || f.method == "spqr" || f.method == "cholmod"))
        throw usage_error("--method " + f.method + " runs on simulated data only; with --observed use auto, fft, pcgls, cgls, lsqr, lsmr or primal-dual");
    if (f.stride != 1) throw usage_error("--stride " + std::to_string(f.stride) + " needs a least-squares --method (lsqr, lsmr, cgls, landweber, spqr, cholmod)");
    if (f.accelerate || f.matrix_free || !f.memory_limit.empty())
        throw usage_error(std::string(f.accelerate ? "--accelerate" : f.matrix_free ? "--matrix-free" : "--memory-limit") +
                          " applies to the least-squares methods (lsqr, lsmr, cgls, landweber, spqr, cholmod)");
    run_deconvolve(f);
}

void run_legacy(const SolveFlags& f) {
    // ---- the forward model's kernel, checked (every method's rule) before the image is read ----
    const Kernel k = degrade_kernel(f);
    check_phantom_work(f, k.kh, k.kw, f.method);
    // ---- the image ----
    std::string source;
    const Image truth = read_truth(f, source);
    check_image_size(truth.height, truth.width, f, true);
    const index_t H = truth.height, Wd = truth.width;

    // ---- the forward model ----
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
    {
        const double pixels = static_cast<double>(H) * static_cast<double>(Wd);
        const double iterations = f.iters ? static_cast<double>(*f.iters) : method == "landweber" ? 500 : std::min(2 * pixels, 500.0);
        const std::string what = "solve --method " + method + " on " + std::to_string(H) + "x" + std::to_string(Wd) +
                                 " pixels with a " + std::to_string(k.kh) + "x" + std::to_string(k.kw) + " kernel";
        if (method == "spqr" || method == "cholmod")
            begin_work(pixels * static_cast<double>(k.kh * k.kw) * 100);
        else
            check_solve_work(H, Wd, k.kh, k.kw, iterations, f.lambda == "auto", what);
        // W's entries (value and index, 12 bytes) and the solver's vectors (about 10 of 8 bytes a pixel).
        if (!matrix_free)
            check_memory(pixels * static_cast<double>(k.kh * k.kw) * 12 * 2 + pixels * 80, what,
                         "use --matrix-free, a smaller image (--downscale) or a smaller kernel");
    }
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
    ProgressLine line(f.quiet);
    SolverOptions so;
    so.callback = [&line](const IterationInfo& i) {
        line.iteration(i);
        return true;
    };
    so.atol = f.atol;
    so.btol = f.btol;
    so.regularizer = parse_regularizer(f.regularizer == "auto" ? "tikhonov" : f.regularizer);
    so.lambda.rule = parse_lambda_rule(f.rule);
    so.lambda.noise_sigma = noise;
    so.lambda.callback = [&line](const ProgressInfo& p) { line.step(p); };
    const bool bounds = f.bounds != "auto" && f.bounds != "none";
    if ((bounds || f.accelerate) && method != "landweber")
        throw usage_error(std::string("--") + (bounds ? "bounds" : "accelerate") +
                          " applies to --method landweber among the least-squares methods (or use --method primal-dual)");
    if (bounds) std::tie(so.lower, so.upper) = parse_bounds(f.bounds);
    so.accelerate = f.accelerate;
    if (f.iters) so.iter_lim = *f.iters;
    else if (method == "landweber") so.iter_lim = 500;
    else if (method == "lsmr") so.iter_lim = 2 * A->model_size();  // --iters' documented default (lsmr's own: n)
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
    } else if (method == "lsmr") {
        res = lsmr<double>(*A, b, so);
    } else if (method == "cgls") {
        res = cgls<double>(*A, b, so);
    } else {
        res = landweber<double>(*A, b, so);
    }

    line.clear();
    if (res.istop == istop_nonfinite)
        check_solved("the operator returned a non-finite value", (!f.kernel.empty() ? "--kernel " + f.kernel : "--blur " + f.blur) +
                                                                     " and --noise " + fmt("%g", noise));

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
    if (res.step_norm) std::cout << "step size from ||A||: " << res.step_norm->str() << "\n";
    else if (choice) std::cout << "lambda range from ||W||: " << choice->norm.str() << "\n";

    write_picture(f.output, solution);
    write_picture(f.degraded, degraded);
    write_picture(f.adjoint, adjoint);
    if (!f.montage.empty()) {
        auto q = [&](const Image& im) { return panel_quality({psnr(clipped(im), truth), ssim(clipped(im).pixels.data(), truth.pixels.data(), H, Wd)}); };
        const std::vector<MontagePanel> panels = {{truth, "truth"}, {degraded_view, "degraded " + q(degraded_view)},
                                                  // W^T b of a strided model is dark: shown brighter by the truth's best factor.
                                                  {adjoint, "W^T b " + q(adjoint), best_scale > 1.5 ? 1 / best_scale : 1.0},
                                                  {solution, method + " " + q(solution)}};
        const Image m = write_montage(f.montage, panels);
        std::cout << "wrote " << f.montage << " (" << m.height << "x" << m.width << "): " << montage_caption(panels) << "\n";
    }
}

}  // namespace

}  // namespace convmtx::cli
