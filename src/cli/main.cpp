// convmtx: command-line entry point (everything else is convmtx::cli::run, src/cli/run.cpp).
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
    return convmtx::cli::run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
