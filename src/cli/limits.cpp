// The limits of one run of the tool (RunLimits, cli.hpp): how much work a command may start and how
// much memory it may take. The tool runs without limits; the fuzz targets of the CLI set them.
#include "cli.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/geometry.hpp"

namespace convmtx::cli {

namespace {

RunLimits g_limits;

}  // namespace

void set_run_limits(const RunLimits& limits) { g_limits = limits; }

void begin_work(double units) {
    if (!(units <= g_limits.work_limit)) throw WorkSkipped{};
}

index_t begin_build_work(const ConvSpec& spec, double per_entry) {
    const ConvGeometry G(spec);
    begin_work(G.table_bytes() / 24);
    const index_t nnz = G.structural_nnz();
    begin_work(static_cast<double>(nnz) * per_entry);
    return nnz;
}

double memory_limit() { return g_limits.memory_limit > 0 ? g_limits.memory_limit : physical_memory_bytes(); }

}  // namespace convmtx::cli
