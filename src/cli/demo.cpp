// convmtx demo: the transposed convolution of [[1,2],[3,4]] with a 3x3 kernel of ones at
// stride 2 (PyTorch's ConvTranspose2d(1, 1, 3, stride=2)), computed as W^T x, as T x and by
// both direct kernels.
#include <iostream>

#include "cli.hpp"
#include "convmtx/convmtx.hpp"
#include "format.hpp"

namespace convmtx::cli {

namespace {

void run_demo() {
    begin_work(100);
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
    if (!ok) checks_failed();
}

}  // namespace

void setup_demo(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "demo",
        "the transposed convolution of [[1,2],[3,4]] with a 3x3 kernel of ones at stride 2, as W^T x, T x, both "
        "direct kernels and the dot test",
        "The worked example of PyTorch's ConvTranspose2d(1, 1, 3, stride=2) on the 2x2 input [[1, 2], [3, 4]] with a "
        "3x3 kernel of ones: W is the 4x25 matrix of the 5x5 -> 2x2 convolution, and its transposed convolution is "
        "computed as W^T x, as T x with T built directly, by scattering and by gathering, with the dot test of W and "
        "W^T. Takes no options; exit status 1 when the four computations do not agree exactly.\n"
        "  convmtx demo");
    cmd->callback(run_demo);
}

}  // namespace convmtx::cli
