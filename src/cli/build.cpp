// convmtx build: W (or T) of a configuration, written as Matrix Market (.mtx)
// or scipy .npz by the output's extension.
#include <iostream>

#include "convmtx/convmtx.hpp"
#include "convmtx/io.hpp"
#include "inspect_common.hpp"

namespace convmtx::cli {

namespace {

template <class Scalar>
CsrArrays build_arrays(const Problem& p, bool transpose, bool drop_zeros) {
    std::vector<Scalar> w(p.weight.begin(), p.weight.end());
    BuildOptions opt;
    opt.drop_zeros = drop_zeros;
    if (transpose) return to_csr_arrays(conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int64_t>(p.spec, w, opt));
    return to_csr_arrays(conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(p.spec, w, opt));
}

}  // namespace

int run_build(int argc, char** argv) {
    Args args("build", with_config({
                           {"output", "FILE", "where to write the matrix: FILE.mtx (Matrix Market) or FILE.npz (scipy)"},
                           which_flag(),
                           {"dtype", "T", "float64 (default) or float32 values"},
                           {"drop-zeros", "", "leave out entries whose value is exactly zero (zero weights)"},
                       }));
    args.parse(argc, argv);
    if (args.help_requested()) {
        std::cout << args.help(
            "Builds the sparse matrix of a convolution or transposed convolution and writes it to a file.\n"
            "W has one row per conv output and one column per conv input (C-order flattening, channel first);\n"
            "a transposed conv is T = W^T. Example (PyTorch nn.Conv2d(1, 1, 3, stride=2, padding=1) on 1x4x4):\n"
            "  convmtx build --input 1x4x4 --kernel 3x3 --stride 2 --padding 1 --weights arange -o W.mtx");
        return 0;
    }
    no_positionals(args);
    if (!args.has("output")) throw usage_error("--output FILE.mtx or FILE.npz is required (-o)");
    const std::string out = args.get("output");
    const std::string dtype = args.get("dtype", "float64");
    if (dtype != "float64" && dtype != "float32") throw usage_error("--dtype: '" + dtype + "' must be float64 or float32");
    {
        const auto ext = out.size() >= 4 ? out.substr(out.size() - 4) : std::string();
        if (ext != ".mtx" && ext != ".npz" && ext != ".MTX" && ext != ".NPZ")
            throw usage_error("--output: '" + out + "' must end in .mtx (Matrix Market) or .npz (scipy)");
    }
    const Problem p = problem_from_args(args);
    const bool T = which_is_T(args, p.spec.transposed);
    const bool drop = args.has("drop-zeros");
    const CsrArrays a = dtype == "float32" ? build_arrays<float>(p, T, drop) : build_arrays<double>(p, T, drop);
    const std::string name = T ? "T" : "W";
    std::string comment = "convmtx build: " + name + " of " + p.spec.describe() + "\n" + "weights: " + p.weight_source;
    comment += T ? "\nT = W^T: rows = the transposed conv's outputs, columns = its inputs (out = T y)"
                 : "\nW: rows = the conv's outputs, columns = its inputs (y = W x); C-order, channel first";
    write_matrix_file(out, a, comment);
    std::cout << "wrote " << out << ": " << name << " " << a.rows << " x " << a.cols << ", " << a.indices.size()
              << " stored entries, " << dtype << " (" << p.spec.describe() << ", weights " << p.weight_source << ")\n";
    return 0;
}

}  // namespace convmtx::cli
