// Shared by the C++ test suites: the scalar under test (one executable per
// scalar), tolerances, and a seeded generator of random configurations.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "convmtx/convmtx.hpp"

#ifndef CONVMTX_TEST_SCALAR
#define CONVMTX_TEST_SCALAR double
#endif

namespace convmtx::test {

using Scalar = CONVMTX_TEST_SCALAR;
using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
constexpr bool is_double = std::is_same<Scalar, double>::value;
/// Relative tolerance for comparing two computations of the same quantity.
constexpr double tol = is_double ? 1e-12 : 1e-5;

/// Max |a - b| / max(1, max|b|).
template <class A, class B>
double rel_diff(const A& a, const B& b) {
    const double scale = std::max(1.0, static_cast<double>(b.cwiseAbs().maxCoeff()));
    return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / scale;
}

inline std::vector<Scalar> random_values(std::mt19937_64& rng, index_t n) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<Scalar> v(static_cast<size_t>(n));
    for (auto& x : v) x = static_cast<Scalar>(u(rng));
    return v;
}

inline Batch<Scalar> random_batch(std::mt19937_64& rng, index_t rows, index_t cols) {
    const auto v = random_values(rng, rows * cols);
    return Eigen::Map<const Batch<Scalar>>(v.data(), rows, cols);
}

/// A random valid configuration: rank 1-3, channels, groups, stride, dilation,
/// asymmetric padding, output_padding (transposed) or a padding mode (conv).
inline ConvSpec random_spec(std::mt19937_64& rng, bool transposed, bool any_mode = true) {
    auto pick = [&](index_t lo, index_t hi) { return std::uniform_int_distribution<index_t>(lo, hi)(rng); };
    for (;;) {
        ConvSpec s;
        s.transposed = transposed;
        const int r = static_cast<int>(pick(1, 3));
        s.groups = pick(1, 3);
        s.in_channels = s.groups * pick(1, 2);
        s.out_channels = s.groups * pick(1, 2);
        const index_t max_n = r == 3 ? 5 : (r == 2 ? 7 : 11);
        for (int j = 0; j < r; ++j) {
            s.kernel_size.push_back(pick(1, 4));
            s.stride.push_back(pick(1, 3));
            s.dilation.push_back(pick(1, 2));
            s.input_size.push_back(pick(1, max_n));
            s.padding_lo.push_back(pick(0, 3));
            s.padding_hi.push_back(pick(0, 3));
            s.output_padding.push_back(transposed ? pick(0, std::max(s.stride[j], s.dilation[j]) - 1) : 0);
        }
        if (!transposed && any_mode) s.padding_mode = static_cast<PaddingMode>(pick(0, 3));
        try {
            s.validate();
            return s;
        } catch (const std::exception&) {
        }
    }
}

/// The direct kernels of a configuration as an operator: conv_direct for a conv, scatter (or
/// gather) for a transposed conv.
inline std::shared_ptr<ConvOperator<Scalar>> direct_operator(const ConvSpec& s, std::vector<Scalar> w,
                                                             bool gather = false) {
    const ApplyMethod m = !s.transposed ? ApplyMethod::direct : gather ? ApplyMethod::gather : ApplyMethod::scatter;
    return std::make_shared<ConvOperator<Scalar>>(s, std::move(w), m);
}

}  // namespace convmtx::test
