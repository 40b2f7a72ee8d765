// convmtx-mpi: entry point. Separates PETSc's options (one '-' and a name of two or more
// characters, e.g. -ksp_monitor, -ksp_rtol 1e-10, -log_view) from the command's flags, starts
// PETSc with them, and maps every outcome to the exit status contract of cli.hpp.
#include <petscsys.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <iostream>
#include <set>
#include <vector>

#include "cli.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/petsc_handle.hpp"
#include "mpi_cli.hpp"

namespace {

const std::set<std::string> kCommands{"build", "solve", "model"};

bool is_petsc_option(const std::string& arg) {
    return arg.size() > 2 && arg[0] == '-' && arg[1] != '-' && std::isalpha(static_cast<unsigned char>(arg[1]));
}

bool is_value(const std::string& arg) {
    if (arg.empty()) return true;
    if (kCommands.count(arg)) return false;
    if (arg[0] != '-') return true;
    return arg.size() > 1 && (std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.');  // -1, -.5
}

}  // namespace

namespace convmtx::cli::mpi {

void on_root(const Job& job, const std::function<void()>& step) {
    std::string error;
    if (job.root()) {
        try {
            step();
        } catch (const std::exception& e) {
            error = e.what();
            if (error.empty()) error = "failed";
        }
    }
    int n = static_cast<int>(error.size());
    MPI_Bcast(&n, 1, MPI_INT, 0, job.comm);
    if (n == 0) return;
    error.resize(static_cast<size_t>(n));
    MPI_Bcast(error.data(), n, MPI_CHAR, 0, job.comm);
    throw usage_error(error);
}

CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary, const std::string& details) {
    CLI::App* cmd = app.add_subcommand(name, summary);
    cmd->footer(details);
    cmd->set_help_flag("-h,--help", "print this help and exit");
    return cmd;
}

}  // namespace convmtx::cli::mpi

int main(int argc, char** argv) {
    std::vector<char*> ours{argv[0]}, petsc_args{argv[0]};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (is_petsc_option(arg)) {
            petsc_args.push_back(argv[i]);
            if (i + 1 < argc && is_value(argv[i + 1])) petsc_args.push_back(argv[++i]);
        } else {
            ours.push_back(argv[i]);
        }
    }
    int petsc_argc = static_cast<int>(petsc_args.size());
    petsc_args.push_back(nullptr);
    char** petsc_argv = petsc_args.data();
    if (PetscInitialize(&petsc_argc, &petsc_argv, nullptr, nullptr) != 0) {
        std::cerr << "convmtx-mpi: PETSc could not start\n";
        return 2;
    }
    PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);  // errors come back as codes, then exceptions

    convmtx::cli::mpi::Job job;
    job.comm = PETSC_COMM_WORLD;
    MPI_Comm_rank(job.comm, &job.rank);
    MPI_Comm_size(job.comm, &job.size);

    CLI::App app{"W and T of a convolution across MPI processes with PETSc: build, solve, model.\n"
                 "Run as: mpirun -np N convmtx-mpi COMMAND [flags] [PETSc options such as -ksp_monitor -log_view]",
                 "convmtx-mpi"};
    app.set_version_flag("--version", std::string("convmtx-mpi ") + CONVMTX_VERSION);
    app.require_subcommand(0, 1);
    convmtx::cli::mpi::setup_build(app, job);
    convmtx::cli::mpi::setup_solve(app, job);
    convmtx::cli::mpi::setup_model(app, job);

    std::string command;
    auto usage_line = [&](std::string message) {
        std::replace(message.begin(), message.end(), '\n', ' ');
        if (job.root()) std::cerr << "convmtx-mpi" << (command.empty() ? "" : " " + command) << ": " << message << "\n";
    };
    int status = 0;
    try {
        app.parse(static_cast<int>(ours.size()), ours.data());
        if (app.get_subcommands().empty()) {
            if (job.root()) std::cout << app.help();
            usage_line("give a command (the list is above)");
            status = 2;
        }
    } catch (const CLI::RuntimeError& e) {  // a check failed; the command has said which
        status = e.get_exit_code();
    } catch (const CLI::Success& e) {
        if (job.root()) status = app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (!app.get_subcommands().empty()) command = app.get_subcommands().front()->get_name();
        usage_line(e.what());
        status = 2;
    } catch (const convmtx::petsc::petsc_error& e) {
        // PETSc failed inside a collective step, perhaps on this process alone: the others may be
        // waiting for it, so the job ends here (mpirun reports status 2).
        std::cerr << "convmtx-mpi: process " << job.rank << ": " << e.what() << "\n";
        MPI_Abort(job.comm, 2);
    } catch (const std::bad_alloc&) {
        std::cerr << "convmtx-mpi: process " << job.rank << ": out of memory; use more processes or a smaller problem\n";
        MPI_Abort(job.comm, 2);
    } catch (const std::exception& e) {  // usage_error, config_error, shape_error, io_error, ...
        if (!app.get_subcommands().empty()) command = app.get_subcommands().front()->get_name();
        usage_line(e.what());
        status = 2;
    }
    PetscFinalize();
    return status;
}
