// Flag values of the convmtx tool, parsed strictly and checked against their range: decimal
// integers, finite numbers, dimension lists ("1x4x4"), paddings ("1", "1x2", "1:2,0:1", "same",
// "valid") and file-name extensions; each also as a CLI11 validator, whose message CLI11
// prefixes with the flag ("--stride: value 0 must be >= 1").
#pragma once

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "convmtx/spec.hpp"

namespace convmtx::cli {

/// A value that breaks its rule; the message names the value and the rule, not the flag.
struct value_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

constexpr index_t kIndexMax = std::numeric_limits<index_t>::max();

/// "must be >= lo" or "not in range [lo, hi]".
std::string range_rule(index_t lo, index_t hi);
std::string range_rule(double lo, double hi);

/// A decimal integer (optional sign, no exponent, no hexadecimal) in [lo, hi]; throws value_error.
index_t parse_int(const std::string& text, index_t lo, index_t hi = kIndexMax);
/// A finite number (strtod syntax; nan and inf refused) in [lo, hi]; throws value_error.
double parse_number(const std::string& text, double lo, double hi = std::numeric_limits<double>::infinity());
/// Integers separated by 'x' or ',' ("1x4x4", "2,1", "3"), each in [lo, kIndexMax].
Dims parse_dims(const std::string& text, index_t lo);
/// Padding: P (every side of every dimension), P0xP1 (per dimension), LO:HI per dimension
/// (padding_lo:padding_hi, comma-separated: "1:2,0:1"), "same" or "valid"; entries >= 0.
Padding parse_padding(const std::string& text);

// CLI11 validators (check only: the option keeps its text) of the parsers above.
CLI::Validator integer_in(index_t lo, index_t hi = kIndexMax);
CLI::Validator number_in(double lo, double hi = std::numeric_limits<double>::infinity());
CLI::Validator dims_of(index_t lo);
CLI::Validator padding_value();
/// A file name ending in one of `extensions` (".mtx", ...; compared ignoring case).
CLI::Validator file_extension(std::vector<std::string> extensions);
bool has_extension(const std::string& path, const std::string& extension);
/// A file to write: its directory exists and is writable, and it is not itself a directory ("-",
/// standard output, passes).
CLI::Validator writable_file();
/// An input file: a regular file that can be opened for reading (a FIFO, device or directory is
/// refused without blocking, with the same message as every reader's; file.hpp).
CLI::Validator readable_file();

/// A check that runs `parse` on the text: its value_error or a library config_error (any
/// std::invalid_argument) is the message.
template <class Parse>
CLI::Validator parsed_by(Parse parse) {
    return CLI::Validator(
        [parse](std::string& text) -> std::string {
            try {
                parse(text);
            } catch (const std::invalid_argument& e) {
                return e.what();
            }
            return {};
        },
        "");
}

}  // namespace convmtx::cli
