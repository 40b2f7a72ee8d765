// convmtx: command-line entry point. Maps every outcome to the exit status contract:
// 0 success (help and --version included), 1 a check that failed, 2 a usage error with
// exactly one line on stderr ("convmtx <command>: <message>").
#include <algorithm>
#include <exception>
#include <iostream>

#include "cli.hpp"
#include "convmtx/errors.hpp"

namespace {

void usage_line(const std::string& command, std::string message) {
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << "convmtx" << (command.empty() ? "" : " " + command) << ": " << message << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"", "convmtx"};
    convmtx::cli::setup_app(app);
    auto command = [&app]() -> const CLI::App* {
        const auto selected = app.get_subcommands();
        return selected.empty() ? nullptr : selected.front();
    };
    auto command_name = [&] { return command() ? command()->get_name() : std::string(); };
    // CLI11 reads "--name=" as "--name" and takes the next argument as its value: refused here.
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--") break;
        if (arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.find('=') == arg.size() - 1) {
            std::string named;
            for (const CLI::App* sub : app.get_subcommands({}))
                if (sub->get_name() == argv[1]) named = sub->get_name();
            usage_line(named, arg.substr(0, arg.size() - 1) + ": empty value after '='");
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
        if (!command()) {
            std::cout << app.help();
            usage_line("", "give a command (the list is above)");
            return 2;
        }
        return 0;
    } catch (const CLI::RuntimeError& e) {  // a check failed; the command has said which
        return e.get_exit_code();
    } catch (const CLI::Success& e) {  // --help, help, --version
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        usage_line(command_name(), convmtx::cli::parse_error_message(app, command(), e));
        return 2;
    } catch (const convmtx::cli::usage_error& e) {
        usage_line(command_name(), e.what());
        return 2;
    } catch (const std::invalid_argument& e) {  // config_error, shape_error
        usage_line(command_name(), e.what());
        return 2;
    } catch (const convmtx::memory_limit_error& e) {  // too large to build: refused before allocating
        usage_line(command_name(), e.what());
        return 2;
    } catch (const std::overflow_error& e) {  // index_overflow_error
        usage_line(command_name(), e.what());
        return 2;
    } catch (const convmtx::io_error& e) {  // unreadable or malformed input, unwritable output
        usage_line(command_name(), e.what());
        return 2;
    } catch (const std::bad_alloc&) {  // memory the estimates did not foresee (another process took it)
        usage_line(command_name(), "out of memory: the machine could not provide the memory this command needs; "
                                   "use a smaller configuration");
        return 2;
    } catch (const std::exception& e) {  // not a failed check: status 2, never 1
        usage_line(command_name(), std::string("internal error: ") + e.what());
        return 2;
    }
}
