#include <cctype>
#include <sstream>

#include "cli.hpp"

namespace convmtx::cli {

void Args::parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            help_ = true;
            continue;
        }
        if (a == "-o") {  // the one short alias: -o FILE is --output FILE (for commands that declare --output)
            bool declared = false;
            for (const auto& f : flags_) declared |= f.name == "output";
            if (declared) a = "--output";
        }
        if (a.rfind("--", 0) != 0 || a.size() == 2) {
            if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.')))
                throw usage_error("unknown option '" + a + "' (see convmtx " + command_ + " --help)");
            positional_.push_back(a);
            continue;
        }
        std::string name = a.substr(2), value;
        bool inline_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        const Flag* flag = nullptr;
        for (const auto& f : flags_)
            if (f.name == name) flag = &f;
        if (!flag) throw usage_error("unknown option '--" + name + "' (see convmtx " + command_ + " --help)");
        if (flag->value.empty()) {
            if (inline_value) throw usage_error("option '--" + name + "' takes no value");
            values_[name] = "1";
            continue;
        }
        if (!inline_value) {
            if (i + 1 >= argc) throw usage_error("option '--" + name + "' needs a value " + flag->value);
            value = argv[++i];
        }
        values_[name] = value;
    }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::string Args::help(const std::string& summary) const {
    std::ostringstream os;
    os << "usage: convmtx " << command_ << " [options]\n\n" << summary << "\n\noptions:\n";
    for (const auto& f : flags_) {
        std::string left = std::string(f.name == "output" ? "  -o, --" : "  --") + f.name + (f.value.empty() ? "" : " " + f.value);
        os << left;
        if (left.size() < 30) os << std::string(30 - left.size(), ' ');
        else os << "\n" << std::string(30, ' ');
        os << f.help << "\n";
    }
    os << "  --help                      show this help\n";
    return os.str();
}

}  // namespace convmtx::cli
