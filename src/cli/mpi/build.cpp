// convmtx-mpi build: W (or T) of a configuration built across the processes, each process's
// share reported next to the share slab_model predicts from the geometry (rows, entries, ghost
// columns against the halo, bytes), the distributed dot test, and with -o the matrix gathered
// on process 0 and written as Matrix Market. A share that differs from the prediction, or a
// failed dot test, is a failed check (exit status 1).
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
};

void run_build(const BuildFlags& f, const Job& job) {
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.config.problem();
    const bool T = f.which.empty() ? p.spec.transposed : (f.which == "T" || f.which == "t");
    const ConvGeometry G(p.spec);
    const petsc::DistributedMatrix M = petsc::build_matrix(job.comm, G, p.weight, T);
    const petsc::MeasuredPart mine = petsc::measure_part(M.A);
    const std::vector<PartModel> model = slab_model(G, T, job.size);

    // Every process's measured share on the root.
    const double local[6] = {static_cast<double>(mine.rows), static_cast<double>(mine.entries),
                             static_cast<double>(mine.diagonal_entries), static_cast<double>(mine.ghosts),
                             mine.memory_bytes, static_cast<double>(mine.cols)};
    std::vector<double> all(job.root() ? 6 * static_cast<size_t>(job.size) : 0);
    MPI_Gather(local, 6, MPI_DOUBLE, all.data(), 6, MPI_DOUBLE, 0, job.comm);
    const DotTestReport dot = petsc::dot_test(M.A, 3, 0);
    const char* name = T ? "T" : "W";
    bool agree = true;
    if (job.root()) {
        std::cout << "convmtx-mpi build: " << name << " of " << p.spec.describe() << " on " << job.size
                  << " process" << (job.size == 1 ? "" : "es") << ", " << M.row_layout().total() << " x "
                  << M.col_layout().total() << "\n"
                  << "process      rows   columns      entries (model)      ghosts   halo (model)   PETSc MiB (model)\n";
        for (int r = 0; r < job.size; ++r) {
            const double* a = &all[6 * static_cast<size_t>(r)];
            const PartModel& m = model[static_cast<size_t>(r)];
            const bool ok = static_cast<index_t>(a[0]) == m.rows && static_cast<index_t>(a[5]) == m.cols &&
                            static_cast<index_t>(a[1]) == m.entries && static_cast<index_t>(a[2]) == m.diagonal_entries &&
                            static_cast<index_t>(a[3]) == m.halo;
            agree = agree && ok;
            std::printf("%7d %9.0f %9.0f %12.0f %-12lld %7.0f   %-12lld %8.3f (%.3f)%s\n", r, a[0], a[5], a[1],
                        static_cast<long long>(m.entries), a[3], static_cast<long long>(m.halo), a[4] / 1048576.0,
                        m.matrix_bytes(static_cast<int>(sizeof(PetscInt))) / 1048576.0, ok ? "" : "   MISMATCH");
        }
        std::cout << (agree ? "every share equals the geometry's prediction (rows, columns, entries, diagonal-block "
                              "entries, ghosts = halo)"
                            : "FAILED: a share differs from the geometry's prediction")
                  << "\n"
                  << dot.str() << "\n";
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
    cmd->add_option("-o,--output", f->output, "gather the matrix on process 0 and write it (Matrix Market, FILE.mtx)")
        ->option_text("FILE")
        ->check(file_extension({".mtx"}))
        ->check(writable_file());
    f->config.add_to(*cmd);
    cmd->callback([f, &job] { run_build(*f, job); });
}

}  // namespace convmtx::cli::mpi
