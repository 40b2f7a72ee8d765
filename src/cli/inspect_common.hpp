// Shared by the inspection commands (build, inspect, spy, explain, overlap):
// the matrix a command works on, from configuration flags and/or --matrix FILE.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/io.hpp"

namespace convmtx::cli {

/// A phase message on stderr for long runs, only when stderr is a terminal ("" clears the line).
inline void progress(const std::string& message) {
    static const bool tty = ::isatty(2) != 0;
    if (!tty) return;
    std::fprintf(stderr, "\r\033[K%s", message.c_str());
    std::fflush(stderr);
}

/// Flag --which W|T.
inline Flag which_flag() {
    return {"which", "W|T", "which matrix: W (rows = conv outputs) or T = W^T (default: the operation's own: "
                            "W for a conv, T for --transposed)"};
}

/// Flag --matrix FILE.
inline Flag matrix_flag() {
    return {"matrix", "FILE", "a matrix file (.mtx or .npz) instead of building it; with configuration flags too, "
                              "the file is checked against the configuration"};
}

/// The matrix a command works on.
struct Subject {
    std::optional<Problem> problem;  ///< the configuration, when given
    CsrMatrix M;
    bool transpose = false;          ///< M is T (rows = big side) rather than W
    bool from_file = false;
    std::string file;
    std::string name() const { return problem ? (transpose ? "T" : "W") : "M"; }
};

/// Parses --which against the configuration; `fallback` when absent.
inline bool which_is_T(const Args& args, bool fallback) {
    if (!args.has("which")) return fallback;
    const std::string w = args.get("which");
    if (w == "W" || w == "w") return false;
    if (w == "T" || w == "t") return true;
    throw usage_error("--which: '" + w + "' must be W or T");
}

/// The configuration's W or T in double, row-major, int64 indices.
inline CsrMatrix build_matrix(const Problem& p, bool transpose) {
    return transpose ? conv_transpose_matrix<double, Eigen::RowMajor, std::int64_t>(p.spec, p.weight)
                     : conv_matrix<double, Eigen::RowMajor, std::int64_t>(p.spec, p.weight);
}

/// From --matrix and/or the configuration flags; `allow_file` = the command accepts --matrix.
inline Subject load_subject(const Args& args, bool allow_file) {
    Subject s;
    const bool cfg = has_config(args);
    if (allow_file && args.has("matrix")) {
        s.from_file = true;
        s.file = args.get("matrix");
        try {
            s.M = read_matrix_file(s.file);
        } catch (const std::exception& e) {  // wrong extension, missing or malformed file
            throw usage_error(std::string("--matrix: ") + e.what());
        }
        if (cfg) {
            s.problem = problem_from_args(args);
            const ConvSpec& sp = s.problem->spec;
            const index_t wr = sp.conv_out_channels(), wc = sp.conv_in_channels();
            index_t mv = 1, nv = 1;
            for (auto v : sp.conv_output_size()) mv *= v;
            for (auto v : sp.conv_input_size()) nv *= v;
            const bool fits_W = s.M.rows() == wr * mv && s.M.cols() == wc * nv;
            const bool fits_T = s.M.rows() == wc * nv && s.M.cols() == wr * mv;
            if (args.has("which")) s.transpose = which_is_T(args, false);
            else s.transpose = fits_T && (!fits_W || sp.transposed);
            if (!fits_W && !fits_T)
                throw shape_error("--matrix " + s.file + " is " + std::to_string(s.M.rows()) + " x " +
                                  std::to_string(s.M.cols()) + " but the configuration's W is " + std::to_string(wr * mv) +
                                  " x " + std::to_string(wc * nv) + " (T the transpose)");
        }
        return s;
    }
    if (!cfg)
        throw usage_error(allow_file ? "give a configuration (--input and --kernel, or --config) or --matrix FILE"
                                     : "give a configuration (--input and --kernel, or --config)");
    s.problem = problem_from_args(args);
    s.transpose = which_is_T(args, s.problem->spec.transposed);
    const bool big = structural_nnz(s.problem->spec) > 1000000;
    if (big) progress("building " + std::string(s.transpose ? "T" : "W") + " ...");
    s.M = build_matrix(*s.problem, s.transpose);
    if (big) progress("");
    return s;
}

/// Rejects positional arguments.
inline void no_positionals(const Args& args) {
    if (!args.positionals().empty()) throw usage_error("unexpected argument '" + args.positionals()[0] + "'");
}

/// Flags `own` followed by the configuration flags.
inline std::vector<Flag> with_config(std::vector<Flag> own) {
    auto c = config_flags();
    own.insert(own.end(), c.begin(), c.end());
    return own;
}

}  // namespace convmtx::cli
