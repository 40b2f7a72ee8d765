// Plumbing shared by the solvers (internal): argument checks, progress reports, scipy's
// stopping tests, the per-iteration record (histories, callback), the fused vector updates of
// the iterations, the filling of SolveResult, and the driver of LSQR, LSMR, CGLS and Landweber that
// chooses lambda, forms the operator actually iterated on ([A; mu D] with right-hand side
// [b; 0]) and measures the returned x.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "convmtx/choose_lambda.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/gradient_operator.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"
#include "convmtx/stacked_operator.hpp"

namespace convmtx::detail {

using SolverClock = std::chrono::steady_clock;
constexpr double kEps = std::numeric_limits<double>::epsilon();

inline double seconds_since(SolverClock::time_point t0) {
    return std::chrono::duration<double>(SolverClock::now() - t0).count();
}

/// Calls `callback`, when set, with one step of `task`.
inline void report_progress(const ProgressCallback& callback, const char* task, const std::string& phase,
                            index_t step, index_t steps, SolverClock::time_point t0,
                            double value = std::numeric_limits<double>::quiet_NaN()) {
    if (!callback) return;
    ProgressInfo p;
    p.task = task;
    p.phase = phase;
    p.step = step;
    p.steps = steps;
    p.value = value;
    p.seconds = seconds_since(t0);
    callback(p);
}

/// config_error naming the first NaN or Inf of v: "<method>: b[17] = nan; <what> must be finite".
template <class Scalar>
void check_finite(const Vector<Scalar>& v, const char* name, const char* what, const std::string& method) {
    for (index_t i = 0; i < v.size(); ++i)
        if (!std::isfinite(static_cast<double>(v(i))))
            throw config_error(method + ": " + name + "[" + std::to_string(i) + "] = " +
                               std::to_string(static_cast<double>(v(i))) + "; " + what +
                               " must be finite (no NaN or Inf)");
}

/// b has A's data size and finite entries; shape_error / config_error otherwise.
template <class Scalar>
void check_rhs(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const std::string& method) {
    if (b.size() != A.data_size())
        throw shape_error(method + ": b has " + std::to_string(b.size()) + " entries but A has " +
                          std::to_string(A.data_size()) + " rows (data shape " + to_string(A.data_shape(), "x") + ")");
    check_finite(b, "b", "the right-hand side", method);
}

/// lower <= upper, lower not +inf and upper not -inf (they would exclude every value); config_error
/// "<method>: bounds lower=L, upper=U: <rule>" otherwise. NaN is refused by the first rule.
inline void check_bounds(double lower, double upper, const std::string& method) {
    const auto text = [&] {
        return method + ": bounds lower=" + std::to_string(lower) + ", upper=" + std::to_string(upper) + ": ";
    };
    if (!(lower <= upper)) throw config_error(text() + "lower must be <= upper (and neither NaN)");
    if (lower == std::numeric_limits<double>::infinity() || upper == -std::numeric_limits<double>::infinity())
        throw config_error(text() + "a lower bound of +inf or an upper bound of -inf excludes every value; "
                                    "an unbounded side is -inf (lower) or +inf (upper)");
}

inline void check_options(const SolverOptions& o, const std::string& method) {
    if ((std::isfinite(o.lower) || std::isfinite(o.upper) || o.accelerate) && method != "landweber")
        throw config_error(method + ": bounds (lower=" + std::to_string(o.lower) + ", upper=" +
                           std::to_string(o.upper) + ") and accelerate are supported by landweber only");
    check_bounds(o.lower, o.upper, method);
    auto nonneg = [](double v, const char* name) {
        if (!(v >= 0) || std::isinf(v))
            throw config_error(std::string(name) + "=" + std::to_string(v) + " must be finite and >= 0");
    };
    nonneg(o.damp, "damp");
    nonneg(o.gradient_weight, "gradient_weight");
    nonneg(o.atol, "atol");
    nonneg(o.btol, "btol");
    if (!(o.conlim >= 0)) throw config_error("conlim=" + std::to_string(o.conlim) + " must be >= 0");
    if (!std::isfinite(o.step))
        throw config_error("step=" + std::to_string(o.step) + " must be finite (<= 0: 1 / (||A||^2 + damp^2))");
    if (o.iter_lim < -1) throw config_error("iter_lim=" + std::to_string(o.iter_lim) + " must be >= 0 (or -1: 2n)");
}

inline index_t iteration_limit(const SolverOptions& o, index_t n) { return o.iter_lim < 0 ? 2 * n : o.iter_lim; }

/// The estimates every solver reports (scipy's names).
struct Estimates {
    double r1norm = 0, r2norm = 0, anorm = 0, acond = 0, arnorm = 0, xnorm = 0;
};

/// scipy's LSQR stopping tests on the estimates of iteration itn: 1 ||r|| small (btol, atol),
/// 2 least-squares solution (atol), 3 cond(A) >= conlim, 4-6 the same at machine precision, 7
/// the iteration limit, 0 none; with_cond = false leaves out 3 and 6 (no condition estimate).
/// test2 = arnorm / (anorm r2norm + guard), test3 = 1 / (acond + guard): guard = eps in scipy's
/// lsqr, 0 in its lsmr. A NaN passes no test, so it never reads as convergence; the iteration
/// limit still stops.
inline int stop_code(index_t itn, index_t iter_lim, const Estimates& e, double bnorm, const SolverOptions& o,
                     bool with_cond, double guard = kEps) {
    const double test1 = e.r2norm / bnorm;
    const double test2 = e.arnorm / (e.anorm * e.r2norm + guard);
    const double tt1 = test1 / (1 + e.anorm * e.xnorm / bnorm);
    const double rtol = o.btol + o.atol * e.anorm * e.xnorm / bnorm;
    int istop = 0;
    if (itn >= iter_lim) istop = 7;
    if (with_cond) {
        const double test3 = 1 / (e.acond + guard);
        const double ctol = o.conlim > 0 ? 1.0 / o.conlim : 0.0;
        if (1 + test3 <= 1) istop = 6;
        if (1 + test2 <= 1) istop = 5;
        if (1 + tt1 <= 1) istop = 4;
        if (test3 <= ctol) istop = 3;
    } else {
        if (1 + test2 <= 1) istop = 5;
        if (1 + tt1 <= 1) istop = 4;
    }
    if (test2 <= o.atol) istop = 2;
    if (test1 <= rtol) istop = 1;
    return istop;
}

/// scipy's _sym_ortho (Givens rotation of LSQR and LSMR): returns (c, s) and sets r with
/// [c s; -s c] [a; b] = [r; 0].
inline std::pair<double, double> sym_ortho(double a, double b, double& r) {
    auto sign = [](double v) { return v > 0 ? 1.0 : (v < 0 ? -1.0 : 0.0); };
    if (b == 0) {
        r = std::abs(a);
        return {sign(a), 0.0};
    }
    if (a == 0) {
        r = std::abs(b);
        return {0.0, sign(b)};
    }
    if (std::abs(b) > std::abs(a)) {
        const double tau = a / b;
        const double s = sign(b) / std::sqrt(1 + tau * tau);
        const double c = s * tau;
        r = b / s;
        return {c, s};
    }
    const double tau = b / a;
    const double c = sign(a) / std::sqrt(1 + tau * tau);
    const double s = c * tau;
    r = a / c;
    return {c, s};
}

/// The histories of a solve and its callback: one record per iterate.
template <class Scalar>
class IterationLog {
public:
    IterationLog(SolveResult<Scalar>& res, const char* method, index_t limit, const IterationCallback& callback)
        : res_(res), callback_(callback), t0_(SolverClock::now()) {
        info_.method = method;
        info_.iteration_limit = limit;
        // Grown by doubling beyond 2^16 iterations (amortized: a few reallocations in all).
        const auto n = static_cast<size_t>(std::min<index_t>(std::max<index_t>(limit, 0), index_t{1} << 16)) + 1;
        res_.residual_history.reserve(n);
        res_.normal_residual_history.reserve(n);
    }
    /// x_0's residual and normal residual.
    void initial(double r, double ar) {
        res_.residual_history.push_back(r);
        res_.normal_residual_history.push_back(ar);
    }
    /// Records iterate itn and returns its stop code: stop_code's tests, else istop_callback when
    /// the callback asks to stop, else 0.
    int stop(index_t itn, index_t iter_lim, const Estimates& e, double bnorm, const SolverOptions& o,
             bool with_cond, double guard = kEps) {
        const int istop = stop_code(itn, iter_lim, e, bnorm, o, with_cond, guard);
        return !record(itn, e.r1norm, e.arnorm, e.xnorm) && istop == 0 ? istop_callback : istop;
    }
    /// Records iterate k; false when the callback asks to stop.
    bool record(index_t k, double r, double ar, double xnorm) {
        res_.residual_history.push_back(r);
        res_.normal_residual_history.push_back(ar);
        if (!callback_) return true;
        info_.iteration = k;
        info_.residual_norm = r;
        info_.normal_residual = ar;
        info_.solution_norm = xnorm;
        info_.seconds = seconds_since(t0_);
        return callback_(info_);
    }

private:
    SolveResult<Scalar>& res_;
    const IterationCallback& callback_;
    IterationInfo info_;
    SolverClock::time_point t0_;
};

/// Moves the final iterate and the estimates into res.
template <class Scalar>
void fill_result(SolveResult<Scalar>& res, Vector<Scalar>&& x, int istop, index_t itn, const Estimates& e) {
    res.x = std::move(x);
    res.istop = istop;
    res.iterations = itn;
    res.r1norm = e.r1norm;
    res.r2norm = e.r2norm;
    res.anorm = e.anorm;
    res.acond = e.acond;
    res.arnorm = e.arnorm;
    res.xnorm = e.xnorm;
}

// ---- fused vector updates ----
// Each makes one pass over memory: the vectors are walked in chunks small enough to stay in
// the L1 cache, and each chunk is updated and measured by Eigen's vectorized kernels. Sums of
// squares are accumulated in double across chunks.

constexpr index_t kChunk = 512;

/// ||v||^2.
template <class Scalar>
double squared_norm(const Vector<Scalar>& v) {
    double vv = 0;
    for (index_t i = 0, n = v.size(); i < n; i += kChunk)
        vv += static_cast<double>(v.segment(i, std::min(kChunk, n - i)).squaredNorm());
    return vv;
}

/// y <- a x + c y; returns ||y||^2.
template <class Scalar>
double axpby_norm2(double a, const Vector<Scalar>& x, double c, Vector<Scalar>& y) {
    const Scalar sa = static_cast<Scalar>(a), sc = static_cast<Scalar>(c);
    double yy = 0;
    for (index_t i = 0, n = y.size(); i < n; i += kChunk) {
        const index_t len = std::min(kChunk, n - i);
        auto yi = y.segment(i, len);
        yi = sa * x.segment(i, len) + sc * yi;
        yy += static_cast<double>(yi.squaredNorm());
    }
    return yy;
}

// ---- the driver ----

/// Checks the arguments, chooses lambda when asked, iterates on A or [A; mu D] (with [b; 0])
/// by `iterate(op, rhs, options)` and measures the returned x against A and b.
template <class Scalar, class Iterate>
SolveResult<Scalar> run_solver(const char* method, const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                               const SolverOptions& options, Iterate iterate) {
    const auto t0 = SolverClock::now();
    check_rhs(A, b, method);
    check_options(options, method);
    SolverOptions o = options;
    std::optional<LambdaChoice> choice;
    if (o.auto_lambda) {
        choice = choose_lambda<Scalar>(A, b, o.regularizer, o.lambda, o.gradient_shape);
        (o.regularizer == Regularizer::tikhonov ? o.damp : o.gradient_weight) = choice->lambda;
        o.auto_lambda = false;
    }
    std::shared_ptr<const LinearOperator<Scalar>> D;
    SolveResult<Scalar> res;
    if (o.gradient_weight > 0) {
        D = gradient_operator<Scalar>(o.gradient_shape.empty() ? default_gradient_shape(A.model_shape())
                                                               : o.gradient_shape);
        if (D->model_size() != A.model_size())
            throw shape_error(std::string(method) + ": gradient_shape " + to_string(D->model_shape(), "x") + " has " +
                              std::to_string(D->model_size()) + " entries but A has " +
                              std::to_string(A.model_size()) + " columns");
        // A is borrowed for the duration of the call: a shared_ptr that owns nothing.
        const std::shared_ptr<const LinearOperator<Scalar>> a(std::shared_ptr<void>(), &A);
        const auto stacked = stack_operators<Scalar>(a, D, o.gradient_weight);
        Vector<Scalar> rhs = Vector<Scalar>::Zero(stacked->data_size());
        rhs.head(b.size()) = b;
        res = iterate(*stacked, rhs, o);
    } else {
        res = iterate(A, b, o);
    }
    res.lambda_choice = std::move(choice);
    res.damp = o.damp;
    res.gradient_weight = o.gradient_weight;
    res.residual_norm = static_cast<double>((b - Vector<Scalar>(A.apply(res.x))).norm());
    res.penalty_norm = D ? static_cast<double>(D->apply(res.x).norm()) : static_cast<double>(res.x.norm());
    res.seconds = seconds_since(t0);
    return res;
}

}  // namespace convmtx::detail
