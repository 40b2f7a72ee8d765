// Shared by the inspection commands (build, inspect, spy, explain, overlap): the matrix a
// command works on, from the configuration flags and/or --matrix FILE, and their flags.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/io.hpp"
#include "flag_values.hpp"

namespace convmtx::cli {

/// A phase message on stderr for long runs, only when stderr is a terminal ("" clears the line).
inline void progress(const std::string& message) {
    static const bool tty = ::isatty(2) != 0;
    if (!tty) return;
    std::fprintf(stderr, "\r\033[K%s", message.c_str());
    std::fflush(stderr);
}

/// The flags that choose the matrix: the configuration, --which and (optionally) --matrix.
struct SubjectFlags {
    ConfigFlags config;
    std::string which;   ///< "W", "T" or "" (the operation's own)
    std::string matrix;  ///< a .mtx/.npz file, or ""

    /// Registers --which, --matrix (when `with_matrix`) and the configuration flags.
    void add_to(CLI::App& command, bool with_matrix) {
        command.add_option("--which", which,
                           "which matrix: W (rows: the conv's output, columns: its input) or T = W^T; default: the "
                           "operation's own (W for a conv, T for --transposed)")
            ->option_text("W|T")
            ->transform(CLI::IsMember({"W", "T"}, CLI::ignore_case));
        if (with_matrix)
            command.add_option("--matrix", matrix,
                               "a matrix file (.mtx or .npz) instead of building it; with configuration flags too, the "
                               "file is checked against the configuration")
                ->option_text("FILE")
                ->check(readable_file())
                ->check(file_extension({".mtx", ".npz"}));
        config.add_to(command);
    }
    bool transpose(bool fallback) const { return which.empty() ? fallback : which == "T"; }
};

/// The matrix a command works on.
struct Subject {
    std::optional<Problem> problem;  ///< the configuration, when given
    CsrMatrix M;
    bool transpose = false;          ///< M is T (rows: the conv's input side) rather than W
    bool from_file = false;
    std::string file;
    std::string name() const { return problem ? (transpose ? "T" : "W") : "M"; }
};

/// The configuration's W or T in double, row-major, int64 indices.
inline CsrMatrix build_matrix(const Problem& p, bool transpose) {
    return transpose ? conv_transpose_matrix<double, Eigen::RowMajor, std::int64_t>(p.spec, p.weight)
                     : conv_matrix<double, Eigen::RowMajor, std::int64_t>(p.spec, p.weight);
}

/// From --matrix and/or the configuration flags.
inline Subject load_subject(const SubjectFlags& f) {
    Subject s;
    if (!f.matrix.empty()) {
        s.from_file = true;
        s.file = f.matrix;
        try {
            s.M = read_matrix_file(s.file);
        } catch (const std::exception& e) {  // malformed file
            throw usage_error(std::string("--matrix: ") + e.what());
        }
        if (f.config.given()) {
            s.problem = f.config.problem();
            const ConvGeometry g(s.problem->spec);
            const bool fits_W = s.M.rows() == g.rows() && s.M.cols() == g.cols();
            const bool fits_T = s.M.rows() == g.cols() && s.M.cols() == g.rows();
            s.transpose = f.which.empty() ? fits_T && (!fits_W || s.problem->spec.transposed) : f.which == "T";
            if (!fits_W && !fits_T)
                throw shape_error("--matrix " + s.file + " is " + std::to_string(s.M.rows()) + " x " +
                                  std::to_string(s.M.cols()) + " but the configuration's W is " + std::to_string(g.rows()) +
                                  " x " + std::to_string(g.cols()) + " (T the transpose)");
        }
        begin_work(static_cast<double>(s.M.nonZeros()) + static_cast<double>(s.M.rows()));
        return s;
    }
    if (!f.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE) or --matrix FILE");
    s.problem = f.config.problem();
    s.transpose = f.transpose(s.problem->spec.transposed);
    const index_t nnz = begin_build_work(s.problem->spec);
    const bool big = nnz > 1000000;
    if (big) progress("building " + std::string(s.transpose ? "T" : "W") + " ...");
    s.M = build_matrix(*s.problem, s.transpose);
    if (big) progress("");
    return s;
}

}  // namespace convmtx::cli
