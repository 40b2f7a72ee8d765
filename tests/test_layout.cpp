// Weight-layout conversions, both ways, against the index formulas of each framework.
#define BOOST_TEST_MODULE layout
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;

BOOST_AUTO_TEST_CASE_TEMPLATE(keras_conv_to_torch_2d_and_back, Scalar, Scalars) {
    // Keras (kh, kw, I, O)[a, b, i, o] == torch (O, I, kh, kw)[o, i, a, b].
    const index_t kh = 2, kw = 3, I = 4, O = 5;
    std::vector<Scalar> keras(static_cast<size_t>(kh * kw * I * O));
    for (size_t i = 0; i < keras.size(); ++i) keras[i] = static_cast<Scalar>(i);
    Shape torch_shape;
    const auto torch = convert_weight(keras.data(), {kh, kw, I, O}, WeightLayout::keras_conv, WeightLayout::torch_conv,
                                      &torch_shape);
    BOOST_TEST(torch_shape == Shape({O, I, kh, kw}), boost::test_tools::per_element());
    for (index_t a = 0; a < kh; ++a)
        for (index_t b = 0; b < kw; ++b)
            for (index_t i = 0; i < I; ++i)
                for (index_t o = 0; o < O; ++o)
                    BOOST_TEST_REQUIRE(torch[((o * I + i) * kh + a) * kw + b] == keras[((a * kw + b) * I + i) * O + o]);
    Shape back_shape;
    const auto back = convert_weight(torch.data(), torch_shape, WeightLayout::torch_conv, WeightLayout::keras_conv,
                                     &back_shape);
    BOOST_TEST(back_shape == Shape({kh, kw, I, O}), boost::test_tools::per_element());
    BOOST_TEST(back == keras, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(keras_transposed_to_torch_1d_3d_and_back, Scalar, Scalars) {
    // Keras Conv*DTranspose (k..., O, I)[t, o, i] == torch transposed (I, O, k...)[i, o, t].
    for (const Shape& k : {Shape{3}, Shape{2, 2, 3}}) {
        const index_t O = 2, I = 3;
        Shape keras_shape = k;
        keras_shape.push_back(O);
        keras_shape.push_back(I);
        index_t kv = 1;
        for (auto v : k) kv *= v;
        std::vector<Scalar> keras(static_cast<size_t>(kv * O * I));
        for (size_t i = 0; i < keras.size(); ++i) keras[i] = static_cast<Scalar>(i * 3 + 1);
        Shape ts;
        const auto torch = convert_weight(keras.data(), keras_shape, WeightLayout::keras_transposed,
                                          WeightLayout::torch_transposed, &ts);
        Shape want{I, O};
        want.insert(want.end(), k.begin(), k.end());
        BOOST_TEST(ts == want, boost::test_tools::per_element());
        for (index_t t = 0; t < kv; ++t)
            for (index_t o = 0; o < O; ++o)
                for (index_t i = 0; i < I; ++i)
                    BOOST_TEST_REQUIRE(torch[(i * O + o) * kv + t] == keras[(t * O + o) * I + i]);
        const auto back = convert_weight(torch.data(), ts, WeightLayout::torch_transposed, WeightLayout::keras_transposed);
        BOOST_TEST(back == keras, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(torch_conv_and_transposed_share_the_tensor, Scalar, Scalars) {
    // The transposed conv with weight v (I, O/G, k) is the adjoint of the conv with the same tensor.
    std::mt19937_64 rng(5);
    const Shape wshape{4, 3, 2, 3};
    const auto v = random_values<Scalar>(rng, 4 * 3 * 2 * 3);
    const auto same = convert_weight(v.data(), wshape, WeightLayout::torch_conv, WeightLayout::torch_transposed);
    BOOST_TEST(same == v, boost::test_tools::per_element());
    const ConvSpec conv = make_conv({3, 5, 6}, wshape);
    const ConvSpec tconv = make_conv_transpose({4, 4, 4}, wshape);
    BOOST_TEST(tconv.output_shape() == conv.input_shape(), boost::test_tools::per_element());
    const Batch<Scalar> y = random_batch<Scalar>(rng, tconv.input_numel(), 1);
    const auto W = conv_matrix<Scalar>(conv, v);
    BOOST_TEST(rel_diff(conv_transpose_scatter<Scalar>(tconv, v, y), Batch<Scalar>(W.transpose() * y)) <= tol<Scalar>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(keras_conv_weight_gives_the_keras_convolution, Scalar, Scalars) {
    // A Keras conv y[q, o] = sum_{t, i} x[q + t, i] * K[t, i, o] (channels last) equals the torch conv
    // with the converted weight on the channels-first input.
    std::mt19937_64 rng(9);
    const index_t n = 7, k = 3, I = 2, O = 3;
    const auto K = random_values<Scalar>(rng, k * I * O);
    const auto x_cl = random_values<Scalar>(rng, n * I);  // (n, I) channels last
    Shape ts;
    const auto w = convert_weight(K.data(), {k, I, O}, WeightLayout::keras_conv, WeightLayout::torch_conv, &ts);
    const ConvSpec spec = make_conv({I, n}, ts);
    Vec<Scalar> x(I * n);
    for (index_t q = 0; q < n; ++q)
        for (index_t i = 0; i < I; ++i) x[i * n + q] = x_cl[q * I + i];
    const Vec<Scalar> y = conv_direct<Scalar>(spec, w, x);
    for (index_t q = 0; q < n - k + 1; ++q)
        for (index_t o = 0; o < O; ++o) {
            double acc = 0;
            for (index_t t = 0; t < k; ++t)
                for (index_t i = 0; i < I; ++i) acc += double(x_cl[(q + t) * I + i]) * double(K[(t * I + i) * O + o]);
            BOOST_TEST(std::abs(double(y[o * (n - k + 1) + q]) - acc) <= 10 * tol<Scalar>());
        }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(permute_axes_general, Scalar, Scalars) {
    std::vector<Scalar> a(24);
    for (int i = 0; i < 24; ++i) a[i] = static_cast<Scalar>(i);
    Shape s;
    const auto p = permute_axes(a.data(), {2, 3, 4}, {2, 0, 1}, &s);
    BOOST_TEST(s == Shape({4, 2, 3}), boost::test_tools::per_element());
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k) BOOST_TEST_REQUIRE(p[(k * 2 + i) * 3 + j] == a[(i * 3 + j) * 4 + k]);
    BOOST_CHECK_THROW(permute_axes(a.data(), {2, 3, 4}, {0, 0, 1}), shape_error);
    BOOST_TEST(to_string(parse_weight_layout("mxnet_transposed")) == "torch_transposed");
}
