// convmtx-mpi build: W (or T) of a configuration built across the processes, each process's
// share reported next to the share slab_model predicts from the geometry (rows, entries, ghost
// columns against the halo, bytes), the distributed dot test, and with -o the matrix gathered
// on process 0 and written as Matrix Market. A share that differs from the prediction, or a
// failed dot test, is a failed check (exit status 1).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/csr.hpp"
#include "convmtx/io.hpp"
#include "convmtx/petsc_matrix.hpp"
#include "convmtx/petsc_solve.hpp"
#include "convmtx/slab_layout.hpp"
#include "flag_values.hpp"
#include "mpi_cli.hpp"

namespace convmtx::cli::mpi {

namespace {

struct BuildFlags {
    ConfigFlags config;
    std::string which;
    std::string output;
    index_t products = 10;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The largest of every process's `value`, on every process.
double max_over(const Job& job, double value) {
    double m = 0;
    MPI_Allreduce(&value, &m, 1, MPI_DOUBLE, MPI_MAX, job.comm);
    return m;
}

void run_build(const BuildFlags& f, const Job& job) {
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.config.problem();
    const bool T = f.which.empty() ? p.spec.transposed : (f.which == "T" || f.which == "t");
    const ConvGeometry G(p.spec);
    MPI_Barrier(job.comm);
    const auto t_build = std::chrono::steady_clock::now();
    const petsc::DistributedMatrix M = petsc::build_matrix(job.comm, G, p.weight, T);
    const double build_seconds = max_over(job, seconds_since(t_build));
    const petsc::MeasuredPart mine = petsc::measure_part(M.A);

    // Products: the mean wall time of A x and of A^T y over --products repetitions.
    petsc::OwnedVec x, y;
    petsc::check(MatCreateVecs(M.A, x.out(), y.out()), "MatCreateVecs");
    petsc::check(VecSet(x, 1.0), "VecSet");
    petsc::check(VecSet(y, 1.0), "VecSet");
    double mult_seconds = 0, mult_t_seconds = 0;
    if (f.products > 0) {
        MPI_Barrier(job.comm);
        auto t0 = std::chrono::steady_clock::now();
        for (index_t i = 0; i < f.products; ++i) petsc::check(MatMult(M.A, x, y), "MatMult");
        mult_seconds = max_over(job, seconds_since(t0)) / static_cast<double>(f.products);
        MPI_Barrier(job.comm);
        t0 = std::chrono::steady_clock::now();
        for (index_t i = 0; i < f.products; ++i) petsc::check(MatMultTranspose(M.A, y, x), "MatMultTranspose");
        mult_t_seconds = max_over(job, seconds_since(t0)) / static_cast<double>(f.products);
    }
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    const double peak_rss = static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux: kilobytes
    const std::vector<PartModel> model = slab_model(G, T, job.size);

    // Every process's measured share on the root.
    const double local[6] = {static_cast<double>(mine.rows), static_cast<double>(mine.entries),
                             static_cast<double>(mine.diagonal_entries), static_cast<double>(mine.ghosts),
                             peak_rss, static_cast<double>(mine.cols)};
    std::vector<double> all(job.root() ? 6 * static_cast<size_t>(job.size) : 0);
    MPI_Gather(local, 6, MPI_DOUBLE, all.data(), 6, MPI_DOUBLE, 0, job.comm);
    const DotTestReport dot = petsc::dot_test(M.A, 3, 0);
    const char* name = T ? "T" : "W";
    bool agree = true;
    if (job.root()) {
        std::cout << "convmtx-mpi build: " << name << " of " << p.spec.describe() << " on " << job.size
                  << " process" << (job.size == 1 ? "" : "es") << ", " << M.row_layout().total() << " x "
                  << M.col_layout().total() << "\n"
                  << "process       rows    columns      entries      (model)     ghosts     (halo)   matrix MiB (model)   peak RSS MiB\n";
        for (int r = 0; r < job.size; ++r) {
            const double* a = &all[6 * static_cast<size_t>(r)];
            const PartModel& m = model[static_cast<size_t>(r)];
            const bool ok = static_cast<index_t>(a[0]) == m.rows && static_cast<index_t>(a[5]) == m.cols &&
                            static_cast<index_t>(a[1]) == m.entries && static_cast<index_t>(a[2]) == m.diagonal_entries &&
                            static_cast<index_t>(a[3]) == m.halo;
            agree = agree && ok;
            std::printf("%7d %10.0f %10.0f %12.0f %12lld %10.0f %10lld %19.3f %14.1f%s\n", r, a[0], a[5], a[1],
                        static_cast<long long>(m.entries), a[3], static_cast<long long>(m.halo),
                        m.matrix_bytes(static_cast<int>(sizeof(PetscInt))) / 1048576.0, a[4] / 1048576.0,
                        ok ? "" : "   MISMATCH");
        }
        std::cout << (agree ? "every share equals the geometry's prediction (rows, columns, entries, diagonal-block "
                              "entries, ghosts = halo)"
                            : "FAILED: a share differs from the geometry's prediction")
                  << "\n"
                  << dot.str() << "\n";
        std::printf("build %.4f s (slowest process)", build_seconds);
        if (f.products > 0)
            std::printf("; per product (mean of %lld): %s x %.3g s, %s^T y %.3g s", static_cast<long long>(f.products),
                        name, mult_seconds, name, mult_t_seconds);
        std::printf("\n");
    }
    if (!f.output.empty()) {
        const auto W = petsc::gather_matrix(M, 0);
        on_root(job, [&] {
            std::string comment = std::string("convmtx-mpi build: ") + name + " of " + p.spec.describe() +
                                  "\nweights: " + p.weight_source + "\ngathered from " + std::to_string(job.size) +
                                  " processes; rows and columns in convmtx's C order, channel first";
            write_matrix_file(f.output, to_csr_arrays(W), comment);
            std::cout << "wrote " << f.output << ": " << name << " " << W.rows() << " x " << W.cols() << ", "
                      << W.nonZeros() << " stored entries\n";
        });
    }
    int failed = !(agree && dot.passed);
    MPI_Bcast(&failed, 1, MPI_INT, 0, job.comm);
    if (failed) checks_failed();
}

}  // namespace

void setup_build(CLI::App& app, const Job& job) {
    CLI::App* cmd = add_command(
        app, "build", "W (or T) across the processes: shares against the geometry's model, dot test, -o gathered .mtx",
        "Each process builds its slab of rows (along the slowest spatial axis, all channels) into a PETSc MPIAIJ "
        "matrix; the table compares every share with the model (docs/distributed.md). Example:\n"
        "  mpirun -np 2 convmtx-mpi build --input 1x8x8 --kernel 3x3 --padding 1 --weights arange -o W.mtx");
    auto f = std::make_shared<BuildFlags>();
    cmd->add_option("--which", f->which, "W or T = W^T; default: the operation's own (W for a conv, T for --transposed)")
        ->option_text("W|T")
        ->check(CLI::IsMember({"W", "T", "w", "t"}));
    cmd->add_option("--products", f->products, "time this many products A x and A^T y (default 10; 0: none)")
        ->option_text("N")
        ->check(integer_in(0, 1000000));
    cmd->add_option("-o,--output", f->output, "gather the matrix on process 0 and write it (Matrix Market, FILE.mtx)")
        ->option_text("FILE")
        ->check(file_extension({".mtx"}))
        ->check(writable_file());
    f->config.add_to(*cmd);
    cmd->callback([f, &job] { run_build(*f, job); });
}

}  // namespace convmtx::cli::mpi
