// convmtx: command-line entry point. Usage errors exit with status 2 and one
// line; failed checks exit with status 1.
#include <cstring>
#include <exception>
#include <iostream>

#include "cli.hpp"
#include "convmtx/errors.hpp"

namespace convmtx::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> table = {
        {"adjoint-test", "sweep random configurations through every pair (W, T, direct kernels) and dot tests", run_adjoint_test},
        {"demo", "the seeds' example: W, the transposed conv as W^T x, both direct kernels, the dot test", run_demo},
        {"build", "W (or T) of a configuration written as Matrix Market (.mtx) or scipy (.npz)", run_build},
        {"inspect", "shape, nnz, bandwidth, CSR size and the entry-by-entry (block-)Toeplitz check of W", run_inspect},
        {"spy", "the sparsity pattern of W as a PNG, entries colored by kernel tap", run_spy},
        {"explain", "the formula of one output element (y[...] = w·x + ...), or where one input goes", run_explain},
        {"overlap", "checkerboard check of a transposed conv: (input, tap) pairs reaching each output", run_overlap},
        {"solve", "deblurring / super-resolution by least squares (LSQR, CGLS, Landweber, SPQR, CHOLMOD) vs W^T b", run_solve},
        {"explore", "an interactive HTML page: input, kernel, output; hover a cell for its dot product", run_explore},
    };
    return table;
}

}  // namespace convmtx::cli

namespace {

void usage(std::ostream& os) {
    os << "usage: convmtx <command> [options]\n\ncommands:\n";
    for (const auto& c : convmtx::cli::commands()) {
        std::string name = c.name;
        os << "  " << name << std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') << c.summary << "\n";
    }
    os << "\n'convmtx <command> --help' describes a command's options.\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
        usage(std::cout);
        return argc < 2 ? 2 : 0;
    }
    const std::string name = argv[1];
    for (const auto& c : convmtx::cli::commands()) {
        if (name != c.name) continue;
        try {
            return c.run(argc - 1, argv + 1);
        } catch (const convmtx::cli::usage_error& e) {
            std::cerr << "convmtx " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const std::invalid_argument& e) {  // config_error, shape_error
            std::cerr << "convmtx " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const convmtx::memory_limit_error& e) {  // too large to build: refused before allocating
            std::cerr << "convmtx " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const std::overflow_error& e) {
            std::cerr << "convmtx " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const convmtx::io_error& e) {  // unreadable or malformed input, unwritable output
            std::cerr << "convmtx " << name << ": " << e.what() << "\n";
            return 2;
        } catch (const std::exception& e) {
            std::cerr << "convmtx " << name << ": error: " << e.what() << "\n";
            return 1;
        }
    }
    std::cerr << "convmtx: unknown command '" << name << "' (see convmtx --help)\n";
    return 2;
}
