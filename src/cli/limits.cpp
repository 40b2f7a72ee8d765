// The limits of one run of the tool (RunLimits, cli.hpp): how much work a command may start and how
// much memory it may take. The tool runs without limits; the fuzz targets of the CLI set them.
#include "cli.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/geometry.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

double seconds_limit() {
    if (g_limits.seconds_limit > 0) return g_limits.seconds_limit;
    if (const char* env = std::getenv("CONVMTX_MAX_SECONDS")) {
        char* end = nullptr;
        const double v = std::strtod(env, &end);
        if (end != env && *end == '\0' && v > 0) return v;
    }
    return 60;
}

namespace {

std::string seconds_text(double s) {
    char buf[64];
    if (s < 120)
        std::snprintf(buf, sizeof buf, "%.0f s", s);
    else if (s < 7200)
        std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
    else if (s < 48 * 3600)
        std::snprintf(buf, sizeof buf, "%.0f hours", s / 3600);
    else
        std::snprintf(buf, sizeof buf, "%.3g days", s / 86400);
    return buf;
}

}  // namespace

void check_time(double units, double units_per_second, const std::string& what, const std::string& advice) {
    const double seconds = units / units_per_second;
    if (!(seconds <= seconds_limit()))
        throw usage_error(what + ": about " + seconds_text(seconds) + " of work (estimate), more than the limit of " +
                          seconds_text(seconds_limit()) + " (set CONVMTX_MAX_SECONDS to allow more); " + advice);
    begin_work(units);
}

void check_memory(double bytes, const std::string& what, const std::string& advice) {
    if (!(bytes <= memory_limit()))
        throw memory_limit_error(what + ": needs " + format_bytes(bytes) + ", more than the memory limit " +
                                     format_bytes(memory_limit()) + "; " + advice,
                                 bytes, memory_limit());
}

double memory_limit() {
    if (g_limits.memory_limit > 0) return g_limits.memory_limit;
    // The physical memory, or the process's address-space limit (ulimit -v, prlimit --as) when lower.
    double limit = physical_memory_bytes();
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = std::min(limit, static_cast<double>(rl.rlim_cur));
    return limit;
}

}  // namespace convmtx::cli
