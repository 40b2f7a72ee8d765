// Internal: singular values of dense matrices by LAPACK's divide-and-conquer SVD (dgesdd, zgesdd,
// values only), from Debian's liblapack (the reference implementation, or any LAPACK installed as
// its alternative). Used instead of Eigen 3.4.0's BDCSVD, which returns wrong singular values for
// some rank-deficient matrices (a 16 x 32 W with eight zero singular values: 8.297 for 8.908).
// Not part of the public API.
#pragma once

#include <complex>
#include <vector>

#include <Eigen/Core>

namespace convmtx::detail {

/// Reusable LAPACK workspace: one per thread.
class LapackSvd {
public:
    /// The singular values of A (descending), which is overwritten. std::runtime_error when LAPACK
    /// reports that the bidiagonal SVD did not converge; shape_error for a side above 2^31 - 1.
    const Eigen::VectorXd& values(Eigen::MatrixXd& A);
    const Eigen::VectorXd& values(Eigen::MatrixXcd& A);

private:
    Eigen::VectorXd s_;
    std::vector<double> work_, rwork_;
    std::vector<std::complex<double>> cwork_;
    std::vector<int> iwork_;
};

}  // namespace convmtx::detail
