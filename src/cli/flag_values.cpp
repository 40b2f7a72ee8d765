#include "flag_values.hpp"

#include "convmtx/file.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

namespace convmtx::cli {

namespace {

std::string quoted(const std::string& text) { return "'" + text + "'"; }

std::string number_text(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// A validator whose check is `parse` (throwing value_error) and whose help text is `description`.
template <class Parse>
CLI::Validator checking(Parse parse, const std::string& description) {
    return CLI::Validator(
        [parse](std::string& text) -> std::string {
            try {
                parse(text);
            } catch (const value_error& e) {
                return e.what();
            }
            return {};
        },
        description);
}

}  // namespace

std::string range_rule(index_t lo, index_t hi) {
    if (hi == kIndexMax) return "must be >= " + std::to_string(lo);
    return "not in range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

std::string range_rule(double lo, double hi) {
    if (std::isinf(hi)) return "must be >= " + number_text(lo);
    return "not in range [" + number_text(lo) + ", " + number_text(hi) + "]";
}

index_t parse_int(const std::string& text, index_t lo, index_t hi) {
    size_t digits = 0, i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
    for (size_t j = i; j < text.size(); ++j, ++digits)
        if (!std::isdigit(static_cast<unsigned char>(text[j]))) throw value_error(quoted(text) + " is not an integer");
    if (digits == 0) throw value_error(quoted(text) + " is not an integer");
    errno = 0;
    const long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE)
        throw value_error("value " + text + " does not fit a 64-bit integer (" + range_rule(lo, hi) + ")");
    if (v < lo || v > hi) throw value_error("value " + text + " " + range_rule(lo, hi));
    return v;
}

double parse_number(const std::string& text, double lo, double hi) {
    const char* begin = text.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = text.empty() || std::isspace(static_cast<unsigned char>(text[0])) ? 0 : std::strtod(begin, &end);
    if (text.empty() || end != begin + text.size()) throw value_error(quoted(text) + " is not a number");
    if (!std::isfinite(v)) throw value_error(quoted(text) + " is not a finite number (at most about 1.8e308 in magnitude)");
    // ERANGE with a finite result is an underflow: a subnormal number is a value, a complete
    // underflow (to 0 from a non-zero text) is refused.
    if (errno == ERANGE && v == 0 && text.find_first_of("123456789") < text.find_first_of("eE"))
        throw value_error(quoted(text) + " is too small for a double: it rounds to 0 (the smallest positive double is "
                          "about 4.9e-324)");
    if (v < lo || v > hi) throw value_error("value " + text + " " + range_rule(lo, hi));
    return v;
}

Dims parse_dims(const std::string& text, index_t lo) {
    Dims out;
    std::string item;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && text[i] != 'x' && text[i] != 'X' && text[i] != ',') {
            item += text[i];
            continue;
        }
        if (item.empty()) throw value_error(quoted(text) + " is not a list of integers (e.g. 3 or 1x4x4)");
        try {
            out.push_back(parse_int(item, lo));
        } catch (const value_error& e) {
            if (item == text) throw;
            throw value_error(std::string(e.what()) + " (in " + quoted(text) + ")");
        }
        item.clear();
    }
    return out;
}

Padding parse_padding(const std::string& text) {
    if (text == "same") return Padding::same();
    if (text == "valid") return Padding::valid();
    if (text.find(':') == std::string::npos) return Padding::symmetric(parse_dims(text, 0));
    Dims lo, hi;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        const auto c = item.find(':');
        if (c == std::string::npos || item.find(':', c + 1) != std::string::npos)
            throw value_error(quoted(text) + " mixes LO:HI pairs and other values; write every dimension as "
                              "padding_lo:padding_hi (e.g. 1:2,0:1)");
        lo.push_back(parse_int(item.substr(0, c), 0));
        hi.push_back(parse_int(item.substr(c + 1), 0));
    }
    if (lo.empty() || text.back() == ',') throw value_error(quoted(text) + " is not a padding (e.g. 1, 1x2, 1:2,0:1, same)");
    return Padding::sides(lo, hi);
}

CLI::Validator integer_in(index_t lo, index_t hi) {
    return checking([lo, hi](const std::string& t) { parse_int(t, lo, hi); }, "");
}

CLI::Validator number_in(double lo, double hi) {
    return checking([lo, hi](const std::string& t) { parse_number(t, lo, hi); }, "");
}

CLI::Validator dims_of(index_t lo) {
    return checking([lo](const std::string& t) { parse_dims(t, lo); }, "");
}

CLI::Validator padding_value() {
    return checking([](const std::string& t) { parse_padding(t); }, "");
}

bool has_extension(const std::string& path, const std::string& extension) {
    if (path.size() <= extension.size()) return false;
    for (size_t i = 0; i < extension.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(path[path.size() - extension.size() + i])) !=
            std::tolower(static_cast<unsigned char>(extension[i])))
            return false;
    return true;
}

CLI::Validator file_extension(std::vector<std::string> extensions) {
    return checking(
        [extensions](const std::string& t) {
            for (const auto& e : extensions)
                if (has_extension(t, e)) return;
            std::string list;
            for (size_t i = 0; i < extensions.size(); ++i)
                list += (i == 0 ? "" : i + 1 == extensions.size() ? " or " : ", ") + extensions[i];
            throw value_error(quoted(t) + " must end in " + list);
        },
        "");
}

CLI::Validator writable_file() {
    return checking(
        [](const std::string& t) {
            if (t == "-") return;
            if (t.empty() || t.back() == '/') throw value_error(quoted(t) + " is not a file name");
            const auto slash = t.rfind('/');
            const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : t.substr(0, slash);
            struct stat st {};
            if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                throw value_error(quoted(t) + ": directory '" + dir + "' does not exist");
            if (::access(dir.c_str(), W_OK) != 0) throw value_error(quoted(t) + ": directory '" + dir + "' is not writable");
            if (::stat(t.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
                throw value_error(quoted(t) + " is a directory: give a file name");
            try {
                check_output_destination(t);  // a FIFO, device or socket: the writers' own message
            } catch (const std::exception& e) {
                throw value_error(e.what());
            }
        },
        "");
}

}  // namespace convmtx::cli

namespace convmtx::cli {

CLI::Validator readable_file() {
    return CLI::Validator(
        [](std::string& path) -> std::string {
            try {
                InputFile probe(path);
            } catch (const std::exception& e) {
                return e.what();
            }
            return {};
        },
        "FILE");
}

}  // namespace convmtx::cli
