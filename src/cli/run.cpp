// convmtx::cli::run: the whole tool behind main(), mapping every outcome to the exit status
// contract: 0 success (help and --version included), 1 a check that failed, 2 bad input, usage or
// I/O, with exactly one line on stderr ("convmtx <command>: <message>").
#include <algorithm>
#include <cctype>
#include <exception>
#include <iostream>
#include <new>
#include <stdexcept>

#include "cli.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/file.hpp"
#include "convmtx/spectrum.hpp"

#ifndef CONVMTX_VERSION
#error "CONVMTX_VERSION (the project version) is defined by CMakeLists.txt"
#endif

namespace convmtx::cli {

namespace {

/// Sends std::cout and std::cerr to other streams for its lifetime.
class Redirect {
public:
    Redirect(std::ostream& out, std::ostream& err)
        : out_(std::cout.rdbuf(out.rdbuf())), err_(std::cerr.rdbuf(err.rdbuf())) {}
    ~Redirect() {
        std::cout.flush();
        std::cerr.flush();
        std::cout.rdbuf(out_);
        std::cerr.rdbuf(err_);
    }
    Redirect(const Redirect&) = delete;
    Redirect& operator=(const Redirect&) = delete;

private:
    std::streambuf* out_;
    std::streambuf* err_;
};

/// "convmtx <command>: <message>" on one line: line breaks become spaces, other control bytes
/// (from arguments or files) \xNN, so that nothing reaches the terminal as a control sequence.
void usage_line(std::ostream& err, const std::string& command, const std::string& message) {
    std::string line = "convmtx" + (command.empty() ? "" : " " + command) + ": ";
    for (const char ch : message) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\n' || c == '\r') {
            line += ' ';
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            line += {'\\', 'x', hex[c >> 4], hex[c & 15]};
        } else {
            line += ch;
        }
    }
    err << line << "\n";
}

}  // namespace

void setup_app(CLI::App& app) {
    app.description(
        "Any convolution configuration as its explicit sparse matrix W (rows: the conv's output, columns: its input), "
        "so that the transposed convolution W^T x can be built, inspected, applied, inverted and verified.");
    app.footer(
        "'convmtx <command> --help' or 'convmtx help <command>' shows a command's options; 'convmtx help config' the "
        "configuration keys of --config JSON files. Options take their value as '--name value' or '--name=value', "
        "'-o FILE' or '-oFILE' (not '-o=FILE'); an option or switch given twice is an error. A command whose work is estimated above 60 s (set CONVMTX_MAX_SECONDS "
        "for another limit) or whose memory is above the machine's (or ulimit -v) is refused before it starts. A command "
        "writes all its output files or none. Exit status: 0 success, 1 a check that failed, 2 a usage error (one line on stderr).");
    use_tool_conventions(app);
    app.set_version_flag("--version", std::string("convmtx ") + CONVMTX_VERSION, "print the version");
    app.require_subcommand(0, 1);
    setup_demo(app);
    setup_build(app);
    setup_inspect(app);
    setup_spy(app);
    setup_explain(app);
    setup_overlap(app);
    setup_spectrum(app);
    setup_explore(app);
    setup_spreadsheet(app);
    setup_solve(app);
    setup_adjoint_test(app);
    setup_help(app);
}

namespace {

int run_app(const std::vector<std::string>& args, std::ostream& err) {
    CLI::App app{"", "convmtx"};
    setup_app(app);
    auto command = [&app]() -> const CLI::App* {
        const auto selected = app.get_subcommands();
        return selected.empty() ? nullptr : selected.front();
    };
    auto command_name = [&] { return command() ? command()->get_name() : std::string(); };
    // The command named by the first argument, before parsing ("" when it names none).
    auto named = [&]() -> std::string {
        for (const CLI::App* sub : app.get_subcommands({}))
            if (!args.empty() && sub->get_name() == args.front()) return sub->get_name();
        return "";
    };
    // Arguments CLI11 would misread ("--name=", "-o=FILE"): refused here.
    std::string bad = malformed_argument(args);
    if (bad.empty()) bad = repeated_switch(app, args);
    if (!bad.empty()) {
        usage_line(err, named(), bad);
        return 2;
    }
    // Every file a command writes is one output: all are renamed into place when it ends, none
    // when it fails (a later file's write error leaves none of the earlier ones; file.hpp).
    OutputBatch outputs;
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
        try {
            app.parse(reversed);
        } catch (const CLI::RuntimeError& e) {  // a failed check: the command's outputs are its report
            if (e.get_exit_code() == 1) outputs.commit();
            throw;
        }
        outputs.commit();
        if (!command()) {
            std::cout << app.help();
            usage_line(err, "", "give a command (the list is above)");
            return 2;
        }
        return 0;
    } catch (const WorkSkipped&) {
        return 0;
    } catch (const CLI::RuntimeError& e) {  // a check failed; the command has said which
        return e.get_exit_code();
    } catch (const CLI::Success& e) {  // --help, help, --version
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        usage_line(err, command_name(), parse_error_message(app, command(), e));
        return 2;
    } catch (const usage_error& e) {
        usage_line(err, command_name(), e.what());
        return 2;
    } catch (const std::invalid_argument& e) {  // config_error, shape_error
        usage_line(err, command_name(), e.what());
        return 2;
    } catch (const memory_limit_error& e) {  // too large to build: refused before allocating
        usage_line(err, command_name(), e.what());
        return 2;
    } catch (const std::overflow_error& e) {  // index_overflow_error
        usage_line(err, command_name(), e.what());
        return 2;
    } catch (const io_error& e) {  // unreadable or malformed input, unwritable output
        usage_line(err, command_name(), e.what());
        return 2;
    } catch (const convergence_error& e) {  // an iterative eigensolver that stopped: what to change is in the text
        usage_line(err, command_name(), e.what());
        return 2;
    } catch (const std::bad_alloc&) {  // memory the estimates did not foresee (another process took it)
        usage_line(err, command_name(), "out of memory: the machine could not provide the memory this command needs; "
                                        "use a smaller configuration");
        return 2;
    } catch (const std::length_error&) {  // a container size beyond max_size(): the same, never the library's words
        usage_line(err, command_name(), "out of memory: a size is larger than this machine can allocate; "
                                        "use a smaller configuration");
        return 2;
    } catch (const std::exception& e) {  // not a failed check: status 2, never 1
        usage_line(err, command_name(), std::string("internal error: ") + e.what());
        return 2;
    }
}

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const RunLimits& limits) {
    const Redirect redirect(out, err);
    set_run_limits(limits);
    const int status = run_app(args, err);
    set_run_limits(RunLimits());
    return status;
}

}  // namespace convmtx::cli
