// Internal: the smallest eigenvalues of A A^T by shift-invert Lanczos (Spectra) on CHOLMOD's
// factorization of A A^T + beta I. Compiled only with SuiteSparse (CONVMTX_HAVE_CHOLMOD); without
// it spectrum.cpp uses Lanczos on the shifted normal operator. Not part of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "convmtx/spec.hpp"

namespace convmtx::detail {

struct ShiftInvertResult {
    std::vector<double> eigenvalues;  ///< of A A^T, ascending (the k smallest), converged only
    /// Per eigenvalue, a bound of its error: from the residual rho of the inverse's Ritz pair,
    /// rho / (theta (theta - rho)), plus 64 eps lambda_max for the factorization's rounding.
    std::vector<double> errors;
    Eigen::MatrixXd vectors;          ///< A.rows() x eigenvalues.size(), orthonormal
    index_t restarts = 0, solves = 0, runs = 0;
    std::string detail;               ///< the factorization, e.g. "CHOLMOD supernodal L with 12345 entries"
};

/// The k smallest eigenvalues of A A^T (A: rows x cols, compressed columns, rows the smaller side)
/// by Lanczos on (A A^T + beta I)^{-1}, beta = 1e-11 lambda_max (lambda_max: the largest eigenvalue
/// of A A^T or an estimate): relative tolerance tol on 1 / (lambda + beta), Spectra's
/// Krylov size ncv and restart limit, start vector `start` (A.rows() values). Throws
/// memory_limit_error when CHOLMOD's analysis predicts more than memory_limit bytes, before factorizing.
ShiftInvertResult smallest_by_shift_invert(const Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t>& A,
                                           index_t k, double lambda_max, double tol, index_t ncv, index_t max_restarts,
                                           const Eigen::VectorXd& start, double memory_limit);

}  // namespace convmtx::detail
