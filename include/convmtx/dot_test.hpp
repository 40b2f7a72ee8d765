// Dot-product (adjoint) test of a forward/adjoint pair A, A^H on random vectors:
//   error = |<Ax, y> - <x, A^H y>| / max(||Ax|| ||y||, ||x|| ||A^H y||), passed when error <= rtol for every trial
//   and every result, inner product and norm of every trial is finite.
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

/// One trial of the dot test: <A x, y> against <x, A^H y> for random x and y.
struct DotTrial {
    std::complex<double> forward;  ///< <Ax, y>
    std::complex<double> adjoint;  ///< <x, A^H y>
    double error = 0;              ///< |forward - adjoint| / scale; infinity when a value below is not finite
    double scale = 0;              ///< max(||Ax|| ||y||, ||x|| ||A^H y||)
    /// The first NaN or infinite value of the trial, e.g. "the forward result A x holds NaN at index 3";
    /// empty when every value is finite.
    std::string nonfinite;
};

/// The dot test's verdict: |<A x, y> - <x, A^H y>| / scale <= rtol over every trial.
struct DotTestReport {
    std::vector<DotTrial> trials;  ///< every trial, in order
    double error = 0;  ///< largest error over the trials (infinity when a trial was not finite)
    double rtol = 0;     ///< the tolerance the errors were compared with
    bool passed = false; ///< every trial finite and within rtol
    /// "trial 2: <what was not finite>" for the first trial with a NaN or infinite value; empty otherwise.
    std::string failure;
    /// One line: PASSED or FAILED, the largest error, the tolerance and the number of trials.
    std::string str() const {
        std::ostringstream os;
        os.precision(6);
        os << "dot test " << (passed ? "PASSED" : "FAILED") << ": max |<Ax,y> - <x,A^T y>| / max(|Ax||y|, |x||A^T y|) = "
           << error << " (rtol " << rtol << ", " << trials.size() << " trials)";
        if (!failure.empty()) os << "; " << failure;
        return os.str();
    }
};

namespace detail {
template <class T> struct real_of { using type = T; };
template <class T> struct real_of<std::complex<T>> { using type = T; };
template <class T> struct is_complex : std::false_type {};
template <class T> struct is_complex<std::complex<T>> : std::true_type {};

/// "NaN", "inf" or "-inf" (real and imaginary parts of a complex value are checked in turn).
inline std::string nonfinite_name(double v) { return std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf"); }
template <class T>
std::string nonfinite_name(const std::complex<T>& v) {
    return std::isfinite(static_cast<double>(v.real())) ? nonfinite_name(static_cast<double>(v.imag()))
                                                        : nonfinite_name(static_cast<double>(v.real()));
}
template <class T>
bool is_finite(const T& v) {
    if constexpr (is_complex<T>::value) return std::isfinite(static_cast<double>(v.real())) && std::isfinite(static_cast<double>(v.imag()));
    else return std::isfinite(static_cast<double>(v));
}

/// "<what> holds NaN at index i" for the first non-finite entry of v; empty when all are finite.
template <class Vec>
std::string first_nonfinite(const Vec& v, const char* what) {
    for (Eigen::Index i = 0; i < v.size(); ++i)
        if (!is_finite(v[i])) return std::string(what) + " holds " + nonfinite_name(v[i]) + " at index " + std::to_string(i);
    return {};
}
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
/// A NaN or infinite result, inner product or norm in any trial fails the test (report.failure names it).
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
    // <u, v> = sum conj(v_i) u_i and ||u||, accumulated in double.
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
    DotTestReport report;
    report.rtol = rtol > 0 ? rtol : default_dot_rtol<Scalar>(in_size, out_size);
    for (int t = 0; t < trials; ++t) {
        const Vec x = draw(in_size), y = draw(out_size);
        const Vec ax = forward(x), aty = adjoint(y);
        if (ax.size() != out_size || aty.size() != in_size)
            throw shape_error("dot_test: forward returned " + std::to_string(ax.size()) + " values (expected " +
                              std::to_string(out_size) + "), adjoint returned " + std::to_string(aty.size()) +
                              " (expected " + std::to_string(in_size) + ")");
        DotTrial trial;
        trial.nonfinite = detail::first_nonfinite(ax, "the forward result A x");
        if (trial.nonfinite.empty()) trial.nonfinite = detail::first_nonfinite(aty, "the adjoint result A^H y");
        trial.forward = inner(ax, y);
        trial.adjoint = inner(x, aty);
        const double nax = norm(ax), naty = norm(aty);
        const std::pair<const char*, std::complex<double>> values[] = {
            {"<Ax, y>", trial.forward}, {"<x, A^H y>", trial.adjoint}, {"||Ax||", nax}, {"||A^H y||", naty}};
        for (const auto& [name, v] : values)
            if (trial.nonfinite.empty() && !detail::is_finite(v))
                trial.nonfinite = std::string(name) + " is " + detail::nonfinite_name(v);
        trial.scale = std::max(nax * norm(y), norm(x) * naty);
        const double diff = std::abs(trial.forward - trial.adjoint);
        trial.error = !trial.nonfinite.empty() ? std::numeric_limits<double>::infinity()
                                                : (trial.scale > 0 ? diff / trial.scale : diff);
        if (!(trial.error <= report.error)) report.error = trial.error;
        if (report.failure.empty() && !trial.nonfinite.empty())
            report.failure = "trial " + std::to_string(t) + ": " + trial.nonfinite;
        report.trials.push_back(trial);
    }
    report.passed = report.failure.empty() && report.error <= report.rtol;
    return report;
}

}  // namespace convmtx
