// The vocabulary shared by the least-squares solvers: the callbacks through which they report
// (the library never prints; a front end such as `convmtx solve` draws the reports), the
// regularization-weight options and choice, the options of the iterative solvers and the
// result every solver returns (with scipy.sparse.linalg.lsqr's istop codes).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "convmtx/spec.hpp"

namespace convmtx {

/// A dense column vector (a flattened model or data sample).
template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

// ---- callbacks ----

/// The state after one iteration of LSQR, LSMR, CGLS or Landweber, passed to IterationCallback.
struct IterationInfo {
    std::string method;          ///< "lsqr", "lsmr", "cgls" or "landweber"
    index_t iteration = 0;       ///< 1, 2, ...
    index_t iteration_limit = 0; ///< the solve stops with istop 7 at this iteration
    double residual_norm = 0;    ///< ||b - A x_k|| (LSQR, LSMR: the r1norm estimate; with mu > 0: of the stacked system)
    double normal_residual = 0;  ///< ||A^T (b - A x_k) - damp^2 x_k|| (LSQR, LSMR: the arnorm estimate)
    double solution_norm = 0;    ///< ||x_k||
    double seconds = 0;          ///< wall time since the iterations started
};
/// Called after every iteration; returning false stops the solver with istop = 8.
using IterationCallback = std::function<bool(const IterationInfo&)>;

/// A step of a long computation that is not an iteration: a trial of the regularization-weight
/// search, a phase (analysis, factorization, solve) of a direct solver.
struct ProgressInfo {
    std::string task;    ///< "choose_lambda", "spqr" or "cholmod"
    std::string phase;   ///< e.g. "GCV trial solves", "Golub-Kahan steps", "analysis", "factorization"
    index_t step = 0;    ///< the step that begins now: 1, 2, ...
    index_t steps = 0;   ///< the number of steps the phase (or task) is expected to take; 0 when unknown
    double value = std::numeric_limits<double>::quiet_NaN();  ///< the lambda of a trial solve; NaN otherwise
    double seconds = 0;  ///< wall time since the task started
};
/// Called when each step begins (before it runs, so that a display shows what is running).
using ProgressCallback = std::function<void(const ProgressInfo&)>;

// ---- the operator norm behind a step size or a lambda range ----

/// sigma_max = ||A||_2 of the operator a step size or a lambda range was derived from, and how it
/// was obtained (norm_bound.hpp): exact (fft, dense), Lanczos, a closed form, or given by the caller.
struct NormBound {
    /// sigma_1 as computed (for a stacked [A; w B]: the bound, as no sigma_1 of the stack is
    /// computed; NaN: the operator returned a non-finite value).
    double sigma_max = std::numeric_limits<double>::quiet_NaN();
    /// The value the step sizes use, >= sigma_max: a guaranteed upper bound of ||A||_2 when
    /// certified, otherwise the Lanczos value plus a margin from its residual.
    double upper = std::numeric_limits<double>::quiet_NaN();
    /// sigma_p = the smallest singular value when it came at no extra cost (fft: every value); NaN otherwise.
    double sigma_min = std::numeric_limits<double>::quiet_NaN();
    std::string method;      ///< "fft", "dense", "lanczos", "closed form", "given" or a combination ("fft + closed form")
    bool certified = false;  ///< upper >= ||A||_2 is guaranteed (rounding margins included)
    std::string detail;      ///< what gave `upper`, e.g. "the Schur test sqrt(||W||_1 ||W||_inf)"
    /// One line: "sigma_max = 0.9982 (lanczos), bound 1 certified (the circular convolution on ...)".
    std::string str() const;
};

// ---- the regularization weight ----

/// Which penalty the automatic weight is chosen for: damp (||x||^2) or mu (||D x||^2).
enum class Regularizer { tikhonov, gradient };
/// How the automatic weight is chosen. automatic = discrepancy when the noise level is
/// known (noise_sigma > 0), otherwise GCV (measured more robust than the L-curve: on the
/// blurred camera image the L-curve undersmooths below the blurred image's PSNR).
enum class LambdaRule { automatic, discrepancy, gcv, lcurve };

/// "tikhonov" or "gradient".
std::string to_string(Regularizer r);
/// "auto", "discrepancy", "gcv" or "lcurve".
std::string to_string(LambdaRule r);
/// Parses "tikhonov"/"gradient" and "auto"/"discrepancy"/"gcv"/"lcurve"; config_error otherwise.
Regularizer parse_regularizer(const std::string& name);
/// Parses "auto", "discrepancy", "gcv" or "lcurve"; config_error otherwise.
LambdaRule parse_lambda_rule(const std::string& name);

/// How choose_lambda picks the regularization weight: the rule, the noise level and the search.
struct LambdaOptions {
    LambdaRule rule = LambdaRule::automatic;  ///< discrepancy with a known noise level, else GCV (Tikhonov) or the L-curve
    double noise_sigma = -1;     ///< standard deviation of the noise in each entry of b; <= 0: unknown
    double tau = 1.0;            ///< discrepancy principle: ||A x - b|| = tau * noise_sigma * sqrt(m)
    /// Tikhonov: at most this many Golub-Kahan steps; starting at 40, doubled while the chosen
    /// lambda lies where the projected solution has not converged (changes from 2k/3 to k steps).
    index_t krylov_steps = 640;
    index_t grid_points = 200;   ///< lambda values examined on the projected problem (Tikhonov)
    index_t trial_solves = 14;   ///< lambdas examined by full LSQR solves (gradient regularizer, GCV)
    index_t trial_iterations = 300;  ///< iteration limit of each trial solve
    /// Called before each trial solve (value = its lambda) and each extension of the Golub-Kahan
    /// bidiagonalization (step = the number of steps it extends to).
    ProgressCallback callback{};
};

/// The chosen weight and the curve it was chosen from (for plots and reports).
struct LambdaChoice {
    double lambda = 0;                                ///< the chosen weight
    Regularizer regularizer = Regularizer::tikhonov;  ///< the regularizer it weights
    LambdaRule rule = LambdaRule::automatic;  ///< the rule actually applied (never automatic)
    double target = 0;  ///< discrepancy: the residual norm aimed at, tau * sigma * sqrt(m)
    std::vector<double> lambdas;         ///< the weights examined
    std::vector<double> residual_norms;  ///< ||A x - b|| at each
    std::vector<double> penalty_norms;   ///< ||x|| or ||D x|| at each
    std::vector<double> criterion;       ///< the rule's criterion at each (GCV value, curvature or residual)
    std::string note;   ///< e.g. "the target is below every residual: the smallest lambda was taken"
    /// The operator norm the examined range was scaled by (docs/solvers.md, "The lambda range"):
    /// the Golub-Kahan projection's sigma_1 for Tikhonov's discrepancy and L-curve, spectrum's otherwise.
    NormBound norm;
    /// "lambda=0.0832 (discrepancy: ||Ax-b|| = 1.28 = 1*0.01*sqrt(16384))"
    std::string str() const;
};

// ---- the iterative solvers ----

/// Options of lsqr, lsmr, cgls and landweber: regularization, stopping rules, callbacks, Landweber's step and bounds.
struct SolverOptions {
    double damp = 0;             ///< Tikhonov weight lambda: adds damp^2 ||x||^2
    double gradient_weight = 0;  ///< mu: adds mu^2 ||D x||^2
    /// The model grid of D as (channels, spatial...); empty: A.model_shape() (a 1-entry shape
    /// is one channel with one spatial dimension).
    Shape gradient_shape;
    /// Choose the weight of `regularizer` with choose_lambda before solving (overrides damp
    /// or gradient_weight); the choice is reported in SolveResult::lambda_choice, its progress
    /// through lambda.callback.
    bool auto_lambda = false;
    Regularizer regularizer = Regularizer::tikhonov;  ///< the weight auto_lambda chooses: damp (tikhonov) or gradient_weight
    LambdaOptions lambda;                             ///< how auto_lambda chooses it
    double atol = 1e-6;    ///< scipy's atol: stop when ||A^T r|| <= atol ||A|| ||r||  (istop 2)
    double btol = 1e-6;    ///< scipy's btol: stop when ||r|| <= btol ||b|| + atol ||A|| ||x||  (istop 1)
    double conlim = 1e8;   ///< LSQR, LSMR: stop when cond(A) estimate >= conlim (istop 3); 0: no limit
    index_t iter_lim = -1; ///< -1: scipy's default, 2 n (lsqr, cgls, landweber) or min(m, n) (lsmr)
    IterationCallback callback{};  ///< after every iteration of the solve (not of the lambda search's trials)
    double step = 0;        ///< Landweber tau; <= 0: 1 / (||A||^2 + damp^2), ||A|| an upper bound from norm_bound.hpp
    /// Landweber only: bounds lower <= x <= upper enforced by projection after every step
    /// (projected Landweber), e.g. [0, 1] for images; infinite = unconstrained.
    double lower = -std::numeric_limits<double>::infinity();
    double upper = std::numeric_limits<double>::infinity();  ///< upper bound (see lower)
    /// Landweber only: Nesterov/FISTA momentum, y = x_k + (t_{k-1} - 1)/t_k (x_k - x_{k-1}),
    /// the step taken from y (error O(1/k^2) instead of O(1/k) in the objective).
    bool accelerate = false;
};

/// istop codes convmtx adds to scipy's 0-7.
constexpr int istop_callback = 8;   ///< the IterationCallback returned false
constexpr int istop_nonfinite = 9;  ///< the operator returned NaN or Inf; x is the last finite iterate

/// The solution of an iterative or direct solver with scipy's diagnostics.
template <class Scalar>
struct SolveResult {
    Vector<Scalar> x;    ///< the solution
    std::string method;  ///< "lsqr", "lsmr", "cgls", "landweber", "spqr" or "cholmod"
    /// scipy's codes: 0 x = 0 is exact, 1 ||r|| small (atol, btol), 2 least-squares solution
    /// (atol), 3 cond(A) > conlim, 4-6 the same at machine precision, 7 iteration limit;
    /// convmtx adds 8 = stopped by the callback and 9 = the operator returned a non-finite
    /// value while computing iterate iterations + 1 (x is then the iterate x_iterations).
    int istop = 0;
    index_t iterations = 0;  ///< iterations done
    double r1norm = 0;  ///< scipy's r1norm: ||b - A x|| (LSQR's recurrence estimate)
    double r2norm = 0;  ///< sqrt(r1norm^2 + damp^2 ||x||^2)
    double anorm = 0;   ///< estimate of ||A|| (LSQR, LSMR: Frobenius of the bidiagonal; others: see the solver)
    double acond = 0;   ///< LSQR's or LSMR's estimate of cond(A); 0 for the others
    double arnorm = 0;  ///< ||A^T r - damp^2 x|| estimate
    double xnorm = 0;   ///< ||x||
    double residual_norm = 0;  ///< ||b - A x|| recomputed from x after the solve
    double penalty_norm = 0;   ///< ||x|| (Tikhonov) or ||D x|| (mu > 0)
    double damp = 0;             ///< the Tikhonov weight used
    double gradient_weight = 0;  ///< the gradient weight used
    std::optional<LambdaChoice> lambda_choice;  ///< set when the weight was chosen automatically
    /// Landweber: the norm of the operator iterated on (A, or [A; mu D]) behind its step.
    std::optional<NormBound> step_norm;
    std::vector<double> residual_history;         ///< residual_norm of x_0 = 0, x_1, ..., x_iterations
    std::vector<double> normal_residual_history;  ///< normal_residual of the same iterates
    double seconds = 0;          ///< wall-clock time of the solve
    double estimated_bytes = 0;  ///< direct solvers: the memory estimate checked against the limit
    std::string note;            ///< direct solvers: the factorization used
    /// scipy's message for istop, e.g. "The least-squares solution is good enough, given atol";
    /// istop 9: "The operator returned a non-finite value at iteration k" (k = iterations + 1).
    std::string reason() const;
};

/// scipy's message for an istop code (0-7), "Stopped by the callback" (8) or "The operator
/// returned a non-finite value" (9).
std::string lsqr_reason(int istop);

extern template struct SolveResult<float>;
extern template struct SolveResult<double>;

}  // namespace convmtx
