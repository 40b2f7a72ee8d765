// Shared by the C++ test suites: the scalar types every suite runs (Scalars), tolerances as
// functions of the scalar, seeded random values, and random configurations drawn by the
// library's convmtx::random_spec with the suites' ranges.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include "convmtx/convmtx.hpp"

namespace convmtx::test {

/// The scalar types of every suite: BOOST_AUTO_TEST_CASE_TEMPLATE(name, Scalar, Scalars) runs a
/// case as name<float> and name<double>; data-driven cases call for_each_scalar.
using Scalars = boost::mpl::list<float, double>;

/// Calls f(Scalar{}) for float, then for double, each inside a test context naming the scalar:
/// the scalar loop of a BOOST_DATA_TEST_CASE (which cannot be a template).
template <class F>
void for_each_scalar(F&& f) {
    BOOST_TEST_CONTEXT("scalar float") { f(float{}); }
    BOOST_TEST_CONTEXT("scalar double") { f(double{}); }
}

// LEGACY guard: a per-scalar build (the LEGACY block below) declares these names as non-templates.
#ifndef CONVMTX_TEST_SCALAR
template <class Scalar>
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <class Scalar>
constexpr bool is_double = std::is_same<Scalar, double>::value;
/// Relative tolerance for comparing two computations of the same quantity: 1e-12 in double, 1e-5 in float.
template <class Scalar>
constexpr double tol() {
    return is_double<Scalar> ? 1e-12 : 1e-5;
}
#endif

/// Max |a - b| / max(1, max|b|).
template <class A, class B>
double rel_diff(const A& a, const B& b) {
    const double scale = std::max(1.0, static_cast<double>(b.cwiseAbs().maxCoeff()));
    return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / scale;
}

/// n values uniform in (-1, 1), drawn in double and rounded to Scalar.
template <class Scalar>
std::vector<Scalar> random_values(std::mt19937_64& rng, index_t n) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<Scalar> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<Scalar>(u(rng));
    return v;
}

/// A rows x cols block of random_values (column by column).
template <class Scalar>
Batch<Scalar> random_batch(std::mt19937_64& rng, index_t rows, index_t cols) {
    const auto v = random_values<Scalar>(rng, rows * cols);
    return Eigen::Map<const Batch<Scalar>>(v.data(), rows, cols);
}

/// A random valid conv (transposed = false) or transposed conv from convmtx::random_spec with its
/// default ranges (rank 1-3, groups 1-3, stride 1-3, dilation 1-2, asymmetric padding 0-3,
/// output_padding); a conv draws any padding mode, or only zeros when any_mode is false.
inline ConvSpec random_spec(std::mt19937_64& rng, bool transposed, bool any_mode = true) {
    RandomSpecOptions o;
    o.direction = transposed ? SpecDirection::transposed : SpecDirection::conv;
    if (!any_mode) o.padding_modes = {PaddingMode::zeros};
    return convmtx::random_spec(rng, o);
}

/// The direct kernels of a configuration as an operator: conv_direct for a conv, scatter (or
/// gather) for a transposed conv.
template <class Scalar>
std::shared_ptr<ConvOperator<Scalar>> direct_operator(const ConvSpec& s, std::vector<Scalar> w, bool gather = false) {
    const ApplyMethod m = !s.transposed ? ApplyMethod::direct : gather ? ApplyMethod::gather : ApplyMethod::scatter;
    return std::make_shared<ConvOperator<Scalar>>(s, std::move(w), m);
}

// ---- LEGACY: one executable per scalar (CONVMTX_TEST_SCALAR), for tests/test_solvers.cpp only ----
// tests/CMakeLists.txt still builds that file twice, as test_solvers_float and test_solvers_double.
// Delete this block, the #ifndef around Vec/is_double/tol above and the LEGACY block of
// tests/CMakeLists.txt once test_solvers.cpp runs over Scalars.
#ifdef CONVMTX_TEST_SCALAR
using Scalar = CONVMTX_TEST_SCALAR;
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
constexpr bool is_double = std::is_same<Scalar, double>::value;
constexpr double tol = is_double ? 1e-12 : 1e-5;
inline std::vector<Scalar> random_values(std::mt19937_64& rng, index_t n) { return random_values<Scalar>(rng, n); }
inline Batch<Scalar> random_batch(std::mt19937_64& rng, index_t rows, index_t cols) {
    return random_batch<Scalar>(rng, rows, cols);
}
#endif
// ---- end of LEGACY ----

}  // namespace convmtx::test
