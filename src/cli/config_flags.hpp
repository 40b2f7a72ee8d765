// The configuration flags shared by every command that takes a convolution
// (build, inspect, spy, explain, overlap, explore, adjoint-test --config):
//   --input 1x4x4 --kernel 3x3 --stride 2 --padding 1|1x2|1:2|1:2,0:1|same|valid
//   --output-padding 1 --output-size 8x8 --dilation 1 --groups 1 --out-channels 1
//   --transposed --padding-mode zeros|circular|reflect|replicate --convention torch|keras
//   --weights ones|arange|random:SEED|file.npy --weight-layout torch|keras --config file.json
// A JSON file carries the same keys (snake_case, lists or "AxB" strings); flags override it.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"
#include "convmtx/spec.hpp"

namespace convmtx::cli {

/// A configuration with its weight tensor (layout (C_small, C_big/G, k...), C order).
struct Problem {
    ConvSpec spec;
    std::vector<double> weight;
    std::string weight_source;  ///< "ones", "arange", "random:3", or the file name
};

/// The flags above, to append to a command's own flags.
std::vector<Flag> config_flags();

/// True when the command line (or --config) describes a configuration.
bool has_config(const Args& args);

/// Builds the configuration and weights; throws usage_error / config_error / shape_error
/// naming the flag and the value.
Problem problem_from_args(const Args& args);

/// Builds a configuration from JSON text (the keys of config_flags() in snake_case).
Problem problem_from_json(const std::string& json_text, const std::string& what = "JSON");

/// Parses "1x4x4", "1,4,4" or "4" into integers; names `flag` in the error.
Dims parse_dims(const std::string& text, const std::string& flag);

/// Weights of `shape` from an initializer: "ones", "arange" (0,1,2,... in C order), "random:SEED"
/// (uniform in [-1, 1)), or a .npy file (with `keras_layout`, converted from the Keras layout).
std::vector<double> make_weights(const std::string& source, const Shape& shape, bool transposed, bool keras_layout);

}  // namespace convmtx::cli
