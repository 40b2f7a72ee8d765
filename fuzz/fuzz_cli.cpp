// Fuzz target: the CLI's argument layer. The input bytes, split at NUL bytes, are the arguments of
// one `convmtx ...` run in-process (convmtx::cli::run), in a temporary directory holding small valid
// and hostile input files under fixed names (cli_fixtures.hpp). Every run must keep the exit status
// contract (cli_run.hpp).
//
// Restrictions, so that fuzzing stays inside its directory and its budget:
//   - an argument containing '/' or "..", or equal to "-" (standard output), rejects the input:
//     every file named is one of the directory's, every file written lands in it;
//   - at most 64 arguments;
//   - RunLimits: a command whose work exceeds 2e5 units stops after checking its inputs (flags,
//     files, configuration; status 0), and generated weights may take at most 256 MiB. Commands
//     whose work is within the budget run completely (build, inspect, spy, explain, overlap,
//     explore, solve, adjoint-test on small problems).
#include <string>
#include <vector>

#include "cli_fixtures.hpp"
#include "cli_run.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    static fuzz::CliFixtures fixtures;
    std::vector<std::string> args(1);
    for (size_t i = 0; i < size; ++i) {
        if (data[i] == 0) args.emplace_back();
        else args.back() += static_cast<char>(data[i]);
    }
    if (args.size() > 64) return -1;
    for (const auto& a : args)
        if (a.find('/') != std::string::npos || a.find("..") != std::string::npos || a == "-") return -1;
    {
        const fuzz::CliFixtures::Inside inside(fixtures);
        fuzz::run_cli(args);
    }
    fixtures.clean();
    return 0;
}
