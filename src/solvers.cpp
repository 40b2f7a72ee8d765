// CGLS, LSQR (scipy port), Landweber, the gradient regularizer and the automatic
// choice of the regularization weight.
#include "convmtx/solvers.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <sstream>

#include <Eigen/SVD>

namespace convmtx {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kEps = std::numeric_limits<double>::epsilon();

template <class Scalar>
double norm(const Vector<Scalar>& v) {
    return static_cast<double>(v.norm());
}

template <class Scalar>
Vector<Scalar> matvec(const LinearOperator<Scalar>& A, const Vector<Scalar>& v) {
    return A.apply(v);
}
template <class Scalar>
Vector<Scalar> rmatvec(const LinearOperator<Scalar>& A, const Vector<Scalar>& v) {
    return A.apply_adjoint(v);
}

template <class Scalar>
void check_rhs(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const char* method) {
    if (b.size() != A.data_size())
        throw shape_error(std::string(method) + ": b has " + std::to_string(b.size()) + " entries but A has " +
                          std::to_string(A.data_size()) + " rows (data shape " + to_string(A.data_shape(), "x") + ")");
}

void check_options(const SolverOptions& o, const char* method) {
    if ((std::isfinite(o.lower) || std::isfinite(o.upper) || o.accelerate) && std::string(method) != "landweber")
        throw config_error(std::string(method) + ": bounds (lower=" + std::to_string(o.lower) + ", upper=" +
                           std::to_string(o.upper) + ") and accelerate are supported by landweber only");
    if (!(o.lower <= o.upper))
        throw config_error("lower=" + std::to_string(o.lower) + " must be <= upper=" + std::to_string(o.upper));
    auto nonneg = [](double v, const char* name) {
        if (!(v >= 0) || std::isinf(v))
            throw config_error(std::string(name) + "=" + std::to_string(v) + " must be finite and >= 0");
    };
    nonneg(o.damp, "damp");
    nonneg(o.gradient_weight, "gradient_weight");
    nonneg(o.atol, "atol");
    nonneg(o.btol, "btol");
    if (!(o.conlim >= 0)) throw config_error("conlim=" + std::to_string(o.conlim) + " must be >= 0");
    if (o.iter_lim < -1) throw config_error("iter_lim=" + std::to_string(o.iter_lim) + " must be >= 0 (or -1: 2n)");
}

/// Status line on stderr, only when stderr is a terminal.
struct Progress {
    bool on;
    const char* method;
    index_t limit;
    Clock::time_point last = Clock::now();
    Progress(bool enabled, const char* m, index_t lim) : on(enabled && isatty(2)), method(m), limit(lim) {}
    /// For the lambda search: "<method>: trial it/limit  lambda = r".
    void trial(index_t it, double r) {
        if (!on) return;
        std::fprintf(stderr, "\r%s: trial %lld/%lld  lambda = %.4e   ", method, static_cast<long long>(it),
                     static_cast<long long>(limit), r);
        std::fflush(stderr);
    }
    void update(index_t it, double r, double ar) {
        if (!on) return;
        const auto now = Clock::now();
        if (it > 1 && now - last < std::chrono::milliseconds(100)) return;
        last = now;
        std::fprintf(stderr, "\r%s: iteration %lld/%lld  ||r|| = %.4e  ||A^T r|| = %.3e   ", method,
                     static_cast<long long>(it), static_cast<long long>(limit), r, ar);
        std::fflush(stderr);
    }
    ~Progress() {
        if (on) std::fprintf(stderr, "\r%*s\r", 79, "");
    }
};

/// The operator actually solved: A, or [A; mu D] when a gradient weight is set.
template <class Scalar>
struct Problem {
    std::shared_ptr<const LinearOperator<Scalar>> stacked;  // null when mu = 0
    const LinearOperator<Scalar>* op = nullptr;
    Vector<Scalar> rhs;
};

struct NonOwning {
    template <class T>
    void operator()(T*) const {}
};

template <class Scalar>
Problem<Scalar> make_problem(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, double mu, const Shape& gshape) {
    Problem<Scalar> p;
    if (mu > 0) {
        std::shared_ptr<const LinearOperator<Scalar>> a(&A, NonOwning{});
        auto D = gradient_operator<Scalar>(gshape.empty() ? default_gradient_shape(A.model_shape()) : gshape);
        if (D->model_size() != A.model_size())
            throw shape_error("gradient_shape " + to_string(D->model_shape(), "x") + " has " +
                              std::to_string(D->model_size()) + " entries but A has " + std::to_string(A.model_size()) +
                              " columns");
        p.stacked = stack_operators<Scalar>(a, D, mu);
        p.op = p.stacked.get();
        p.rhs = Vector<Scalar>::Zero(p.op->data_size());
        p.rhs.head(b.size()) = b;
    } else {
        p.op = &A;
        p.rhs = b;
    }
    return p;
}

/// Applies auto_lambda: returns the options with the chosen weight filled in.
template <class Scalar>
SolverOptions resolve_lambda(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& in,
                             std::optional<LambdaChoice>& choice) {
    SolverOptions o = in;
    if (!in.auto_lambda) return o;
    choice = choose_lambda<Scalar>(A, b, in.regularizer, in.lambda, in.gradient_shape);
    if (in.regularizer == Regularizer::tikhonov) o.damp = choice->lambda;
    else o.gradient_weight = choice->lambda;
    o.auto_lambda = false;
    return o;
}

template <class Scalar>
void finish(SolveResult<Scalar>& res, const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o,
            Clock::time_point t0) {
    res.damp = o.damp;
    res.gradient_weight = o.gradient_weight;
    res.residual_norm = norm<Scalar>(b - matvec(A, res.x));
    if (o.gradient_weight > 0) {
        auto D = gradient_operator<Scalar>(o.gradient_shape.empty() ? default_gradient_shape(A.model_shape())
                                                                    : o.gradient_shape);
        res.penalty_norm = norm<Scalar>(matvec<Scalar>(*D, res.x));
    } else {
        res.penalty_norm = norm<Scalar>(res.x);
    }
    res.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
}

std::pair<double, double> sym_ortho_cs(double a, double b, double& r) {
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

template <class Scalar>
SolveResult<Scalar> lsqr_impl(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o) {
    const index_t n = A.model_size();
    const index_t iter_lim = o.iter_lim < 0 ? 2 * n : o.iter_lim;
    const double damp = o.damp, dampsq = damp * damp;
    const double atol = o.atol, btol = o.btol;
    const double ctol = o.conlim > 0 ? 1.0 / o.conlim : 0.0;
    SolveResult<Scalar> res;
    res.method = "lsqr";
    double anorm = 0, acond = 0, ddnorm = 0, res2 = 0, xnorm = 0, xxnorm = 0, z = 0, cs2 = -1, sn2 = 0;
    int istop = 0;
    index_t itn = 0;
    Vector<Scalar> u = b;
    const double bnorm = norm<Scalar>(b);
    Vector<Scalar> x = Vector<Scalar>::Zero(n), v;
    double beta = bnorm, alfa = 0;
    if (beta > 0) {
        u *= static_cast<Scalar>(1 / beta);
        v = rmatvec(A, u);
        alfa = norm<Scalar>(v);
    } else {
        v = x;
    }
    if (alfa > 0) v *= static_cast<Scalar>(1 / alfa);
    Vector<Scalar> w = v;
    double rhobar = alfa, phibar = beta, rnorm = beta, r1norm = rnorm, r2norm = rnorm;
    double arnorm = alfa * beta;
    res.residual_history.push_back(r1norm);
    res.normal_residual_history.push_back(arnorm);
    if (arnorm != 0) {
        Progress progress(o.progress, "lsqr", iter_lim);
        while (itn < iter_lim) {
            ++itn;
            u = matvec(A, v) - static_cast<Scalar>(alfa) * u;
            beta = norm<Scalar>(u);
            if (beta > 0) {
                u *= static_cast<Scalar>(1 / beta);
                anorm = std::sqrt(anorm * anorm + alfa * alfa + beta * beta + dampsq);
                v = rmatvec(A, u) - static_cast<Scalar>(beta) * v;
                alfa = norm<Scalar>(v);
                if (alfa > 0) v *= static_cast<Scalar>(1 / alfa);
            }
            double rhobar1, psi;
            if (damp > 0) {
                rhobar1 = std::sqrt(rhobar * rhobar + dampsq);
                const double cs1 = rhobar / rhobar1, sn1 = damp / rhobar1;
                psi = sn1 * phibar;
                phibar = cs1 * phibar;
            } else {
                rhobar1 = rhobar;
                psi = 0;
            }
            double rho;
            const auto [cs, sn] = sym_ortho_cs(rhobar1, beta, rho);
            const double theta = sn * alfa;
            rhobar = -cs * alfa;
            const double phi = cs * phibar;
            phibar = sn * phibar;
            const double tau = sn * phi;
            const double t1 = phi / rho, t2 = -theta / rho;
            ddnorm += (w.squaredNorm() / (rho * rho));
            x += static_cast<Scalar>(t1) * w;
            w = v + static_cast<Scalar>(t2) * w;
            const double delta = sn2 * rho, gambar = -cs2 * rho;
            const double rhs = phi - delta * z, zbar = rhs / gambar;
            xnorm = std::sqrt(xxnorm + zbar * zbar);
            const double gamma = std::sqrt(gambar * gambar + theta * theta);
            cs2 = gambar / gamma;
            sn2 = theta / gamma;
            z = rhs / gamma;
            xxnorm += z * z;
            acond = anorm * std::sqrt(ddnorm);
            const double res1 = phibar * phibar;
            res2 += psi * psi;
            rnorm = std::sqrt(res1 + res2);
            arnorm = alfa * std::abs(tau);
            if (damp > 0) {
                const double r1sq = rnorm * rnorm - dampsq * xxnorm;
                r1norm = std::sqrt(std::abs(r1sq));
                if (r1sq < 0) r1norm = -r1norm;
            } else {
                r1norm = rnorm;
            }
            r2norm = rnorm;
            const double test1 = rnorm / bnorm;
            const double test2 = arnorm / (anorm * rnorm + kEps);
            const double test3 = 1 / (acond + kEps);
            const double tt1 = test1 / (1 + anorm * xnorm / bnorm);
            const double rtol = btol + atol * anorm * xnorm / bnorm;
            if (itn >= iter_lim) istop = 7;
            if (1 + test3 <= 1) istop = 6;
            if (1 + test2 <= 1) istop = 5;
            if (1 + tt1 <= 1) istop = 4;
            if (test3 <= ctol) istop = 3;
            if (test2 <= atol) istop = 2;
            if (test1 <= rtol) istop = 1;
            res.residual_history.push_back(r1norm);
            res.normal_residual_history.push_back(arnorm);
            progress.update(itn, r1norm, arnorm);
            if (o.callback && !o.callback(IterationInfo{"lsqr", itn, r1norm, arnorm, xnorm}) && istop == 0) istop = 8;
            if (istop != 0) break;
        }
    }
    res.x = std::move(x);
    res.istop = istop;
    res.iterations = itn;
    res.r1norm = r1norm;
    res.r2norm = r2norm;
    res.anorm = anorm;
    res.acond = acond;
    res.arnorm = arnorm;
    res.xnorm = xnorm;
    return res;
}

/// The stopping tests shared by CGLS and Landweber (scipy's tests 1 and 2 and their
/// machine-precision forms). r2 = sqrt(||r||^2 + damp^2 ||x||^2), ar = ||A^T r - damp^2 x||.
int stop_test(index_t itn, index_t iter_lim, double r2, double ar, double anorm, double xnorm, double bnorm,
              const SolverOptions& o) {
    int istop = 0;
    const double test1 = r2 / bnorm, test2 = ar / (anorm * r2 + kEps);
    const double tt1 = test1 / (1 + anorm * xnorm / bnorm);
    const double rtol = o.btol + o.atol * anorm * xnorm / bnorm;
    if (itn >= iter_lim) istop = 7;
    if (1 + test2 <= 1) istop = 5;
    if (1 + tt1 <= 1) istop = 4;
    if (test2 <= o.atol) istop = 2;
    if (test1 <= rtol) istop = 1;
    return istop;
}

template <class Scalar>
SolveResult<Scalar> cgls_impl(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o) {
    const index_t n = A.model_size();
    const index_t iter_lim = o.iter_lim < 0 ? 2 * n : o.iter_lim;
    const Scalar d2 = static_cast<Scalar>(o.damp * o.damp);
    SolveResult<Scalar> res;
    res.method = "cgls";
    Vector<Scalar> x = Vector<Scalar>::Zero(n);
    Vector<Scalar> r = b;
    Vector<Scalar> s = rmatvec(A, r);
    Vector<Scalar> p = s;
    double gamma = static_cast<double>(s.squaredNorm());
    const double bnorm = norm<Scalar>(b);
    double rn = bnorm, xnorm = 0, anorm = 0, r2 = bnorm, ar = std::sqrt(gamma);
    res.residual_history.push_back(rn);
    res.normal_residual_history.push_back(ar);
    int istop = 0;
    index_t itn = 0;
    if (bnorm > 0 && gamma > 0) {
        Progress progress(o.progress, "cgls", iter_lim);
        while (itn < iter_lim) {
            ++itn;
            const Vector<Scalar> q = matvec(A, p);
            const double pp = static_cast<double>(p.squaredNorm());
            const double delta = static_cast<double>(q.squaredNorm()) + static_cast<double>(d2) * pp;
            if (!(delta > 0)) {
                istop = 2;
                break;
            }
            anorm = std::max(anorm, std::sqrt(delta / pp));
            const double alpha = gamma / delta;
            x += static_cast<Scalar>(alpha) * p;
            r -= static_cast<Scalar>(alpha) * q;
            s = rmatvec(A, r) - d2 * x;
            const double gamma_new = static_cast<double>(s.squaredNorm());
            p = s + static_cast<Scalar>(gamma_new / gamma) * p;
            gamma = gamma_new;
            rn = norm<Scalar>(r);
            xnorm = norm<Scalar>(x);
            r2 = std::sqrt(rn * rn + o.damp * o.damp * xnorm * xnorm);
            ar = std::sqrt(gamma);
            istop = stop_test(itn, iter_lim, r2, ar, anorm, xnorm, bnorm, o);
            res.residual_history.push_back(rn);
            res.normal_residual_history.push_back(ar);
            progress.update(itn, rn, ar);
            if (o.callback && !o.callback(IterationInfo{"cgls", itn, rn, ar, xnorm}) && istop == 0) istop = 8;
            if (istop != 0 || gamma == 0) break;
        }
    }
    res.x = std::move(x);
    res.istop = istop;
    res.iterations = itn;
    res.r1norm = rn;
    res.r2norm = r2;
    res.anorm = anorm;
    res.arnorm = ar;
    res.xnorm = xnorm;
    return res;
}

template <class Scalar>
SolveResult<Scalar> landweber_impl(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& o) {
    const index_t n = A.model_size();
    const index_t iter_lim = o.iter_lim < 0 ? 2 * n : o.iter_lim;
    const double d2 = o.damp * o.damp;
    SolveResult<Scalar> res;
    res.method = "landweber";
    double norm2 = 0;
    double tau = o.step;
    if (!(tau > 0)) {
        norm2 = estimate_norm_squared<Scalar>(A, o.power_iterations);
        // The Rayleigh quotient underestimates ||A||^2; 1/norm2 stays below the limit 2/||A||^2
        // as long as the estimate is more than half the true value.
        tau = norm2 + d2 > 0 ? 1.0 / (norm2 + d2) : 1.0;
    } else {
        norm2 = 1.0 / tau - d2;
    }
    const double anorm = std::sqrt(std::max(norm2, 0.0) + d2);
    const bool bounded = std::isfinite(o.lower) || std::isfinite(o.upper);
    const Scalar lo = static_cast<Scalar>(std::max(o.lower, -static_cast<double>(std::numeric_limits<Scalar>::max())));
    const Scalar hi = static_cast<Scalar>(std::min(o.upper, static_cast<double>(std::numeric_limits<Scalar>::max())));
    auto project = [&](Vector<Scalar>& v) {
        if (bounded) v = v.cwiseMax(lo).cwiseMin(hi);
    };
    Vector<Scalar> x = Vector<Scalar>::Zero(n);
    project(x);
    Vector<Scalar> r = b - matvec(A, x);
    const double bnorm = norm<Scalar>(b);
    Vector<Scalar> g = rmatvec(A, r) - static_cast<Scalar>(d2) * x;
    double rn = norm<Scalar>(r), xnorm = norm<Scalar>(x), r2 = std::sqrt(rn * rn + d2 * xnorm * xnorm);
    double ar = norm<Scalar>(g);
    res.residual_history.push_back(rn);
    res.normal_residual_history.push_back(ar);
    int istop = 0;
    index_t itn = 0;
    Vector<Scalar> y = x, xn;
    double t = 1;
    if (bnorm > 0 && ar > 0) {
        Progress progress(o.progress, "landweber", iter_lim);
        while (itn < iter_lim) {
            ++itn;
            // g is the gradient direction A^T (b - A y) - damp^2 y at y (y = x without momentum).
            xn = y + static_cast<Scalar>(tau) * g;
            project(xn);
            ar = norm<Scalar>(Vector<Scalar>(xn - y)) / tau;  // gradient mapping; = ||g|| when unbounded
            if (o.accelerate) {
                const double tn = (1 + std::sqrt(1 + 4 * t * t)) / 2;
                y = xn + static_cast<Scalar>((t - 1) / tn) * (xn - x);
                t = tn;
            }
            x.swap(xn);
            r = b - matvec(A, x);
            if (o.accelerate) {
                g = rmatvec(A, Vector<Scalar>(b - matvec(A, y))) - static_cast<Scalar>(d2) * y;
            } else {
                y = x;
                g = rmatvec(A, r) - static_cast<Scalar>(d2) * x;
            }
            rn = norm<Scalar>(r);
            xnorm = norm<Scalar>(x);
            r2 = std::sqrt(rn * rn + d2 * xnorm * xnorm);
            istop = stop_test(itn, iter_lim, r2, ar, anorm, xnorm, bnorm, o);
            res.residual_history.push_back(rn);
            res.normal_residual_history.push_back(ar);
            progress.update(itn, rn, ar);
            if (o.callback && !o.callback(IterationInfo{"landweber", itn, rn, ar, xnorm}) && istop == 0) istop = 8;
            if (istop != 0) break;
        }
    }
    res.x = std::move(x);
    res.istop = istop;
    res.iterations = itn;
    res.r1norm = rn;
    res.r2norm = r2;
    res.anorm = anorm;
    res.arnorm = ar;
    res.xnorm = xnorm;
    return res;
}


template <class Scalar, class Impl>
SolveResult<Scalar> run_solver(const char* name, const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                               const SolverOptions& options, Impl impl) {
    const auto t0 = Clock::now();
    check_rhs(A, b, name);
    check_options(options, name);
    std::optional<LambdaChoice> choice;
    const SolverOptions o = resolve_lambda(A, b, options, choice);
    const Problem<Scalar> p = make_problem(A, b, o.gradient_weight, o.gradient_shape);
    SolveResult<Scalar> res = impl(*p.op, p.rhs, o);
    res.lambda_choice = std::move(choice);
    finish(res, A, b, o, t0);
    return res;
}

// ---- regularization-parameter choice ----

/// Maximum-curvature point of the parametric curve (log rho(t), log eta(t)), t = log lambda.
size_t lcurve_corner(const std::vector<double>& lam, const std::vector<double>& rho, const std::vector<double>& eta,
                     std::vector<double>& kappa) {
    const size_t n = lam.size();
    kappa.assign(n, 0.0);
    if (n < 3) return 0;
    std::vector<double> t(n), a(n), c(n);
    for (size_t i = 0; i < n; ++i) {
        t[i] = std::log(lam[i]);
        a[i] = std::log(std::max(rho[i], 1e-300));
        c[i] = std::log(std::max(eta[i], 1e-300));
    }
    size_t best = 1;
    double bestk = -std::numeric_limits<double>::infinity();
    for (size_t i = 1; i + 1 < n; ++i) {
        const double h1 = t[i] - t[i - 1], h2 = t[i + 1] - t[i];
        auto d1 = [&](const std::vector<double>& f) {
            return (f[i + 1] - f[i - 1]) / (h1 + h2);
        };
        auto d2 = [&](const std::vector<double>& f) {
            return 2 * ((f[i + 1] - f[i]) / h2 - (f[i] - f[i - 1]) / h1) / (h1 + h2);
        };
        const double a1 = d1(a), a2 = d2(a), c1 = d1(c), c2 = d2(c);
        const double den = std::pow(a1 * a1 + c1 * c1, 1.5);
        // The L-curve's corner bends towards the origin: positive a1 c2 - a2 c1 with this orientation.
        kappa[i] = den > 0 ? (a1 * c2 - a2 * c1) / den : 0.0;
        if (kappa[i] > bestk) {
            bestk = kappa[i];
            best = i;
        }
    }
    return best;
}

/// The projected Tikhonov problem of k Golub-Kahan steps: residual and solution norms
/// for any lambda through the SVD of the (k+1) x k lower-bidiagonal B_k.
struct Projected {
    Eigen::VectorXd sig, c;  // singular values of B_k, U^T (beta1 e1)
    double tail = 0;         // sum of c_i^2 beyond the singular values
    Projected(const std::vector<double>& alphas, const std::vector<double>& betas, index_t k, double beta1) {
        Eigen::MatrixXd B = Eigen::MatrixXd::Zero(k + 1, k);
        for (index_t i = 0; i < k; ++i) {
            B(i, i) = alphas[static_cast<size_t>(i)];
            B(i + 1, i) = betas[static_cast<size_t>(i)];
        }
        Eigen::BDCSVD<Eigen::MatrixXd> svd(B, Eigen::ComputeFullU);
        sig = svd.singularValues();
        c = beta1 * svd.matrixU().row(0).transpose();
        for (index_t i = sig.size(); i < c.size(); ++i) tail += c(i) * c(i);
    }
    /// rho = ||B y - beta1 e1||, eta = ||y||, trace = sum of the filter factors s^2/(s^2 + lambda^2).
    void eval(double lam, double& rho, double& eta, double& trace) const {
        double r2 = tail, x2 = 0, tr = 0;
        for (index_t i = 0; i < sig.size(); ++i) {
            const double s2 = sig(i) * sig(i), f = s2 / (s2 + lam * lam);
            r2 += (1 - f) * (1 - f) * c(i) * c(i);
            if (sig(i) > 0) x2 += (f * c(i) / sig(i)) * (f * c(i) / sig(i));
            tr += f;
        }
        rho = std::sqrt(r2);
        eta = std::sqrt(x2);
        trace = tr;
    }
};

template <class Scalar>
LambdaChoice choose_tikhonov(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const LambdaOptions& opt,
                             LambdaRule rule) {
    LambdaChoice ch;
    ch.regularizer = Regularizer::tikhonov;
    ch.rule = rule;
    const index_t m = A.data_size();
    const index_t kmax = std::max<index_t>(2, std::min({opt.krylov_steps, A.model_size(), m}));
    const double beta1 = norm<Scalar>(b);
    if (beta1 == 0) {
        ch.note = "b = 0: every lambda gives x = 0";
        return ch;
    }
    // Golub-Kahan bidiagonalization A V_k = U_{k+1} B_k with beta_1 u_1 = b, extended on demand.
    std::vector<double> alphas, betas;  // B(i,i) = alphas[i], B(i+1,i) = betas[i]
    Vector<Scalar> u = b / static_cast<Scalar>(beta1);
    Vector<Scalar> v = rmatvec(A, u);
    double alfa = norm<Scalar>(v);
    bool exhausted = false;
    auto extend = [&](index_t k) {
        while (static_cast<index_t>(alphas.size()) < k && !exhausted) {
            if (!(alfa > 0)) {
                exhausted = true;
                break;
            }
            v /= static_cast<Scalar>(alfa);
            alphas.push_back(alfa);
            u = matvec(A, v) - static_cast<Scalar>(alfa) * u;
            const double beta = norm<Scalar>(u);
            betas.push_back(beta);
            if (!(beta > 0)) {
                exhausted = true;
                break;
            }
            u /= static_cast<Scalar>(beta);
            v = rmatvec(A, u) - static_cast<Scalar>(beta) * v;
            alfa = norm<Scalar>(v);
        }
    };
    index_t k = std::min<index_t>(kmax, 40);
    const index_t npts = std::max<index_t>(opt.grid_points, 5);
    for (;;) {
        extend(k);
        k = static_cast<index_t>(alphas.size());
        if (k == 0) {
            ch.note = "A^T b = 0: the solution is 0 for every lambda";
            return ch;
        }
        const Projected P(alphas, betas, k, beta1);
        // A lambda is resolved when the projected solution no longer changes with k (2k/3 -> k steps).
        const Projected Q(alphas, betas, std::max<index_t>(1, 2 * k / 3), beta1);
        const double smax = P.sig(0);
        const double lo = std::log(smax * 1e-7), hi = std::log(smax * 2);
        ch.lambdas.clear();
        ch.residual_norms.clear();
        ch.penalty_norms.clear();
        ch.criterion.clear();
        std::vector<double> traces;
        size_t first_resolved = static_cast<size_t>(npts);  // all lambdas from here on are resolved
        for (index_t i = npts - 1; i >= 0; --i) {
            const double lam = std::exp(lo + (hi - lo) * i / (npts - 1));
            double rho, eta, tr, rho2, eta2, tr2;
            P.eval(lam, rho, eta, tr);
            Q.eval(lam, rho2, eta2, tr2);
            const bool ok = std::abs(rho - rho2) <= 1e-3 * rho && std::abs(eta - eta2) <= 1e-3 * eta;
            if (ok && first_resolved == static_cast<size_t>(i + 1)) first_resolved = static_cast<size_t>(i);
            ch.lambdas.push_back(lam);
            ch.residual_norms.push_back(rho);
            ch.penalty_norms.push_back(eta);
            traces.push_back(tr);
        }
        std::reverse(ch.lambdas.begin(), ch.lambdas.end());
        std::reverse(ch.residual_norms.begin(), ch.residual_norms.end());
        std::reverse(ch.penalty_norms.begin(), ch.penalty_norms.end());
        std::reverse(traces.begin(), traces.end());
        if (exhausted) first_resolved = 0;  // the Krylov space is invariant: the projection is exact
        for (size_t i = 0; i < ch.lambdas.size(); ++i) {
            const double den = static_cast<double>(m) - traces[i];
            (void)den;
            ch.criterion.push_back(ch.residual_norms[i]);
        }
        const bool can_extend = !exhausted && k < kmax;
        const size_t lo_i = std::min(first_resolved, ch.lambdas.size() - 1);
        bool at_edge = false;
        if (rule == LambdaRule::discrepancy) {
            ch.target = opt.tau * opt.noise_sigma * std::sqrt(static_cast<double>(m));
            if (ch.residual_norms[lo_i] >= ch.target) {
                at_edge = true;
                ch.lambda = ch.lambdas[lo_i];
                if (!can_extend) ch.note = "no resolved lambda reaches the target residual: the smallest resolved lambda was taken";
            } else if (ch.residual_norms.back() <= ch.target) {
                ch.lambda = ch.lambdas.back();
                ch.note = "the residual stays below the target: the largest lambda was taken";
            } else {
                double a = std::log(ch.lambdas[lo_i]), z = hi;
                for (int it = 0; it < 100; ++it) {
                    const double mid = 0.5 * (a + z);
                    double rho, eta, tr;
                    P.eval(std::exp(mid), rho, eta, tr);
                    (rho < ch.target ? a : z) = mid;
                }
                ch.lambda = std::exp(0.5 * (a + z));
            }
        } else {
            std::vector<double> lam(ch.lambdas.begin() + static_cast<std::ptrdiff_t>(lo_i), ch.lambdas.end());
            std::vector<double> rho(ch.residual_norms.begin() + static_cast<std::ptrdiff_t>(lo_i), ch.residual_norms.end());
            std::vector<double> eta(ch.penalty_norms.begin() + static_cast<std::ptrdiff_t>(lo_i), ch.penalty_norms.end());
            std::vector<double> kappa;
            const size_t best = lcurve_corner(lam, rho, eta, kappa);
            ch.criterion.assign(lo_i, 0.0);
            ch.criterion.insert(ch.criterion.end(), kappa.begin(), kappa.end());
            ch.lambda = lam[best];
            at_edge = best <= 1 && lo_i > 0;
            if (at_edge && !can_extend) ch.note = "the L-curve corner is at the smallest resolved lambda";
        }
        if (!(at_edge && can_extend)) break;
        k = std::min(kmax, k * 2);
    }
    std::ostringstream note;
    if (!ch.note.empty()) note << ch.note << "; ";
    note << "projected on " << k << " Golub-Kahan steps";
    ch.note = note.str();
    return ch;
}

/// The weight chosen from full LSQR solves (gradient regularizer; GCV for both regularizers).
template <class Scalar>
LambdaChoice choose_by_solves(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const LambdaOptions& opt,
                              LambdaRule rule, Regularizer reg, const Shape& gshape) {
    LambdaChoice ch;
    ch.regularizer = reg;
    ch.rule = rule;
    const Shape shape = gshape.empty() ? default_gradient_shape(A.model_shape()) : gshape;
    const double anorm = std::sqrt(estimate_norm_squared<Scalar>(A, 30));
    SolverOptions so;
    so.iter_lim = std::max<index_t>(1, opt.trial_iterations);
    so.atol = so.btol = 1e-6;
    so.gradient_shape = shape;
    auto solve = [&](double lam, const Vector<Scalar>& rhs) {
        if (reg == Regularizer::tikhonov) so.damp = lam;
        else so.gradient_weight = lam;
        return run_solver<Scalar>("lsqr", A, rhs, so, lsqr_impl<Scalar>);
    };
    const index_t m = A.data_size();
    const index_t npts = std::max<index_t>(opt.trial_solves, 4);
    // GCV's trace(A A_lambda^#) by Hutchinson's estimator z^T A x_lambda(z) with one fixed Rademacher z.
    Vector<Scalar> z;
    if (rule == LambdaRule::gcv) {
        std::mt19937_64 rng(12345);
        z.resize(m);
        for (index_t i = 0; i < m; ++i) z(i) = (rng() & 1) ? Scalar(1) : Scalar(-1);
    }
    Progress progress(opt.progress, rule == LambdaRule::gcv ? "lambda by GCV" : "lambda", npts);
    auto point = [&](double lam) {
        progress.trial(static_cast<index_t>(ch.lambdas.size()) + 1, lam);
        const SolveResult<Scalar> r = solve(lam, b);
        ch.lambdas.push_back(lam);
        ch.residual_norms.push_back(r.residual_norm);
        ch.penalty_norms.push_back(r.penalty_norm);
        double crit = r.residual_norm;
        if (rule == LambdaRule::gcv) {
            const SolveResult<Scalar> rz = solve(lam, z);
            const double trace = static_cast<double>(z.dot(matvec(A, rz.x)));
            const double den = static_cast<double>(m) - trace;
            crit = r.residual_norm * r.residual_norm / (den * den);
        }
        ch.criterion.push_back(crit);
        return crit;
    };
    double lo = std::log(anorm * 1e-4), hi = std::log(anorm * 2);
    if (rule == LambdaRule::discrepancy) {
        ch.target = opt.tau * opt.noise_sigma * std::sqrt(static_cast<double>(m));
        double a = lo, zhi = hi;
        if (point(std::exp(a)) >= ch.target) {
            ch.lambda = std::exp(a);
            ch.note = "every residual exceeds the target: the smallest lambda was taken";
            return ch;
        }
        for (index_t it = 1; it < npts; ++it) {
            const double mid = 0.5 * (a + zhi);
            (point(std::exp(mid)) < ch.target ? a : zhi) = mid;
        }
        ch.lambda = std::exp(0.5 * (a + zhi));
        ch.note = "bisection over " + std::to_string(npts) + " LSQR solves";
        return ch;
    }
    if (rule == LambdaRule::gcv) lo = std::log(anorm * 1e-3);
    const index_t ngrid = rule == LambdaRule::gcv ? std::max<index_t>(npts - 6, 4) : npts;
    for (index_t i = 0; i < ngrid; ++i) point(std::exp(lo + (hi - lo) * i / (ngrid - 1)));
    if (rule == LambdaRule::gcv) {
        size_t best = 0;
        for (size_t i = 1; i < ch.criterion.size(); ++i)
            if (ch.criterion[i] < ch.criterion[best]) best = i;
        double a = std::log(ch.lambdas[best > 0 ? best - 1 : 0]);
        double zz = std::log(ch.lambdas[std::min(best + 1, ch.lambdas.size() - 1)]);
        double bestlam = ch.lambdas[best], bestg = ch.criterion[best];
        // Golden-section refinement between the grid neighbours of the minimum.
        const double gr = (std::sqrt(5.0) - 1) / 2;
        double p = zz - gr * (zz - a), q = a + gr * (zz - a);
        double gp = point(std::exp(p)), gq = point(std::exp(q));
        for (int it = 0; it < 4; ++it) {
            if (gp < gq) {
                zz = q;
                q = p;
                gq = gp;
                p = zz - gr * (zz - a);
                gp = point(std::exp(p));
            } else {
                a = p;
                p = q;
                gp = gq;
                q = a + gr * (zz - a);
                gq = point(std::exp(q));
            }
        }
        for (size_t i = 0; i < ch.criterion.size(); ++i)
            if (ch.criterion[i] < bestg) {
                bestg = ch.criterion[i];
                bestlam = ch.lambdas[i];
            }
        ch.lambda = bestlam;
        if (best == 0 || best + 1 == static_cast<size_t>(ngrid))
            ch.note = "the GCV minimum is at the end of the examined range; ";
        ch.note += "GCV over " + std::to_string(ch.lambdas.size()) + " pairs of LSQR solves (Hutchinson trace)";
        return ch;
    }
    const size_t best = lcurve_corner(ch.lambdas, ch.residual_norms, ch.penalty_norms, ch.criterion);
    ch.lambda = ch.lambdas[best];
    ch.note = "L-curve over " + std::to_string(npts) + " LSQR solves";
    return ch;
}

}  // namespace

std::string to_string(Regularizer r) { return r == Regularizer::tikhonov ? "tikhonov" : "gradient"; }

std::string to_string(LambdaRule r) {
    switch (r) {
        case LambdaRule::automatic: return "auto";
        case LambdaRule::discrepancy: return "discrepancy";
        case LambdaRule::gcv: return "gcv";
        case LambdaRule::lcurve: return "lcurve";
    }
    return "?";
}

Regularizer parse_regularizer(const std::string& name) {
    if (name == "tikhonov") return Regularizer::tikhonov;
    if (name == "gradient") return Regularizer::gradient;
    throw config_error("regularizer='" + name + "' must be 'tikhonov' or 'gradient'");
}

LambdaRule parse_lambda_rule(const std::string& name) {
    if (name == "auto" || name == "automatic") return LambdaRule::automatic;
    if (name == "discrepancy") return LambdaRule::discrepancy;
    if (name == "gcv") return LambdaRule::gcv;
    if (name == "lcurve" || name == "l-curve") return LambdaRule::lcurve;
    throw config_error("lambda rule='" + name + "' must be 'auto', 'discrepancy', 'gcv' or 'lcurve'");
}

std::string LambdaChoice::str() const {
    std::ostringstream os;
    os.precision(4);
    os << "lambda=" << lambda << " (" << to_string(regularizer) << ", " << to_string(rule);
    if (rule == LambdaRule::discrepancy) os << ": target ||Ax-b|| = " << target;
    if (!note.empty()) os << "; " << note;
    os << ")";
    return os.str();
}

std::string lsqr_reason(int istop) {
    static const char* msg[] = {
        "The exact solution is  x = 0",
        "Ax - b is small enough, given atol, btol",
        "The least-squares solution is good enough, given atol",
        "The estimate of cond(Abar) has exceeded conlim",
        "Ax - b is small enough for this machine",
        "The least-squares solution is good enough for this machine",
        "Cond(Abar) seems to be too large for this machine",
        "The iteration limit has been reached",
        "Stopped by the callback",
    };
    if (istop < 0 || istop > 8) return "unknown istop " + std::to_string(istop);
    return msg[istop];
}

template <class Scalar>
std::string SolveResult<Scalar>::reason() const {
    return lsqr_reason(istop);
}

Shape default_gradient_shape(const Shape& model_shape) {
    if (model_shape.size() == 1) return {1, model_shape[0]};
    return model_shape;
}

namespace {

template <class Scalar>
class GradientOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    explicit GradientOperator(const Shape& shape)
        : LinearOperator<Scalar>(shape, data_shape_of(shape), "gradient"), shape_(shape) {
        const size_t r = shape.size() - 1;
        strides_.assign(r, 1);
        for (size_t j = r; j-- > 1;) strides_[j - 1] = strides_[j] * shape[j + 1];
    }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override {
        const index_t n = this->model_size();
        y.setZero();
        for (size_t j = 0; j < strides_.size(); ++j) {
            const index_t s = strides_[j], len = shape_[j + 1];
            for (index_t i = 0; i < n; ++i)
                if ((i / s) % len < len - 1) y.row(static_cast<index_t>(j) * n + i) = x.row(i + s) - x.row(i);
        }
    }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override {
        const index_t n = this->model_size();
        x.setZero();
        for (size_t j = 0; j < strides_.size(); ++j) {
            const index_t s = strides_[j], len = shape_[j + 1];
            for (index_t i = 0; i < n; ++i)
                if ((i / s) % len < len - 1) {
                    const auto d = y.row(static_cast<index_t>(j) * n + i);
                    x.row(i + s) += d;
                    x.row(i) -= d;
                }
        }
    }

private:
    static Shape data_shape_of(const Shape& shape) {
        if (shape.size() < 2)
            throw shape_error("gradient shape " + to_string(shape, "x") +
                              " must be (channels, n_1, ..., n_r) with at least one spatial dimension");
        for (auto v : shape)
            if (v < 1) throw shape_error("gradient shape " + to_string(shape, "x") + " must have positive sizes");
        Shape d{static_cast<index_t>(shape.size() - 1)};
        d.insert(d.end(), shape.begin(), shape.end());
        return d;
    }
    Shape shape_;
    std::vector<index_t> strides_;
};

template <class Scalar>
class StackedOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    StackedOperator(std::shared_ptr<const LinearOperator<Scalar>> a, std::shared_ptr<const LinearOperator<Scalar>> b,
                    double w)
        : LinearOperator<Scalar>(a->model_shape(), Shape{a->data_size() + b->data_size()},
                                 "[" + a->name() + "; w*" + b->name() + "]"),
          a_(std::move(a)), b_(std::move(b)), w_(static_cast<Scalar>(w)) {
        if (a_->model_size() != b_->model_size())
            throw shape_error("stack_operators: " + a_->name() + " has " + std::to_string(a_->model_size()) +
                              " columns but " + b_->name() + " has " + std::to_string(b_->model_size()));
    }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override {
        a_->apply(x, y.topRows(a_->data_size()));
        b_->apply(x, y.bottomRows(b_->data_size()));
        y.bottomRows(b_->data_size()) *= w_;
    }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override {
        a_->apply_adjoint(y.topRows(a_->data_size()), x);
        x += w_ * b_->apply_adjoint(y.bottomRows(b_->data_size()));
    }

private:
    std::shared_ptr<const LinearOperator<Scalar>> a_, b_;
    Scalar w_;
};

}  // namespace

template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> gradient_operator(const Shape& shape) {
    return std::make_shared<GradientOperator<Scalar>>(shape);
}

template <class Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> gradient_matrix(const Shape& shape) {
    GradientOperator<Scalar> D(shape);  // validates
    const index_t n = D.model_size(), r = static_cast<index_t>(shape.size() - 1);
    std::vector<Eigen::Triplet<Scalar, int>> t;
    t.reserve(static_cast<size_t>(2 * r * n));
    index_t stride = n / shape[0];
    for (index_t j = 0; j < r; ++j) {
        stride /= shape[j + 1];
        const index_t len = shape[j + 1];
        for (index_t i = 0; i < n; ++i)
            if ((i / stride) % len < len - 1) {
                t.emplace_back(static_cast<int>(j * n + i), static_cast<int>(i + stride), Scalar(1));
                t.emplace_back(static_cast<int>(j * n + i), static_cast<int>(i), Scalar(-1));
            }
    }
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> M(r * n, n);
    M.setFromTriplets(t.begin(), t.end());
    return M;
}

template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> stack_operators(std::shared_ptr<const LinearOperator<Scalar>> A,
                                                        std::shared_ptr<const LinearOperator<Scalar>> B,
                                                        double weight) {
    return std::make_shared<StackedOperator<Scalar>>(std::move(A), std::move(B), weight);
}

template <class Scalar>
double estimate_norm_squared(const LinearOperator<Scalar>& A, index_t iterations, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd;
    Vector<Scalar> v(A.model_size());
    for (index_t i = 0; i < v.size(); ++i) v(i) = static_cast<Scalar>(nd(rng));
    double est = 0;
    for (index_t it = 0; it < std::max<index_t>(iterations, 1); ++it) {
        const double nv = norm<Scalar>(v);
        if (nv == 0) return 0;
        v /= static_cast<Scalar>(nv);
        const Vector<Scalar> Av = matvec(A, v);
        est = static_cast<double>(Av.squaredNorm());
        v = rmatvec(A, Av);
    }
    return est;
}

template <class Scalar>
LambdaChoice choose_lambda(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, Regularizer regularizer,
                           const LambdaOptions& options, const Shape& gradient_shape) {
    check_rhs(A, b, "choose_lambda");
    LambdaRule rule = options.rule;
    if (rule == LambdaRule::automatic) rule = options.noise_sigma > 0 ? LambdaRule::discrepancy : LambdaRule::gcv;
    if (rule == LambdaRule::discrepancy && !(options.noise_sigma > 0))
        throw config_error("the discrepancy principle needs the noise level: noise_sigma=" +
                           std::to_string(options.noise_sigma) + " must be > 0");
    if (!(options.tau > 0)) throw config_error("tau=" + std::to_string(options.tau) + " must be > 0");
    if (regularizer == Regularizer::tikhonov && rule != LambdaRule::gcv)
        return choose_tikhonov<Scalar>(A, b, options, rule);
    return choose_by_solves<Scalar>(A, b, options, rule, regularizer, gradient_shape);
}

template <class Scalar>
SolveResult<Scalar> lsqr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options) {
    return run_solver<Scalar>("lsqr", A, b, options, lsqr_impl<Scalar>);
}
template <class Scalar>
SolveResult<Scalar> cgls(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const SolverOptions& options) {
    return run_solver<Scalar>("cgls", A, b, options, cgls_impl<Scalar>);
}
template <class Scalar>
SolveResult<Scalar> landweber(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                              const SolverOptions& options) {
    return run_solver<Scalar>("landweber", A, b, options, landweber_impl<Scalar>);
}

#define CONVMTX_INSTANTIATE(S)                                                                                     \
    template struct SolveResult<S>;                                                                                \
    template SolveResult<S> lsqr<S>(const LinearOperator<S>&, const Vector<S>&, const SolverOptions&);             \
    template SolveResult<S> cgls<S>(const LinearOperator<S>&, const Vector<S>&, const SolverOptions&);             \
    template SolveResult<S> landweber<S>(const LinearOperator<S>&, const Vector<S>&, const SolverOptions&);        \
    template double estimate_norm_squared<S>(const LinearOperator<S>&, index_t, std::uint64_t);                    \
    template LambdaChoice choose_lambda<S>(const LinearOperator<S>&, const Vector<S>&, Regularizer,                \
                                           const LambdaOptions&, const Shape&);                                    \
    template std::shared_ptr<LinearOperator<S>> gradient_operator<S>(const Shape&);                                \
    template Eigen::SparseMatrix<S, Eigen::RowMajor, int> gradient_matrix<S>(const Shape&);                        \
    template std::shared_ptr<LinearOperator<S>> stack_operators<S>(std::shared_ptr<const LinearOperator<S>>,       \
                                                                   std::shared_ptr<const LinearOperator<S>>, double);
CONVMTX_INSTANTIATE(float)
CONVMTX_INSTANTIATE(double)
#undef CONVMTX_INSTANTIATE

}  // namespace convmtx
