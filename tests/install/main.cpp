// A program outside the project, built against the installed convmtx via
// find_package(convmtx) and convmtx::convmtx: prints the 5x5 transposed convolution of d2l §12.10.
#include <convmtx/convmtx.hpp>
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
}
