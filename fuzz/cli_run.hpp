// Runs the convmtx tool in-process (convmtx::cli::run) for the CLI fuzz targets and checks the exit
// status contract: 0, 1 or 2; status 2 with exactly one line "convmtx ...: <message>" on stderr whose
// message keeps the rules of check_message (no C++ library words, no "internal error", no control
// bytes).
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "fuzz_common.hpp"

namespace fuzz {

/// The limits of every fuzzed run: commands whose work exceeds 2e5 units (entries, pixels x
/// iterations, ...) stop once their inputs are checked, and generated weights may take 256 MiB.
inline convmtx::cli::RunLimits fuzz_limits() {
    convmtx::cli::RunLimits limits;
    limits.work_limit = 2e5;
    limits.memory_limit = 256.0 * 1024 * 1024;
    return limits;
}

inline std::string joined(const std::vector<std::string>& args) {
    std::string s = "convmtx";
    for (const auto& a : args) s += " '" + a + "'";
    return s;
}

/// Runs the tool on `args`; returns the exit status after checking the contract. `file` is the
/// contents of a file the arguments name (messages may quote it).
inline int run_cli(const std::vector<std::string>& args, const std::string& file = "") {
    std::ostringstream out, err;
    const int status = convmtx::cli::run(args, out, err, fuzz_limits());
    if (status < 0 || status > 2) fail(joined(args) + ": exit status " + std::to_string(status));
    if (status == 2) {
        const std::string e = err.str();
        const size_t newline = e.find('\n');
        if (e.rfind("convmtx", 0) != 0 || newline == std::string::npos || newline + 1 != e.size())
            fail(joined(args) + ": status 2 without exactly one line on stderr: " + e);
        check_message(e.substr(0, newline), joined(args).c_str(), joined(args) + file);
    }
    return status;
}

}  // namespace fuzz
