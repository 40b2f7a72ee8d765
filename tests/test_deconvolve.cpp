// Deconvolution (deconvolve.hpp and its parts): the primal-dual TV solve against the exact
// solution of 1-D TV denoising of a step, the FFT solve against the dense normal equations,
// preconditioned against unpreconditioned CGLS, the boundary operators' dot tests, bounds, the
// observed-image path, PSFs, SSIM and the noise estimate.
#define BOOST_TEST_MODULE deconvolve
#include <limits>

#include <Eigen/Dense>

#include "convmtx/solvers.hpp"
#include "test_common.hpp"

namespace convmtx::test {
namespace {

/// The dense matrix of an operator, column by column.
template <class Scalar>
Eigen::MatrixXd dense(const LinearOperator<Scalar>& op) {
    Eigen::MatrixXd M(op.data_size(), op.model_size());
    Vec<Scalar> e = Vec<Scalar>::Zero(op.model_size());
    for (index_t j = 0; j < op.model_size(); ++j) {
        e.setZero();
        e(j) = 1;
        M.col(j) = op.apply(e).template cast<double>();
    }
    return M;
}

/// A smooth test image with a few edges, in [0, 1].
Eigen::VectorXd test_image(index_t h, index_t w) {
    Eigen::VectorXd x(h * w);
    for (index_t r = 0; r < h; ++r)
        for (index_t c = 0; c < w; ++c)
            x(r * w + c) = 0.5 + 0.3 * std::sin(0.4 * static_cast<double>(r)) * std::cos(0.3 * static_cast<double>(c)) +
                           ((r > h / 3 && c > w / 2) ? 0.15 : 0.0);
    return x;
}

Eigen::VectorXd gaussian_noise(index_t n, double sigma, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> nd(0.0, sigma);
    Eigen::VectorXd v(n);
    for (index_t i = 0; i < n; ++i) v(i) = nd(rng);
    return v;
}

// min_x 1/2 ||x - b||^2 + lambda sum |x_{i+1} - x_i| for a step b (a on m points, c on n - m):
// the two levels move towards each other by lambda/m and lambda/(n - m) while the jump stays
// positive (Strong & Chan 2003; the optimality condition with dual p = -lambda on the jump).
BOOST_AUTO_TEST_CASE_TEMPLATE(tv_primal_dual_matches_the_exact_1d_step_solution, Scalar, Scalars) {
    const index_t n = 20, m = 8;
    const double a = 0.2, c = 1.0, lambda = 0.5;
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> I(n, n);
    I.setIdentity();
    SparseOperator<Scalar> A(I, {1, n}, {1, n});
    const auto D = gradient_operator<Scalar>({1, n});
    Vec<Scalar> b(n);
    for (index_t i = 0; i < n; ++i) b(i) = static_cast<Scalar>(i < m ? a : c);
    for (Prior prior : {Prior::tv, Prior::tv_anisotropic}) {
        PrimalDualOptions o;
        o.prior = prior;
        o.lambda = lambda;
        o.iter_lim = 20000;
        o.tol = is_double<Scalar> ? 1e-13 : 1e-7;
        const auto r = primal_dual<Scalar>(A, b, D.get(), o);
        const double lo = a + lambda / m, hi = c - lambda / (n - m);
        double err = 0;
        for (index_t i = 0; i < n; ++i) err = std::max(err, std::fabs(static_cast<double>(r.x(i)) - (i < m ? lo : hi)));
        BOOST_TEST_CONTEXT(to_string(prior) << " after " << r.iterations << " iterations, " << r.stop_reason) {
            BOOST_TEST(err < (is_double<Scalar> ? 1e-8 : 1e-4));
            const double exact_obj = 0.5 * (m * (lo - a) * (lo - a) + (n - m) * (hi - c) * (hi - c)) + lambda * (hi - lo);
            BOOST_TEST(std::fabs(r.objective - exact_obj) < (is_double<Scalar> ? 1e-9 : 1e-4));
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fft_solve_equals_the_normal_equations_for_periodic_boundaries, Scalar, Scalars) {
    const index_t h = 12, w = 10;
    const Psf psf = motion_psf(5, 30);
    const auto A = blur_operator<double>(psf, h, w, PaddingMode::circular);
    const Eigen::MatrixXd Ad = dense(*A);
    const Eigen::VectorXd x_true = test_image(h, w);
    const Eigen::VectorXd b = Ad * x_true + gaussian_noise(h * w, 0.01, 3);
    for (Prior prior : {Prior::tikhonov, Prior::gradient}) {
        const double lambda = 0.07;
        Eigen::MatrixXd L = Eigen::MatrixXd::Identity(h * w, h * w);
        if (prior == Prior::gradient) L = dense(*difference_operator<double>(h, w, PaddingMode::circular));
        const Eigen::MatrixXd N = Ad.transpose() * Ad + lambda * lambda * L.transpose() * L;
        const Eigen::VectorXd x_ne = N.ldlt().solve(Ad.transpose() * b);
        DeconvolveOptions o;
        o.boundary = PaddingMode::circular;
        o.regularizer = prior;
        o.lambda = lambda;
        const auto r = deconvolve<Scalar>(b.cast<Scalar>(), h, w, psf, o);
        BOOST_TEST_CONTEXT(to_string(prior)) {
            BOOST_TEST(r.method == "fft");
            BOOST_TEST(rel_diff(r.x.template cast<double>(), x_ne) < (is_double<Scalar> ? 1e-10 : 1e-5));
        }
    }
    // The periodic blur of the FFT is the circular conv W.
    PeriodicDeconvolver P(psf, h, w, Regularizer::tikhonov);
    Eigen::VectorXd y(h * w);
    P.apply(x_true.data(), y.data());
    BOOST_TEST(rel_diff(y, Ad * x_true) < 1e-12);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(preconditioned_and_unpreconditioned_cgls_reach_the_same_solution, Scalar, Scalars) {
    const index_t h = 64, w = 60;
    const Psf psf = gaussian_psf(7, 1.5);
    for (PaddingMode mode : {PaddingMode::zeros, PaddingMode::reflect, PaddingMode::replicate}) {
        const auto A = blur_operator<Scalar>(psf, h, w, mode);
        const Vec<Scalar> b = (A->apply(test_image(h, w).cast<Scalar>()) +
                               gaussian_noise(h * w, 0.01, 5).cast<Scalar>()).eval();
        for (Prior prior : {Prior::tikhonov, Prior::gradient}) {
            DeconvolveOptions o;
            o.boundary = mode;
            o.regularizer = prior;
            o.lambda = 0.03;
            o.tol = is_double<Scalar> ? 1e-10 : 1e-5;
            o.method = "pcgls";
            const auto p = deconvolve<Scalar>(b, h, w, psf, o);
            o.method = "cgls";
            const auto u = deconvolve<Scalar>(b, h, w, psf, o);
            o.method = "lsqr";
            const auto l = deconvolve<Scalar>(b, h, w, psf, o);
            BOOST_TEST_CONTEXT(to_string(mode) << " " << to_string(prior) << ": pcgls " << p.iterations << ", cgls "
                                               << u.iterations << " iterations") {
                BOOST_TEST(p.converged);
                BOOST_TEST(u.converged);
                BOOST_TEST(rel_diff(p.x, u.x) < (is_double<Scalar> ? 1e-6 : 1e-2));
                BOOST_TEST(rel_diff(l.x, u.x) < (is_double<Scalar> ? 1e-6 : 1e-2));
                // Strang's circulant matches a zero boundary's blur away from the edges only; with
                // reflect and replicate the counts are reported (docs/solvers.md), not required.
                if (mode == PaddingMode::zeros && is_double<Scalar>) BOOST_TEST(p.iterations < u.iterations);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_boundary_operator_passes_the_dot_test, Scalar, Scalars) {
    for (PaddingMode mode : {PaddingMode::zeros, PaddingMode::circular, PaddingMode::reflect, PaddingMode::replicate})
        for (const Psf& psf : {gaussian_psf(5, 1.0), motion_psf(7, 45), disk_psf(2)}) {
            BOOST_TEST_CONTEXT(to_string(mode) << " " << psf.description) {
                BOOST_TEST(dot_test(*blur_operator<Scalar>(psf, 17, 13, mode)).passed);
                BOOST_TEST(dot_test(*difference_operator<Scalar>(17, 13, mode)).passed);
            }
        }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bounds_are_respected_by_every_prior, Scalar, Scalars) {
    const index_t h = 24, w = 24;
    const Psf psf = gaussian_psf(5, 1.2);
    Eigen::VectorXd x_true = test_image(h, w);
    for (index_t i = 0; i < h * w; i += 7) x_true(i) = i % 2 ? 1.0 : 0.0;  // pixels at the bounds
    const auto A = blur_operator<double>(psf, h, w, PaddingMode::zeros);
    const Vec<Scalar> b = (A->apply(x_true) + gaussian_noise(h * w, 0.05, 7)).cast<Scalar>();
    for (Prior prior : {Prior::tikhonov, Prior::gradient, Prior::tv, Prior::tv_anisotropic}) {
        DeconvolveOptions o;
        o.regularizer = prior;
        o.lambda = is_tv(prior) ? 1e-4 : 1e-3;
        o.iter_lim = 300;
        o.method = "primal-dual";
        const auto free = deconvolve<Scalar>(b, h, w, psf, o);
        o.lower = 0;
        o.upper = 1;
        const auto bounded = deconvolve<Scalar>(b, h, w, psf, o);
        BOOST_TEST_CONTEXT(to_string(prior)) {
            BOOST_TEST((free.x.minCoeff() < 0 || free.x.maxCoeff() > 1));  // the bounds are active
            BOOST_TEST(bounded.x.minCoeff() >= 0);
            BOOST_TEST(bounded.x.maxCoeff() <= 1);
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(the_observed_image_is_not_blurred_again, Scalar, Scalars) {
    const index_t h = 24, w = 20;
    const Psf psf = gaussian_psf(5, 1.0);
    const Eigen::VectorXd x_true = test_image(h, w);
    for (PaddingMode mode : {PaddingMode::zeros, PaddingMode::circular, PaddingMode::reflect, PaddingMode::replicate}) {
        const auto A = blur_operator<double>(psf, h, w, mode);
        const double sigma = is_double<Scalar> ? 1e-6 : 1e-4;  // float: above its rounding
        const Eigen::VectorXd b = A->apply(x_true) + gaussian_noise(h * w, sigma, 11);
        DeconvolveOptions o;
        o.boundary = mode;
        o.noise = sigma;
        o.tol = is_double<Scalar> ? 1e-10 : 1e-6;
        const auto r = deconvolve<Scalar>(b.cast<Scalar>(), h, w, psf, o);
        BOOST_TEST_CONTEXT(to_string(mode) << " " << r.method << " lambda " << r.lambda) {
            BOOST_TEST((r.x.template cast<double>() - x_true).norm() / x_true.norm() < (is_double<Scalar> ? 5e-3 : 2e-2));
            // Blurring the data again would leave it as far from the truth as b (or farther).
            BOOST_TEST((r.x.template cast<double>() - x_true).norm() < (is_double<Scalar> ? 0.1 : 0.3) * (b - x_true).norm());
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(discrepancy_lambda_meets_its_target, Scalar, Scalars) {
    const index_t h = 32, w = 32;
    const Psf psf = gaussian_psf(7, 1.5);
    for (PaddingMode mode : {PaddingMode::circular, PaddingMode::zeros})
        for (Prior prior : {Prior::tikhonov, Prior::tv}) {
            const auto A = blur_operator<double>(psf, h, w, mode);
            const Eigen::VectorXd b = A->apply(test_image(h, w)) + gaussian_noise(h * w, 0.02, 13);
            DeconvolveOptions o;
            o.boundary = mode;
            o.regularizer = prior;
            o.noise = 0.02;
            const auto r = deconvolve<Scalar>(b.cast<Scalar>(), h, w, psf, o);
            BOOST_TEST_CONTEXT(to_string(mode) << " " << to_string(prior) << " lambda " << r.lambda) {
                BOOST_TEST(std::fabs(r.target - 0.02 * 32) < 1e-12);
                if (prior == Prior::tv) {
                    // ||W x - b||^2 + sigma^2 df = target^2, df between 0 and the m = 1024 pixels.
                    BOOST_TEST(r.lambda_rule == "discrepancy with degrees of freedom (noise given)");
                    BOOST_TEST(r.degrees_of_freedom > 0);
                    BOOST_TEST(r.degrees_of_freedom < 0.5 * h * w);
                    const double lhs = std::sqrt(r.residual_norm * r.residual_norm + 0.02 * 0.02 * r.degrees_of_freedom);
                    BOOST_TEST(std::fabs(lhs / r.target - 1) < 0.05);
                    BOOST_TEST(r.residual_norm < r.target);
                } else {
                    BOOST_TEST(r.lambda_rule == "discrepancy (noise given)");
                    BOOST_TEST(r.degrees_of_freedom == 0);
                    BOOST_TEST(std::fabs(r.residual_norm / r.target - 1) < 0.05);
                }
            }
        }
}

BOOST_AUTO_TEST_CASE(psfs_are_normalised_and_parsed) {
    const Psf m = parse_psf("motion:9:0");
    BOOST_TEST(m.height == 9);
    for (index_t c = 0; c < 9; ++c) BOOST_TEST(std::fabs(m.values[static_cast<size_t>(4 * 9 + c)] - 1.0 / 9) < 1e-15);
    const Psf v = parse_psf("motion:5:90");
    for (index_t r = 0; r < 5; ++r) BOOST_TEST(std::fabs(v.values[static_cast<size_t>(r * 5 + 2)] - 0.2) < 1e-15);
    for (const char* text : {"gaussian:9:2.0", "motion:11:30", "disk:3.5"}) {
        const Psf p = parse_psf(text);
        double s = 0;
        for (double x : p.values) s += x;
        BOOST_TEST(std::fabs(s - 1) < 1e-12, text);
        BOOST_TEST(p.height % 2 == 1);
    }
    const Psf g = parse_psf("gaussian:9:2.0");
    const auto ref = gaussian_kernel(9, 2.0);
    for (size_t i = 0; i < ref.size(); ++i) BOOST_TEST(std::fabs(g.values[i] - ref[i]) < 1e-15);
    for (const char* bad : {"gaussian:9", "gaussian:9.5:2", "gaussian:9:-1", "motion:0:0", "disk:0", "box:3", "disk:nan"})
        BOOST_CHECK_THROW(parse_psf(bad), config_error);
    BOOST_CHECK_THROW(make_psf(2, 2, {1, 2, std::numeric_limits<double>::quiet_NaN(), 0}, "x"), config_error);
    BOOST_CHECK_THROW(make_psf(1, 2, {1, -1}, "x"), config_error);
}

BOOST_AUTO_TEST_CASE(ssim_and_noise_estimate) {
    const index_t h = 64, w = 48;
    const Eigen::VectorXd x = test_image(h, w);
    BOOST_TEST(std::fabs(ssim(x.data(), x.data(), h, w) - 1) < 1e-12);
    const Eigen::VectorXd y = x + gaussian_noise(h * w, 0.05, 17);
    const double s = ssim(x.data(), y.data(), h, w);
    BOOST_TEST(s < 0.9);
    BOOST_TEST(std::fabs(ssim(y.data(), x.data(), h, w) - s) < 1e-12);  // symmetric
    // A constant offset c leaves the structure: SSIM = (2 mu (mu + c) + C1) / (mu^2 + (mu + c)^2 + C1) on flat images.
    Eigen::VectorXd f1 = Eigen::VectorXd::Constant(h * w, 0.3), f2 = Eigen::VectorXd::Constant(h * w, 0.5);
    const double C1 = 1e-4;
    BOOST_TEST(std::fabs(ssim(f1.data(), f2.data(), h, w) - (2 * 0.3 * 0.5 + C1) / (0.09 + 0.25 + C1)) < 1e-12);
    BOOST_CHECK_THROW(ssim(x.data(), x.data(), 10, 10), shape_error);
    const Eigen::VectorXd noise = gaussian_noise(128 * 128, 0.1, 19);
    BOOST_TEST(std::fabs(estimate_noise_sigma(noise.data(), 128, 128) / 0.1 - 1) < 0.05);
    BOOST_TEST(std::fabs(psnr_db(x.data(), y.data(), h * w) - 10 * std::log10(1 / ((x - y).squaredNorm() / (h * w)))) < 1e-9);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_arguments_are_refused_with_their_names, Scalar, Scalars) {
    const Psf psf = gaussian_psf(5, 1.0);
    Vec<Scalar> b = Vec<Scalar>::Constant(100, Scalar(0.5));
    DeconvolveOptions o;
    auto throws = [&](const DeconvolveOptions& opt, const std::string& word) {
        try {
            deconvolve<Scalar>(b, 10, 10, psf, opt);
        } catch (const config_error& e) {
            BOOST_TEST(std::string(e.what()).find(word) != std::string::npos, e.what());
            return;
        }
        BOOST_ERROR("no config_error for " + word);
    };
    o.method = "fft";
    throws(o, "periodic");
    o.boundary = PaddingMode::circular;
    o.lower = 0;
    throws(o, "bounds");
    o = {};
    o.regularizer = Prior::tv;
    o.method = "pcgls";
    throws(o, "primal-dual");
    o = {};
    o.method = "magic";
    throws(o, "method");
    o = {};
    o.lower = 1;
    o.upper = 0;
    throws(o, "lower");
    BOOST_CHECK_THROW(deconvolve<Scalar>(b, 10, 11, psf, {}), shape_error);
    b(42) = std::numeric_limits<Scalar>::quiet_NaN();
    throws({}, "b[42]");
    b(42) = 0;
    o = {};
    o.boundary = PaddingMode::circular;
    BOOST_CHECK_THROW(deconvolve<Scalar>(Vec<Scalar>::Zero(9), 3, 3, psf, o), config_error);  // PSF > image
}

}  // namespace
}  // namespace convmtx::test
