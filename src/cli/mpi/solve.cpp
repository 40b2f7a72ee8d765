// convmtx-mpi solve: convmtx solve's deblurring / super-resolution problem with W distributed:
// process 0 reads (or draws) the image and writes the results; W is built across the processes
// (petsc_matrix.hpp), b = W x + noise is drawn on process 0 in C order exactly as convmtx solve
// draws it, and min ||W x - b||^2 + lambda^2 ||x||^2 is solved with PETSc's KSPLSQR or KSPCGLS.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>

#include "blur.hpp"
#include "cli.hpp"
#include "convmtx/image.hpp"
#include "convmtx/petsc_matrix.hpp"
#include "convmtx/petsc_solve.hpp"
#include "convmtx/petsc_vector.hpp"
#include "flag_values.hpp"
#include "mpi_cli.hpp"

namespace convmtx::cli::mpi {

namespace {

struct SolveFlags : DegradeFlags {
    std::string lambda = "0.01";
    std::string method = "lsqr";
    std::optional<index_t> iters;
    double atol = 1e-6, btol = 1e-6;
};

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

Image to_image(const std::vector<double>& v, index_t h, index_t w) {
    Image im(h, w);
    for (index_t i = 0; i < im.size(); ++i) im.pixels[static_cast<size_t>(i)] = static_cast<float>(v[static_cast<size_t>(i)]);
    return im;
}

void run_solve(const SolveFlags& f, const Job& job) {
    if (f.lambda == "auto")
        throw usage_error("--lambda auto is not available across processes (the automatic choice is a serial search "
                          "of trial solves): give a value, e.g. the one `convmtx solve` reports");
    const double lambda = parse_number(f.lambda, 0.0);

    // ---- the image and the kernel, read on process 0 and sent to all ----
    Image truth;
    Kernel k;
    std::string source;
    on_root(job, [&] {
        truth = read_truth(f, source);
        if (truth.height < 2 || truth.width < 2)
            throw usage_error("the image is " + std::to_string(truth.height) + "x" + std::to_string(truth.width) +
                              "; it needs at least 2x2 pixels");
        k = degrade_kernel(f);  // convmtx solve's rules
    });
    index_t dims[4] = {truth.height, truth.width, k.kh, k.kw};
    MPI_Bcast(dims, 4, MPI_INT64_T, 0, job.comm);
    const index_t H = dims[0], Wd = dims[1];
    k.kh = dims[2];
    k.kw = dims[3];
    k.w.resize(static_cast<size_t>(k.kh * k.kw));
    MPI_Bcast(k.w.data(), static_cast<int>(k.w.size()), MPI_DOUBLE, 0, job.comm);

    // ---- the forward model: convmtx solve's ----
    ConvOptions copt;
    copt.stride = {f.stride};
    copt.padding = Padding::sides({(k.kh - 1) / 2, (k.kw - 1) / 2}, {k.kh / 2, k.kw / 2});
    const ConvSpec spec = make_conv({1, H, Wd}, {1, 1, k.kh, k.kw}, copt);
    const Dims out = spec.output_size();
    const index_t oh = out[0], ow = out[1];
    const ConvGeometry G(spec);
    const petsc::DistributedMatrix M = petsc::build_matrix(job.comm, G, k.w, false);
    const SideLayout& rows = M.row_layout();
    const SideLayout& cols = M.col_layout();

    petsc::OwnedVec x_true, b, x, wtb;
    petsc::check(MatCreateVecs(M.A, x_true.out(), b.out()), "MatCreateVecs");
    petsc::check(VecDuplicate(x_true, x.out()), "VecDuplicate");
    petsc::check(VecDuplicate(x_true, wtb.out()), "VecDuplicate");
    std::vector<double> truth_values;
    if (job.root()) truth_values.assign(truth.pixels.begin(), truth.pixels.end());
    petsc::scatter_from_root(truth_values, cols, x_true);
    petsc::check(MatMult(M.A, x_true, b), "MatMult");
    std::vector<double> b_values = petsc::gather_to_root(b, rows);
    if (job.root()) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(f.seed));
        std::normal_distribution<double> nd(0.0, 1.0);
        for (double& v : b_values) v += f.noise * nd(rng);
    }
    petsc::scatter_from_root(b_values, rows, b);

    // ---- solve ----
    petsc::LeastSquaresOptions so;
    so.method = f.method;
    so.damp = lambda;
    so.rtol = std::min(f.atol, f.btol);
    so.atol = 0;
    if (f.iters) so.max_iterations = *f.iters;
    const petsc::LeastSquaresResult res = petsc::solve_least_squares(M.A, b, x, so);
    petsc::check(MatMultTranspose(M.A, b, wtb), "MatMultTranspose");
    const std::vector<double> x_values = petsc::gather_to_root(x, cols);
    const std::vector<double> wtb_values = petsc::gather_to_root(wtb, cols);

    PetscInt nnz_local = 0;
    {
        MatInfo info;
        petsc::check(MatGetInfo(M.A, MAT_GLOBAL_SUM, &info), "MatGetInfo");
        nnz_local = static_cast<PetscInt>(info.nz_used);
    }
    on_root(job, [&] {
        double dot = 0, denom = 0;
        for (size_t i = 0; i < wtb_values.size(); ++i) {
            dot += wtb_values[i] * static_cast<double>(truth.pixels[i]);
            denom += wtb_values[i] * wtb_values[i];
        }
        const double best_scale = denom > 0 ? dot / denom : 0.0;
        std::vector<double> scaled(wtb_values);
        for (double& v : scaled) v *= best_scale;
        const Image degraded = to_image(b_values, oh, ow);
        const Image degraded_view =
            f.stride > 1 ? crop_or_pad(upscale_nearest(degraded, f.stride), H, Wd) : degraded;
        const Image adjoint = to_image(wtb_values, H, Wd), adjoint_scaled = to_image(scaled, H, Wd);
        const Image solution = to_image(x_values, H, Wd);
        const double p_degraded = psnr(clipped(degraded_view), truth), p_adjoint = psnr(clipped(adjoint), truth);
        const double p_adjoint_scaled = psnr(clipped(adjoint_scaled), truth);
        const double p_solution = psnr(clipped(solution), truth), p_raw = psnr(solution, truth);
        std::cout << "convmtx-mpi solve: " << source << " " << H << "x" << Wd << ", " << k.describe << ", stride "
                  << f.stride << ", noise " << f.noise << " (seed " << f.seed << "), " << job.size << " process"
                  << (job.size == 1 ? "" : "es") << "\n";
        std::cout << "W: " << rows.total() << "x" << cols.total() << " (" << oh << "x" << ow << " <- " << H << "x"
                  << Wd << "), " << nnz_local << " stored entries, PETSc MPIAIJ\n";
        std::cout << "lambda=" << lambda << " (tikhonov, given)\n";
        auto row = [](const std::string& label, double value) {
            std::string l = label;
            if (l.size() < 40) l += std::string(40 - l.size(), ' ');
            return l + fmt("%6.2f", value) + " dB";
        };
        std::cout << "PSNR (images clipped to [0, 1] as written):\n"
                  << row(f.stride > 1 ? "  degraded b (nearest upscaled)" : "  degraded b", p_degraded) << "\n"
                  << row("  transposed conv W^T b", p_adjoint) << "   (rescaled by the truth's best factor "
                  << fmt("%.3g", best_scale) << ": " << fmt("%.2f", p_adjoint_scaled) << " dB)\n"
                  << row("  least squares (" + f.method + ")", p_solution) << "   (unclipped " << fmt("%.2f", p_raw)
                  << " dB)\n  " << f.method << ": " << res.iterations << " iterations, " << fmt("%.2f", res.seconds)
                  << " s, PETSc KSP " << res.method << " " << res.reason_text << "\n";
        std::cout << "||W x - b|| = " << fmt("%.4g", res.residual_norm) << ", ||x|| = " << fmt("%.4g", res.solution_norm)
                  << "\n";
        write_picture(f.output, solution);
        write_picture(f.degraded, degraded);
        write_picture(f.adjoint, adjoint);
        if (!f.montage.empty()) write_picture(f.montage, hconcat({truth, degraded_view, adjoint, solution}));
    });
    // The iteration limit ends a solve as scipy's istop 7 does (reported, not a failure); a
    // breakdown or a non-finite residual is a failed check.
    const bool failed = res.reason < 0 && res.reason != KSP_DIVERGED_ITS;
    if (failed && job.root())
        std::cerr << "convmtx-mpi solve: KSP failed (" << res.reason_text << ")\n";
    if (failed) checks_failed();
}

}  // namespace

void setup_solve(CLI::App& app, const Job& job) {
    CLI::App* cmd = add_command(
        app, "solve", "convmtx solve's deblurring / super-resolution with W across the processes (PETSc KSP)",
        "The least-squares problem of convmtx solve --method lsqr (Tikhonov damping, zeros boundaries) with its "
        "flags, less the automatic lambda, landweber, the direct solvers and the deconvolution methods (total "
        "variation, bounds, --observed); the results equal convmtx solve --method lsqr's (or cgls's) for the same "
        "flags and tight tolerances. PETSc options (-ksp_monitor, -ksp_rtol, "
        "-ksp_max_it, -log_view) apply after the flags. Example:\n"
        "  mpirun -np 2 convmtx-mpi solve --size 128 --lambda 0.02 -o x.png -ksp_monitor");
    auto f = std::make_shared<SolveFlags>();
    add_degrade_flags(*cmd, *f, "standard deviation of the Gaussian noise added to W x (default 0.01)",
                      "stride of the forward conv (2: 2x super-resolution; default 1)",
                      "write the solution (PNG, or PGM for *.pgm), from process 0")
        .montage->description("write original | degraded | W^T b | solution side by side");
    cmd->add_option("--lambda", f->lambda, "regularization weight >= 0 (default 0.01): adds lambda^2 ||x||^2")
        ->option_text("VALUE")
        ->check(parsed_by([](const std::string& t) {
            if (t != "auto") parse_number(t, 0.0);
        }));
    cmd->add_option("--method", f->method, "lsqr (PETSc KSPLSQR, default) or cgls (KSPCGLS)")
        ->option_text("M")
        ->check(CLI::IsMember({"lsqr", "cgls"}));
    cmd->add_option("--iters", f->iters, "iteration limit (default 2n)")->option_text("N")->check(integer_in(1));
    cmd->add_option("--atol", f->atol, "tolerance (default 1e-6); KSP's rtol is the smaller of --atol and --btol")
        ->option_text("TOL")
        ->check(number_in(0.0));
    cmd->add_option("--btol", f->btol, "tolerance (default 1e-6); see --atol")->option_text("TOL")->check(number_in(0.0));
    cmd->callback([f, &job] { run_solve(*f, job); });
}

}  // namespace convmtx::cli::mpi
