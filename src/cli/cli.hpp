// The convmtx command-line tool: one CLI11 subcommand per file, each registered by its
// setup function. Exit status: 0 success, 1 a check that failed, 2 a usage error (one
// line on stderr: "convmtx <command>: <message>").
#pragma once

#include <iosfwd>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "convmtx/spec.hpp"

namespace convmtx::cli {

/// Limits of one run() (all unlimited for the tool; fuzz/fuzz_cli.cpp sets them).
struct RunLimits {
    /// A command whose work, as it estimates it when its inputs are checked (begin_work), exceeds
    /// this many units stops there with status 0: arguments, files and configuration are checked,
    /// nothing is built, drawn, solved or written.
    double work_limit = std::numeric_limits<double>::infinity();
    /// Bytes a command may allocate for the values it generates (the weights) and for a build with
    /// the arrays written to the file; 0: the physical memory. Larger is refused with
    /// memory_limit_error (status 2) before allocating.
    double memory_limit = 0;
    /// Seconds a command may be estimated to take (check_time) before it is refused with status 2;
    /// 0: 60 s, or the environment's CONVMTX_MAX_SECONDS.
    double seconds_limit = 0;
};

/// Everything `convmtx ARGS...` does, with `args` the arguments after the program name; std::cout
/// and std::cerr are redirected to `out` and `err` while it runs. Returns the exit status: 0
/// success, 1 a check that failed, 2 bad input, usage or I/O (one line on `err`). Not reentrant.
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const RunLimits& limits = {});

/// Sets the limits of the current run (run() sets them, then resets them to none; limits.cpp).
void set_run_limits(const RunLimits& limits);

/// Thrown by begin_work when the work is over RunLimits::work_limit; not an std::exception, so
/// that nothing between the command and run() mistakes it for an error.
struct WorkSkipped {};

/// Called by each command once its inputs are checked, before its work: `units` estimates that
/// work (stored entries, pixels x iterations, ...). Under RunLimits::work_limit it returns;
/// above, it ends the command (run() returns 0).
void begin_work(double units);
/// begin_work for a command working on W (or T) of `spec`: first its tap tables (table_bytes / 24
/// units, before they are built to count the entries), then `per_entry` units per stored entry.
/// Returns the number of stored entries (structural_nnz).
index_t begin_build_work(const ConvSpec& spec, double per_entry = 1);
/// RunLimits::memory_limit of the current run(), or the physical memory.
double memory_limit();
/// The seconds a command may be estimated to take (RunLimits::seconds_limit).
double seconds_limit();
/// Before a long computation: `units` of work at about `units_per_second`. Over seconds_limit()
/// it is refused (usage_error: "<what>: about N s of work (estimate), more than the limit of L s
/// (CONVMTX_MAX_SECONDS); <advice>"); under it, begin_work(units) (the fuzz targets' work limit).
void check_time(double units, double units_per_second, const std::string& what, const std::string& advice);
/// Before allocating `bytes`: over memory_limit() it is refused (memory_limit_error naming `what`).
void check_memory(double bytes, const std::string& what, const std::string& advice);

/// A usage error found after parsing: printed as one line "convmtx <command>: <message>", exit status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Ends a command with exit status 1 (a check failed; the command has printed why).
[[noreturn]] inline void checks_failed() { throw CLI::RuntimeError(1); }

/// The tool's application: the help formatter, --version, and every command's setup.
void setup_app(CLI::App& app);

// One subcommand each (src/cli/<name>.cpp): registers its options and its callback.
void setup_adjoint_test(CLI::App& app);
void setup_demo(CLI::App& app);
void setup_build(CLI::App& app);
void setup_inspect(CLI::App& app);
void setup_spy(CLI::App& app);
void setup_spreadsheet(CLI::App& app);
void setup_explain(CLI::App& app);
void setup_overlap(CLI::App& app);
void setup_spectrum(CLI::App& app);
void setup_solve(CLI::App& app);
void setup_explore(CLI::App& app);
/// `convmtx help [COMMAND|config]` (help.cpp); `config_topic` false for convmtx-mpi (no --config keys).
void setup_help(CLI::App& app, bool config_topic = true);

// Shared by convmtx and convmtx-mpi (help.cpp):
/// The help format (usage lines with the app's name), options given once, "-h, --help".
void use_tool_conventions(CLI::App& app);
/// The message for a switch (a flag without value) given twice in the command `args` name, or "":
/// refused like an option given twice.
std::string repeated_switch(const CLI::App& app, const std::vector<std::string>& args);
/// The message for an argument CLI11 would misread ("--name=" with nothing after '=', "-o=FILE"), or "".
std::string malformed_argument(const std::vector<std::string>& args);
/// An option's names as one label: "-o/--output", "--size".
std::string option_label(const CLI::Option* opt);
/// Whether `app` has an option named `name` (long or short, with or without dashes).
bool find_option_named(const CLI::App& app, const std::string& name);
/// " (did you mean '--output'?)" for the option of `app` nearest to `flag`, or "".
std::string suggest_option(const CLI::App& app, const std::string& flag);

/// A subcommand with the tool's conventions: summary (the command list's line), details
/// (the help text after the summary), "-h, --help", switches that take no value.
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary, const std::string& details);

/// The one-line message of a CLI11 parse error (unknown options with a suggestion), without
/// the "convmtx <command>: " prefix. `command` is the subcommand that was being parsed, or null.
std::string parse_error_message(const CLI::App& app, const CLI::App* command, const CLI::Error& e);

/// The closest of `candidates` to `word` by edit distance, or "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace convmtx::cli
