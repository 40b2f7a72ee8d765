// Products and least squares with a distributed W or T: the dot (adjoint) test of MatMult
// against MatMultTranspose, and regularized least squares
//   x = argmin ||A x - b||^2 + damp^2 ||x||^2
// with PETSc's KSPLSQR (Paige & Saunders' LSQR) or KSPCGLS, the damping applied as the stacked
// operator [A; damp I] with right-hand side [b; 0] (PETSc's KSPLSQR and KSPCGLS take no damping
// parameter). PETSc's options database applies after the options given here (-ksp_rtol,
// -ksp_max_it, -ksp_monitor, -ksp_type, ...; with `options_prefix` prepended to their names).
#pragma once

#include <petscksp.h>

#include <cstdint>
#include <functional>
#include <string>

#include "convmtx/dot_test.hpp"
#include "convmtx/petsc_handle.hpp"

namespace convmtx::petsc {

/// The dot test of DotTestReport (dot_test.hpp) for a distributed A: `trials` pairs of standard
/// normal x (A's columns) and y (A's rows), each process drawing its own entries from
/// seed + trial and its rank; error = |<Ax,y> - <x,A^T y>| / max(||Ax|| ||y||, ||x|| ||A^T y||),
/// rtol <= 0: default_dot_rtol<double>(columns, rows). Collective.
DotTestReport dot_test(Mat A, int trials = 5, std::uint64_t seed = 0, double rtol = 0);

/// Called after every iteration with the iteration number and the residual norm KSP monitors
/// (of the stacked system when damp > 0).
using KspMonitor = std::function<void(index_t iteration, double residual_norm)>;

/// The settings of solve_least_squares (before PETSc's options database is applied).
struct LeastSquaresOptions {
    std::string method = "lsqr";  ///< "lsqr" (KSPLSQR) or "cgls" (KSPCGLS); config_error otherwise
    double damp = 0;              ///< >= 0 and finite
    double rtol = 1e-8;           ///< KSP's relative tolerance (KSPSetTolerances)
    double atol = 1e-50;          ///< KSP's absolute tolerance
    index_t max_iterations = -1;  ///< -1: twice A's columns, as scipy's lsqr
    std::string options_prefix;   ///< of the KSP's options in PETSc's database
    /// Called with every residual norm KSP monitors; empty: none.
    KspMonitor monitor{};
};

/// What solve_least_squares reports of the KSP solve.
struct LeastSquaresResult {
    std::string method;           ///< the KSP type that ran (after the options database)
    /// KSPGetIterationNumber.
    index_t iterations = 0;
    int reason = 0;               ///< KSPConvergedReason: > 0 converged, < 0 diverged
    std::string reason_text;      ///< PETSc's name of it, e.g. "CONVERGED_RTOL_NORMAL"
    double residual_norm = 0;     ///< ||b - A x||, recomputed from x
    double solution_norm = 0;     ///< ||x||
    /// Wall-clock time of KSPSolve.
    double seconds = 0;
};

/// Solves into x (A's column layout; its values on entry are ignored: the start is x = 0).
/// b has A's row layout. Throws config_error for a bad option or a NaN or Inf in b, petsc_error
/// when PETSc fails.
/// Collective.
LeastSquaresResult solve_least_squares(Mat A, Vec b, Vec x, const LeastSquaresOptions& options = {});

}  // namespace convmtx::petsc
