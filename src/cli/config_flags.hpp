// The configuration flags shared by every command that takes a convolution (build, inspect,
// spy, explain, overlap, explore, adjoint-test), and the same keys in a --config JSON file:
//   --input 1x4x4 --kernel 3x3 --stride 2 --padding 1|1x2|1:2,0:1|same|valid
//   --padding-lo 1x0 --padding-hi 2x1 --output-padding 1 --output-size 8x8 --dilation 1
//   --groups 1 --out-channels 1 --transposed --padding-mode zeros|circular|reflect|replicate
//   --convention torch|keras|mxnet --pad P --adj A --target-shape N --weights ones|arange|random:SEED|file.npy --weight-layout torch|keras
//   --config file.json
// A key is its flag's name with '_' for '-' (output_padding); flags override the file. The
// geometry is checked by the library (make_conv / make_conv_transpose, ConvSpec::validate),
// whose messages are reported naming the flag or key that gave the value.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "convmtx/spec.hpp"

namespace convmtx::cli {

/// A configuration with its weight tensor (spec.weight_shape(), C order, PyTorch's layout).
struct Problem {
    ConvSpec spec;
    std::vector<double> weight;
    std::string weight_source;  ///< "ones", "arange", "random:3", or the file name
    bool weights_given = false; ///< by --weights or the file's "weights" (else the default, ones)
};

/// The configuration flags of one command, as given.
class ConfigFlags {
public:
    ConfigFlags() = default;
    ConfigFlags(const ConfigFlags&) = delete;  // the registered options point into it
    ConfigFlags& operator=(const ConfigFlags&) = delete;

    /// Registers the flags on `command` in the help group "configuration".
    void add_to(CLI::App& command);
    /// True when a configuration was given (--input or --config).
    bool given() const;
    /// The configuration: --config FILE's keys, then the flags over them; the library checks the
    /// geometry. Throws usage_error, config_error or shape_error naming the flag or key and value.
    Problem problem() const;

private:
    std::map<std::string, std::string> flags_;  ///< key -> the flag's text ("true" for --transposed)
    std::string config_file_;
};

/// The reference of the configuration keys and the JSON rules (`convmtx help config`).
std::string config_reference();

}  // namespace convmtx::cli
