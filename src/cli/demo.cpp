// convmtx demo: the seeds' worked example (input [[1,2],[3,4]], a 3x3 kernel of
// ones, stride 2), computed as W^T x, as T x and by both direct kernels.
#include <iostream>

#include "cli.hpp"
#include "convmtx/convmtx.hpp"
#include "format.hpp"

namespace convmtx::cli {

int run_demo(int argc, char** argv) {
    Args args("demo", {});
    args.parse(argc, argv);
    const std::string summary =
        "Runs the seeds' example with no input: the transposed convolution of [[1,2],[3,4]] with a 3x3 kernel of "
        "ones at stride 2 (PyTorch's ConvTranspose2d(1, 1, 3, stride=2)), computed as W^T x, as T x, by scattering "
        "and by gathering, and the dot test of W and W^T.";
    if (args.help_requested()) {
        std::cout << args.help(summary);
        return 0;
    }
    if (!args.positionals().empty()) throw usage_error("unexpected argument '" + args.positionals()[0] + "'");

    ConvTransposeOptions opt;
    opt.stride = {2};
    const ConvSpec spec = make_conv_transpose({1, 2, 2}, {1, 1, 3, 3}, opt);
    const std::vector<double> weight(9, 1.0);
    Batch<double> x(4, 1);
    x << 1, 2, 3, 4;

    const auto W = conv_matrix<double>(spec, weight);
    const auto T = conv_transpose_matrix<double>(spec, weight);
    const Batch<double> wtx = W.transpose() * x;
    const Batch<double> tx = T * x;
    const Batch<double> scatter = conv_transpose_scatter<double>(spec, weight, x);
    const Batch<double> gather = conv_transpose_gather<double>(spec, weight, x);

    auto grid = [](const Batch<double>& v, index_t rows, index_t cols) {
        return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(), rows, cols);
    };
    const Dims out = spec.output_size();
    std::cout << "convmtx demo: transposed convolution as the transpose of a sparse matrix\n"
              << spec.describe() << "\n\n"
              << "input x (2x2):\n" << format_matrix(grid(x, 2, 2), "  ") << "kernel w (3x3):\n"
              << format_matrix(grid(Eigen::Map<const Batch<double>>(weight.data(), 9, 1), 3, 3), "  ") << "\n"
              << "W: the " << W.rows() << "x" << W.cols() << " matrix of the conv (5x5 -> 2x2, k=3, s=2); "
              << W.nonZeros() << " stored entries\n"
              << format_matrix(Eigen::MatrixXd(W), "  ") << "\n"
              << "W^T x (" << out[0] << "x" << out[1] << "), the transposed convolution:\n"
              << format_matrix(grid(wtx, out[0], out[1]), "  ") << "\n";
    const double d_t = (tx - wtx).cwiseAbs().maxCoeff();
    const double d_s = (scatter - wtx).cwiseAbs().maxCoeff();
    const double d_g = (gather - wtx).cwiseAbs().maxCoeff();
    std::cout << "T x (T built directly):        max |T x - W^T x|     = " << d_t << "\n"
              << "scatter kernel (distribute):   max |scatter - W^T x| = " << d_s << "\n"
              << "gather kernel (collect):       max |gather - W^T x|  = " << d_g << "\n";
    const DotTestReport dot = dot_test<double>(
        W.cols(), W.rows(), [&](const Eigen::VectorXd& v) { return Eigen::VectorXd(W * v); },
        [&](const Eigen::VectorXd& v) { return Eigen::VectorXd(W.transpose() * v); }, 10, 0, 0);
    std::cout << dot.str() << "\n";
    const bool ok = d_t == 0 && d_s == 0 && d_g == 0 && dot.passed;
    std::cout << (ok ? "all four computations agree exactly\n" : "MISMATCH between the computations\n");
    return ok ? 0 : 1;
}

}  // namespace convmtx::cli
