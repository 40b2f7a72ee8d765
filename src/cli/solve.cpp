// convmtx solve: forward-model a degraded image (blur, optional stride for
// super-resolution, Gaussian noise), then recover it by regularized least squares
// and compare with the transposed-convolution estimate W^T b.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>

#include "cli.hpp"
#include "convmtx/convmtx.hpp"
#include "convmtx/image.hpp"
#include "convmtx/npy.hpp"
#include "convmtx/solvers.hpp"
#include "convmtx/suitesparse.hpp"

namespace convmtx::cli {

namespace {

double parse_double(const Args& a, const std::string& name, const std::string& fallback) {
    const std::string s = a.get(name, fallback);
    size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(s, &pos);
    } catch (const std::exception&) {
        pos = 0;
    }
    if (pos == 0 || pos != s.size() || !std::isfinite(v))
        throw usage_error("--" + name + "=" + s + " must be a number");
    return v;
}

index_t parse_int(const Args& a, const std::string& name, const std::string& fallback, index_t min) {
    const std::string s = a.get(name, fallback);
    size_t pos = 0;
    long long v = 0;
    try {
        v = std::stoll(s, &pos);
    } catch (const std::exception&) {
        pos = 0;
    }
    if (pos == 0 || pos != s.size()) throw usage_error("--" + name + "=" + s + " must be an integer");
    if (v < min) throw usage_error("--" + name + "=" + s + " must be >= " + std::to_string(min));
    return v;
}

struct Kernel {
    index_t kh = 0, kw = 0;
    std::vector<double> w;
    std::string describe;
};

Kernel parse_blur(const std::string& spec) {
    // gaussian:K:SIGMA | box:K
    std::vector<std::string> parts;
    std::stringstream ss(spec);
    for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
    auto bad = [&]() -> usage_error {
        return usage_error("--blur=" + spec + " must be gaussian:SIZE:SIGMA (e.g. gaussian:9:2.0) or box:SIZE");
    };
    Kernel k;
    auto to_size = [&](const std::string& s) {
        size_t pos = 0;
        long long v = 0;
        try {
            v = std::stoll(s, &pos);
        } catch (const std::exception&) {
            throw bad();
        }
        if (pos != s.size() || v < 1) throw bad();
        return static_cast<index_t>(v);
    };
    if (parts.size() == 3 && parts[0] == "gaussian") {
        k.kh = k.kw = to_size(parts[1]);
        size_t pos = 0;
        double sigma = 0;
        try {
            sigma = std::stod(parts[2], &pos);
        } catch (const std::exception&) {
            throw bad();
        }
        if (pos != parts[2].size() || !(sigma > 0)) throw bad();
        k.w = gaussian_kernel(k.kh, sigma);
        k.describe = "gaussian " + parts[1] + "x" + parts[1] + " sigma=" + parts[2];
    } else if (parts.size() == 2 && parts[0] == "box") {
        k.kh = k.kw = to_size(parts[1]);
        k.w.assign(static_cast<size_t>(k.kh * k.kw), 1.0 / static_cast<double>(k.kh * k.kw));
        k.describe = "box " + parts[1] + "x" + parts[1];
    } else {
        throw bad();
    }
    return k;
}

Kernel read_kernel(const std::string& path) {
    NpyArray a;
    try {
        a = read_npy(path);
    } catch (const std::runtime_error& e) {
        throw usage_error(std::string("--kernel: ") + e.what());
    }
    Kernel k;
    if (a.shape.size() == 2) {
        k.kh = a.shape[0];
        k.kw = a.shape[1];
    } else if (a.shape.size() == 4 && a.shape[0] == 1 && a.shape[1] == 1) {
        k.kh = a.shape[2];
        k.kw = a.shape[3];
    } else {
        throw usage_error("--kernel " + path + ": array shape (" + to_string(a.shape) +
                          ") must be (kh, kw) or (1, 1, kh, kw)");
    }
    k.w = a.data;
    k.describe = "kernel " + path + " (" + std::to_string(k.kh) + "x" + std::to_string(k.kw) + ")";
    return k;
}

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

int run_solve(int argc, char** argv) {
    // "-o FILE" is accepted as "--output FILE".
    std::vector<std::string> storage(argv, argv + argc);
    for (auto& s : storage)
        if (s == "-o") s = "--output";
    std::vector<char*> av;
    for (auto& s : storage) av.push_back(s.data());

    Args args("solve", {
                           {"image", "PATH", "PNG or PGM image to degrade (default: the Shepp-Logan phantom)"},
                           {"size", "N", "phantom size N x N (default 128)"},
                           {"downscale", "F", "downscale the image by F x F block means first (e.g. 4: 512 -> 128)"},
                           {"blur", "SPEC", "gaussian:SIZE:SIGMA or box:SIZE (default gaussian:9:2.0)"},
                           {"kernel", "PATH", "blur kernel from a .npy file, shape (kh, kw); replaces --blur"},
                           {"stride", "S", "stride of the forward conv (2: 2x super-resolution; default 1)"},
                           {"noise", "SIGMA", "std of the Gaussian noise added to W x (default 0.01; images in [0,1])"},
                           {"seed", "N", "noise seed (default 0)"},
                           {"lambda", "VALUE", "regularization weight, or 'auto' (default): discrepancy principle "
                                               "with the known noise, GCV when --noise 0"},
                           {"rule", "RULE", "rule for --lambda auto: auto, discrepancy, gcv or lcurve"},
                           {"regularizer", "R", "tikhonov (damp^2 ||x||^2, default) or gradient (lambda^2 ||D x||^2)"},
                           {"method", "M", "lsqr (default), cgls, landweber, spqr or cholmod"},
                           {"iters", "N", "iteration limit (default: 2n for lsqr/cgls, 500 for landweber)"},
                           {"bounds", "LO:HI", "landweber: keep every pixel in [LO, HI], e.g. 0:1 (projected Landweber)"},
                           {"accelerate", "", "landweber: Nesterov/FISTA momentum"},
                           {"atol", "TOL", "stopping tolerance atol (default 1e-6)"},
                           {"btol", "TOL", "stopping tolerance btol (default 1e-6)"},
                           {"matrix-free", "", "iterate with the direct conv kernels instead of the explicit W"},
                           {"memory-limit", "SIZE", "refuse direct factorizations estimated above SIZE (e.g. 512M)"},
                           {"output", "PATH", "write the solution (PNG, or PGM for *.pgm); also -o PATH"},
                           {"degraded", "PATH", "write the degraded image b"},
                           {"adjoint", "PATH", "write the transposed-convolution estimate W^T b"},
                           {"montage", "PATH", "write original | degraded | W^T b | solution side by side"},
                       });
    args.parse(static_cast<int>(av.size()), av.data());
    const std::string summary =
        "Forward-models a degraded image b = W x + noise (W: a blur as a convolution, with --stride a strided one), "
        "recovers x by regularized least squares min ||W x - b||^2 + lambda^2 ||x||^2, and prints the PSNR of b, of "
        "the transposed-convolution estimate W^T b (what an upsampling layer computes) and of the solution. With "
        "no options it deblurs the 128x128 phantom.";
    if (args.help_requested()) {
        std::cout << args.help(summary);
        return 0;
    }
    if (!args.positionals().empty()) throw usage_error("unexpected argument '" + args.positionals()[0] + "'");

    // ---- the image ----
    Image truth;
    std::string source;
    if (args.has("image")) {
        if (args.has("size")) throw usage_error("--size applies to the phantom only; it conflicts with --image");
        try {
            truth = read_image(args.get("image"));
        } catch (const std::runtime_error& e) {
            throw usage_error(std::string("--image: ") + e.what());
        }
        source = args.get("image");
    } else {
        const index_t n = parse_int(args, "size", "128", 8);
        truth = shepp_logan(n);
        source = "Shepp-Logan phantom";
    }
    if (args.has("downscale")) truth = downscale(truth, parse_int(args, "downscale", "1", 1));
    if (truth.height < 2 || truth.width < 2)
        throw usage_error("the image is " + std::to_string(truth.height) + "x" + std::to_string(truth.width) +
                          "; it needs at least 2x2 pixels");
    const index_t H = truth.height, Wd = truth.width;

    // ---- the forward model ----
    if (args.has("kernel") && args.has("blur")) throw usage_error("--kernel and --blur are exclusive");
    const Kernel k = args.has("kernel") ? read_kernel(args.get("kernel")) : parse_blur(args.get("blur", "gaussian:9:2.0"));
    const index_t stride = parse_int(args, "stride", "1", 1);
    const double noise = parse_double(args, "noise", "0.01");
    if (noise < 0) throw usage_error("--noise=" + args.get("noise") + " must be >= 0");
    const index_t seed = parse_int(args, "seed", "0", 0);
    ConvOptions copt;
    copt.stride = {stride};
    // "same" padding: k - 1 in total, the extra one of an even kernel at the end (PyTorch's choice).
    copt.padding = Padding::sides({(k.kh - 1) / 2, (k.kw - 1) / 2}, {k.kh / 2, k.kw / 2});
    const ConvSpec spec = make_conv({1, H, Wd}, {1, 1, k.kh, k.kw}, copt);
    const Dims out = spec.output_size();
    const index_t oh = out[0], ow = out[1];

    const std::string method = args.get("method", "lsqr");
    if (method != "lsqr" && method != "cgls" && method != "landweber" && method != "spqr" && method != "cholmod")
        throw usage_error("--method=" + method + " must be lsqr, cgls, landweber, spqr or cholmod");
    const bool matrix_free = args.has("matrix-free");
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
    so.atol = parse_double(args, "atol", "1e-6");
    so.btol = parse_double(args, "btol", "1e-6");
    so.regularizer = parse_regularizer(args.get("regularizer", "tikhonov"));
    so.lambda.rule = parse_lambda_rule(args.get("rule", "auto"));
    so.lambda.noise_sigma = noise;
    so.lambda.callback = [&line](const ProgressInfo& p) { line.step(p); };
    if ((args.has("bounds") || args.has("accelerate")) && method != "landweber")
        throw usage_error(std::string("--") + (args.has("bounds") ? "bounds" : "accelerate") +
                          " applies to --method landweber only");
    if (args.has("bounds")) {
        const std::string bs = args.get("bounds");
        const auto colon = bs.find(':');
        auto num = [&](const std::string& t) {
            size_t pos = 0;
            double v = 0;
            try {
                v = std::stod(t, &pos);
            } catch (const std::exception&) {
                pos = 0;
            }
            if (pos == 0 || pos != t.size()) throw usage_error("--bounds=" + bs + " must be LO:HI, e.g. 0:1");
            return v;
        };
        if (colon == std::string::npos) throw usage_error("--bounds=" + bs + " must be LO:HI, e.g. 0:1");
        so.lower = num(bs.substr(0, colon));
        so.upper = num(bs.substr(colon + 1));
        if (!(so.lower <= so.upper)) throw usage_error("--bounds=" + bs + " needs LO <= HI");
    }
    so.accelerate = args.has("accelerate");
    if (args.has("iters")) so.iter_lim = parse_int(args, "iters", "0", 1);
    else if (method == "landweber") so.iter_lim = 500;
    const std::string lam = args.get("lambda", "auto");
    std::optional<LambdaChoice> choice;
    double lambda = 0;
    const auto t_lambda = std::chrono::steady_clock::now();
    if (lam == "auto") {
        if (noise == 0 && so.lambda.rule == LambdaRule::discrepancy)
            throw usage_error("--rule discrepancy needs the noise level, but --noise is 0");
        choice = choose_lambda<double>(*A, b, so.regularizer, so.lambda, {});
        lambda = choice->lambda;
    } else {
        lambda = parse_double(args, "lambda", "0");
        if (lambda < 0) throw usage_error("--lambda=" + lam + " must be >= 0 or 'auto'");
    }
    const double lambda_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_lambda).count();
    if (so.regularizer == Regularizer::tikhonov) so.damp = lambda;
    else so.gradient_weight = lambda;

    // ---- solve ----
    SolveResult<double> res;
    if (method == "spqr" || method == "cholmod") {
        DirectOptions d;
        d.damp = so.damp;
        d.gradient_weight = so.gradient_weight;
        if (args.has("memory-limit")) d.memory_limit = parse_memory_size(args.get("memory-limit"));
        d.callback = [&line](const ProgressInfo& p) { line.step(p); };
        res = method == "spqr" ? solve_spqr<double>(*A, b, d) : solve_cholmod<double>(*A, b, d);
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

    auto write = [&](const char* flag, const Image& im) {
        if (!args.has(flag)) return;
        write_image(args.get(flag), im);
        std::cout << "wrote " << args.get(flag) << " (" << im.height << "x" << im.width << ")\n";
    };
    write("output", solution);
    write("degraded", degraded);
    write("adjoint", adjoint);
    if (args.has("montage")) write("montage", hconcat({truth, degraded_view, adjoint, solution}));
    return 0;
}

}  // namespace convmtx::cli
