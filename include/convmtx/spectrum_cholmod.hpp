// The smallest singular values through a sparse Cholesky factorization (convmtx::suitesparse):
// Lanczos (Spectra's SymEigsSolver) on x -> (A A^T + beta I)^{-1} x with CHOLMOD's factor of
// A A^T + beta I, beta = 1e-11 lambda_max (raised when rounding leaves the sum singular). Plug it
// into the spectrum as SpectrumOptions::shift_invert = convmtx::cholmod_shift_invert
// (spectrum.hpp). Linking it binds a program by the GPL (CHOLMOD's Supernodal module, GPL-2.0+).
#pragma once

#include <cstdint>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "convmtx/spectrum.hpp"

namespace convmtx {

/// The k smallest eigenvalues of A A^T (A: rows x cols in compressed columns, rows the smaller
/// side), their vectors and error bounds rho / (theta (theta - rho)) + 64 eps lambda_max from the
/// residual rho of the inverse's Ritz pair theta: relative tolerance tol on 1 / (lambda + beta),
/// Spectra's Krylov size ncv and restart limit, start vector `start` (A.rows() values). Throws
/// memory_limit_error when CHOLMOD's analysis predicts more than memory_limit bytes (before
/// factorizing), std::runtime_error when CHOLMOD fails. A ShiftInvertSolver.
ShiftInvertResult cholmod_shift_invert(const Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t>& A, index_t k,
                                       double lambda_max, double tol, index_t ncv, index_t max_restarts,
                                       const Eigen::VectorXd& start, double memory_limit);

}  // namespace convmtx
