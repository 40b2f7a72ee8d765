#include "convmtx/petsc_solve.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "convmtx/errors.hpp"

namespace convmtx::petsc {

namespace {

MPI_Comm comm_of(Mat A) { return PetscObjectComm(reinterpret_cast<PetscObject>(A)); }

void fill_normal(Vec v, std::uint64_t seed, int rank) {
    std::mt19937_64 rng(seed * 1000003u + static_cast<std::uint64_t>(rank));
    std::normal_distribution<double> nd(0.0, 1.0);
    PetscInt n = 0;
    PetscScalar* a = nullptr;
    check(VecGetLocalSize(v, &n), "VecGetLocalSize");
    check(VecGetArray(v, &a), "VecGetArray");
    for (PetscInt i = 0; i < n; ++i) a[i] = nd(rng);
    check(VecRestoreArray(v, &a), "VecRestoreArray");
}

/// [A; damp I]: rows A's rows followed by a copy of A's columns, on each process its A rows then its A columns.
struct Stacked {
    Mat A = nullptr;
    PetscReal damp = 0;
    PetscInt m_local = 0, n_local = 0;
    OwnedVec top;  ///< A's row layout, without storage: placed over the first m_local entries
};

PetscErrorCode stacked_mult(Mat S, Vec x, Vec y) {
    Stacked* s = nullptr;
    PetscCall(MatShellGetContext(S, &s));
    PetscScalar* ya = nullptr;
    const PetscScalar* xa = nullptr;
    PetscCall(VecGetArray(y, &ya));
    PetscCall(VecPlaceArray(s->top, ya));
    PetscCall(MatMult(s->A, x, s->top));
    PetscCall(VecResetArray(s->top));
    PetscCall(VecGetArrayRead(x, &xa));
    for (PetscInt i = 0; i < s->n_local; ++i) ya[s->m_local + i] = s->damp * xa[i];
    PetscCall(VecRestoreArrayRead(x, &xa));
    PetscCall(VecRestoreArray(y, &ya));
    return 0;
}

PetscErrorCode stacked_mult_transpose(Mat S, Vec y, Vec x) {
    Stacked* s = nullptr;
    PetscCall(MatShellGetContext(S, &s));
    const PetscScalar* ya = nullptr;
    PetscScalar* xa = nullptr;
    PetscCall(VecGetArrayRead(y, &ya));
    PetscCall(VecPlaceArray(s->top, ya));
    PetscCall(MatMultTranspose(s->A, s->top, x));
    PetscCall(VecResetArray(s->top));
    PetscCall(VecGetArray(x, &xa));
    for (PetscInt i = 0; i < s->n_local; ++i) xa[i] += s->damp * ya[s->m_local + i];
    PetscCall(VecRestoreArray(x, &xa));
    PetscCall(VecRestoreArrayRead(y, &ya));
    return 0;
}

PetscErrorCode forward_monitor(KSP, PetscInt it, PetscReal rnorm, void* ctx) {
    const KspMonitor& m = *static_cast<const KspMonitor*>(ctx);
    if (m) m(it, rnorm);
    return 0;
}

}  // namespace

DotTestReport dot_test(Mat A, int trials, std::uint64_t seed, double rtol) {
    if (trials < 1) throw config_error("trials: value " + std::to_string(trials) + " must be >= 1");
    int rank = 0;
    MPI_Comm_rank(comm_of(A), &rank);
    PetscInt rows = 0, cols = 0;
    check(MatGetSize(A, &rows, &cols), "MatGetSize");
    OwnedVec x, y, ax, aty;
    check(MatCreateVecs(A, x.out(), y.out()), "MatCreateVecs");
    check(VecDuplicate(y, ax.out()), "VecDuplicate");
    check(VecDuplicate(x, aty.out()), "VecDuplicate");
    DotTestReport report;
    report.rtol = rtol > 0 ? rtol : default_dot_rtol<double>(cols, rows);
    for (int t = 0; t < trials; ++t) {
        fill_normal(x, seed + 2 * static_cast<std::uint64_t>(t), rank);
        fill_normal(y, seed + 2 * static_cast<std::uint64_t>(t) + 1, rank);
        check(MatMult(A, x, ax), "MatMult");
        check(MatMultTranspose(A, y, aty), "MatMultTranspose");
        PetscScalar forward = 0, adjoint = 0;
        PetscReal n_ax = 0, n_y = 0, n_x = 0, n_aty = 0;
        check(VecDot(ax, y, &forward), "VecDot");
        check(VecDot(x, aty, &adjoint), "VecDot");
        check(VecNorm(ax, NORM_2, &n_ax), "VecNorm");
        check(VecNorm(y, NORM_2, &n_y), "VecNorm");
        check(VecNorm(x, NORM_2, &n_x), "VecNorm");
        check(VecNorm(aty, NORM_2, &n_aty), "VecNorm");
        DotTrial trial;
        trial.forward = forward;
        trial.adjoint = adjoint;
        trial.scale = std::max(n_ax * n_y, n_x * n_aty);
        const double values[] = {forward, adjoint, n_ax, n_aty};
        const char* names[] = {"<Ax, y>", "<x, A^T y>", "||Ax||", "||A^T y||"};
        for (int i = 0; i < 4 && trial.nonfinite.empty(); ++i)
            if (!std::isfinite(values[i])) trial.nonfinite = std::string(names[i]) + " is " + detail::nonfinite_name(values[i]);
        trial.error = !trial.nonfinite.empty() ? std::numeric_limits<double>::infinity()
                      : trial.scale > 0        ? std::abs(forward - adjoint) / trial.scale
                                               : 0.0;
        if (!trial.nonfinite.empty() && report.failure.empty())
            report.failure = "trial " + std::to_string(t) + ": " + trial.nonfinite;
        report.error = std::max(report.error, trial.error);
        report.trials.push_back(trial);
    }
    report.passed = report.failure.empty() && report.error <= report.rtol;
    return report;
}

LeastSquaresResult solve_least_squares(Mat A, Vec b, Vec x, const LeastSquaresOptions& o) {
    if (o.method != "lsqr" && o.method != "cgls")
        throw config_error("method: value '" + o.method + "' must be lsqr or cgls");
    if (!(o.damp >= 0) || !std::isfinite(o.damp))
        throw config_error("damp: value " + std::to_string(o.damp) + " must be finite and >= 0");
    if (!(o.rtol >= 0) || !(o.atol >= 0))
        throw config_error("rtol, atol: values " + std::to_string(o.rtol) + ", " + std::to_string(o.atol) +
                           " must be >= 0");
    MPI_Comm comm = comm_of(A);
    PetscReal b_norm = 0;  // collective: every process decides alike
    check(VecNorm(b, NORM_2, &b_norm), "VecNorm");
    if (!std::isfinite(b_norm))
        throw config_error(o.method + ": b holds NaN or Inf; the right-hand side must be finite");
    PetscInt rows = 0, cols = 0, m_local = 0, n_local = 0;
    check(MatGetSize(A, &rows, &cols), "MatGetSize");
    check(MatGetLocalSize(A, &m_local, &n_local), "MatGetLocalSize");
    const index_t max_it = o.max_iterations > 0 ? o.max_iterations : 2 * static_cast<index_t>(cols);
    if (max_it > std::numeric_limits<PetscInt>::max())
        throw index_overflow_error("max_iterations=" + std::to_string(max_it) + " exceeds PetscInt");

    // The operator and right-hand side KSP sees: A and b, or [A; damp I] and [b; 0].
    Stacked stacked;
    OwnedMat S;
    OwnedVec rhs;
    Mat op = A;
    Vec op_b = b;
    if (o.damp > 0) {
        stacked.A = A;
        stacked.damp = o.damp;
        stacked.m_local = m_local;
        stacked.n_local = n_local;
        check(VecCreateMPIWithArray(comm, 1, m_local, rows, nullptr, stacked.top.out()), "VecCreateMPIWithArray");
        check(MatCreateShell(comm, m_local + n_local, n_local, rows + cols, cols, &stacked, S.out()), "MatCreateShell");
        check(MatShellSetOperation(S, MATOP_MULT, reinterpret_cast<void (*)(void)>(stacked_mult)), "MatShellSetOperation");
        check(MatShellSetOperation(S, MATOP_MULT_TRANSPOSE, reinterpret_cast<void (*)(void)>(stacked_mult_transpose)),
              "MatShellSetOperation");
        check(MatShellSetOperation(S, MATOP_MULT_HERMITIAN_TRANSPOSE,
                                   reinterpret_cast<void (*)(void)>(stacked_mult_transpose)),
              "MatShellSetOperation");
        check(MatCreateVecs(S, nullptr, rhs.out()), "MatCreateVecs");
        const PetscScalar* ba = nullptr;
        PetscScalar* ra = nullptr;
        check(VecGetArrayRead(b, &ba), "VecGetArrayRead");
        check(VecGetArray(rhs, &ra), "VecGetArray");
        std::copy(ba, ba + m_local, ra);
        std::fill(ra + m_local, ra + m_local + n_local, 0.0);
        check(VecRestoreArray(rhs, &ra), "VecRestoreArray");
        check(VecRestoreArrayRead(b, &ba), "VecRestoreArrayRead");
        op = S;
        op_b = rhs;
    }

    OwnedKSP ksp;
    check(KSPCreate(comm, ksp.out()), "KSPCreate");
    check(KSPSetOperators(ksp, op, op), "KSPSetOperators");
    check(KSPSetType(ksp, o.method == "lsqr" ? KSPLSQR : KSPCGLS), "KSPSetType");
    PC pc = nullptr;
    check(KSPGetPC(ksp, &pc), "KSPGetPC");
    check(PCSetType(pc, PCNONE), "PCSetType");
    check(KSPSetTolerances(ksp, o.rtol, o.atol, PETSC_DEFAULT, static_cast<PetscInt>(max_it)), "KSPSetTolerances");
    check(KSPSetInitialGuessNonzero(ksp, PETSC_FALSE), "KSPSetInitialGuessNonzero");
    if (o.monitor) check(KSPMonitorSet(ksp, forward_monitor, const_cast<KspMonitor*>(&o.monitor), nullptr), "KSPMonitorSet");
    if (!o.options_prefix.empty()) check(KSPSetOptionsPrefix(ksp, o.options_prefix.c_str()), "KSPSetOptionsPrefix");
    check(KSPSetFromOptions(ksp), "KSPSetFromOptions");

    const auto t0 = std::chrono::steady_clock::now();
    check(KSPSolve(ksp, op_b, x), "KSPSolve");
    LeastSquaresResult r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    KSPType type = nullptr;
    check(KSPGetType(ksp, &type), "KSPGetType");
    r.method = type ? type : "";
    PetscInt its = 0;
    check(KSPGetIterationNumber(ksp, &its), "KSPGetIterationNumber");
    r.iterations = its;
    KSPConvergedReason reason = KSP_CONVERGED_ITERATING;
    check(KSPGetConvergedReason(ksp, &reason), "KSPGetConvergedReason");
    r.reason = static_cast<int>(reason);
    const char* text = nullptr;
    check(KSPGetConvergedReasonString(ksp, &text), "KSPGetConvergedReasonString");
    r.reason_text = text ? text : "";

    OwnedVec residual;
    check(VecDuplicate(b, residual.out()), "VecDuplicate");
    check(MatMult(A, x, residual), "MatMult");
    check(VecAYPX(residual, -1.0, b), "VecAYPX");
    PetscReal rn = 0, xn = 0;
    check(VecNorm(residual, NORM_2, &rn), "VecNorm");
    check(VecNorm(x, NORM_2, &xn), "VecNorm");
    r.residual_norm = rn;
    r.solution_norm = xn;
    return r;
}

}  // namespace convmtx::petsc
