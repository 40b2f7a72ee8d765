// Shared pieces of the convmtx command-line tool: the command table, option
// parsing with a declared set of flags, and the usage-error exit (status 2).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace convmtx::cli {

/// A usage error: printed as one line "convmtx <command>: <message>", exit status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Flag {
    std::string name;   ///< without the leading "--"
    std::string value;  ///< placeholder shown in --help ("" for a switch)
    std::string help;
};

/// Parsed command line: --name value, --name=value, switches, and positionals.
/// "-o FILE" is short for "--output FILE" in commands that declare an "output" flag.
class Args {
public:
    Args(std::string command, std::vector<Flag> flags) : command_(std::move(command)), flags_(std::move(flags)) {}
    /// Parses argv; throws usage_error naming an unknown flag or a missing value.
    void parse(int argc, char** argv);
    bool has(const std::string& name) const { return values_.count(name) > 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const;
    const std::vector<std::string>& positionals() const { return positional_; }
    bool help_requested() const { return help_; }
    std::string help(const std::string& summary) const;
    const std::string& command() const { return command_; }

private:
    std::string command_;
    std::vector<Flag> flags_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
    bool help_ = false;
};

struct Command {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);  ///< argv[0] is the command name
};

/// Every command of the tool; defined in main.cpp.
const std::vector<Command>& commands();

int run_demo(int argc, char** argv);
int run_build(int argc, char** argv);
int run_inspect(int argc, char** argv);
int run_spy(int argc, char** argv);
int run_explain(int argc, char** argv);
int run_overlap(int argc, char** argv);
int run_solve(int argc, char** argv);
int run_adjoint_test(int argc, char** argv);
int run_explore(int argc, char** argv);

}  // namespace convmtx::cli
