// Regularized deblurring with bounds by the first-order primal-dual method of Chambolle & Pock,
// "A first-order primal-dual algorithm for convex problems with applications to imaging",
// J. Math. Imaging Vis. 40, 2011 (Algorithm 1, theta = 1). It minimises
//     1/2 ||A x - b||^2 + R(x)   subject to lower <= x <= upper
// with R(x) = lambda TV(x) (isotropic: sum_p ||(D x)_p||_2, anisotropic: ||D x||_1),
// 1/2 lambda^2 ||D x||^2 (gradient) or 1/2 lambda^2 ||x||^2 (Tikhonov); the quadratic priors have
// the minimiser of the least-squares solvers' ||A x - b||^2 + lambda^2 ||L x||^2 (plus bounds).
// Only A x, A^T y, D x and D^T z are applied. With K = [A; D], the dual steps are
//     y <- (y + s (A xbar - b)) / (1 + s),   z <- P_lambda(z + s D xbar),
// the primal step x' = clip((x - t (A^T y + D^T z)) / (1 + t c), lower, upper) (c = lambda^2 for
// Tikhonov, 0 otherwise), xbar = 2 x' - x; t s L^2 < 1 with L >= ||K|| (norm_bound.hpp:
// ||K||^2 <= ||A||^2 + ||D||^2, each bounded through convmtx::spectrum or given).
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "convmtx/norm_bound.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// The penalty R of a deconvolution.
enum class Prior { tikhonov, gradient, tv, tv_anisotropic };
/// "tikhonov", "gradient", "tv" or "tv-anisotropic": the names parse_prior accepts.
std::string to_string(Prior p);
/// Parses "tikhonov", "gradient", "tv" (isotropic) or "tv-anisotropic"; config_error otherwise.
Prior parse_prior(const std::string& name);
/// Whether p is a TV prior (isotropic or anisotropic).
inline bool is_tv(Prior p) { return p == Prior::tv || p == Prior::tv_anisotropic; }

/// The problem (prior, lambda, bounds) and the iteration's settings of primal_dual, which refuses
/// an invalid one with config_error.
struct PrimalDualOptions {
    /// R; every prior but tikhonov needs the differences D.
    Prior prior = Prior::tv;
    double lambda = 0;  ///< the weight of R (>= 0, finite)
    /// Lower bound of every entry of x (-infinity: none); lower <= upper.
    double lower = -std::numeric_limits<double>::infinity();
    /// Upper bound of every entry of x (+infinity: none).
    double upper = std::numeric_limits<double>::infinity();
    /// The most iterations made (>= 1).
    index_t iter_lim = 500;
    /// Stop when ||x_k - x_{k-1}|| <= tol ||x_k|| (after at least 2 iterations).
    double tol = 1e-4;
    /// An upper bound of ||A|| (unset: norm_bound(A); deconvolve passes the configuration's
    /// certified bound). An underestimate can diverge.
    std::optional<NormBound> a_norm;
    /// An upper bound of ||D|| (unset: norm_bound(D); deconvolve passes gradient_norm_bound(2)).
    std::optional<NormBound> d_norm;
    /// The dual step is s = ratio / L, the primal t = 1 / (ratio L), L = 1.001 ||K||. A long
    /// primal step suits deblurring, whose data term converges slowest: with 0.1 the 128 x 128
    /// phantom's TV objective after 300 iterations is 1.5% lower than with 1 (measured).
    double step_ratio = 0.1;
    IterationCallback callback{};  ///< residual_norm = ||A xbar - b||, normal_residual = the relative change
};

template <class Scalar>
/// What primal_dual returns: x, why the iteration stopped, its histories and the final dual
/// variables.
struct PrimalDualResult {
    /// The solution, A.model_size() values, within the bounds.
    Vector<Scalar> x;
    /// Iterations made.
    index_t iterations = 0;
    bool converged = false;   ///< the relative change fell below tol
    std::string stop_reason;  ///< "relative change 8.1e-05 <= tol 1e-04", "iteration limit 500", ...
    double objective = 0;     ///< 1/2 ||A x - b||^2 + R(x) at the returned x
    double residual_norm = 0; ///< ||A x - b|| at the returned x
    std::vector<double> residual_history;  ///< ||A xbar_k - b|| per iteration
    std::vector<double> change_history;    ///< ||x_k - x_{k-1}|| / ||x_k||
    /// Wall-clock time of the whole call (checks, norm estimates, iterations).
    double seconds = 0;
    /// The final y (A.data_size() values); dual_differences: the final z (D's data size, empty for
    /// tikhonov).
    Vector<Scalar> dual_data, dual_differences;  ///< the final y and z, for a warm start
    /// The bound of ||K|| = ||[A; D]|| (||A|| for Tikhonov) behind the steps, and how it was obtained.
    NormBound step_norm;
};

/// Runs the iteration from zero, or from a previous result's x, y and z (`warm`, e.g. the solve for
/// a nearby lambda; its sizes must match). D (the differences, data size r * A.model_size(),
/// the r components of pixel i at i, i + n, ...) is required for gradient and TV priors and
/// unused for Tikhonov. Errors: shape_error (b, x0, D), config_error (an option, NaN/Inf in b).
template <class Scalar>
PrimalDualResult<Scalar> primal_dual(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                                     const LinearOperator<Scalar>* D, const PrimalDualOptions& options,
                                     const PrimalDualResult<Scalar>* warm = nullptr);

}  // namespace convmtx
