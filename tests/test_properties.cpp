// Properties over seeded random configurations: W x equals the direct conv;
// W^T y equals T y, the scatter and the gather kernels; the dot test; W equals
// the dense Jacobian of the direct conv; the transposed shape inverts the conv's.
#define BOOST_TEST_MODULE properties
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;
namespace bdata = boost::unit_test::data;

namespace {

constexpr int kConfigs = 150;
template <class Scalar>
constexpr double dot_tol = is_double<Scalar> ? 1e-13 : 1e-5;

template <class Scalar>
struct Case {
    ConvSpec spec;
    std::vector<Scalar> weight;
    std::vector<Scalar> bias;
};

template <class Scalar>
Case<Scalar> make_case(int seed, bool transposed) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed) * 7919 + (transposed ? 1 : 0));
    Case<Scalar> c;
    c.spec = random_spec(rng, transposed);
    c.weight = random_values<Scalar>(rng, c.spec.weight_numel());
    c.bias = random_values<Scalar>(rng, c.spec.out_channels);
    return c;
}

template <class Scalar>
double dense_dot_error(const Vec<Scalar>& ax, const Vec<Scalar>& y, const Vec<Scalar>& x, const Vec<Scalar>& aty) {
    const double lhs = ax.template cast<double>().dot(y.template cast<double>());
    const double rhs = x.template cast<double>().dot(aty.template cast<double>());
    const double scale = ax.template cast<double>().norm() * y.template cast<double>().norm();
    return scale > 0 ? std::abs(lhs - rhs) / scale : std::abs(lhs - rhs);  // W may be structurally empty
}

template <class M>
void check_compressed_sorted(const M& A) {
    BOOST_TEST_REQUIRE(A.isCompressed());
    for (Eigen::Index o = 0; o < A.outerSize(); ++o)
        for (auto p = A.outerIndexPtr()[o] + 1; p < A.outerIndexPtr()[o + 1]; ++p)
            BOOST_TEST_REQUIRE(A.innerIndexPtr()[p - 1] < A.innerIndexPtr()[p]);
}

}  // namespace

BOOST_DATA_TEST_CASE(conv_matrix_equals_direct_conv, bdata::xrange(kConfigs), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        const Case<Scalar> c = make_case<Scalar>(seed, false);
        BOOST_TEST_MESSAGE(c.spec.describe());
        std::mt19937_64 rng(seed);
        const Batch<Scalar> x = random_batch<Scalar>(rng, c.spec.input_numel(), 3);
        const auto W = conv_matrix<Scalar>(c.spec, c.weight);
        check_compressed_sorted(W);
        BOOST_TEST(W.nonZeros() <= structural_nnz(c.spec));
        const Batch<Scalar> direct = conv_direct<Scalar>(c.spec, c.weight, x, c.bias);
        BOOST_TEST(rel_diff(apply_matrix<Scalar>(c.spec, W, x, c.bias), direct) <= tol<Scalar>(), c.spec.describe());
        // T = W^T exactly, built directly, in every storage order and index type.
        const auto T = conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int64_t>(c.spec, c.weight);
        check_compressed_sorted(T);
        const Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t> Wt = W.transpose().template cast<Scalar>();
        BOOST_TEST((Eigen::SparseMatrix<Scalar>(T) - Eigen::SparseMatrix<Scalar>(W.transpose())).norm() == 0.0);
        const auto Wc = conv_matrix<Scalar, Eigen::ColMajor, std::int64_t>(c.spec, c.weight);
        check_compressed_sorted(Wc);
        BOOST_TEST((Eigen::SparseMatrix<Scalar>(Wc) - Eigen::SparseMatrix<Scalar>(W)).norm() == 0.0);
        BOOST_TEST(Wc.nonZeros() == W.nonZeros());
    });
}

BOOST_DATA_TEST_CASE(transposed_four_ways_agree, bdata::xrange(kConfigs), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        const Case<Scalar> c = make_case<Scalar>(seed, true);
        BOOST_TEST_MESSAGE(c.spec.describe());
        std::mt19937_64 rng(seed);
        const Batch<Scalar> y = random_batch<Scalar>(rng, c.spec.input_numel(), 2);
        const Batch<Scalar> scatter = conv_transpose_scatter<Scalar>(c.spec, c.weight, y, c.bias);
        const Batch<Scalar> gather = conv_transpose_gather<Scalar>(c.spec, c.weight, y, c.bias);
        const auto W = conv_matrix<Scalar>(c.spec, c.weight);
        const auto T = conv_transpose_matrix<Scalar, Eigen::ColMajor>(c.spec, c.weight);
        check_compressed_sorted(T);
        BOOST_TEST(rel_diff(gather, scatter) <= tol<Scalar>(), c.spec.describe());
        BOOST_TEST(rel_diff(apply_matrix<Scalar>(c.spec, W, y, c.bias, true), scatter) <= tol<Scalar>(), c.spec.describe());
        BOOST_TEST(rel_diff(apply_matrix<Scalar>(c.spec, T, y, c.bias), scatter) <= tol<Scalar>(), c.spec.describe());
        BOOST_TEST(T.nonZeros() == W.nonZeros());
    });
}

BOOST_DATA_TEST_CASE(dot_test_is_tight, bdata::xrange(kConfigs), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        for (bool transposed : {false, true}) {
            const Case<Scalar> c = make_case<Scalar>(seed, transposed);
            std::mt19937_64 rng(seed + 11);
            const auto W = conv_matrix<Scalar>(c.spec, c.weight);
            const Vec<Scalar> x = random_batch<Scalar>(rng, W.cols(), 1);
            const Vec<Scalar> y = random_batch<Scalar>(rng, W.rows(), 1);
            const Vec<Scalar> wx = W * x, wty = W.transpose() * y;
            BOOST_TEST(dense_dot_error(wx, y, x, wty) <= dot_tol<Scalar>, c.spec.describe());
            // The direct kernels are adjoint to each other too (zeros padding).
            if (c.spec.padding_mode == PaddingMode::zeros) {
                const ConvSpec conv = transposed ? c.spec.adjoint() : c.spec;
                const ConvSpec tconv = conv.adjoint();
                const Vec<Scalar> xin = random_batch<Scalar>(rng, conv.input_numel(), 1);
                const Vec<Scalar> yout = random_batch<Scalar>(rng, conv.output_numel(), 1);
                const Vec<Scalar> ax = conv_direct<Scalar>(conv, c.weight, xin);
                const Vec<Scalar> aty = conv_transpose_scatter<Scalar>(tconv, c.weight, yout);
                BOOST_TEST(dense_dot_error(ax, yout, xin, aty) <= dot_tol<Scalar>, conv.describe());
            }
            const auto report = dot_test<Scalar>(
                W.cols(), W.rows(), [&](const Vec<Scalar>& v) { return Vec<Scalar>(W * v); },
                [&](const Vec<Scalar>& v) { return Vec<Scalar>(W.transpose() * v); }, 3, dot_tol<Scalar>, seed);
            BOOST_TEST(report.passed, report.str());
        }
    });
}

BOOST_DATA_TEST_CASE(W_equals_dense_jacobian_of_direct_conv, bdata::xrange(60), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        const Case<Scalar> c = make_case<Scalar>(seed, false);
        const index_t n = c.spec.input_numel();
        const Batch<Scalar> J = conv_direct<Scalar>(c.spec, c.weight, Batch<Scalar>::Identity(n, n));
        const Batch<Scalar> W(conv_matrix<Scalar>(c.spec, c.weight));
        BOOST_TEST(rel_diff(W, J) <= tol<Scalar>(), c.spec.describe());
        // And T equals the dense Jacobian of the scatter kernel of the adjoint (zeros padding).
        if (c.spec.padding_mode == PaddingMode::zeros) {
            const ConvSpec t = c.spec.adjoint();
            const index_t m = t.input_numel();
            const Batch<Scalar> Jt = conv_transpose_scatter<Scalar>(t, c.weight, Batch<Scalar>::Identity(m, m));
            BOOST_TEST(rel_diff(Batch<Scalar>(conv_transpose_matrix<Scalar>(t, c.weight)), Jt) <= tol<Scalar>());
        }
    });
}

BOOST_DATA_TEST_CASE(transposed_shape_inverts_conv_shape, bdata::xrange(kConfigs), seed) {
    std::mt19937_64 rng(seed);
    ConvSpec conv = random_spec(rng, false, false);
    const ConvSpec t = conv.adjoint();
    BOOST_TEST(t.transposed);
    BOOST_TEST(t.input_shape() == conv.output_shape(), boost::test_tools::per_element());
    BOOST_TEST(t.output_shape() == conv.input_shape(), boost::test_tools::per_element());
    for (int j = 0; j < conv.rank(); ++j) BOOST_TEST(t.output_padding[j] < conv.stride[j]);
    // make_conv_transpose with output_size = the conv's input derives the same output_padding.
    ConvTransposeOptions o;
    o.stride = conv.stride;
    o.dilation = conv.dilation;
    o.padding = Padding::sides(conv.padding_lo, conv.padding_hi);
    o.groups = conv.groups;
    o.output_size = conv.input_size;
    const ConvSpec t2 = make_conv_transpose(t.input_shape(), t.weight_shape(), o);
    BOOST_TEST(t2.output_padding == t.output_padding, boost::test_tools::per_element());
}

BOOST_DATA_TEST_CASE(pattern_and_tap_map_match_W, bdata::xrange(60), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        const Case<Scalar> c = make_case<Scalar>(seed, seed % 2 == 1);
        for (bool transpose : {false, true}) {
            const auto M = transpose ? conv_transpose_matrix<Scalar>(c.spec, c.weight)
                                     : conv_matrix<Scalar>(c.spec, c.weight);
            const auto pat = matrix_pattern<std::int32_t>(c.spec, transpose);
            const auto taps = tap_map(c.spec, transpose);
            BOOST_TEST_REQUIRE(pat.nnz() == M.nonZeros());
            BOOST_TEST_REQUIRE(static_cast<index_t>(taps.size()) == M.nonZeros());
            for (Eigen::Index r = 0; r <= M.outerSize(); ++r) BOOST_TEST_REQUIRE(pat.outer[r] == M.outerIndexPtr()[r]);
            for (Eigen::Index p = 0; p < M.nonZeros(); ++p) {
                BOOST_TEST_REQUIRE(pat.inner[p] == M.innerIndexPtr()[p]);
                if (taps[p] >= 0) BOOST_TEST_REQUIRE(M.valuePtr()[p] == c.weight[static_cast<size_t>(taps[p])]);
                else BOOST_TEST_REQUIRE(c.spec.padding_mode != PaddingMode::zeros);
            }
        }
    });
}

BOOST_DATA_TEST_CASE(zero_taps_structural_by_default_dropped_on_request, bdata::xrange(40), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        Case<Scalar> c = make_case<Scalar>(seed, seed % 2 == 0);
        c.spec.padding_mode = PaddingMode::zeros;
        std::mt19937_64 rng(seed);
        for (size_t i = 0; i < c.weight.size(); ++i)
            if (rng() % 3 == 0) c.weight[i] = Scalar(0);
        const auto full = conv_matrix<Scalar>(c.spec, c.weight);
        BOOST_TEST(full.nonZeros() == structural_nnz(c.spec));
        BuildOptions drop;
        drop.drop_zeros = true;
        const auto sparse = conv_matrix<Scalar, Eigen::ColMajor, std::int64_t>(c.spec, c.weight, drop);
        index_t zeros = 0;
        for (Eigen::Index p = 0; p < full.nonZeros(); ++p) zeros += full.valuePtr()[p] == Scalar(0);
        BOOST_TEST(sparse.nonZeros() == full.nonZeros() - zeros);
        for (Eigen::Index p = 0; p < sparse.nonZeros(); ++p) BOOST_TEST_REQUIRE(sparse.valuePtr()[p] != Scalar(0));
        BOOST_TEST((Eigen::SparseMatrix<Scalar>(sparse) - Eigen::SparseMatrix<Scalar>(full)).norm() == 0.0);
        const auto Tdrop = conv_transpose_matrix<Scalar>(c.spec, c.weight, drop);
        BOOST_TEST(Tdrop.nonZeros() == sparse.nonZeros());
    });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(int32_overflow_is_refused_before_allocating, Scalar, Scalars) {
    // 1 x 50000 x 50000 input, 3x3 kernel: about 2.25e10 entries, rows 2.5e9 > INT32_MAX.
    const ConvSpec big = make_conv({1, 50000, 50000}, {1, 1, 3, 3});
    std::vector<Scalar> w(9, Scalar(1));
    try {
        (void)conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(big, w);
        BOOST_FAIL("expected index_overflow_error");
    } catch (const index_overflow_error& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find("rows=2499800004") != std::string::npos, msg);
        BOOST_TEST(msg.find("64-bit") != std::string::npos, msg);
    }
    // Rows fit but nnz does not: 1 x 6000 x 6000 with a 9x9 kernel has 2.84e9 entries.
    const ConvSpec dense = make_conv({1, 6000, 6000}, {1, 1, 9, 9});
    std::vector<Scalar> w9(81, Scalar(1));
    try {
        (void)conv_transpose_matrix<Scalar, Eigen::ColMajor, std::int32_t>(dense, w9);
        BOOST_FAIL("expected index_overflow_error");
    } catch (const index_overflow_error& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.find("nnz=" + std::to_string(structural_nnz(dense))) != std::string::npos, msg);
        BOOST_TEST(msg.find("int64") != std::string::npos, msg);
    }
    BOOST_TEST(structural_nnz(dense) == index_t(5992) * 5992 * 81);
}

BOOST_DATA_TEST_CASE(keras_same_and_valid_transposed_are_adjoints_of_tf_convs, bdata::xrange(60), seed) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        // Keras Conv*DTranspose(padding='same'|'valid') on m inputs is the adjoint of the TF conv
        // with the same padding keyword on its n outputs, n = m*s ('same') or m*s + max(d(k-1)+1-s, 0).
        std::mt19937_64 rng(seed);
        auto pick = [&](index_t lo, index_t hi) { return std::uniform_int_distribution<index_t>(lo, hi)(rng); };
        const index_t m = pick(1, 9), k = pick(1, 5), s = pick(1, 3), d = pick(1, 2);
        for (bool same : {true, false}) {
            ConvTransposeOptions t;
            t.stride = {s};
            t.dilation = {d};
            t.padding = same ? Padding::same() : Padding::valid();
            t.convention = Convention::keras;
            const ConvSpec up = make_conv_transpose({1, m}, {1, 1, k}, t);
            const index_t n = same ? m * s : m * s + std::max<index_t>(d * (k - 1) + 1 - s, 0);
            BOOST_TEST(up.output_size()[0] == n);
            ConvOptions c;
            c.stride = {s};
            c.dilation = {d};
            c.padding = same ? Padding::same() : Padding::valid();
            c.convention = Convention::keras;
            const ConvSpec down = make_conv({1, n}, {1, 1, k}, c);
            BOOST_TEST_REQUIRE(down.output_size()[0] == m);  // TF: ceil(n/s) for 'same', ceil((n-d(k-1))/s) for 'valid'
            const auto w = random_values<Scalar>(rng, k);
            const Batch<Scalar> T(conv_transpose_matrix<Scalar>(up, w));
            const Batch<Scalar> Wt(Eigen::SparseMatrix<Scalar>(conv_matrix<Scalar>(down, w).transpose()));
            BOOST_TEST(rel_diff(T, Wt) == 0.0, up.describe() << " vs " << down.describe());
        }
    });
}

BOOST_AUTO_TEST_CASE(keras_strided_same_puts_the_odd_pixel_at_the_end) {
    ConvOptions c;
    c.stride = {2};
    c.padding = Padding::same();
    c.convention = Convention::keras;
    const ConvSpec a = make_conv({1, 8}, {1, 1, 3}, c);  // m = 4, total = 3*2 + 3 - 8 = 1
    BOOST_TEST(a.padding_lo[0] == 0);
    BOOST_TEST(a.padding_hi[0] == 1);
    BOOST_TEST(a.output_size()[0] == 4);
    const ConvSpec b = make_conv({1, 7}, {1, 1, 3}, c);  // m = 4, total = 2
    BOOST_TEST(b.padding_lo[0] == 1);
    BOOST_TEST(b.padding_hi[0] == 1);
    // Keras transposed with explicit output_padding: same n = (m-1)s + k - 2*floor(k/2) + a.
    ConvTransposeOptions t;
    t.stride = {2};
    t.padding = Padding::same();
    t.output_padding = Dims{1};
    t.convention = Convention::keras;
    BOOST_TEST(make_conv_transpose({1, 4}, {1, 1, 3}, t).output_size()[0] == 3 * 2 + 3 - 2 + 1);
    t.padding = Padding::valid();
    BOOST_TEST(make_conv_transpose({1, 4}, {1, 1, 3}, t).output_size()[0] == 3 * 2 + 3 + 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(memory_limit_is_refused_before_allocating, Scalar, Scalars) {
    const ConvSpec spec = make_conv({1, 100, 100}, {1, 1, 3, 3});
    std::vector<Scalar> w(9, Scalar(1));
    const index_t nnz = structural_nnz(spec);
    // The result (values, inner and outer indices) and the geometry's tap tables.
    const double need = double(nnz) * (sizeof(Scalar) + sizeof(std::int32_t)) + double(spec.output_numel() + 1) * 4 +
                        ConvGeometry(spec).table_bytes();
    BuildOptions o;
    o.memory_limit = need - 1;
    try {
        (void)conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w, o);
        BOOST_FAIL("expected memory_limit_error");
    } catch (const memory_limit_error& e) {
        const std::string msg = e.what();
        BOOST_TEST((msg.find(std::to_string(nnz) + " entries and their index tables need " + format_bytes(need)) != std::string::npos), msg);
        BOOST_TEST((msg.find("memory limit " + format_bytes(need - 1)) != std::string::npos), msg);
        BOOST_TEST(e.limit_bytes == need - 1);
    }
    o.memory_limit = need;
    BOOST_TEST((conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w, o).nonZeros()) == nnz);
    // The default limit is the physical memory: 1e12 entries are refused, not attempted.
    const ConvSpec huge = make_conv({1, 100000, 100000}, {1, 1, 9, 9});
    BOOST_CHECK_THROW((conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(huge, std::vector<Scalar>(81, Scalar(1)))),
                      memory_limit_error);
}
