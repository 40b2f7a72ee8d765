// Every numeric example of the public documents the project started from (d2l §12.10, the MXNet/Excel post, the PyTorch
// transposed-convolution tutorial, the Keras reading and the interactive transposed-convolution tool), reproduced by
// every method: W^T x, T x, the scatter kernel and the gather kernel (and W x
// and the direct conv for convolutions).
#define BOOST_TEST_MODULE public_examples
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;

namespace {

using Grid = std::vector<std::vector<double>>;

template <class Scalar>
Vec<Scalar> flatten(const Grid& g) {
    std::vector<Scalar> v;
    for (const auto& row : g)
        for (double x : row) v.push_back(static_cast<Scalar>(x));
    return Eigen::Map<const Vec<Scalar>>(v.data(), static_cast<Eigen::Index>(v.size()));
}

template <class Scalar>
std::vector<Scalar> weights(const Grid& g) {
    std::vector<Scalar> v;
    for (const auto& row : g)
        for (double x : row) v.push_back(static_cast<Scalar>(x));
    return v;
}

Grid ones(index_t r, index_t c) { return Grid(static_cast<size_t>(r), std::vector<double>(static_cast<size_t>(c), 1.0)); }

/// Checks all four transposed-conv computations of a single-channel 2-D example against `expected`.
template <class Scalar>
void check_transposed(const Grid& x, const Grid& k, ConvTransposeOptions opt, const Grid& expected) {
    const index_t h = static_cast<index_t>(x.size()), w = static_cast<index_t>(x[0].size());
    const index_t kh = static_cast<index_t>(k.size()), kw = static_cast<index_t>(k[0].size());
    const ConvSpec spec = make_conv_transpose({1, h, w}, {1, 1, kh, kw}, opt);
    const Dims out = spec.output_size();
    BOOST_TEST_REQUIRE(out[0] == static_cast<index_t>(expected.size()));
    BOOST_TEST_REQUIRE(out[1] == static_cast<index_t>(expected[0].size()));
    const auto wv = weights<Scalar>(k);
    const Vec<Scalar> xv = flatten<Scalar>(x), want = flatten<Scalar>(expected);
    const auto W = conv_matrix<Scalar>(spec, wv);
    const auto T = conv_transpose_matrix<Scalar>(spec, wv);
    const Vec<Scalar> by_wt = W.transpose() * xv;
    const Vec<Scalar> by_t = T * xv;
    const Vec<Scalar> by_scatter = conv_transpose_scatter<Scalar>(spec, wv, xv);
    const Vec<Scalar> by_gather = conv_transpose_gather<Scalar>(spec, wv, xv);
    BOOST_TEST(rel_diff(by_wt, want) == 0.0);
    BOOST_TEST(rel_diff(by_t, want) == 0.0);
    BOOST_TEST(rel_diff(by_scatter, want) == 0.0);
    BOOST_TEST(rel_diff(by_gather, want) == 0.0);
}

}  // namespace

// ---- seed 001 (d2l 12.10 and the PyTorch cases) ----

BOOST_AUTO_TEST_CASE_TEMPLATE(d2l_trans_conv_basic, Scalar, Scalars) {
    check_transposed<Scalar>({{0, 1}, {2, 3}}, {{0, 1}, {2, 3}}, {}, {{0, 0, 1}, {0, 4, 6}, {4, 12, 9}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(d2l_trans_conv_padding_1, Scalar, Scalars) {
    ConvTransposeOptions o;
    o.padding = Padding::symmetric({1});
    check_transposed<Scalar>({{0, 1}, {2, 3}}, {{0, 1}, {2, 3}}, o, {{4}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(d2l_trans_conv_strides_2, Scalar, Scalars) {
    ConvTransposeOptions o;
    o.stride = {2};
    check_transposed<Scalar>({{0, 1}, {2, 3}}, {{0, 1}, {2, 3}}, o,
                     {{0, 0, 0, 1}, {0, 0, 2, 3}, {0, 2, 0, 3}, {4, 6, 6, 9}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(d2l_kernel2matrix_and_corr2d, Scalar, Scalars) {
    // X = arange(9).reshape(3, 3), K = [[0, 1], [2, 3]]: corr2d gives [[19, 25], [37, 43]].
    const ConvSpec spec = make_conv({1, 3, 3}, {1, 1, 2, 2});
    const auto k = weights<Scalar>({{0, 1}, {2, 3}});
    const auto W = conv_matrix<Scalar>(spec, k);
    const Grid expected_W = {{0, 1, 0, 2, 3, 0, 0, 0, 0},
                             {0, 0, 1, 0, 2, 3, 0, 0, 0},
                             {0, 0, 0, 0, 1, 0, 2, 3, 0},
                             {0, 0, 0, 0, 0, 1, 0, 2, 3}};
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> dense(W);
    BOOST_TEST_REQUIRE(dense.rows() == 4);
    BOOST_TEST_REQUIRE(dense.cols() == 9);
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 9; ++c) BOOST_TEST(dense(r, c) == static_cast<Scalar>(expected_W[r][c]));
    Vec<Scalar> x(9);
    for (int i = 0; i < 9; ++i) x[i] = static_cast<Scalar>(i);
    const Vec<Scalar> want = flatten<Scalar>({{19, 25}, {37, 43}});
    BOOST_TEST(rel_diff(Vec<Scalar>(W * x), want) == 0.0);
    BOOST_TEST(rel_diff(Vec<Scalar>(conv_direct<Scalar>(spec, k, x)), want) == 0.0);
    // Y == W^T X' for X' = [[0, 1], [2, 3]] equals trans_conv(X', K).
    const Vec<Scalar> y = flatten<Scalar>({{0, 1}, {2, 3}});
    BOOST_TEST(rel_diff(Vec<Scalar>(W.transpose() * y), flatten<Scalar>({{0, 0, 1}, {0, 4, 6}, {4, 12, 9}})) == 0.0);
}

BOOST_AUTO_TEST_CASE(d2l_conv_then_transposed_conv_restores_16x16) {
    // nn.Conv2D(20, kernel_size=5, padding=2, strides=3) then Conv2DTranspose(10, same) on (1, 10, 16, 16).
    ConvOptions co;
    co.stride = {3};
    co.padding = Padding::symmetric({2});
    const ConvSpec conv = make_conv({10, 16, 16}, {20, 10, 5, 5}, co);
    BOOST_TEST(conv.output_shape() == Shape({20, 6, 6}), boost::test_tools::per_element());
    ConvTransposeOptions to;
    to.stride = {3};
    to.padding = Padding::symmetric({2});
    const ConvSpec tconv = make_conv_transpose(conv.output_shape(), {20, 10, 5, 5}, to);
    BOOST_TEST(tconv.output_shape() == Shape({10, 16, 16}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pytorch_case1_basic, Scalar, Scalars) {
    check_transposed<Scalar>({{1, 2}, {3, 4}}, ones(3, 3), {},
                             {{1, 3, 3, 2}, {4, 10, 10, 6}, {4, 10, 10, 6}, {3, 7, 7, 4}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pytorch_case2_stride, Scalar, Scalars) {
    ConvTransposeOptions o;
    o.stride = {2};
    check_transposed<Scalar>({{1, 2}, {3, 4}}, ones(3, 3), o,
                     {{1, 1, 3, 2, 2}, {1, 1, 3, 2, 2}, {4, 4, 10, 6, 6}, {3, 3, 7, 4, 4}, {3, 3, 7, 4, 4}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pytorch_case3_padding, Scalar, Scalars) {
    ConvTransposeOptions o;
    o.stride = {2};
    o.padding = Padding::symmetric({2});
    check_transposed<Scalar>({{1, 2}, {3, 4}}, ones(3, 3), o, {{10}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pytorch_case4_output_padding, Scalar, Scalars) {
    // The layer is built with kernel_size=4 but a 3x3 weight is assigned: k=3, s=3, a=2.
    ConvTransposeOptions o;
    o.stride = {3};
    o.output_padding = Dims{2};
    check_transposed<Scalar>({{1, 2}, {3, 4}}, ones(3, 3), o,
                     {{1, 1, 1, 2, 2, 2, 0, 0},
                      {1, 1, 1, 2, 2, 2, 0, 0},
                      {1, 1, 1, 2, 2, 2, 0, 0},
                      {3, 3, 3, 4, 4, 4, 0, 0},
                      {3, 3, 3, 4, 4, 4, 0, 0},
                      {3, 3, 3, 4, 4, 4, 0, 0},
                      {0, 0, 0, 0, 0, 0, 0, 0},
                      {0, 0, 0, 0, 0, 0, 0, 0}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pytorch_case5_dilation, Scalar, Scalars) {
    ConvTransposeOptions o;
    o.stride = {2};
    o.dilation = {2};
    check_transposed<Scalar>({{1, 2}, {3, 4}}, ones(2, 2), o,
                     {{1, 0, 3, 0, 2}, {0, 0, 0, 0, 0}, {4, 0, 10, 0, 6}, {0, 0, 0, 0, 0}, {3, 0, 7, 0, 4}});
}

// ---- seed 000 (MXNet, "Transposed Convolutions explained with MS Excel") ----

BOOST_AUTO_TEST_CASE_TEMPLATE(mxnet_ones_4x4_kernel_3x3, Scalar, Scalars) {
    check_transposed<Scalar>(ones(4, 4), ones(3, 3), {},
                     {{1, 2, 3, 3, 2, 1},
                      {2, 4, 6, 6, 4, 2},
                      {3, 6, 9, 9, 6, 3},
                      {3, 6, 9, 9, 6, 3},
                      {2, 4, 6, 6, 4, 2},
                      {1, 2, 3, 3, 2, 1}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(mxnet_gniddap_output_shapes, Scalar, Scalars) {
    const index_t expected[] = {6, 4, 2};
    for (index_t pad = 0; pad < 3; ++pad) {
        ConvTransposeOptions o;
        o.padding = Padding::symmetric({pad});
        const ConvSpec spec = make_conv_transpose({1, 4, 4}, {1, 1, 3, 3}, o);
        BOOST_TEST(spec.output_shape() == Shape({1, expected[pad], expected[pad]}), boost::test_tools::per_element());
    }
    // Padding crops the full 6x6 result: with ones, padding 2 leaves its centre [[9, 9], [9, 9]].
    ConvTransposeOptions o;
    o.padding = Padding::symmetric({2});
    check_transposed<Scalar>(ones(4, 4), ones(3, 3), o, {{9, 9}, {9, 9}});
}

BOOST_AUTO_TEST_CASE(mxnet_multichannel_kernel_layout_shapes) {
    // (3, 5, 5) input, kernel (3, 3, 3) expanded to (in=3, out=1, 3, 3): output (1, 7, 7).
    const ConvSpec spec = make_conv_transpose({3, 5, 5}, {3, 1, 3, 3});
    BOOST_TEST(spec.output_shape() == Shape({1, 7, 7}), boost::test_tools::per_element());
    BOOST_TEST(spec.weight_shape() == Shape({3, 1, 3, 3}), boost::test_tools::per_element());
}

// ---- seed 003 (interactive tool: W~ and W~^T, and its PyTorch recipe) ----

BOOST_AUTO_TEST_CASE_TEMPLATE(seed003_W_4x16_pattern, Scalar, Scalars) {
    // 4x4 input, 3x3 kernel w_ij = 10*(i+1) + (j+1): W~ rows hold w00 w01 w02 at columns 0-2, w1* at 4-6, w2* at 8-10.
    const ConvSpec spec = make_conv({1, 4, 4}, {1, 1, 3, 3});
    std::vector<Scalar> k(9);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) k[i * 3 + j] = static_cast<Scalar>(10 * (i + 1) + (j + 1));
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> W(conv_matrix<Scalar>(spec, k));
    BOOST_TEST_REQUIRE(W.rows() == 4);
    BOOST_TEST_REQUIRE(W.cols() == 16);
    const int row_offset[4] = {0, 1, 4, 5};
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 16; ++c) {
            const int rel = c - row_offset[r];
            const bool tap = rel >= 0 && rel < 11 && rel % 4 < 3;
            const Scalar want = tap ? k[(rel / 4) * 3 + rel % 4] : Scalar(0);
            BOOST_TEST(W(r, c) == want, "W~[" << r << "," << c << "]");
        }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(seed003_WT_16x4_pattern_and_flipped_conv_form, Scalar, Scalars) {
    // The transposed conv of a 2x2 input with a 3x3 kernel is the 16x4 W~^T; its conv form pads the
    // input by k-1 = 2 and applies the flipped kernel.
    const ConvSpec spec = make_conv_transpose({1, 2, 2}, {1, 1, 3, 3});
    std::vector<Scalar> k(9);
    for (int i = 0; i < 9; ++i) k[i] = static_cast<Scalar>(i + 1);
    const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> T(conv_transpose_matrix<Scalar>(spec, k));
    BOOST_TEST_REQUIRE(T.rows() == 16);
    BOOST_TEST_REQUIRE(T.cols() == 4);
    // Column j of W~^T is input x_{a,b} (j = 2a + b) spread through the kernel at offset (a, b) of the 4x4 output.
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
            for (int r = 0; r < 4; ++r)
                for (int c = 0; c < 4; ++c) {
                    const int ti = r - a, tj = c - b;
                    const Scalar want = (ti >= 0 && ti < 3 && tj >= 0 && tj < 3) ? k[ti * 3 + tj] : Scalar(0);
                    BOOST_TEST(T(r * 4 + c, a * 2 + b) == want);
                }
    // Row 5 (output (1,1)) is [w11, w10, w01, w00], as printed in the seed.
    BOOST_TEST(T(5, 0) == k[4]);
    BOOST_TEST(T(5, 1) == k[3]);
    BOOST_TEST(T(5, 2) == k[1]);
    BOOST_TEST(T(5, 3) == k[0]);
    // X' (x padded by 2) correlated with the flipped kernel W' equals W~^T x.
    Vec<Scalar> x(4);
    x << 1, -2, 3, 5;
    const ConvSpec conv_form = make_conv({1, 2, 2}, {1, 1, 3, 3}, ConvOptions{{1}, Padding::symmetric({2})});
    std::vector<Scalar> flipped(k.rbegin(), k.rend());
    BOOST_TEST(rel_diff(Vec<Scalar>(conv_direct<Scalar>(conv_form, flipped, x)), Vec<Scalar>(T * x)) <= tol<Scalar>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(seed003_10x5_k5_s5_p4_a2_d3, Scalar, Scalars) {
    // h=10, w=5, kernel 5, stride 5, padding 4, output_padding 2, dilation 3.
    ConvTransposeOptions o;
    o.stride = {5};
    o.padding = Padding::symmetric({4});
    o.output_padding = Dims{2};
    o.dilation = {3};
    const ConvSpec spec = make_conv_transpose({1, 10, 5}, {1, 1, 5, 5}, o);
    // h_out = (h-1)*s - 2p + d(k-1) + a + 1
    BOOST_TEST(spec.output_shape() == Shape({1, (10 - 1) * 5 - 8 + 12 + 2 + 1, (5 - 1) * 5 - 8 + 12 + 2 + 1}),
               boost::test_tools::per_element());
    std::mt19937_64 rng(3);
    const auto k = random_values<Scalar>(rng, 25);
    const Batch<Scalar> y = random_batch<Scalar>(rng, 50, 2);
    const Batch<Scalar> ref = conv_transpose_scatter<Scalar>(spec, k, y);
    BOOST_TEST(rel_diff(conv_transpose_gather<Scalar>(spec, k, y), ref) <= tol<Scalar>());
    BOOST_TEST(rel_diff(Batch<Scalar>(conv_matrix<Scalar>(spec, k).transpose() * y), ref) <= tol<Scalar>());
    BOOST_TEST(rel_diff(Batch<Scalar>(conv_transpose_matrix<Scalar>(spec, k) * y), ref) <= tol<Scalar>());
}

// ---- seed 002 (Keras autoencoder) ----

BOOST_AUTO_TEST_CASE(keras_autoencoder_shapes_and_parameter_counts) {
    // Conv2D k3 valid x3: 28 -> 26 -> 24 -> 22 (channels 32, 16, 8); Conv2DTranspose k3 valid x3:
    // 22 -> 24 -> 26 -> 28 (channels 8, 16, 32); Conv2D k3 same -> 28x28x1. Params = weights + biases.
    struct Layer {
        bool transposed;
        index_t out_channels, expected_size, expected_params;
        bool same;
    };
    const Layer layers[] = {{false, 32, 26, 320, false}, {false, 16, 24, 4624, false}, {false, 8, 22, 1160, false},
                            {true, 8, 24, 584, false},   {true, 16, 26, 1168, false},  {true, 32, 28, 4640, false},
                            {false, 1, 28, 289, true}};
    Shape shape{1, 28, 28};
    for (const Layer& l : layers) {
        ConvSpec spec;
        if (l.transposed) {
            ConvTransposeOptions o;
            o.padding = Padding::valid();
            o.convention = Convention::keras;
            spec = make_conv_transpose(shape, {shape[0], l.out_channels, 3, 3}, o);
        } else {
            ConvOptions o;
            o.padding = l.same ? Padding::same() : Padding::valid();
            o.convention = Convention::keras;
            spec = make_conv(shape, {l.out_channels, shape[0], 3, 3}, o);
        }
        BOOST_TEST(spec.output_shape() == Shape({l.out_channels, l.expected_size, l.expected_size}),
                   boost::test_tools::per_element());
        BOOST_TEST(spec.weight_numel() + l.out_channels == l.expected_params);
        shape = spec.output_shape();
    }
}
