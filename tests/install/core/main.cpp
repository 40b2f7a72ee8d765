// A program outside the project built against convmtx::core alone, installed from a build
// configured without convmtx::io and convmtx::suitesparse (no libpng, libzip or SuiteSparse):
// prints the 5x5 transposed convolution of d2l §12.10 by the matrix and by the direct kernel,
// and the dot test of the operator.
#include <convmtx/builder.hpp>
#include <convmtx/operator.hpp>
#include <iostream>

int main() {
    convmtx::ConvTransposeOptions opt;
    opt.stride = {2};
    const auto spec = convmtx::make_conv_transpose({1, 2, 2}, {1, 1, 3, 3}, opt);
    const std::vector<double> w(9, 1.0);
    const auto T = convmtx::conv_transpose_matrix<double>(spec, w);
    Eigen::VectorXd x(4);
    x << 1, 2, 3, 4;
    std::cout << (T * x).transpose() << "\n";
    const convmtx::ConvOperator<double> op(spec, w, convmtx::ApplyMethod::scatter);
    std::cout << op.apply(x).transpose() << "\n";
    std::cout << (convmtx::dot_test(op).passed ? "dot test passed" : "dot test FAILED") << "\n";
}
