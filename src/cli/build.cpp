// convmtx build: W (or T) of a configuration, written as Matrix Market (.mtx)
// or scipy .npz by the output's extension.
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "convmtx/convmtx.hpp"
#include "convmtx/io.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

struct BuildFlags {
    SubjectFlags subject;
    std::string output;
    std::string dtype = "float64";
    bool drop_zeros = false;
};

/// Refuses, before anything is allocated, a build whose peak (the build itself, then the matrix
/// and the CSR arrays written to the file, 16 bytes per entry and 8 per row) exceeds memory_limit().
template <class Scalar>
void check_build_memory(const ConvSpec& spec, bool transpose) {
    const ConvGeometry G(spec);
    const index_t outer = transpose ? G.cols() : G.rows();
    const double build = build_bytes(G, sizeof(Scalar), sizeof(std::int64_t), outer);
    const double arrays = 16.0 * static_cast<double>(structural_nnz(spec)) + 8.0 * (static_cast<double>(outer) + 1);
    const double need = build + arrays, limit = memory_limit();
    if (need > limit)
        throw memory_limit_error(std::string(transpose ? "T" : "W") + " of " + spec.describe() + " needs " +
                                     format_bytes(need) + " (the build " + format_bytes(build) +
                                     " and the arrays written to the file " + format_bytes(arrays) +
                                     "), more than the memory limit " + format_bytes(limit),
                                 need, limit);
}

template <class Scalar>
CsrArrays build_arrays(const Problem& p, bool transpose, bool drop_zeros) {
    check_build_memory<Scalar>(p.spec, transpose);
    std::vector<Scalar> w(p.weight.begin(), p.weight.end());
    BuildOptions opt;
    opt.drop_zeros = drop_zeros;
    using Matrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t>;
    const Matrix M = transpose ? conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int64_t>(p.spec, w, opt)
                               : conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(p.spec, w, opt);
    // The builder returns M compressed: its arrays are copied straight into the file's (to_csr_arrays
    // would first copy the whole matrix), so that the peak is the matrix plus the arrays.
    if (!M.isCompressed()) return to_csr_arrays(M);
    CsrArrays a;
    a.rows = M.rows();
    a.cols = M.cols();
    a.indptr.assign(M.outerIndexPtr(), M.outerIndexPtr() + M.rows() + 1);
    a.indices.assign(M.innerIndexPtr(), M.innerIndexPtr() + M.nonZeros());
    a.data.assign(M.valuePtr(), M.valuePtr() + M.nonZeros());
    a.single = sizeof(Scalar) == sizeof(float);
    return a;
}

void run_build(const BuildFlags& f) {
    if (!f.subject.config.given()) throw usage_error("give a configuration (--input and --kernel, or --config FILE)");
    const Problem p = f.subject.config.problem();
    const bool T = f.subject.transpose(p.spec.transposed);
    begin_build_work(p.spec);
    const CsrArrays a = f.dtype == "float32" ? build_arrays<float>(p, T, f.drop_zeros) : build_arrays<double>(p, T, f.drop_zeros);
    const std::string name = T ? "T" : "W";
    std::string comment = "convmtx build: " + name + " of " + p.spec.describe() + "\n" + "weights: " + p.weight_source;
    comment += T ? "\nT = W^T: rows = the transposed conv's outputs, columns = its inputs (out = T y)"
                 : "\nW: rows = the conv's outputs, columns = its inputs (y = W x); C-order, channel first";
    write_matrix_file(f.output, a, comment);
    std::cout << "wrote " << f.output << ": " << name << " " << a.rows << " x " << a.cols << ", " << a.indices.size()
              << " stored entries, " << f.dtype << " (" << p.spec.describe() << ", weights " << p.weight_source << ")\n";
}

}  // namespace

void setup_build(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "build", "W (or T) of a configuration, written as Matrix Market (.mtx) or scipy (.npz)",
        "W has one row per element of the conv's output and one column per element of its input (C order, channel "
        "first); a transposed conv is T = W^T. Example (PyTorch's nn.Conv2d(1, 1, 3, stride=2, padding=1) on a 4x4 "
        "input, weights 0, 1, ..., 8):\n"
        "  convmtx build --input 1x4x4 --kernel 3x3 --stride 2 --padding 1 --weights arange -o W.mtx");
    auto f = std::make_shared<BuildFlags>();
    cmd->add_option("-o,--output", f->output, "the file to write: FILE.mtx (Matrix Market) or FILE.npz (scipy.sparse)")
        ->option_text("FILE")
        ->required()
        ->check(file_extension({".mtx", ".npz"}))
        ->check(writable_file());
    cmd->add_option("--dtype", f->dtype, "the values' type: float64 (default) or float32")
        ->option_text("T")
        ->check(CLI::IsMember({"float64", "float32"}));
    cmd->add_flag("--drop-zeros", f->drop_zeros, "leave out entries whose value is exactly zero (zero weights)");
    f->subject.add_to(*cmd, false);
    cmd->callback([f] { run_build(*f); });
}

}  // namespace convmtx::cli
