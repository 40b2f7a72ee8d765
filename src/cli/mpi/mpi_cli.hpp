// convmtx-mpi: the distributed commands (build, solve, model), one file each, run by every
// process of an MPI job. Every process parses the same flags; files are read and written by
// process 0 (the root), and what process 0 finds wrong is broadcast so that every process
// leaves with the same exit status (0 success, 1 a check that failed, 2 a usage error with one
// line on stderr, written by the root).
#pragma once

#include <mpi.h>

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace convmtx::cli::mpi {

/// The job's communicator with this process's rank and the number of processes.
struct Job {
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank = 0;
    int size = 1;
    bool root() const { return rank == 0; }
};

/// Runs `step` on the root alone; when it throws, every process throws usage_error with its message.
void on_root(const Job& job, const std::function<void()>& step);

/// A subcommand: its summary line, help text, "-h, --help".
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary, const std::string& details);

void setup_build(CLI::App& app, const Job& job);
void setup_solve(CLI::App& app, const Job& job);
void setup_model(CLI::App& app, const Job& job);

}  // namespace convmtx::cli::mpi
