#include "initializers.hpp"

#include "convmtx/file.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include "flag_values.hpp"

namespace convmtx::cli {

Initializer parse_initializer(const std::string& text, bool allow_count) {
    Initializer init;
    init.text = text;
    if (text == "ones") return init;
    if (text == "arange") {
        init.kind = Initializer::Kind::arange;
        return init;
    }
    if (text == "count" && allow_count) {
        init.kind = Initializer::Kind::count;
        return init;
    }
    if (text.rfind("random:", 0) == 0) {
        const std::string seed = text.substr(7);
        bool digits = !seed.empty();
        for (char c : seed) digits &= std::isdigit(static_cast<unsigned char>(c)) != 0;
        errno = 0;
        const unsigned long long v = digits ? std::strtoull(seed.c_str(), nullptr, 10) : 0;
        if (!digits || errno == ERANGE)
            throw value_error("'" + text + "': SEED must be an integer in [0, 18446744073709551615]");
        init.kind = Initializer::Kind::random;
        init.seed = v;
        return init;
    }
    if (has_extension(text, ".npy")) {
        try {
            InputFile probe(text);  // a regular file that can be opened; a FIFO or device is refused without blocking
        } catch (const io_error& e) {
            throw value_error(e.what());
        }
        init.kind = Initializer::Kind::file;
        init.path = text;
        return init;
    }
    throw value_error("'" + text + "' must be " + (allow_count ? "count, ones, arange" : "ones, arange") +
                      ", random:SEED or a .npy file");
}

CLI::Validator initializer(bool allow_count) {
    return CLI::Validator(
        [allow_count](std::string& text) -> std::string {
            try {
                parse_initializer(text, allow_count);
            } catch (const value_error& e) {
                return e.what();
            }
            return {};
        },
        "");
}

std::vector<double> generate(const Initializer& init, index_t n) {
    std::vector<double> v(static_cast<size_t>(n), 1.0);
    switch (init.kind) {
        case Initializer::Kind::ones: break;
        case Initializer::Kind::arange:
        case Initializer::Kind::count: {
            const double first = init.kind == Initializer::Kind::count ? 1.0 : 0.0;
            for (index_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = first + static_cast<double>(i);
            break;
        }
        case Initializer::Kind::random: {
            std::mt19937_64 rng(init.seed);
            std::uniform_real_distribution<double> u(-1.0, 1.0);
            for (auto& x : v) x = u(rng);
            break;
        }
        case Initializer::Kind::file: throw std::logic_error("generate: a file initializer is read, not generated");
    }
    return v;
}

NpyArray read_finite_npy(const std::string& path) {
    NpyArray a;
    try {
        a = read_npy(path);
    } catch (const std::runtime_error& e) {
        throw value_error(e.what());
    }
    for (size_t i = 0; i < a.data.size(); ++i)
        if (!std::isfinite(a.data[i]))
            throw value_error("'" + path + "' holds " + std::to_string(a.data[i]) + " at flat index " +
                              std::to_string(i) + "; every value must be finite");
    return a;
}

std::vector<double> input_values(const Initializer& init, const Shape& shape) {
    if (init.kind != Initializer::Kind::file) {
        index_t n = 1;
        for (auto s : shape) n *= s;
        return generate(init, n);
    }
    NpyArray a = read_finite_npy(init.path);
    Shape batch = {1};
    batch.insert(batch.end(), shape.begin(), shape.end());
    if (a.shape != shape && a.shape != batch)
        throw value_error("'" + init.path + "' has shape (" + to_string(a.shape) + "); the input is (" +
                          to_string(shape) + ") or (" + to_string(batch) + ")");
    return std::move(a.data);
}

void add_input_values_flag(CLI::App& command, std::string& target) {
    target = "count";
    command
        .add_option("--input-values", target,
                    "the input x: count (1, 2, 3, ... in C order; default), ones, arange (0, 1, 2, ...), random:SEED "
                    "(uniform in [-1, 1), the generator of --weights random:SEED) or a .npy file of shape (C_in, n...)")
        ->option_text("X")
        ->check(initializer(true));
}

}  // namespace convmtx::cli
