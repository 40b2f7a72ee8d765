// convmtx-mpi model: what slab_model predicts for a configuration at given process counts,
// without building anything: rows, entries and MPIAIJ bytes per process, ghost columns (the
// kernel's halo), neighbours, and the scalars exchanged in one product W x (or W^T y).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/petsc_matrix.hpp"
#include "convmtx/slab_layout.hpp"
#include "flag_values.hpp"
#include "mpi_cli.hpp"

namespace convmtx::cli::mpi {

namespace {

struct ModelFlags {
    ConfigFlags config;
    std::string which;
    std::string ranks = "64,128,256,512,1024";
};

void run_model(const ModelFlags& f, const Job& job) {
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.config.problem();
    const bool T = f.which.empty() ? p.spec.transposed : (f.which == "T" || f.which == "t");
    const Dims counts = parse_dims(f.ranks, 1);
    const ConvGeometry G(p.spec);
    if (!job.root()) return;
    const int index_bytes = static_cast<int>(sizeof(PetscInt));
    const double total_entries = static_cast<double>(G.structural_nnz());
    std::printf("convmtx-mpi model: %s of %s\n", T ? "T" : "W", p.spec.describe().c_str());
    std::printf("%lld x %lld, %.6g entries; one process: %.4g GiB as MPIAIJ (8-byte values, %d-byte indices)\n",
                static_cast<long long>(T ? G.cols() : G.rows()), static_cast<long long>(T ? G.rows() : G.cols()),
                total_entries, slab_model(G, T, 1)[0].matrix_bytes(index_bytes) / 1073741824.0, index_bytes);
    std::printf("processes  rows/process  entries/process   MiB/process  ghosts/process  neighbours  "
                "MiB sent per product (all processes)\n");
    for (index_t P : counts) {
        if (P > (1 << 30)) throw usage_error("--ranks: value " + std::to_string(P) + " must be <= 2^30");
        const std::vector<PartModel> model = slab_model(G, T, static_cast<int>(P));
        index_t rows = 0, entries = 0, halo = 0;
        int neighbours = 0;
        double bytes = 0, sent = 0;
        for (const PartModel& m : model) {
            rows = std::max(rows, m.rows);
            entries = std::max(entries, m.entries);
            halo = std::max(halo, m.halo);
            neighbours = std::max(neighbours, m.neighbours);
            bytes = std::max(bytes, m.matrix_bytes(index_bytes));
            sent += 8.0 * static_cast<double>(m.halo);
        }
        std::printf("%9lld  %12lld  %15lld  %12.1f  %14lld  %10d  %12.1f\n", static_cast<long long>(P),
                    static_cast<long long>(rows), static_cast<long long>(entries), bytes / 1048576.0,
                    static_cast<long long>(halo), neighbours, sent / 1048576.0);
    }
    std::printf("(largest share over the processes; the slabs are balanced to one position of the slowest axis)\n");
}

}  // namespace

void setup_model(CLI::App& app, const Job& job) {
    CLI::App* cmd = add_command(
        app, "model", "predicted entries, bytes, halo and communication per process at given process counts",
        "Builds nothing: the counts come from the geometry's tap tables (slab_model, docs/distributed.md), so the "
        "3-d 1024^3 case runs in a second on one process. Example:\n"
        "  convmtx-mpi model --input 1x1024x1024x1024 --kernel 3x3x3 --padding 1 --ranks 64,128,256,512,1024");
    auto f = std::make_shared<ModelFlags>();
    cmd->add_option("--which", f->which, "W or T = W^T; default: the operation's own")
        ->option_text("W|T")
        ->check(CLI::IsMember({"W", "T", "w", "t"}));
    cmd->add_option("--ranks", f->ranks, "process counts, e.g. 64,128,256 (default 64,128,256,512,1024)")
        ->option_text("LIST")
        ->check(dims_of(1));
    f->config.add_to(*cmd);
    cmd->callback([f, &job] { run_model(*f, job); });
}

}  // namespace convmtx::cli::mpi
