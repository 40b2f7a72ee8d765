// The convmtx command-line tool: one CLI11 subcommand per file, each registered by its
// setup function. Exit status: 0 success, 1 a check that failed, 2 a usage error (one
// line on stderr: "convmtx <command>: <message>").
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace convmtx::cli {

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
void setup_solve(CLI::App& app);
void setup_explore(CLI::App& app);
/// `convmtx help [COMMAND|config]` (help.cpp).
void setup_help(CLI::App& app);

/// A subcommand with the tool's conventions: summary (the command list's line), details
/// (the help text after the summary), "-h, --help", switches that take no value.
CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary, const std::string& details);

/// The one-line message of a CLI11 parse error (unknown options with a suggestion), without
/// the "convmtx <command>: " prefix. `command` is the subcommand that was being parsed, or null.
std::string parse_error_message(const CLI::App& app, const CLI::App* command, const CLI::Error& e);

/// The closest of `candidates` to `word` by edit distance, or "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace convmtx::cli
