// Inverse problems: LSQR, LSMR, CGLS and Landweber against dense normal equations,
// LSMR's iterates against their Krylov-space definition, LSQR's and LSMR's istop codes,
// the gradient regularizer, the automatic lambda, SPQR and CHOLMOD against LSQR and the
// memory refusal, images (PNG/PGM, phantom, PSNR),
// and deblurring / super-resolution of the phantom end to end.
#define BOOST_TEST_MODULE solvers
#include <cstdio>
#include <fstream>
#include <random>

#include <Eigen/Cholesky>
#include <Eigen/SVD>

#include "convmtx/detail/solver_common.hpp"
#include "convmtx/image.hpp"
#include "convmtx/solvers.hpp"
#include "convmtx/suitesparse.hpp"
#include "test_common.hpp"

// ---- counting heap allocations (for the allocation-free iterations) ----
// Every allocation of the process goes through malloc and its siblings, Eigen's included
// (operator new calls malloc too). They are replaced here by forwarders to glibc's allocator
// that count while counting is on; under AddressSanitizer, which owns malloc, its allocation
// hook counts instead.
#include <atomic>
#include <cerrno>

namespace alloc_count {
std::atomic<bool> on{false};
std::atomic<long> count{0};
inline void note() {
    if (on.load(std::memory_order_relaxed)) count.fetch_add(1, std::memory_order_relaxed);
}
/// Allocations made while f runs.
template <class F>
long during(F&& f) {
    const long before = count.load();
    on = true;
    f();
    on = false;
    return count.load() - before;
}
}  // namespace alloc_count

#if defined(__SANITIZE_ADDRESS__)
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, size_t),
                                                         void (*)(const volatile void*));
namespace {
void on_malloc(const volatile void*, size_t) { alloc_count::note(); }
void on_free(const volatile void*) {}
[[maybe_unused]] const int hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void* malloc(size_t n) noexcept {
    alloc_count::note();
    return __libc_malloc(n);
}
void* calloc(size_t k, size_t n) noexcept {
    alloc_count::note();
    return __libc_calloc(k, n);
}
void* realloc(void* p, size_t n) noexcept {
    alloc_count::note();
    return __libc_realloc(p, n);
}
void* memalign(size_t a, size_t n) noexcept {
    alloc_count::note();
    return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) noexcept {
    alloc_count::note();
    return __libc_memalign(a, n);
}
int posix_memalign(void** p, size_t a, size_t n) noexcept {
    alloc_count::note();
    void* r = __libc_memalign(a, n);
    if (!r) return ENOMEM;
    *p = r;
    return 0;
}
}
#endif

namespace convmtx::test {
namespace {

using Dense = Eigen::MatrixXd;
/// Tolerance of a solver run to convergence against the dense reference.
constexpr double solve_tol = is_double ? 1e-8 : 2e-3;
/// Stopping tolerances that converge to about solve_tol.
constexpr double stop_tol = is_double ? 1e-13 : 1e-7;

/// A random multi-channel strided conv W (rows = outputs), overdetermined: 2 output channels.
struct Problem {
    ConvSpec spec;
    std::shared_ptr<SparseOperator<Scalar>> op;
    Dense A;  // W in double, from the same Scalar weights
    Vec b;
};

Problem make_problem(std::uint64_t seed, index_t h = 9, index_t w = 8, index_t stride = 1) {
    std::mt19937_64 rng(seed);
    Problem p;
    ConvOptions o;
    o.stride = {stride};
    o.padding = Padding::symmetric({1});
    p.spec = make_conv({1, h, w}, {2, 1, 3, 3}, o);
    const auto wts = random_values(rng, p.spec.weight_numel());
    p.op = make_matrix_operator<Scalar>(p.spec, wts);
    p.A = Dense(p.op->matrix().template cast<double>());
    p.b = random_batch(rng, p.op->data_size(), 1).col(0);
    return p;
}

/// x = (A^T A + d^2 I + mu^2 L^T L)^{-1} A^T b in double.
Eigen::VectorXd dense_solution(const Dense& A, const Eigen::VectorXd& b, double damp, const Dense* L = nullptr,
                               double mu = 0) {
    Dense N = A.transpose() * A + damp * damp * Dense::Identity(A.cols(), A.cols());
    if (L) N += mu * mu * L->transpose() * (*L);
    return N.ldlt().solve(A.transpose() * b);
}

SolverOptions tight() {
    SolverOptions o;
    o.atol = o.btol = stop_tol;
    o.conlim = 0;
    o.iter_lim = 2000;
    return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(iterative)

BOOST_AUTO_TEST_CASE(lsqr_and_cgls_match_dense_normal_equations) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const Problem p = make_problem(seed);
        const Eigen::VectorXd bd = p.b.template cast<double>();
        for (double damp : {0.0, 0.3, 2.0}) {
            const Eigen::VectorXd ref = dense_solution(p.A, bd, damp);
            SolverOptions o = tight();
            o.damp = damp;
            const auto r1 = lsqr<Scalar>(*p.op, p.b, o);
            const auto r2 = cgls<Scalar>(*p.op, p.b, o);
            BOOST_TEST_CONTEXT("seed " << seed << " damp " << damp) {
                BOOST_TEST(rel_diff(r1.x.template cast<double>(), ref) <= solve_tol);
                BOOST_TEST(rel_diff(r2.x.template cast<double>(), ref) <= solve_tol);
                BOOST_TEST((r1.istop >= 1 && r1.istop <= 5));
                BOOST_TEST((r2.istop >= 1 && r2.istop <= 5));
                // Reported norms agree with the returned x.
                const double res = (bd - p.A * r1.x.template cast<double>()).norm();
                BOOST_TEST(std::abs(r1.residual_norm - res) <= 1e-4 * (1 + res));
                BOOST_TEST(std::abs(r1.xnorm - ref.norm()) <= 1e-3 * ref.norm());
                BOOST_TEST(r1.damp == damp);
                BOOST_TEST(r1.residual_history.size() == static_cast<size_t>(r1.iterations + 1));
                BOOST_TEST(r2.residual_history.size() == static_cast<size_t>(r2.iterations + 1));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(landweber_converges_to_the_damped_solution) {
    const Problem p = make_problem(4);
    const double damp = 1.0;  // well conditioned: Landweber converges linearly
    const Eigen::VectorXd ref = dense_solution(p.A, p.b.template cast<double>(), damp);
    SolverOptions o = tight();
    o.damp = damp;
    o.iter_lim = 3000;
    const auto r = landweber<Scalar>(*p.op, p.b, o);
    BOOST_TEST(rel_diff(r.x.template cast<double>(), ref) <= (is_double ? 1e-7 : 2e-3));
    o.accelerate = true;
    const auto ra = landweber<Scalar>(*p.op, p.b, o);
    BOOST_TEST(rel_diff(ra.x.template cast<double>(), ref) <= (is_double ? 1e-7 : 2e-3));
    // On a worse-conditioned problem the momentum gets closer in the same number of steps.
    {
        SolverOptions w;
        w.damp = 0.05;
        w.iter_lim = 60;
        w.atol = w.btol = 0;
        const Eigen::VectorXd ref2 = dense_solution(p.A, p.b.template cast<double>(), w.damp);
        const double e_plain = (landweber<Scalar>(*p.op, p.b, w).x.template cast<double>() - ref2).norm();
        w.accelerate = true;
        const double e_fast = (landweber<Scalar>(*p.op, p.b, w).x.template cast<double>() - ref2).norm();
        BOOST_TEST(e_fast < 0.5 * e_plain);
    }
    // Projected Landweber keeps the bounds and matches the dense box-constrained optimum's KKT conditions.
    o.accelerate = false;
    o.lower = 0;
    o.upper = 0.05;
    const auto rb = landweber<Scalar>(*p.op, p.b, o);
    BOOST_TEST(rb.x.minCoeff() >= 0);
    BOOST_TEST(rb.x.maxCoeff() <= static_cast<Scalar>(0.05));
    const Eigen::VectorXd x = rb.x.template cast<double>();
    const Eigen::VectorXd g = p.A.transpose() * (p.b.template cast<double>() - p.A * x) - damp * damp * x;
    for (index_t i = 0; i < x.size(); ++i) {
        // KKT: interior -> g = 0; at the lower bound -> g <= 0; at the upper bound -> g >= 0.
        const double tol = is_double ? 1e-6 : 1e-3;
        if (x(i) > 1e-6 && x(i) < 0.05 - 1e-6) BOOST_TEST(std::abs(g(i)) <= tol);
        else if (x(i) <= 1e-6) BOOST_TEST(g(i) <= tol);
        else BOOST_TEST(g(i) >= -tol);
    }
}

BOOST_AUTO_TEST_CASE(norm_bound_is_an_upper_bound_of_the_largest_singular_value) {
    // Against the dense SVD of the same matrix, in double.
    const Problem p = make_problem(5);
    const double s = Eigen::JacobiSVD<Dense>(p.A).singularValues()(0);
    const double rel = is_double ? 1e-9 : 1e-4;
    const NormBound e = norm_bound<Scalar>(*p.op);  // an explicit matrix: certified
    BOOST_TEST(e.certified);
    BOOST_TEST(e.upper >= s);
    BOOST_TEST(e.upper <= s * (1 + rel));
    BOOST_TEST(std::abs(e.sigma_max - s) <= rel * s);
    // A black box of 144 x 72 entries: the dense SVD of its products, certified too.
    const auto op = p.op;
    const FunctionOperator<Scalar> box(
        op->model_shape(), op->data_shape(), [op](const Eigen::Ref<const Batch<Scalar>>& x) { return op->apply(x); },
        [op](const Eigen::Ref<const Batch<Scalar>>& y) { return op->apply_adjoint(y); });
    const NormBound f = norm_bound<Scalar>(box);
    BOOST_TEST(f.method == "dense");
    BOOST_TEST(f.certified);
    BOOST_TEST(f.upper >= s);
    // A larger black box (more than 2^18 entries): Lanczos, its value plus a margin, not certified.
    std::mt19937_64 rng(9);
    ConvOptions co;
    co.padding = Padding::symmetric({1});
    const ConvSpec big = make_conv({1, 24, 24}, {1, 1, 3, 3}, co);
    const auto W = make_matrix_operator<Scalar>(big, random_values(rng, big.weight_numel()));
    const double sb = Eigen::BDCSVD<Dense>(Dense(W->matrix().template cast<double>())).singularValues()(0);
    const FunctionOperator<Scalar> big_box(
        W->model_shape(), W->data_shape(), [W](const Eigen::Ref<const Batch<Scalar>>& x) { return W->apply(x); },
        [W](const Eigen::Ref<const Batch<Scalar>>& y) { return W->apply_adjoint(y); });
    const NormBound g = norm_bound<Scalar>(big_box);
    BOOST_TEST(g.method == "lanczos");
    BOOST_TEST(!g.certified);
    BOOST_TEST(g.upper >= sb);
    BOOST_TEST(g.upper <= sb * 1.005);
    BOOST_TEST(std::abs(g.sigma_max - sb) <= 1e-3 * sb);
    // The forward differences: the closed form 2 sqrt(r) bounds the dense SVD's sigma_1 (and is
    // within 5% of it on a 1 x 16 x 16 grid); [A; w D] by sqrt(||A||^2 + w^2 ||D||^2).
    const Dense D = Dense(gradient_matrix<double>({1, 16, 16}).cast<double>());
    const double sd = Eigen::BDCSVD<Dense>(D).singularValues()(0);
    const NormBound dn = gradient_norm_bound(2);
    BOOST_TEST(dn.certified);
    BOOST_TEST(dn.upper >= sd);
    BOOST_TEST(dn.upper <= 1.05 * sd);
    const NormBound st = stacked_norm_bound(e, dn, 0.5);
    BOOST_TEST(st.certified);
    const Dense D9 = Dense(gradient_matrix<double>({1, 9, 8}));
    const Dense K = (Dense(p.A.rows() + D9.rows(), p.A.cols()) << p.A, 0.5 * D9).finished();
    BOOST_TEST(st.upper >= Eigen::JacobiSVD<Dense>(K).singularValues()(0));
}

BOOST_AUTO_TEST_CASE(landweber_steps_by_the_exact_norm_of_a_circular_conv) {
    // A circular conv: sigma_max is exact (the FFT), the step 1 / (sigma_max^2 + damp^2) up to
    // the rounding margin; the dense SVD is the reference.
    std::mt19937_64 rng(11);
    ConvOptions co;
    co.padding = Padding::symmetric({1});
    co.padding_mode = PaddingMode::circular;
    const ConvSpec spec = make_conv({2, 8, 8}, {2, 2, 3, 3}, co);
    const auto w = random_values(rng, spec.weight_numel());
    const ConvOperator<Scalar> op(spec, w, ApplyMethod::matrix);
    const double s = Eigen::JacobiSVD<Dense>(Dense(op.matrix().template cast<double>())).singularValues()(0);
    const Vec b = random_batch(rng, op.data_size(), 1).col(0);
    SolverOptions o;
    o.damp = 0.5;
    o.iter_lim = 5;
    const auto r = landweber<Scalar>(op, b, o);
    BOOST_REQUIRE(r.step_norm.has_value());
    BOOST_TEST(r.step_norm->method == "fft");
    BOOST_TEST(r.step_norm->certified);
    BOOST_TEST(std::abs(r.step_norm->sigma_max - s) <= (is_double ? 1e-12 : 1e-5) * s);
    BOOST_TEST(r.step_norm->upper >= s);
    BOOST_TEST(r.anorm == std::sqrt(s * s + 0.25), boost::test_tools::tolerance(is_double ? 1e-10 : 1e-5));
    // A given step is used as it is, and no norm is reported.
    o.step = 0.01;
    BOOST_TEST(!landweber<Scalar>(op, b, o).step_norm.has_value());
}

BOOST_AUTO_TEST_CASE(lsqr_istop_codes) {
    const Problem p = make_problem(6);
    SolverOptions o;
    // 0: b = 0 gives x = 0 without iterating.
    const auto r0 = lsqr<Scalar>(*p.op, Vec::Zero(p.op->data_size()), o);
    BOOST_TEST(r0.istop == 0);
    BOOST_TEST(r0.iterations == 0);
    BOOST_TEST(r0.x.norm() == 0);
    BOOST_TEST(r0.reason() == "The exact solution is  x = 0");
    // 1: a consistent system b = A x.
    std::mt19937_64 rng(7);
    const Vec xt = random_batch(rng, p.op->model_size(), 1).col(0);
    const Vec bc = p.op->apply(xt).col(0);
    o.atol = o.btol = is_double ? 1e-10 : 1e-5;
    const auto r1 = lsqr<Scalar>(*p.op, bc, o);
    BOOST_TEST(r1.istop == 1);
    BOOST_TEST(rel_diff(r1.x, xt) <= (is_double ? 1e-7 : 1e-3));
    // 2: an inconsistent (overdetermined) system.
    const auto r2 = lsqr<Scalar>(*p.op, p.b, o);
    BOOST_TEST(r2.istop == 2);
    BOOST_TEST(r2.arnorm <= o.atol * r2.anorm * r2.r2norm * (1 + 1e-12));
    // 3: conlim smaller than the condition estimate.
    SolverOptions oc = o;
    oc.conlim = 1.5;
    BOOST_TEST(lsqr<Scalar>(*p.op, p.b, oc).istop == 3);
    // 7: the iteration limit.
    SolverOptions ol;
    ol.iter_lim = 3;
    const auto r7 = lsqr<Scalar>(*p.op, p.b, ol);
    BOOST_TEST(r7.istop == 7);
    BOOST_TEST(r7.iterations == 3);
    BOOST_TEST(r7.residual_history.size() == 4u);
    // 8: the callback stops at iteration 2 and sees every iteration before.
    std::vector<index_t> seen;
    std::string expected = "lsqr";
    SolverOptions ocb;
    ocb.callback = [&](const IterationInfo& info) {
        seen.push_back(info.iteration);
        BOOST_TEST(info.method == expected);
        return info.iteration < 2;
    };
    const auto r8 = lsqr<Scalar>(*p.op, p.b, ocb);
    BOOST_TEST(r8.istop == 8);
    BOOST_TEST(r8.iterations == 2);
    BOOST_TEST((seen == std::vector<index_t>{1, 2}));
    expected = "cgls";
    const auto c8 = cgls<Scalar>(*p.op, p.b, ocb);
    BOOST_TEST(c8.istop == 8);
}

BOOST_AUTO_TEST_CASE(residual_histories_are_monotone) {
    const Problem p = make_problem(8);
    SolverOptions o = tight();
    o.iter_lim = 30;
    for (const auto& r : {lsqr<Scalar>(*p.op, p.b, o), cgls<Scalar>(*p.op, p.b, o)}) {
        BOOST_TEST_CONTEXT(r.method) {
            BOOST_TEST(r.residual_history.front() == static_cast<double>(p.b.norm()), boost::test_tools::tolerance(1e-6));
            for (size_t i = 1; i < r.residual_history.size(); ++i)
                BOOST_TEST(r.residual_history[i] <= r.residual_history[i - 1] * (1 + 1e-6) + 1e-12);
        }
    }
}

BOOST_AUTO_TEST_CASE(matrix_free_and_explicit_operators_agree) {
    std::mt19937_64 rng(9);
    ConvOptions o;
    o.stride = {2};
    o.padding = Padding::symmetric({1});
    const ConvSpec spec = make_conv({1, 10, 10}, {1, 1, 3, 3}, o);
    const auto w = random_values(rng, spec.weight_numel());
    const auto M = make_matrix_operator<Scalar>(spec, w);
    const auto F = direct_operator(spec, w);
    const Vec b = random_batch(rng, M->data_size(), 1).col(0);
    SolverOptions so;
    so.damp = 0.1;
    so.iter_lim = 15;
    const auto a = lsqr<Scalar>(*M, b, so), c = lsqr<Scalar>(*F, b, so);
    BOOST_TEST(rel_diff(a.x, c.x) <= (is_double ? 1e-10 : 1e-4));
}

BOOST_AUTO_TEST_CASE(bad_input_is_rejected_with_the_parameter) {
    const Problem p = make_problem(10);
    SolverOptions o;
    o.damp = -1;
    BOOST_CHECK_EXCEPTION(lsqr<Scalar>(*p.op, p.b, o), config_error,
                          [](const config_error& e) { return std::string(e.what()).find("damp=-1") != std::string::npos; });
    BOOST_CHECK_EXCEPTION(lsqr<Scalar>(*p.op, Vec::Zero(3), SolverOptions{}), shape_error, [](const shape_error& e) {
        return std::string(e.what()).find("b has 3 entries") != std::string::npos;
    });
    SolverOptions ob;
    ob.lower = 0;
    BOOST_CHECK_THROW(cgls<Scalar>(*p.op, p.b, ob), config_error);
    BOOST_CHECK_THROW(parse_regularizer("tv"), config_error);
    BOOST_CHECK_THROW(parse_lambda_rule("best"), config_error);
    LambdaOptions lo;
    lo.rule = LambdaRule::discrepancy;  // needs the noise level
    BOOST_CHECK_THROW(choose_lambda<Scalar>(*p.op, p.b, Regularizer::tikhonov, lo), config_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(regularizer)

BOOST_AUTO_TEST_CASE(gradient_operator_is_forward_differences) {
    // One channel, 2x3 grid: x = [[1, 2, 4], [8, 16, 32]].
    const auto D = gradient_operator<Scalar>({1, 2, 3});
    BOOST_TEST((D->data_shape() == Shape{2, 1, 2, 3}));
    Vec x(6);
    x << 1, 2, 4, 8, 16, 32;
    const Vec y = D->apply(x).col(0);
    Vec want(12);
    want << 7, 14, 28, 0, 0, 0,  // rows: x[1, c] - x[0, c]; last row 0
        1, 2, 0, 8, 16, 0;       // columns: x[r, c+1] - x[r, c]; last column 0
    BOOST_TEST(rel_diff(y, want) == 0.0);
    // The explicit matrix, the adjoint (dot test) and two channels in 3-D.
    std::mt19937_64 rng(11);
    for (const Shape& s : {Shape{1, 2, 3}, Shape{2, 3, 4, 5}, Shape{1, 7}}) {
        const auto Dop = gradient_operator<Scalar>(s);
        const auto Dm = gradient_matrix<Scalar>(s);
        const Vec v = random_batch(rng, Dop->model_size(), 1).col(0);
        const Vec u = random_batch(rng, Dop->data_size(), 1).col(0);
        BOOST_TEST(rel_diff(Vec(Dop->apply(v).col(0)), Vec(Dm * v)) <= tol);
        BOOST_TEST(rel_diff(Vec(Dop->apply_adjoint(u).col(0)), Vec(Dm.transpose() * u)) <= tol);
        const double lhs = static_cast<double>(u.dot(Dm * v)), rhs = static_cast<double>(v.dot(Dm.transpose() * u));
        BOOST_TEST(std::abs(lhs - rhs) <= tol * (1 + std::abs(lhs)) * 10);
    }
    BOOST_CHECK_THROW(gradient_operator<Scalar>({5}), shape_error);
}

BOOST_AUTO_TEST_CASE(gradient_regularized_solution_matches_dense) {
    const Problem p = make_problem(12);
    const Dense L = Dense(gradient_matrix<double>({1, 9, 8}));
    const Eigen::VectorXd bd = p.b.template cast<double>();
    for (double damp : {0.0, 0.2}) {
        const Eigen::VectorXd ref = dense_solution(p.A, bd, damp, &L, 0.7);
        SolverOptions o = tight();
        o.damp = damp;
        o.gradient_weight = 0.7;
        const auto r = lsqr<Scalar>(*p.op, p.b, o);
        const auto c = cgls<Scalar>(*p.op, p.b, o);
        BOOST_TEST(rel_diff(r.x.template cast<double>(), ref) <= solve_tol);
        BOOST_TEST(rel_diff(c.x.template cast<double>(), ref) <= solve_tol);
        BOOST_TEST(r.penalty_norm == (L * ref).norm(), boost::test_tools::tolerance(1e-4));
    }
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// The deblurring problem: 128x128 phantom, 9x9 Gaussian (sigma 2), 'same' zero
/// padding, noise std 0.01 (seed 0), optionally with a stride.
struct Deblur {
    Image truth;
    std::shared_ptr<SparseOperator<Scalar>> W;
    Vec x, b;
    index_t oh = 0, ow = 0;
};

Deblur make_deblur(index_t stride, index_t n = 128) {
    Deblur d;
    d.truth = shepp_logan(n);
    ConvOptions o;
    o.stride = {stride};
    o.padding = Padding::symmetric({4});
    const ConvSpec spec = make_conv({1, n, n}, {1, 1, 9, 9}, o);
    const auto g = gaussian_kernel(9, 2.0);
    const std::vector<Scalar> w(g.begin(), g.end());
    d.W = make_matrix_operator<Scalar>(spec, w);
    d.oh = spec.output_size()[0];
    d.ow = spec.output_size()[1];
    d.x.resize(n * n);
    for (index_t i = 0; i < n * n; ++i) d.x(i) = d.truth.pixels[static_cast<size_t>(i)];
    d.b = d.W->apply(d.x).col(0);
    std::mt19937_64 rng(0);
    std::normal_distribution<double> nd;
    for (index_t i = 0; i < d.b.size(); ++i) d.b(i) += static_cast<Scalar>(0.01 * nd(rng));
    return d;
}

Image as_image(const Vec& v, index_t h, index_t w) {
    Image im(h, w);
    for (index_t i = 0; i < im.size(); ++i) im.pixels[static_cast<size_t>(i)] = static_cast<float>(v(i));
    return im;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(end_to_end)

BOOST_AUTO_TEST_CASE(phantom_deblurring_gains_3_db) {
    const Deblur d = make_deblur(1);
    const double p_blur = psnr(as_image(d.b, 128, 128), d.truth);
    BOOST_TEST_MESSAGE("blurred " << p_blur << " dB");
    BOOST_TEST(p_blur > 18.0);
    BOOST_TEST(p_blur < 21.0);
    // The noise level is known: the discrepancy principle chooses lambda.
    SolverOptions o;
    o.auto_lambda = true;
    o.lambda.noise_sigma = 0.01;
    const auto r = lsqr<Scalar>(*d.W, d.b, o);
    BOOST_REQUIRE(r.lambda_choice.has_value());
    BOOST_TEST(to_string(r.lambda_choice->rule) == "discrepancy");
    BOOST_TEST(r.damp == r.lambda_choice->lambda);
    BOOST_TEST(r.damp > 0.02);
    BOOST_TEST(r.damp < 0.3);
    // The discrepancy principle: ||W x - b|| = sigma sqrt(m) = 1.28.
    BOOST_TEST(r.residual_norm == 0.01 * 128, boost::test_tools::tolerance(0.02));
    const double p_lsqr = psnr(clipped(as_image(r.x, 128, 128)), d.truth);
    BOOST_TEST_MESSAGE("lsqr, lambda " << r.damp << ": " << p_lsqr << " dB");
    BOOST_TEST(p_lsqr >= p_blur + 2.0);
    // Projected Landweber with the image's range [0, 1] and the same lambda: at least 3 dB better.
    SolverOptions ol = o;
    ol.lower = 0;
    ol.upper = 1;
    ol.accelerate = true;
    ol.iter_lim = 150;
    const auto rl = landweber<Scalar>(*d.W, d.b, ol);
    const double p_lw = psnr(as_image(rl.x, 128, 128), d.truth);
    BOOST_TEST_MESSAGE("projected landweber: " << p_lw << " dB");
    BOOST_TEST(p_lw >= p_blur + 3.0);
    // A bad lambda makes the 'inverse' worse than the blurred image (the damp 0.01).
    SolverOptions bad;
    bad.damp = 0.01;
    const auto rb = lsqr<Scalar>(*d.W, d.b, bad);
    const double p_bad = psnr(as_image(rb.x, 128, 128), d.truth);
    BOOST_TEST_MESSAGE("lsqr damp 0.01: " << p_bad << " dB");
    BOOST_TEST(p_bad < p_blur - 3.0);
}

BOOST_AUTO_TEST_CASE(lcurve_and_gcv_choose_a_useful_lambda_without_the_noise_level) {
    const Deblur d = make_deblur(1, 64);
    const double p_blur = psnr(as_image(d.b, 64, 64), d.truth);
    for (LambdaRule rule : {LambdaRule::lcurve, LambdaRule::gcv}) {
        LambdaOptions lo;
        lo.rule = rule;
        const LambdaChoice ch = choose_lambda<Scalar>(*d.W, d.b, Regularizer::tikhonov, lo);
        SolverOptions o;
        o.damp = ch.lambda;
        const auto r = lsqr<Scalar>(*d.W, d.b, o);
        const double p = psnr(clipped(as_image(r.x, 64, 64)), d.truth);
        BOOST_TEST_CONTEXT(ch.str()) {
            BOOST_TEST(to_string(ch.rule) == to_string(rule));
            BOOST_TEST(ch.lambdas.size() == ch.residual_norms.size());
            BOOST_TEST(p >= p_blur + 1.0);
        }
    }
}

BOOST_AUTO_TEST_CASE(super_resolution_beats_the_transposed_convolution) {
    const Deblur d = make_deblur(2);
    BOOST_TEST(d.oh == 64);
    SolverOptions o;
    o.auto_lambda = true;
    o.lambda.noise_sigma = 0.01;
    const auto r = lsqr<Scalar>(*d.W, d.b, o);
    const Vec wtb = d.W->apply_adjoint(d.b).col(0);
    // Even W^T b rescaled by the factor that is best against the truth loses.
    const double s = static_cast<double>(wtb.dot(d.x) / wtb.squaredNorm());
    const double p_adj = psnr(as_image(wtb, 128, 128), d.truth);
    const double p_adj_best = psnr(as_image(static_cast<Scalar>(s) * wtb, 128, 128), d.truth);
    const double p_ls = psnr(as_image(r.x, 128, 128), d.truth);
    BOOST_TEST_MESSAGE("W^T b " << p_adj << " dB, best-scaled " << p_adj_best << " dB, least squares " << p_ls);
    BOOST_TEST(p_ls > p_adj + 3.0);
    BOOST_TEST(p_ls > p_adj_best + 2.0);
}

BOOST_AUTO_TEST_CASE(gradient_regularizer_with_the_discrepancy_principle) {
    const Deblur d = make_deblur(1, 64);
    SolverOptions o;
    o.auto_lambda = true;
    o.regularizer = Regularizer::gradient;
    o.lambda.noise_sigma = 0.01;
    o.lambda.trial_solves = 10;
    const auto r = lsqr<Scalar>(*d.W, d.b, o);
    BOOST_REQUIRE(r.lambda_choice.has_value());
    BOOST_TEST(r.gradient_weight == r.lambda_choice->lambda);
    BOOST_TEST(r.damp == 0.0);
    // Ten bisection steps over four decades: the residual is within a few percent of the target.
    BOOST_TEST(r.residual_norm == 0.01 * 64, boost::test_tools::tolerance(0.05));
    BOOST_TEST(psnr(as_image(r.x, 64, 64), d.truth) > psnr(as_image(d.b, 64, 64), d.truth) + 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

#if CONVMTX_WITH_SUITESPARSE
BOOST_AUTO_TEST_SUITE(suitesparse)

BOOST_AUTO_TEST_CASE(spqr_and_cholmod_agree_with_converged_lsqr) {
    const Problem p = make_problem(13, 12, 11);
    const Eigen::VectorXd bd = p.b.template cast<double>();
    const Dense L = Dense(gradient_matrix<double>({1, 12, 11}));
    for (double damp : {0.0, 0.1}) {
        for (double mu : {0.0, 0.5}) {
            DirectOptions d;
            d.damp = damp;
            d.gradient_weight = mu;
            SolverOptions o = tight();
            o.damp = damp;
            o.gradient_weight = mu;
            const auto it = lsqr<Scalar>(*p.op, p.b, o);
            const auto qr = solve_spqr<Scalar>(*p.op, p.b, d);
            const auto ch = solve_cholmod<Scalar>(p.op->matrix(), p.b, DirectOptions{damp, mu, {1, 12, 11}});
            const Eigen::VectorXd ref = dense_solution(p.A, bd, damp, &L, mu);
            BOOST_TEST_CONTEXT("damp " << damp << " mu " << mu) {
                BOOST_TEST(rel_diff(qr.x, it.x) <= solve_tol);
                BOOST_TEST(rel_diff(ch.x, it.x) <= solve_tol);
                BOOST_TEST(rel_diff(qr.x.template cast<double>(), ref) <= (is_double ? 1e-10 : 1e-5));
                BOOST_TEST(rel_diff(ch.x.template cast<double>(), ref) <= (is_double ? 1e-10 : 1e-5));
                BOOST_TEST(qr.method == "spqr");
                BOOST_TEST(ch.method == "cholmod");
                BOOST_TEST(qr.estimated_bytes > 0);
                BOOST_TEST(ch.estimated_bytes > 0);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(direct_solvers_take_every_storage_order_and_index_type) {
    std::mt19937_64 rng(16);
    const ConvSpec spec = make_conv({1, 7, 6}, {2, 1, 3, 3}, ConvOptions{{1}, Padding::symmetric({1})});
    const auto w = random_values(rng, spec.weight_numel());
    const Vec b = random_batch(rng, spec.output_numel(), 1).col(0);
    DirectOptions o;
    o.damp = 0.2;
    const auto ref = solve_spqr(conv_matrix<Scalar, Eigen::RowMajor, int>(spec, w), b, o).x;
    const auto a = solve_spqr(conv_matrix<Scalar, Eigen::ColMajor, std::int64_t>(spec, w), b, o).x;
    const auto c = solve_cholmod(conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, w), b, o).x;
    const auto op = std::make_shared<SparseOperator<Scalar, Eigen::ColMajor, std::int64_t>>(
        conv_matrix<Scalar, Eigen::ColMajor, std::int64_t>(spec, w), spec.input_shape(), spec.output_shape());
    const auto d = solve_cholmod<Scalar>(*op, b, o).x;
    BOOST_TEST(rel_diff(a, ref) <= tol * 100);
    BOOST_TEST(rel_diff(c, ref) <= tol * 100);
    BOOST_TEST(rel_diff(d, ref) <= tol * 100);
}

BOOST_AUTO_TEST_CASE(cost_estimates_grow_with_the_problem) {
    const Deblur small = make_deblur(1, 32), large = make_deblur(1, 64);
    DirectOptions d;
    d.damp = 0.1;
    const DirectCost qs = estimate_spqr(small.W->matrix(), d), ql = estimate_spqr(large.W->matrix(), d);
    const DirectCost cs = estimate_cholmod(small.W->matrix(), d), cl = estimate_cholmod(large.W->matrix(), d);
    BOOST_TEST(qs.factor_nnz >= 32 * 32);  // R has at least the diagonal
    BOOST_TEST(cs.factor_nnz >= 32 * 32);
    BOOST_TEST(ql.bytes > 3 * qs.bytes);
    BOOST_TEST(cl.bytes > 3 * cs.bytes);
    BOOST_TEST(cl.flops > cs.flops);
    BOOST_TEST(!qs.detail.empty());
}

BOOST_AUTO_TEST_CASE(memory_refusal_names_the_limit_and_suggests_lsqr) {
    const Deblur d = make_deblur(1, 32);
    DirectOptions o;
    o.damp = 0.1;
    o.memory_limit = 100000;  // 97.66 KiB
    for (int which = 0; which < 2; ++which) {
        bool thrown = false;
        try {
            if (which == 0) solve_spqr<Scalar>(*d.W, d.b, o);
            else solve_cholmod<Scalar>(*d.W, d.b, o);
        } catch (const memory_limit_error& e) {
            thrown = true;
            const std::string msg = e.what();
            BOOST_TEST_MESSAGE(msg);
            BOOST_TEST(msg.find("97.66 KiB") != std::string::npos);
            BOOST_TEST(msg.find("LSQR") != std::string::npos);
            BOOST_TEST(e.limit_bytes == 100000.0);
            BOOST_TEST(e.estimated_bytes > 100000.0);
        }
        BOOST_TEST(thrown);
    }
    // With the limit raised the same problem is solved.
    o.memory_limit = 1e9;
    BOOST_TEST(solve_cholmod<Scalar>(*d.W, d.b, o).x.size() == 32 * 32);
}

BOOST_AUTO_TEST_CASE(direct_solvers_need_an_explicit_matrix) {
    std::mt19937_64 rng(14);
    const ConvSpec spec = make_conv({1, 6, 6}, {1, 1, 3, 3});
    const auto F = direct_operator(spec, random_values(rng, 9));
    const Vec b = Vec::Ones(F->data_size());
    BOOST_CHECK_EXCEPTION(solve_spqr<Scalar>(*F, b), config_error, [](const config_error& e) {
        return std::string(e.what()).find("lsqr") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(cholmod_reports_rank_deficiency) {
    // Two identical columns: A^T A is singular without damping.
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> A(3, 2);
    A.insert(0, 0) = 1;
    A.insert(0, 1) = 1;
    A.insert(1, 0) = 2;
    A.insert(1, 1) = 2;
    A.insert(2, 0) = 3;
    A.insert(2, 1) = 3;
    const Vec b = Vec::Ones(3);
    BOOST_CHECK_THROW(solve_cholmod(A, b), std::runtime_error);
    DirectOptions o;
    o.damp = 0.1;
    const auto r = solve_cholmod(A, b, o);
    BOOST_TEST(std::abs(r.x(0) - r.x(1)) <= 1e-6);
}

BOOST_AUTO_TEST_CASE(memory_sizes_parse) {
    BOOST_TEST(parse_memory_size("512M") == 512.0 * 1024 * 1024);
    BOOST_TEST(parse_memory_size("1.5GiB") == 1.5 * 1024 * 1024 * 1024);
    BOOST_TEST(parse_memory_size("100000") == 100000.0);
    BOOST_TEST(format_bytes(100000) == "97.66 KiB");
    BOOST_CHECK_THROW(parse_memory_size("lots"), config_error);
    BOOST_CHECK_THROW(parse_memory_size("-1G"), config_error);
}

BOOST_AUTO_TEST_SUITE_END()
#endif  // CONVMTX_WITH_SUITESPARSE

BOOST_AUTO_TEST_SUITE(images)

BOOST_AUTO_TEST_CASE(png_and_pgm_round_trip) {
    Image im(5, 7);
    std::mt19937_64 rng(15);
    std::uniform_real_distribution<float> u(-0.2f, 1.2f);
    for (auto& v : im.pixels) v = u(rng);
    const std::string dir = CONVMTX_BINARY_DIR;
    for (const char* ext : {".png", ".pgm"})
        for (int bits : {8, 16}) {
            const std::string path = dir + "/test_solvers_image" + ext;
            write_image(path, im, bits);
            const Image back = read_image(path);
            BOOST_TEST_CONTEXT(ext << " " << bits << " bits") {
                BOOST_TEST(back.height == 5);
                BOOST_TEST(back.width == 7);
                const double q = 0.5 / (bits == 8 ? 255.0 : 65535.0) + 1e-7;
                const Image c = clipped(im);
                for (index_t i = 0; i < im.size(); ++i) BOOST_TEST(std::abs(back.pixels[i] - c.pixels[i]) <= q);
            }
            std::remove(path.c_str());
        }
}

BOOST_AUTO_TEST_CASE(plain_pgm_is_read) {
    const std::string path = std::string(CONVMTX_BINARY_DIR) + "/test_solvers_plain.pgm";
    {
        std::ofstream f(path);
        f << "P2\n# a comment\n3 2\n10\n0 5 10\n1 2 3\n";
    }
    const Image im = read_image(path);
    BOOST_TEST(im.height == 2);
    BOOST_TEST(im.width == 3);
    BOOST_TEST(im.at(0, 1) == 0.5f);
    BOOST_TEST(im.at(1, 2) == 0.3f, boost::test_tools::tolerance(1e-6f));
    std::remove(path.c_str());
    BOOST_CHECK_THROW(read_image(path), std::runtime_error);  // gone
}

BOOST_AUTO_TEST_CASE(phantom_values) {
    const Image p = shepp_logan(65, 1);  // odd size: the centre pixel samples (0, 0)
    BOOST_TEST(p.at(32, 32) == 0.2f, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(p.at(0, 0) == 0.0f);
    float mx = 0, mn = 1;
    for (float v : p.pixels) {
        mx = std::max(mx, v);
        mn = std::min(mn, v);
    }
    BOOST_TEST(mx == 1.0f);  // the skull
    BOOST_TEST(mn == 0.0f);
    // Supersampling is the block mean of the finer point-sampled phantom.
    const Image a = shepp_logan(16, 4), b = downscale(shepp_logan(64, 1), 4);
    for (index_t i = 0; i < a.size(); ++i) BOOST_TEST(a.pixels[i] == b.pixels[i], boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(psnr_and_gaussian_kernel) {
    Image a(4, 4, 0.5f), b(4, 4, 0.6f);
    BOOST_TEST(psnr(a, b) == 20.0, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(std::isinf(psnr(a, a)));
    BOOST_CHECK_THROW(psnr(a, Image(3, 4)), shape_error);
    const auto g = gaussian_kernel(9, 2.0);
    double sum = 0;
    for (double v : g) sum += v;
    BOOST_TEST(sum == 1.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(g[4 * 9 + 5] / g[4 * 9 + 4] == std::exp(-1.0 / 8), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(g[0] == g[80]);
    BOOST_CHECK_THROW(gaussian_kernel(0, 1.0), config_error);
    BOOST_CHECK_THROW(gaussian_kernel(3, 0.0), config_error);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

/// The k-th iterates of LSMR and LSQR by their definitions (Fong & Saunders 2011, section 2):
/// over the Krylov space K_k = span{g, N g, ..., N^(k-1) g}, N = A^T A + damp^2 I, g = A^T b,
/// LSMR's x_k minimizes ||g - N x|| (MINRES on the normal equations) and LSQR's minimizes
/// ||[b; 0] - [A; damp I] x|| (CG on them). Dense, in double, from an orthonormal basis of K_k.
std::pair<Eigen::VectorXd, Eigen::VectorXd> krylov_iterates(const Dense& A, const Eigen::VectorXd& b, double damp,
                                                            index_t k) {
    const index_t n = A.cols();
    const Dense N = A.transpose() * A + damp * damp * Dense::Identity(n, n);
    const Eigen::VectorXd g = A.transpose() * b;
    Dense K(n, k);
    K.col(0) = g / g.norm();
    for (index_t j = 1; j < k; ++j) {
        Eigen::VectorXd v = N * K.col(j - 1);
        for (int pass = 0; pass < 2; ++pass)  // Gram-Schmidt twice: orthogonal to rounding
            for (index_t i = 0; i < j; ++i) v -= K.col(i).dot(v) * K.col(i);
        K.col(j) = v / v.norm();
    }
    const Eigen::VectorXd y_mr = (N * K).colPivHouseholderQr().solve(g);
    Dense S(A.rows() + n, k);
    S << A * K, damp * K;
    Eigen::VectorXd c = Eigen::VectorXd::Zero(A.rows() + n);
    c.head(A.rows()) = b;
    const Eigen::VectorXd y_cg = S.colPivHouseholderQr().solve(c);
    return {K * y_mr, K * y_cg};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lsmr_solver)

BOOST_AUTO_TEST_CASE(lsmr_iterates_are_the_minimal_normal_residual_ones_of_the_krylov_space) {
    const Problem p = make_problem(60);
    const Eigen::VectorXd bd = p.b.template cast<double>();
    for (double damp : {0.0, 0.5}) {
        for (index_t k : {1, 2, 3, 5}) {
            SolverOptions o;
            o.atol = o.btol = 0;
            o.conlim = 0;
            o.iter_lim = k;
            o.damp = damp;
            const auto [mr, cg] = krylov_iterates(p.A, bd, damp, k);
            const auto r = lsmr<Scalar>(*p.op, p.b, o);
            BOOST_TEST_CONTEXT("damp " << damp << " k " << k) {
                BOOST_TEST(r.istop == 7);
                BOOST_TEST(r.iterations == k);
                BOOST_TEST(rel_diff(r.x.template cast<double>(), mr) <= (is_double ? 1e-10 : 1e-4));
                // The reference tells LSMR's iterate from LSQR's (which it equals only at k = n).
                BOOST_TEST(rel_diff(lsqr<Scalar>(*p.op, p.b, o).x.template cast<double>(), cg) <= (is_double ? 1e-10 : 1e-4));
                if (k > 1) BOOST_TEST(rel_diff(mr, cg) > 1e-3);
                // The estimates are the norms of this x: normr of the damped system, normar, ||x||.
                const Eigen::VectorXd x = r.x.template cast<double>();
                const Eigen::VectorXd res = bd - p.A * x;
                const double r2 = std::sqrt(res.squaredNorm() + damp * damp * x.squaredNorm());
                const double ar = (p.A.transpose() * res - damp * damp * x).norm();
                const double et = is_double ? 1e-9 : 1e-4;
                BOOST_TEST(r.r2norm == r2, boost::test_tools::tolerance(et));
                BOOST_TEST(r.r1norm == res.norm(), boost::test_tools::tolerance(et));
                BOOST_TEST(r.arnorm == ar, boost::test_tools::tolerance(is_double ? 1e-7 : 1e-3));
                BOOST_TEST(r.xnorm == x.norm(), boost::test_tools::tolerance(et));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(lsmr_matches_dense_normal_equations) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const Problem p = make_problem(seed);
        const Eigen::VectorXd bd = p.b.template cast<double>();
        for (double damp : {0.0, 0.3, 2.0}) {
            const Eigen::VectorXd ref = dense_solution(p.A, bd, damp);
            SolverOptions o = tight();
            o.damp = damp;
            const auto r = lsmr<Scalar>(*p.op, p.b, o);
            BOOST_TEST_CONTEXT("seed " << seed << " damp " << damp) {
                BOOST_TEST(r.method == "lsmr");
                BOOST_TEST(rel_diff(r.x.template cast<double>(), ref) <= solve_tol);
                BOOST_TEST((r.istop >= 1 && r.istop <= 5));
                BOOST_TEST(r.damp == damp);
                BOOST_TEST(r.residual_history.size() == static_cast<size_t>(r.iterations + 1));
                BOOST_TEST(r.normal_residual_history.size() == static_cast<size_t>(r.iterations + 1));
                // acond estimates cond([A; damp I]) from below.
                const Eigen::VectorXd sv = Eigen::JacobiSVD<Dense>(p.A).singularValues();
                const double cond = std::sqrt((sv(0) * sv(0) + damp * damp) / (sv(sv.size() - 1) * sv(sv.size() - 1) + damp * damp));
                BOOST_TEST(r.acond <= cond * 1.01);
                BOOST_TEST(r.acond >= 1.0);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(damped_lsmr_is_lsmr_on_the_stacked_matrix) {
    // damp adds the rows damp I: the same iterates as the undamped solve of [A; damp I] x = [b; 0]
    // (the estimates then describe the same residual), and a gradient weight adds mu D likewise.
    const Problem p = make_problem(61);
    const double damp = 0.7;
    Dense S(p.A.rows() + p.A.cols(), p.A.cols());
    S << p.A, damp * Dense::Identity(p.A.cols(), p.A.cols());
    const SparseOperator<Scalar> Sop(Eigen::SparseMatrix<Scalar, Eigen::RowMajor>(S.cast<Scalar>().sparseView()),
                                     p.op->model_shape(), Shape{S.rows()}, "S");
    Vec c = Vec::Zero(S.rows());
    c.head(p.b.size()) = p.b;
    for (index_t k : {3, 8}) {
        SolverOptions o;
        o.atol = o.btol = 0;
        o.conlim = 0;
        o.iter_lim = k;
        SolverOptions od = o;
        od.damp = damp;
        const auto rd = lsmr<Scalar>(*p.op, p.b, od), rs = lsmr<Scalar>(Sop, c, o);
        BOOST_TEST_CONTEXT("k " << k) {
            BOOST_TEST(rel_diff(rd.x, rs.x) <= (is_double ? 1e-12 : 1e-5));
            BOOST_TEST(rd.r2norm == rs.r2norm, boost::test_tools::tolerance(is_double ? 1e-12 : 1e-5));
            BOOST_TEST(rd.arnorm == rs.arnorm, boost::test_tools::tolerance(is_double ? 1e-10 : 1e-4));
        }
    }
    // The gradient penalty: the dense normal equations with mu^2 D^T D.
    const Dense D = Dense(gradient_matrix<double>({1, 9, 8}));
    SolverOptions og = tight();
    og.gradient_weight = 0.4;
    og.damp = 0.1;
    og.gradient_shape = {1, 9, 8};
    const auto rg = lsmr<Scalar>(*p.op, p.b, og);
    BOOST_TEST(rel_diff(rg.x.template cast<double>(), dense_solution(p.A, p.b.template cast<double>(), 0.1, &D, 0.4)) <=
               solve_tol);
}

BOOST_AUTO_TEST_CASE(lsmr_istop_codes) {
    const Problem p = make_problem(62);
    SolverOptions o;
    const auto r0 = lsmr<Scalar>(*p.op, Vec::Zero(p.op->data_size()), o);
    BOOST_TEST(r0.istop == 0);
    BOOST_TEST(r0.iterations == 0);
    BOOST_TEST(r0.x.norm() == 0);
    std::mt19937_64 rng(63);
    const Vec xt = random_batch(rng, p.op->model_size(), 1).col(0);
    o.atol = o.btol = is_double ? 1e-10 : 1e-5;
    const auto r1 = lsmr<Scalar>(*p.op, Vec(p.op->apply(xt).col(0)), o);
    BOOST_TEST(r1.istop == 1);
    BOOST_TEST(rel_diff(r1.x, xt) <= (is_double ? 1e-7 : 1e-3));
    const auto r2 = lsmr<Scalar>(*p.op, p.b, o);
    BOOST_TEST(r2.istop == 2);
    BOOST_TEST(r2.arnorm <= o.atol * r2.anorm * r2.r2norm);
    SolverOptions oc = o;
    oc.conlim = 1.5;
    BOOST_TEST(lsmr<Scalar>(*p.op, p.b, oc).istop == 3);
    // 7: the default limit is min(m, n) (scipy's lsmr), on a problem too ill-conditioned for any
    // other test to stop it first; a given limit is kept.
    SolverOptions ol;
    ol.atol = ol.btol = 0;
    ol.conlim = 0;
    const Deblur d = make_deblur(1, 16);
    const auto rn = lsmr<Scalar>(*d.W, d.b, ol);
    BOOST_TEST(rn.istop == 7);
    BOOST_TEST(rn.iterations == std::min(d.W->data_size(), d.W->model_size()));
    ol.iter_lim = 3;
    const auto r7 = lsmr<Scalar>(*p.op, p.b, ol);
    BOOST_TEST(r7.istop == 7);
    BOOST_TEST(r7.iterations == 3);
    BOOST_TEST(r7.reason() == "The iteration limit has been reached");
    // 8: the callback, which sees the method's name and every iteration.
    std::vector<index_t> seen;
    SolverOptions ocb;
    ocb.callback = [&](const IterationInfo& info) {
        seen.push_back(info.iteration);
        BOOST_TEST(info.method == "lsmr");
        return info.iteration < 2;
    };
    const auto r8 = lsmr<Scalar>(*p.op, p.b, ocb);
    BOOST_TEST(r8.istop == 8);
    BOOST_TEST(r8.iterations == 2);
    BOOST_TEST((seen == std::vector<index_t>{1, 2}));
    // Bad options are refused as for lsqr.
    SolverOptions bad;
    bad.damp = -1;
    BOOST_CHECK_EXCEPTION(lsmr<Scalar>(*p.op, p.b, bad), config_error,
                          [](const config_error& e) { return std::string(e.what()).find("damp=-1") != std::string::npos; });
    BOOST_CHECK_THROW(lsmr<Scalar>(*p.op, Vec::Zero(3)), shape_error);
    SolverOptions ob;
    ob.lower = 0;
    BOOST_CHECK_THROW(lsmr<Scalar>(*p.op, p.b, ob), config_error);
}

BOOST_AUTO_TEST_CASE(lsmr_needs_no_more_iterations_than_lsqr_on_an_ill_conditioned_deblurring) {
    // 32 x 32 phantom, 9 x 9 Gaussian (sigma 2), 1% noise, small damping: cond([W; damp I]) ~ 300.
    // LSMR's ||W^T r - damp^2 x|| decreases monotonically; LSQR's need not, so LSQR meets the
    // atol test (istop 2) later (scipy: 112 against 93 iterations in double).
    const Deblur d = make_deblur(1, 32);
    SolverOptions o;
    o.damp = 0.01;
    o.atol = o.btol = 1e-4;
    o.conlim = 0;
    o.iter_lim = 2000;
    const auto q = lsqr<Scalar>(*d.W, d.b, o), m = lsmr<Scalar>(*d.W, d.b, o);
    BOOST_TEST_MESSAGE("deblurring 32x32, damp 0.01: lsqr " << q.iterations << " iterations (istop " << q.istop
                                                            << "), lsmr " << m.iterations << " (istop " << m.istop << ")");
    BOOST_TEST(q.istop == 2);
    BOOST_TEST(m.istop == 2);
    BOOST_TEST(m.iterations <= q.iterations);
    const auto& h = m.normal_residual_history;
    for (size_t i = 1; i < h.size(); ++i) BOOST_TEST(h[i] <= h[i - 1] * (1 + 1e-9), "iteration " << i);
    bool lsqr_monotone = true;
    for (size_t i = 1; i < q.normal_residual_history.size(); ++i)
        lsqr_monotone = lsqr_monotone && q.normal_residual_history[i] <= q.normal_residual_history[i - 1];
    BOOST_TEST(!lsqr_monotone);  // the problem shows the difference it is chosen for
    // Both solve the same damped problem: their solutions agree to the tolerance's order.
    BOOST_TEST(rel_diff(m.x, q.x) <= 0.1);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Block = Batch<Scalar>;

/// W as a FunctionOperator whose forward (or adjoint) result gets `bad` in one entry at its
/// `at`-th call (1-based).
std::shared_ptr<FunctionOperator<Scalar>> failing(const std::shared_ptr<SparseOperator<Scalar>>& W, bool adjoint,
                                                  int at, double bad, int* calls) {
    auto forward = [W, adjoint, at, bad, calls](const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) {
        W->apply(x, y);
        if (!adjoint && ++*calls == at) y(1, 0) = static_cast<Scalar>(bad);
    };
    auto backward = [W, adjoint, at, bad, calls](const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) {
        W->apply_adjoint(y, x);
        if (adjoint && ++*calls == at) x(2, 0) = static_cast<Scalar>(bad);
    };
    return std::make_shared<FunctionOperator<Scalar>>(W->model_shape(), W->data_shape(), forward, backward, "failing");
}

bool all_finite(const Vec& v) { return v.array().isFinite().all(); }

/// Allocations during each iteration of a solve after the first (between consecutive callbacks).
std::vector<long> allocations_per_iteration(
    const std::function<SolveResult<Scalar>(const SolverOptions&)>& solve, SolverOptions o) {
    std::vector<long> per;
    per.reserve(64);
    long last = 0;
    o.callback = [&](const IterationInfo& info) {
        const long now = alloc_count::count.load();
        if (info.iteration > 1) per.push_back(now - last);
        last = now;
        return true;
    };
    alloc_count::during([&] { solve(o); });
    return per;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(allocations)

BOOST_AUTO_TEST_CASE(the_counter_sees_allocations_in_the_library_and_here) {
    // Without this the tests below could not fail.
    BOOST_TEST(alloc_count::during([] { gradient_matrix<Scalar>({1, 4, 4}); }) > 0);
    Vec v = Vec::Ones(100);
    BOOST_TEST(alloc_count::during([&] { Vec w = v + v; BOOST_TEST(w(0) == Scalar(2)); }) > 0);
}

BOOST_AUTO_TEST_CASE(iterations_allocate_nothing) {
    const Problem p = make_problem(31, 12, 11);
    SolverOptions o;
    o.atol = o.btol = 0;
    o.conlim = 0;
    o.iter_lim = 12;
    struct Case {
        const char* name;
        double damp, mu;
        bool bounded, accelerate;
    };
    for (const Case c : {Case{"plain", 0, 0, false, false}, Case{"damped", 0.3, 0, false, false},
                         Case{"gradient", 0.1, 0.5, false, false}, Case{"bounded", 0.2, 0, true, true}}) {
        SolverOptions oc = o;
        oc.damp = c.damp;
        oc.gradient_weight = c.mu;
        const std::vector<long> want(static_cast<size_t>(o.iter_lim - 1), 0);
        BOOST_TEST_CONTEXT(c.name) {
            if (!c.bounded) {
                const auto l = allocations_per_iteration([&](const SolverOptions& so) { return lsqr<Scalar>(*p.op, p.b, so); }, oc);
                const auto g = allocations_per_iteration([&](const SolverOptions& so) { return cgls<Scalar>(*p.op, p.b, so); }, oc);
                const auto mr = allocations_per_iteration([&](const SolverOptions& so) { return lsmr<Scalar>(*p.op, p.b, so); }, oc);
                BOOST_TEST(l == want, boost::test_tools::per_element());
                BOOST_TEST(mr == want, boost::test_tools::per_element());
                BOOST_TEST(g == want, boost::test_tools::per_element());
            }
            SolverOptions ol = oc;
            if (c.bounded) {
                ol.lower = -0.5;
                ol.upper = 0.5;
            }
            ol.accelerate = c.accelerate;
            const auto w = allocations_per_iteration([&](const SolverOptions& so) { return landweber<Scalar>(*p.op, p.b, so); }, ol);
            BOOST_TEST(w == want, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(gradient_and_stacked_operators_apply_without_allocating) {
    const Problem p = make_problem(32);
    const auto D = gradient_operator<Scalar>({1, 9, 8});
    const auto S = stack_operators<Scalar>(p.op, D, 0.7);
    std::mt19937_64 rng(33);
    for (index_t cols : {1, 3}) {
        const Block x = random_batch(rng, S->model_size(), cols), y = random_batch(rng, S->data_size(), cols);
        Block dx(D->data_size(), cols), dy(D->model_size(), cols), sx(S->data_size(), cols), sy(S->model_size(), cols);
        S->apply_adjoint(y, sy);  // sizes the stacked operator's work block
        const long n = alloc_count::during([&] {
            D->apply(x, dx);
            D->apply_adjoint(y.bottomRows(D->data_size()), dy);
            S->apply(x, sx);
            S->apply_adjoint(y, sy);
        });
        BOOST_TEST(n == 0);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(operators)

BOOST_AUTO_TEST_CASE(stacked_operator_is_the_stacked_matrix) {
    // [W; 0.7 D] against the explicit stacked sparse matrix, on blocks of 1 and 3 columns.
    const Problem p = make_problem(34);
    const auto D = gradient_operator<Scalar>({1, 9, 8});
    const auto S = stack_operators<Scalar>(p.op, D, 0.7);
    const Dense Dm = Dense(gradient_matrix<double>({1, 9, 8}));
    Dense M(p.A.rows() + Dm.rows(), p.A.cols());
    M << p.A, 0.7 * Dm;
    BOOST_TEST((S->data_shape() == Shape{M.rows()}));
    std::mt19937_64 rng(35);
    for (index_t cols : {1, 3}) {
        const Block x = random_batch(rng, S->model_size(), cols), y = random_batch(rng, S->data_size(), cols);
        BOOST_TEST(rel_diff(Dense(S->apply(x).template cast<double>()), Dense(M * x.template cast<double>())) <= tol * 10);
        BOOST_TEST(rel_diff(Dense(S->apply_adjoint(y).template cast<double>()),
                            Dense(M.transpose() * y.template cast<double>())) <= tol * 10);
        const Block Dx = D->apply(x);
        BOOST_TEST(rel_diff(Dense(Dx.template cast<double>()), Dense(Dm * x.template cast<double>())) <= tol);
    }
    BOOST_CHECK_THROW(stack_operators<Scalar>(p.op, gradient_operator<Scalar>({1, 3, 3}), 1.0), shape_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(non_finite)

BOOST_AUTO_TEST_CASE(a_nan_or_inf_in_b_is_refused_with_its_index) {
    const Problem p = make_problem(40, 12, 11);
    for (double bad : {kNaN, kInf, -kInf}) {
        Vec b = p.b;
        b(5) = static_cast<Scalar>(bad);
        const std::string value = std::to_string(bad);
        auto names_it = [&](const std::exception& e) {
            const std::string m = e.what();
            BOOST_TEST_MESSAGE(m);
            return m.find("b[5] = " + value) != std::string::npos && m.find("finite") != std::string::npos;
        };
        BOOST_TEST_CONTEXT(value) {
            // Before, cgls returned x = 0 with istop 0 ("the exact solution is x = 0") for a NaN in b.
            BOOST_CHECK_EXCEPTION(cgls<Scalar>(*p.op, b), config_error, names_it);
            BOOST_CHECK_EXCEPTION(lsqr<Scalar>(*p.op, b), config_error, names_it);
            BOOST_CHECK_EXCEPTION(lsmr<Scalar>(*p.op, b), config_error, names_it);
            BOOST_CHECK_EXCEPTION(landweber<Scalar>(*p.op, b), config_error, names_it);
            BOOST_CHECK_EXCEPTION(choose_lambda<Scalar>(*p.op, b, Regularizer::tikhonov), config_error, names_it);
            BOOST_CHECK_EXCEPTION(solve_spqr<Scalar>(*p.op, b), config_error, names_it);
            BOOST_CHECK_EXCEPTION(solve_cholmod<Scalar>(p.op->matrix(), b), config_error, names_it);
        }
    }
    // A non-finite matrix entry is refused by the direct solvers (they read the matrix itself).
    auto M = p.op->matrix();
    M.valuePtr()[3] = static_cast<Scalar>(kNaN);
    BOOST_CHECK_EXCEPTION(solve_spqr(M, p.b), config_error, [](const config_error& e) {
        return std::string(e.what()).find("A(") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(an_operator_returning_nan_stops_the_solver_at_the_last_finite_iterate) {
    const Problem p = make_problem(41, 12, 11);
    SolverOptions o;
    o.atol = o.btol = 0;
    o.conlim = 0;
    for (double bad : {kNaN, kInf}) {
        BOOST_TEST_CONTEXT(bad) {
            // LSQR: the forward product of iteration 4 fails (call 1 is iteration 1's).
            int calls = 0;
            const auto r = lsqr<Scalar>(*failing(p.op, false, 4, bad, &calls), p.b, o);
            BOOST_TEST(r.istop == istop_nonfinite);
            BOOST_TEST(r.iterations == 3);
            BOOST_TEST(r.reason() == "The operator returned a non-finite value at iteration 4");
            BOOST_TEST(r.residual_history.size() == 4u);
            SolverOptions o3 = o;
            o3.iter_lim = 3;
            const auto r3 = lsqr<Scalar>(*p.op, p.b, o3);
            BOOST_TEST(rel_diff(r.x, r3.x) == 0.0);
            BOOST_TEST(r.r1norm == r3.r1norm);
            // LSMR likewise: the forward product of iteration 4, then the adjoint of iteration 3
            // (call 1 of the adjoint is the initial A^T b).
            calls = 0;
            const auto m = lsmr<Scalar>(*failing(p.op, false, 4, bad, &calls), p.b, o);
            BOOST_TEST(m.istop == istop_nonfinite);
            BOOST_TEST(m.iterations == 3);
            BOOST_TEST(m.reason() == "The operator returned a non-finite value at iteration 4");
            BOOST_TEST(m.residual_history.size() == 4u);
            const auto m3 = lsmr<Scalar>(*p.op, p.b, o3);
            BOOST_TEST(rel_diff(m.x, m3.x) == 0.0);
            BOOST_TEST(m.r2norm == m3.r2norm);
            BOOST_TEST(m.arnorm == m3.arnorm);
            calls = 0;
            const auto ma = lsmr<Scalar>(*failing(p.op, true, 3, bad, &calls), p.b, o);
            BOOST_TEST(ma.istop == istop_nonfinite);
            BOOST_TEST(ma.iterations == 1);
            SolverOptions o1m = o;
            o1m.iter_lim = 1;
            BOOST_TEST(rel_diff(ma.x, lsmr<Scalar>(*p.op, p.b, o1m).x) == 0.0);
            calls = 0;
            const auto m0 = lsmr<Scalar>(*failing(p.op, true, 1, bad, &calls), p.b, o);
            BOOST_TEST(m0.istop == istop_nonfinite);
            BOOST_TEST(m0.iterations == 0);
            BOOST_TEST(m0.x.norm() == 0);
            // CGLS: the adjoint of iteration 2 fails (call 1 is the initial A^T b).
            calls = 0;
            const auto c = cgls<Scalar>(*failing(p.op, true, 3, bad, &calls), p.b, o);
            BOOST_TEST(c.istop == istop_nonfinite);
            BOOST_TEST(c.iterations == 1);
            SolverOptions o1 = o;
            o1.iter_lim = 1;
            BOOST_TEST(rel_diff(c.x, cgls<Scalar>(*p.op, p.b, o1).x) == 0.0);
            // CGLS's forward product of iteration 3.
            calls = 0;
            const auto cf = cgls<Scalar>(*failing(p.op, false, 3, bad, &calls), p.b, o);
            BOOST_TEST(cf.istop == istop_nonfinite);
            BOOST_TEST(cf.iterations == 2);
            BOOST_TEST(all_finite(cf.x));
            // Landweber with a given step (no power method): the forward product of iteration 5
            // (call 1 is the initial residual).
            SolverOptions ow = o;
            ow.step = 0.05;
            calls = 0;
            const auto w = landweber<Scalar>(*failing(p.op, false, 6, bad, &calls), p.b, ow);
            BOOST_TEST(w.istop == istop_nonfinite);
            BOOST_TEST(w.iterations == 4);
            ow.iter_lim = 4;
            BOOST_TEST(rel_diff(w.x, landweber<Scalar>(*p.op, p.b, ow).x) == 0.0);
            // The very first product: x = 0 is returned, not called exact.
            calls = 0;
            const auto r0 = lsqr<Scalar>(*failing(p.op, true, 1, bad, &calls), p.b, o);
            BOOST_TEST(r0.istop == istop_nonfinite);
            BOOST_TEST(r0.iterations == 0);
            BOOST_TEST(r0.reason() == "The operator returned a non-finite value at iteration 1");
            // The operator norm and the lambda search report it too.
            calls = 0;
            const NormBound nb = norm_bound<Scalar>(*failing(p.op, false, 2, bad, &calls));
            BOOST_TEST(std::isnan(nb.sigma_max));
            BOOST_TEST(nb.str().find("non-finite") != std::string::npos);
            calls = 0;
            const auto wn = landweber<Scalar>(*failing(p.op, false, 2, bad, &calls), p.b, o);
            BOOST_TEST(wn.istop == istop_nonfinite);
            BOOST_TEST(wn.iterations == 0);
            for (LambdaRule rule : {LambdaRule::lcurve, LambdaRule::gcv}) {
                calls = 0;
                LambdaOptions lo;
                lo.rule = rule;
                BOOST_CHECK_EXCEPTION(choose_lambda<Scalar>(*failing(p.op, false, 5, bad, &calls), p.b,
                                                            Regularizer::tikhonov, lo),
                                      std::runtime_error, [](const std::runtime_error& e) {
                                          return std::string(e.what()).find("non-finite") != std::string::npos;
                                      });
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(stopping_tests_never_read_nan_as_convergence) {
    // NaN estimates pass no test (the iteration limit still stops); finite ones are unchanged.
    detail::Estimates e;
    e.r2norm = e.arnorm = e.anorm = e.xnorm = kNaN;
    SolverOptions o;
    for (bool cond : {false, true}) {
        BOOST_TEST(detail::stop_code(3, 10, e, 1.0, o, cond) == 0);
        BOOST_TEST(detail::stop_code(10, 10, e, 1.0, o, cond) == 7);
        BOOST_TEST(detail::stop_code(3, 10, e, kNaN, o, cond) == 0);
    }
    detail::Estimates f;
    f.r2norm = 1e-9;
    f.anorm = 1;
    f.arnorm = 1e-9;
    BOOST_TEST(detail::stop_code(3, 10, f, 1.0, o, true) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(callbacks)

BOOST_AUTO_TEST_CASE(iteration_info_carries_the_limit_and_the_time) {
    const Problem p = make_problem(50);
    SolverOptions o;
    o.iter_lim = 7;
    o.atol = o.btol = 0;
    std::vector<IterationInfo> seen;
    o.callback = [&](const IterationInfo& i) {
        seen.push_back(i);
        return true;
    };
    const auto r = cgls<Scalar>(*p.op, p.b, o);
    BOOST_REQUIRE(seen.size() == 7u);
    for (size_t k = 0; k < seen.size(); ++k) {
        BOOST_TEST(seen[k].iteration == static_cast<index_t>(k + 1));
        BOOST_TEST(seen[k].iteration_limit == 7);
        BOOST_TEST(seen[k].residual_norm == r.residual_history[k + 1]);
        BOOST_TEST(seen[k].seconds >= (k ? seen[k - 1].seconds : 0.0));
    }
    BOOST_TEST(seen.back().solution_norm == r.xnorm);
}

BOOST_AUTO_TEST_CASE(the_lambda_search_reports_every_trial) {
    const Deblur d = make_deblur(1, 32);
    // GCV: one report per examined lambda, in order, with its value.
    std::vector<ProgressInfo> seen;
    LambdaOptions lo;
    lo.rule = LambdaRule::gcv;
    lo.trial_solves = 10;
    lo.callback = [&](const ProgressInfo& p) { seen.push_back(p); };
    const LambdaChoice g = choose_lambda<Scalar>(*d.W, d.b, Regularizer::tikhonov, lo);
    BOOST_REQUIRE(seen.size() == g.lambdas.size());
    for (size_t i = 0; i < seen.size(); ++i) {
        BOOST_TEST(seen[i].task == "choose_lambda");
        BOOST_TEST(seen[i].phase == "GCV trial solve pairs");
        BOOST_TEST(seen[i].step == static_cast<index_t>(i + 1));
        BOOST_TEST(seen[i].steps == static_cast<index_t>(g.lambdas.size()));
        BOOST_TEST(seen[i].value == g.lambdas[i]);
    }
    // Discrepancy on the projected problem: the Golub-Kahan extensions (40 steps first).
    seen.clear();
    lo.rule = LambdaRule::discrepancy;
    lo.noise_sigma = 0.01;
    choose_lambda<Scalar>(*d.W, d.b, Regularizer::tikhonov, lo);
    BOOST_REQUIRE(!seen.empty());
    BOOST_TEST(seen.front().phase == "Golub-Kahan steps");
    BOOST_TEST(seen.front().step == 40);
    BOOST_TEST(std::isnan(seen.front().value));
    // Through SolverOptions when lambda is chosen automatically.
    seen.clear();
    SolverOptions o;
    o.auto_lambda = true;
    o.lambda = lo;
    lsqr<Scalar>(*d.W, d.b, o);
    BOOST_TEST(!seen.empty());
}

BOOST_AUTO_TEST_CASE(direct_solvers_report_their_phases) {
    const Problem p = make_problem(51, 12, 11);
    std::vector<ProgressInfo> seen;
    DirectOptions o;
    o.damp = 0.1;
    o.callback = [&](const ProgressInfo& i) { seen.push_back(i); };
    solve_cholmod<Scalar>(*p.op, p.b, o);
    BOOST_REQUIRE(seen.size() == 3u);
    const char* phases[] = {"analysis", "factorization", "solve"};
    for (size_t i = 0; i < 3; ++i) {
        BOOST_TEST(seen[i].task == "cholmod");
        BOOST_TEST(seen[i].phase == phases[i]);
        BOOST_TEST(seen[i].step == static_cast<index_t>(i + 1));
        BOOST_TEST(seen[i].steps == 3);
    }
    seen.clear();
    solve_spqr<Scalar>(*p.op, p.b, o);
    BOOST_REQUIRE(seen.size() == 2u);
    BOOST_TEST(seen[0].phase == "analysis");
    BOOST_TEST(seen[1].phase == "factorization and solve");
    BOOST_TEST(seen[1].seconds >= seen[0].seconds);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace convmtx::test
