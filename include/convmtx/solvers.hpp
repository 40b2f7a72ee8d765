// Iterative least-squares solvers on the LinearOperator interface (explicit W or
// the matrix-free kernels): CGLS, LSQR (Paige & Saunders, a line-by-line port of
// scipy.sparse.linalg.lsqr with the same stopping tests and istop codes) and
// Landweber, with Tikhonov damping, an optional finite-difference gradient
// regularizer and an automatic choice of the regularization weight.
//
// Every solver minimizes
//     ||A x - b||^2 + damp^2 ||x||^2 + mu^2 ||D x||^2
// where D stacks the forward differences of x along each spatial dimension of the
// model (gradient_operator below) and mu = SolverOptions::gradient_weight.
// A transposed convolution W^T b is not a solution of this problem: it undoes the
// shape change of W, not its effect. These solvers use W^T only as the adjoint.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convmtx/operator.hpp"

namespace convmtx {

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// The state after one iteration, passed to callbacks.
struct IterationInfo {
    std::string method;      ///< "lsqr", "cgls" or "landweber"
    index_t iteration = 0;   ///< 1, 2, ...
    double residual_norm = 0;    ///< ||b - A x_k|| (LSQR: its r1norm estimate; with mu > 0: of the stacked system)
    double normal_residual = 0;  ///< ||A^T (b - A x_k) - damp^2 x_k|| (LSQR: its arnorm estimate)
    double solution_norm = 0;    ///< ||x_k||
};
/// Called after every iteration; returning false stops the solver with istop = 8.
using IterationCallback = std::function<bool(const IterationInfo&)>;

/// Which penalty the automatic weight is chosen for: damp (||x||^2) or mu (||D x||^2).
enum class Regularizer { tikhonov, gradient };
/// How the automatic weight is chosen. automatic = discrepancy when the noise level is
/// known (noise_sigma > 0), otherwise GCV (measured more robust than the L-curve: on the
/// blurred camera image the L-curve undersmooths below the blurred image's PSNR).
enum class LambdaRule { automatic, discrepancy, gcv, lcurve };

std::string to_string(Regularizer r);
std::string to_string(LambdaRule r);
/// Parses "tikhonov"/"gradient" and "auto"/"discrepancy"/"gcv"/"lcurve"; config_error otherwise.
Regularizer parse_regularizer(const std::string& name);
LambdaRule parse_lambda_rule(const std::string& name);

struct LambdaOptions {
    LambdaRule rule = LambdaRule::automatic;
    double noise_sigma = -1;     ///< standard deviation of the noise in each entry of b; <= 0: unknown
    double tau = 1.0;            ///< discrepancy principle: ||A x - b|| = tau * noise_sigma * sqrt(m)
    /// Tikhonov: at most this many Golub-Kahan steps; starting at 40, doubled while the chosen
    /// lambda lies where the projected solution has not converged (changes from 2k/3 to k steps).
    index_t krylov_steps = 640;
    index_t grid_points = 200;   ///< lambda values examined on the projected problem (Tikhonov)
    index_t trial_solves = 14;   ///< lambdas examined by full LSQR solves (gradient regularizer, GCV)
    index_t trial_iterations = 300;  ///< iteration limit of each trial solve
    bool progress = false;  ///< a status line per trial solve on stderr, only when it is a terminal
};

/// The chosen weight and the curve it was chosen from (for plots and reports).
struct LambdaChoice {
    double lambda = 0;
    Regularizer regularizer = Regularizer::tikhonov;
    LambdaRule rule = LambdaRule::automatic;  ///< the rule actually applied (never automatic)
    double target = 0;  ///< discrepancy: the residual norm aimed at, tau * sigma * sqrt(m)
    std::vector<double> lambdas, residual_norms, penalty_norms, criterion;  ///< examined points
    std::string note;   ///< e.g. "the target is below every residual: the smallest lambda was taken"
    /// "lambda=0.0832 (discrepancy: ||Ax-b|| = 1.28 = 1*0.01*sqrt(16384))"
    std::string str() const;
};

struct SolverOptions {
    double damp = 0;             ///< Tikhonov weight lambda: adds damp^2 ||x||^2
    double gradient_weight = 0;  ///< mu: adds mu^2 ||D x||^2
    /// The model grid of D as (channels, spatial...); empty: A.model_shape() (a 1-entry shape
    /// is one channel with one spatial dimension).
    Shape gradient_shape;
    /// Choose the weight of `regularizer` with choose_lambda before solving (overrides damp
    /// or gradient_weight); the choice is reported in SolveResult::lambda_choice.
    bool auto_lambda = false;
    Regularizer regularizer = Regularizer::tikhonov;
    LambdaOptions lambda;
    double atol = 1e-6;    ///< scipy's atol: stop when ||A^T r|| <= atol ||A|| ||r||  (istop 2)
    double btol = 1e-6;    ///< scipy's btol: stop when ||r|| <= btol ||b|| + atol ||A|| ||x||  (istop 1)
    double conlim = 1e8;   ///< LSQR: stop when cond(A) estimate >= conlim (istop 3); 0: no limit
    index_t iter_lim = -1; ///< -1: 2 n (scipy's default)
    IterationCallback callback;
    bool progress = false;  ///< a status line on stderr per iteration, only when stderr is a terminal
    double step = 0;        ///< Landweber tau; <= 0: 1 / (estimated ||A||^2 + damp^2)
    index_t power_iterations = 50;  ///< power-method steps of the ||A||^2 estimate (Landweber)
    /// Landweber only: bounds lower <= x <= upper enforced by projection after every step
    /// (projected Landweber), e.g. [0, 1] for images; infinite = unconstrained.
    double lower = -std::numeric_limits<double>::infinity();
    double upper = std::numeric_limits<double>::infinity();
    /// Landweber only: Nesterov/FISTA momentum, y = x_k + (t_{k-1} - 1)/t_k (x_k - x_{k-1}),
    /// the step taken from y (error O(1/k^2) instead of O(1/k) in the objective).
    bool accelerate = false;
};

template <class Scalar>
struct SolveResult {
    Vector<Scalar> x;
    std::string method;
    /// scipy's codes: 0 x = 0 is exact, 1 ||r|| small (atol, btol), 2 least-squares solution
    /// (atol), 3 cond(A) > conlim, 4-6 the same at machine precision, 7 iteration limit;
    /// convmtx adds 8 = stopped by the callback.
    int istop = 0;
    index_t iterations = 0;
    double r1norm = 0;  ///< scipy's r1norm: ||b - A x|| (LSQR's recurrence estimate)
    double r2norm = 0;  ///< sqrt(r1norm^2 + damp^2 ||x||^2)
    double anorm = 0;   ///< estimate of ||A|| (LSQR: Frobenius of the bidiagonal; others: see the solver)
    double acond = 0;   ///< LSQR's estimate of cond(A); 0 for the others
    double arnorm = 0;  ///< ||A^T r - damp^2 x|| estimate
    double xnorm = 0;   ///< ||x||
    double residual_norm = 0;  ///< ||b - A x|| recomputed from x after the solve
    double penalty_norm = 0;   ///< ||x|| (Tikhonov) or ||D x|| (mu > 0)
    double damp = 0;
    double gradient_weight = 0;
    std::optional<LambdaChoice> lambda_choice;  ///< set when the weight was chosen automatically
    std::vector<double> residual_history;         ///< residual_norm of x_0 = 0, x_1, ..., x_iterations
    std::vector<double> normal_residual_history;  ///< normal_residual of the same iterates
    double seconds = 0;
    double estimated_bytes = 0;  ///< direct solvers: the memory estimate checked against the limit
    std::string note;            ///< direct solvers: the factorization used
    /// scipy's message for istop, e.g. "The least-squares solution is good enough, given atol".
    std::string reason() const;
};

/// scipy's message for an istop code (0-7) or "Stopped by the callback" (8).
std::string lsqr_reason(int istop);

/// LSQR of Paige & Saunders, computing what scipy.sparse.linalg.lsqr(A, b, damp, atol, btol,
/// conlim, iter_lim) computes (same recurrences, tests, istop and r1norm/r2norm/anorm/acond).
template <class Scalar>
SolveResult<Scalar> lsqr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options = {});

/// CGLS: conjugate gradients on (A^T A + damp^2 I) x = A^T b, residuals r = b - A x updated
/// without forming A^T A. Stops with istop 1 (||r2|| <= btol ||b|| + atol anorm ||x||), 2
/// (||A^T r - damp^2 x|| <= atol anorm ||r2||), 4/5 (the same at machine precision) or 7, where
/// anorm = max_k sqrt(||A p_k||^2 + damp^2 ||p_k||^2) / ||p_k|| (a lower bound of ||A||); conlim is unused.
template <class Scalar>
SolveResult<Scalar> cgls(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options = {});

/// Landweber: x <- P(x + tau (A^T (b - A x) - damp^2 x)), tau = options.step or 1/(||A||^2 + damp^2)
/// with ||A||^2 from estimate_norm_squared, P the projection on [lower, upper] (identity when
/// unbounded), optionally accelerated. Stops like CGLS (istop 1, 2, 7, 8) with the gradient
/// mapping ||x_{k+1} - y_k|| / tau as the normal residual; anorm = the ||A|| estimate.
template <class Scalar>
SolveResult<Scalar> landweber(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                              const SolverOptions& options = {});

/// ||A||_2^2 by the power method on A^T A from a seeded random start: the Rayleigh quotient
/// ||A v||^2 after `iterations` steps (a lower bound that converges to the largest eigenvalue).
template <class Scalar>
double estimate_norm_squared(const LinearOperator<Scalar>& A, index_t iterations = 50, std::uint64_t seed = 0);

/// Chooses the weight of `regularizer` for min ||A x - b||^2 + lambda^2 ||L x||^2 (L = I or D).
/// Discrepancy: ||A x_lambda - b|| = tau sigma sqrt(m), by bisection on log lambda (the residual
/// grows with lambda). L-curve: the point of maximum curvature of (log ||r||, log ||L x||).
/// GCV: the minimum of ||r||^2 / (m - trace(A A_lambda^#))^2, the trace by Hutchinson's
/// estimator z^T A x_lambda(z) with a fixed Rademacher z (two LSQR solves per lambda).
/// Tikhonov discrepancy / L-curve work on the projected problem of k Golub-Kahan steps,
/// min ||B_k y - beta e1||^2 + lambda^2 ||y||^2, solved for every lambda by the SVD of B_k;
/// the gradient regularizer and GCV use full LSQR solves of [A; lambda L].
template <class Scalar>
LambdaChoice choose_lambda(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, Regularizer regularizer,
                           const LambdaOptions& options = {}, const Shape& gradient_shape = {});

/// The forward-difference operator D on samples of shape (C, n_1, ..., n_r): for each
/// dimension j, (D x)[j, c, p] = x[c, p + e_j] - x[c, p] when p_j < n_j - 1, else 0.
/// Data shape (r, C, n_1, ..., n_r); ||D||^2 <= 4 r.
template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> gradient_operator(const Shape& shape);
/// D as an explicit sparse matrix (r * numel rows, numel columns).
template <class Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> gradient_matrix(const Shape& shape);

/// The stacked operator [A; weight * B] (same model space; data = A's data followed by B's).
template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> stack_operators(std::shared_ptr<const LinearOperator<Scalar>> A,
                                                        std::shared_ptr<const LinearOperator<Scalar>> B,
                                                        double weight);

/// The shape used for D when options.gradient_shape is empty: A.model_shape(), or (1, n)
/// when the model shape has a single entry.
Shape default_gradient_shape(const Shape& model_shape);

}  // namespace convmtx
