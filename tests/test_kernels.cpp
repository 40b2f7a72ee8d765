// The direct kernels' line engine (kernels.cpp: register tiles of output channels x positions,
// AVX-512 / AVX2 / SSE2 picked at run time) against W x and T y computed by Eigen's own sparse
// product on the builder's matrices, on configurations large enough for every tile and its tail:
// lines longer than the widest tile (128 positions), 1-19 output channels per group (blocks of
// 8, 4, 2, 1), every padding mode, strides and dilations 1-3, batches of 1 and 3. ctest runs this
// suite once per instruction set (kernels_sse2, kernels_avx2: CONVMTX_KERNEL_ISA), the
// instruction sets the machine lacks falling back to the best it has.
#define BOOST_TEST_MODULE kernels
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;
namespace bdata = boost::unit_test::data;

namespace {

/// Ranges with long last dimensions and many output channels; every padding mode.
RandomSpecOptions tile_ranges(SpecDirection direction) {
    RandomSpecOptions o;
    o.direction = direction;
    o.groups = {1, 2};
    o.channels_per_group = {1, 19};
    o.input_size = {{{1, 300}, {1, 40}, {1, 9}}};
    o.kernel_size = {{{1, 7}, {1, 4}, {1, 3}}};
    return o;
}

constexpr int kCases = 60;

}  // namespace

BOOST_DATA_TEST_CASE(conv_direct_equals_eigens_W_x, bdata::xrange(kCases), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 104729 + 11);
        const ConvSpec spec = random_spec(rng, tile_ranges(SpecDirection::conv));
        BOOST_TEST_CONTEXT(spec.describe()) {
            const auto w = random_values<Scalar>(rng, spec.weight_numel());
            const auto bias = random_values<Scalar>(rng, spec.out_channels);
            const index_t batch = seed % 2 ? 3 : 1;
            const Batch<Scalar> x = random_batch<Scalar>(rng, spec.input_numel(), batch);
            const auto W = conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, w);
            Batch<Scalar> ref = W * x;
            add_bias<Scalar>(ref, bias);
            // Into a caller-owned block prefilled with garbage: every entry must be written.
            Batch<Scalar> y = Batch<Scalar>::Constant(spec.output_numel(), batch, Scalar(1e6));
            conv_direct<Scalar>(spec, w, x, y, bias);
            BOOST_TEST(rel_diff(y, ref) <= 10 * tol<Scalar>());
        }
    });
}

BOOST_DATA_TEST_CASE(conv_transpose_scatter_equals_eigens_T_y, bdata::xrange(kCases), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 7841 + 3);
        const ConvSpec spec = random_spec(rng, tile_ranges(SpecDirection::transposed));
        BOOST_TEST_CONTEXT(spec.describe()) {
            const auto w = random_values<Scalar>(rng, spec.weight_numel());
            const auto bias = random_values<Scalar>(rng, spec.out_channels);
            const index_t batch = seed % 2 ? 1 : 3;
            const Batch<Scalar> y = random_batch<Scalar>(rng, spec.input_numel(), batch);
            const auto T = conv_transpose_matrix<Scalar, Eigen::ColMajor, std::int32_t>(spec, w);
            Batch<Scalar> ref = T * y;
            add_bias<Scalar>(ref, bias);
            Batch<Scalar> out = Batch<Scalar>::Constant(spec.output_numel(), batch, Scalar(-1e6));
            conv_transpose_scatter<Scalar>(spec, w, y, out, bias);
            BOOST_TEST(rel_diff(out, ref) <= 10 * tol<Scalar>());
        }
    });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(workload_shapes_match_the_matrix_products, Scalar, Scalars) {
    // Reduced versions of the benchmark's multi-channel workloads B (32 -> 32, stride 2) and G
    // (64 -> 64 channels): full channel tiles, lines cut into chunks for the threads.
    struct Case {
        Shape input, weight;
        index_t stride, padding;
    };
    for (const Case& c : {Case{{32, 30, 30}, {32, 32, 3, 3}, 2, 1}, Case{{64, 12, 140}, {64, 64, 3, 3}, 1, 1},
                          Case{{1, 1, 4099}, {1, 1, 1, 31}, 4, 15}}) {
        ConvOptions o;
        o.stride = {c.stride};
        o.padding = Padding::symmetric({c.padding});
        const ConvSpec spec = make_conv(c.input, c.weight, o);
        BOOST_TEST_CONTEXT(spec.describe()) {
            std::mt19937_64 rng(static_cast<std::uint64_t>(spec.input_numel()));
            const auto w = random_values<Scalar>(rng, spec.weight_numel());
            const auto W = conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w);
            const Batch<Scalar> x = random_batch<Scalar>(rng, W.cols(), 2), yin = random_batch<Scalar>(rng, W.rows(), 2);
            BOOST_TEST(rel_diff(conv_direct<Scalar>(spec, w, x), Batch<Scalar>(W * x)) <= 10 * tol<Scalar>());
            const ConvSpec adj = spec.adjoint();
            BOOST_TEST(rel_diff(conv_transpose_scatter<Scalar>(adj, w, yin), Batch<Scalar>(W.transpose() * yin)) <=
                       10 * tol<Scalar>());
        }
    }
}
