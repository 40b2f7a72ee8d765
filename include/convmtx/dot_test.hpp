// Dot-product (adjoint) test of a forward/adjoint pair A, A^H on random vectors:
//   error = |<Ax, y> - <x, A^H y>| / max(||Ax|| ||y||, ||x|| ||A^H y||), passed when error <= rtol for every trial.
// The larger of the two scales is used because ||Ax|| alone can be tiny through cancellation (a row whose
// products cancel) while <x, A^H y> still carries rounding of order eps ||x|| ||A^H y||.
#pragma once

#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "convmtx/spec.hpp"

namespace convmtx {

struct DotTrial {
    std::complex<double> forward;  ///< <Ax, y>
    std::complex<double> adjoint;  ///< <x, A^H y>
    double error = 0;              ///< |forward - adjoint| / scale
    double scale = 0;              ///< max(||Ax|| ||y||, ||x|| ||A^H y||)
};

struct DotTestReport {
    std::vector<DotTrial> trials;
    double error = 0;  ///< largest error over the trials
    double rtol = 0;
    bool passed = false;
    std::string str() const {
        std::ostringstream os;
        os.precision(6);
        os << "dot test " << (passed ? "PASSED" : "FAILED") << ": max |<Ax,y> - <x,A^T y>| / max(|Ax||y|, |x||A^T y|) = "
           << error << " (rtol " << rtol << ", " << trials.size() << " trials)";
        return os.str();
    }
};

namespace detail {
template <class T> struct real_of { using type = T; };
template <class T> struct real_of<std::complex<T>> { using type = T; };
template <class T> struct is_complex : std::false_type {};
template <class T> struct is_complex<std::complex<T>> : std::true_type {};
}  // namespace detail

/// Default tolerance: 10 * eps(Scalar) * sqrt(in_size + out_size).
template <class Scalar>
double default_dot_rtol(index_t in_size, index_t out_size) {
    using Real = typename detail::real_of<Scalar>::type;
    return 10.0 * static_cast<double>(std::numeric_limits<Real>::epsilon()) *
           std::sqrt(static_cast<double>(in_size + out_size));
}

/// Runs `trials` dot tests with standard normal x (in_size) and y (out_size) drawn from `seed`.
/// forward(x) and adjoint(y) take and return Eigen column vectors of Scalar. rtol <= 0 picks the default.
template <class Scalar, class Forward, class Adjoint>
DotTestReport dot_test(index_t in_size, index_t out_size, Forward&& forward, Adjoint&& adjoint, int trials = 10,
                       double rtol = 0, std::uint64_t seed = 0) {
    using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using Real = typename detail::real_of<Scalar>::type;
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    auto draw = [&](index_t n) {
        Vec v(n);
        for (index_t i = 0; i < n; ++i) {
            if constexpr (detail::is_complex<Scalar>::value) {
                const double re = normal(rng), im = normal(rng);
                v[i] = Scalar(static_cast<Real>(re), static_cast<Real>(im));
            } else {
                v[i] = static_cast<Scalar>(normal(rng));
            }
        }
        return v;
    };
    DotTestReport report;
    report.rtol = rtol > 0 ? rtol : default_dot_rtol<Scalar>(in_size, out_size);
    for (int t = 0; t < trials; ++t) {
        const Vec x = draw(in_size), y = draw(out_size);
        const Vec ax = forward(x), aty = adjoint(y);
        if (ax.size() != out_size || aty.size() != in_size)
            throw shape_error("dot_test: forward returned " + std::to_string(ax.size()) + " values (expected " +
                              std::to_string(out_size) + "), adjoint returned " + std::to_string(aty.size()) +
                              " (expected " + std::to_string(in_size) + ")");
        // <u, v> = sum conj(v_i) u_i, accumulated in double.
        auto inner = [](const Vec& u, const Vec& v) {
            std::complex<double> s = 0;
            for (Eigen::Index i = 0; i < u.size(); ++i)
                s += std::complex<double>(u[i]) * std::conj(std::complex<double>(v[i]));
            return s;
        };
        auto norm = [](const Vec& u) {
            double s = 0;
            for (Eigen::Index i = 0; i < u.size(); ++i) s += std::norm(std::complex<double>(u[i]));
            return std::sqrt(s);
        };
        DotTrial trial;
        trial.forward = inner(ax, y);
        trial.adjoint = inner(x, aty);
        const double scale = std::max(norm(ax) * norm(y), norm(x) * norm(aty));
        const double diff = std::abs(trial.forward - trial.adjoint);
        trial.scale = scale;
        trial.error = scale > 0 ? diff / scale : diff;
        report.error = std::max(report.error, trial.error);
        report.trials.push_back(trial);
    }
    report.passed = report.error <= report.rtol;
    return report;
}

}  // namespace convmtx
