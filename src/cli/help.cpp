// The tools' conventions (help format, options given once), `convmtx help` / `convmtx-mpi help`,
// and the one-line messages of CLI11's parse errors with "did you mean" suggestions; shared by
// convmtx (run.cpp) and convmtx-mpi (mpi/main.cpp).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "config_flags.hpp"


namespace convmtx::cli {

namespace {

constexpr size_t kWidth = 100;   // help lines are wrapped at this width
constexpr size_t kColumn = 30;          // descriptions of options start here
constexpr size_t kCommandColumn = 18;   // and of commands

/// `text` wrapped at kWidth, lines after the first indented by `indent`; lines that start with
/// two spaces (examples) are kept as they are.
std::string wrap(const std::string& text, size_t first_column, size_t indent) {
    std::ostringstream out;
    std::istringstream lines(text);
    size_t column = first_column;
    bool first_line = true;
    for (std::string line; std::getline(lines, line);) {
        if (!first_line) {
            out << "\n" << std::string(indent, ' ');
            column = indent;
        }
        first_line = false;
        if (line.rfind("  ", 0) == 0) {
            out << line;
            continue;
        }
        std::istringstream words(line);
        bool start = true;
        for (std::string w; words >> w;) {
            if (!start && column + 1 + w.size() > kWidth) {
                out << "\n" << std::string(indent, ' ');
                column = indent;
                start = true;
            }
            out << (start ? "" : " ") << w;
            column += (start ? 0 : 1) + w.size();
            start = false;
        }
    }
    return out.str();
}

/// "  left<padding>description" with the description at `column`, on the next line when `left` is too long.
std::string entry(const std::string& left, const std::string& description, size_t column = kColumn) {
    std::string s = "  " + left;
    if (s.size() + 2 > column) s += "\n" + std::string(column, ' ');
    else s += std::string(column - s.size(), ' ');
    return s + wrap(description, column, column) + "\n";
}

std::string option_names(const CLI::Option* opt) {
    std::string names;
    for (const auto& s : opt->get_snames()) names += (names.empty() ? "-" : ", -") + s;
    for (const auto& l : opt->get_lnames()) names += (names.empty() ? "--" : ", --") + l;
    if (names.empty()) return opt->get_option_text().empty() ? opt->get_name(true) : opt->get_option_text();
    const bool takes_value = opt->get_type_size() != 0;
    if (takes_value && !opt->get_option_text().empty() && opt->nonpositional()) names += " " + opt->get_option_text();
    return names;
}

/// The layout of every help text (and of docs/cli.md): usage, summary, details, option groups.
class HelpFormatter : public CLI::Formatter {
public:
    std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
        std::ostringstream out;
        const bool top = app->get_parent() == nullptr;
        const std::string tool = top ? app->get_name() : app->get_parent()->get_name();
        if (top) {
            out << "usage: " << tool << " <command> [options]\n"
                << "       " << tool << " help <command>\n"
                << "       " << tool << " --version\n\n"
                << wrap(app->get_description(), 0, 0) << "\n\ncommands:\n";
            for (const CLI::App* sub : app->get_subcommands({}))
                out << entry(sub->get_name(), sub->get_description(), kCommandColumn);
        } else {
            std::string positionals;
            for (const CLI::Option* opt : app->get_options())
                if (opt->get_positional()) positionals += " [" + option_names(opt) + "]";
            std::string summary = app->get_description();
            if (!summary.empty()) summary[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(summary[0])));
            out << "usage: " << tool << " " << app->get_name() << " [options]" << positionals << "\n\n"
                << wrap(summary, 0, 0) << ".\n";
            if (!app->get_footer().empty()) out << "\n" << wrap(app->get_footer(), 0, 0) << "\n";
        }
        // Option groups in order of first appearance: the command's own options, then "configuration".
        std::vector<std::string> groups;
        for (const CLI::Option* opt : app->get_options())
            if (!opt->get_group().empty() && std::find(groups.begin(), groups.end(), opt->get_group()) == groups.end())
                groups.push_back(opt->get_group());
        for (const std::string& group : groups) {
            std::string lines;
            for (const CLI::Option* opt : app->get_options())
                if (opt->get_group() == group) lines += entry(option_names(opt), opt->get_description());
            if (!lines.empty()) out << "\n" << group << ":\n" << lines;
        }
        if (top) out << "\n" << wrap(app->get_footer(), 0, 0) << "\n";
        return out.str();
    }
};

std::vector<std::string> option_flags(const CLI::App& app) {
    std::vector<std::string> flags;
    for (const CLI::Option* opt : app.get_options()) {
        for (const auto& l : opt->get_lnames()) flags.push_back("--" + l);
        for (const auto& s : opt->get_snames()) flags.push_back("-" + s);
    }
    return flags;
}

std::vector<std::string> command_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
    return names;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    const std::string near = closest(word, candidates);
    return near.empty() ? std::string() : " (did you mean '" + near + "'?)";
}

/// The option of `app` whose long or short name is `name` (with or without dashes).
const CLI::Option* find_option(const CLI::App& app, std::string name) {
    name.erase(0, name.find_first_not_of('-'));
    for (const CLI::Option* opt : app.get_options()) {
        for (const auto& l : opt->get_lnames())
            if (l == name) return opt;
        for (const auto& s : opt->get_snames())
            if (s == name) return opt;
    }
    return nullptr;
}

}  // namespace

CLI::App* add_command(CLI::App& app, const std::string& name, const std::string& summary, const std::string& details) {
    CLI::App* command = app.add_subcommand(name, summary);
    command->set_help_flag("-h,--help", "show this help");  // again, now in the group "options"
    command->footer(details);
    return command;
}

void use_tool_conventions(CLI::App& app) {
    app.formatter(std::make_shared<HelpFormatter>());
    app.option_defaults()->group("options")->multi_option_policy(CLI::MultiOptionPolicy::Throw)->disable_flag_override();
    app.set_help_flag("-h,--help", "show this help");
}

std::string repeated_switch(const CLI::App& app, const std::vector<std::string>& args) {
    // CLI11 counts a repeated flag instead of refusing it: switches are counted here, before parsing,
    // in the command the first argument names.
    const CLI::App* where = &app;
    for (const CLI::App* sub : app.get_subcommands({}))
        if (!args.empty() && sub->get_name() == args.front()) where = sub;
    for (const CLI::Option* opt : where->get_options()) {
        if (opt->get_expected_max() != 0 || opt->get_positional()) continue;  // a switch: expected(0)
        int count = 0;
        for (const std::string& arg : args) {
            if (arg == "--") break;
            for (const auto& l : opt->get_lnames()) count += arg == "--" + l;
            for (const auto& sn : opt->get_snames()) count += arg == "-" + sn;
        }
        if (count > 1) return option_label(opt) + " is given more than once (a switch is given once)";
    }
    return "";
}

std::string malformed_argument(const std::vector<std::string>& args) {
    for (const std::string& arg : args) {
        if (arg == "--") break;
        // CLI11 reads "--name=" as "--name" and takes the next argument as its value.
        if (arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.find('=') == arg.size() - 1)
            return arg.substr(0, arg.size() - 1) + ": empty value after '='";
        // "-o=FILE" would give the value "=FILE": a short option is written -oFILE or -o FILE.
        if (arg.size() > 2 && arg[0] == '-' && std::isalpha(static_cast<unsigned char>(arg[1])) && arg[2] == '=')
            return arg + ": a short option takes its value as " + arg.substr(0, 2) + arg.substr(3) + " or " +
                   arg.substr(0, 2) + " " + arg.substr(3) + ", without '='";
    }
    return "";
}

std::string option_label(const CLI::Option* opt) {
    std::string label;
    for (const auto& s : opt->get_snames()) label += (label.empty() ? "-" : "/-") + s;
    for (const auto& l : opt->get_lnames()) label += (label.empty() ? "--" : "/--") + l;
    return label.empty() ? opt->get_name(true) : label;
}

bool find_option_named(const CLI::App& app, const std::string& name) { return find_option(app, name) != nullptr; }

std::string suggest_option(const CLI::App& app, const std::string& flag) { return did_you_mean(flag, option_flags(app)); }

void setup_help(CLI::App& app, bool config_topic) {
    const std::string tool = app.get_name();
    CLI::App* cmd = add_command(
        app, "help",
        config_topic ? "a command's options (" + tool + " help build), or the configuration keys (" + tool + " help config)"
                     : "a command's options (" + tool + " help build)",
        "Prints the help of COMMAND, the same as '" + tool + " COMMAND --help'; " +
            (config_topic ? "'config' prints the configuration keys and the rules of --config JSON files; " : "") +
            "no argument prints the list of commands.");
    auto topic = std::make_shared<std::string>();
    cmd->add_option("topic", *topic, config_topic ? "a command, or config" : "a command")->option_text("COMMAND")->check(CLI::Validator(
        [&app, config_topic](std::string& t) -> std::string {
            std::vector<std::string> topics = command_names(app);
            if (config_topic) topics.push_back("config");
            if (std::find(topics.begin(), topics.end(), t) != topics.end()) return {};
            return "unknown command '" + t + "'" + did_you_mean(t, topics);
        },
        ""));
    cmd->callback([&app, topic] {
        if (topic->empty()) std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
        else if (*topic == "config") std::cout << config_reference();
        else std::cout << app.get_subcommand(*topic)->help();
    });
}

std::string parse_error_message(const CLI::App& app, const CLI::App* command, const CLI::Error& e) {
    std::string what = e.what();
    const CLI::App& where = command ? *command : app;
    // Unknown arguments first: a misspelt flag is the likely cause of any other error (a required
    // option missing, ...). CLI11 collects them while parsing, before it checks anything else.
    std::vector<std::string> extras = where.remaining(true);
    if (extras.empty()) extras = app.remaining(true);
    if (!extras.empty() || dynamic_cast<const CLI::ExtrasError*>(&e)) {
        std::string first = extras.empty() ? what : extras.front();
        for (const auto& x : extras)  // within a command, an unknown option before a stray value
            if (command && x.size() > 1 && x[0] == '-') {
                first = x;
                break;
            }
        if (first.size() > 1 && first[0] == '-') {
            const std::string flag = first.substr(0, first.find('='));
            return "unknown option '" + flag + "'" + did_you_mean(flag, option_flags(where));
        }
        if (!command) return "unknown command '" + first + "'" + did_you_mean(first, command_names(app));
        return "unexpected argument '" + first + "'";
    }
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
        const std::string head = what.substr(0, what.find_first_of(": "));
        const CLI::Option* opt = find_option(where, head);
        const std::string flag = opt ? option_label(opt) : head;
        if (what.find("flag override") != std::string::npos) return flag + " is a switch and takes no value";
        if (what.find("missing") != std::string::npos)
            return flag + " needs a value" + (opt && !opt->get_option_text().empty() ? " (" + opt->get_option_text() + ")" : "");
        if (opt && (what.find("At Most") != std::string::npos || what.find("at most") != std::string::npos))
            return flag + " is given more than once (" +
                   (opt->get_expected_max() == 0 ? "a switch is given once" : "each option takes one value") + ")";
    }
    if (dynamic_cast<const CLI::ExcludesError*>(&e)) {
        const auto at = what.find(" excludes ");
        if (at != std::string::npos) return what.substr(0, at) + " and " + what.substr(at + 10) + " exclude each other";
    }
    if (dynamic_cast<const CLI::ValidationError*>(&e)) {  // "NAME: message"; a positional's name is dropped
        for (const CLI::Option* opt : where.get_options())
            if (opt->get_positional() && what.rfind(opt->get_name(true) + ": ", 0) == 0)
                what.erase(0, opt->get_name(true).size() + 2);
    }
    std::replace(what.begin(), what.end(), '\n', ' ');
    return what;
}

}  // namespace convmtx::cli
