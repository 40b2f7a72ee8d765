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
#include "convmtx/file.hpp"
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

namespace {

// PETSc's options, by the prefixes of its option database (-ksp_monitor, -pc_type, -log_view, ...).
const char* const kPetscPrefixes[] = {"ksp_", "pc_", "mat_", "vec_", "log", "malloc", "options_", "info", "help",
                                      "version", "on_error", "start_in_debugger", "debugger", "stop_for_debugger",
                                      "viewer", "draw", "sys_", "mpi", "fp_trap", "check_pointer", "memory_", "objects_",
                                      "history", "no_signal_handler", "skip_petscrc", "petsc", "display", "nox",
                                      "x_virtual", "dm_", "is_", "sf_", "use_gpu_aware_mpi", "device_", "citations",
                                      "saws", "blas", "omp_", "snes_", "tao_", "ts_", "eps_", "svd_"};

bool petsc_knows(const std::string& name) {
    for (const char* p : kPetscPrefixes)
        if (name.rfind(p, 0) == 0) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> all(argv + 1, argv + argc);
    convmtx::cli::mpi::Job job;  // filled in once PETSc has started; the commands hold it by reference

    CLI::App app{"W and T of a convolution across MPI processes with PETSc: build, solve, model.\n"
                 "Run as: mpirun -np N convmtx-mpi COMMAND [flags] [PETSc options such as -ksp_monitor -log_view]",
                 "convmtx-mpi"};
    convmtx::cli::use_tool_conventions(app);
    app.set_version_flag("--version", std::string("convmtx-mpi ") + CONVMTX_VERSION, "print the version");
    app.require_subcommand(0, 1);
    convmtx::cli::mpi::setup_build(app, job);
    convmtx::cli::mpi::setup_solve(app, job);
    convmtx::cli::mpi::setup_model(app, job);
    convmtx::cli::setup_help(app, false);

    // The command named by the first argument, for messages before parsing.
    std::string command;
    if (!all.empty() && kCommands.count(all.front())) command = all.front();
    const CLI::App* named = command.empty() ? &app : app.get_subcommand(command);
    std::set<char> shorts;  // our one-letter options (-o FILE, -oFILE, -h)
    for (const CLI::App* a : {static_cast<const CLI::App*>(&app), named})
        for (const CLI::Option* opt : a->get_options())
            for (const auto& n : opt->get_snames()) shorts.insert(n[0]);

    // Our arguments and PETSc's: a single-dash option is PETSc's only when PETSc knows its name;
    // "-o=FILE", one of our options with one dash (-output) and anything else are refused.
    std::string refused = convmtx::cli::malformed_argument(all);
    if (refused.empty()) refused = convmtx::cli::repeated_switch(app, all);
    std::vector<char*> ours{argv[0]}, petsc_args{argv[0]};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") {
            for (; i < argc; ++i) ours.push_back(argv[i]);
            break;
        }
        const std::string name = is_petsc_option(arg) ? arg.substr(1, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 1) : "";
        if (!name.empty() && name.size() > 1 && convmtx::cli::find_option_named(*named, name)) {  // -output
            if (refused.empty())
                refused = "unknown option '" + arg + "' (did you mean '--" + name + "'? convmtx-mpi's options take two dashes)";
            continue;
        }
        // -oFILE is ours (-o with its value attached) unless PETSc knows the whole name (-on_error_abort).
        if (is_petsc_option(arg) && (!shorts.count(arg[1]) || petsc_knows(name))) {
            if (refused.empty() && !petsc_knows(name)) {
                const std::string hint = convmtx::cli::suggest_option(*named, "--" + name);
                refused = "unknown option '" + arg + "'" + (hint.empty() ? "" : hint) +
                          ": convmtx-mpi's options take two dashes, and one-dash options are PETSc's (-ksp_..., "
                          "-pc_..., -log_view, -options_left, ...)";
            }
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

    job.comm = PETSC_COMM_WORLD;
    MPI_Comm_rank(job.comm, &job.rank);
    MPI_Comm_size(job.comm, &job.size);

    auto usage_line = [&](std::string message) {
        std::replace(message.begin(), message.end(), '\n', ' ');
        if (job.root()) std::cerr << "convmtx-mpi" << (command.empty() ? "" : " " + command) << ": " << message << "\n";
    };
    if (!refused.empty()) {
        usage_line(refused);
        PetscFinalize();
        return 2;
    }
    command.clear();
    int status = 0;
    convmtx::OutputBatch outputs;  // every file of the command, or none (file.hpp)
    try {
        app.parse(static_cast<int>(ours.size()), ours.data());
        outputs.commit();
        if (app.get_subcommands().empty()) {
            if (job.root()) std::cout << app.help();
            usage_line("give a command (the list is above)");
            status = 2;
        }
    } catch (const CLI::RuntimeError& e) {  // a check failed; the command has said which
        status = e.get_exit_code();
    } catch (const CLI::Success& e) {  // --help, help, --version
        if (job.root()) status = app.exit(e);
    } catch (const CLI::ParseError& e) {
        const CLI::App* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
        if (sub) command = sub->get_name();
        std::string message = convmtx::cli::parse_error_message(app, sub, e);
        // convmtx solve's deconvolution flags: say that they are serial-only.
        for (const char* serial : {"--observed", "--psf", "--truth", "--boundary", "--regularizer", "--bounds", "--rule"})
            if (message.rfind(std::string("unknown option '") + serial + "'", 0) == 0)
                message = std::string("unknown option '") + serial + "': " + serial +
                          " is convmtx solve's (serial deconvolution of your image); convmtx-mpi solve forward-models "
                          "--image (or the phantom) and solves Tikhonov least squares with PETSc";
        usage_line(message);
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
