// Values of the weights (--weights) and of an input (--input-values) from an initializer:
// ones, arange (0, 1, 2, ... in C order), count (1, 2, 3, ...; inputs only), random:SEED
// (uniform in [-1, 1) from std::mt19937_64 seeded with SEED), or a .npy file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "convmtx/npy.hpp"
#include "convmtx/spec.hpp"
#include "flag_values.hpp"

namespace convmtx::cli {

struct Initializer {
    enum class Kind { ones, arange, count, random, file };
    Kind kind = Kind::ones;
    std::uint64_t seed = 0;  ///< random
    std::string path;        ///< file
    std::string text;        ///< as given
};

/// Parses an initializer; `count` allowed or not. Throws value_error naming the accepted forms.
Initializer parse_initializer(const std::string& text, bool allow_count);
/// The CLI11 check of parse_initializer (a .npy file must exist).
CLI::Validator initializer(bool allow_count);

/// `n` values of a generated initializer (not a file).
std::vector<double> generate(const Initializer& init, index_t n);

/// A .npy file's array; throws value_error naming the file when it cannot be read or holds
/// a value that is not finite.
NpyArray read_finite_npy(const std::string& path);

/// The input values of `shape` (C_in, n...): generated, or from a .npy file of that shape or
/// (1, shape...). Throws value_error naming the file and both shapes.
std::vector<double> input_values(const Initializer& init, const Shape& shape);

/// Registers --input-values X on `command` (explain and explore: one name, one default, count).
void add_input_values_flag(CLI::App& command, std::string& target);

}  // namespace convmtx::cli
