// The spectrum of W (spectrum.hpp) against Eigen's JacobiSVD of the dense W built by the builder:
// the FFT path on block-circulant configurations (stride 1 to 3, groups, dilation, ranks 1-3, both
// ways of forming the frequency blocks), Lanczos' largest and smallest values (shift-invert and the
// normal operator) on every padding mode and transposed convs, the certified norm bounds against
// ||W x|| / ||x||, the condition number and rank deficiency, the reshaped-weight norm, the bad
// inputs; the checkerboard levels (checkerboard.hpp) against the direct transposed conv of an
// all-ones input. Every case runs with float and double weights and operators.
#define BOOST_TEST_MODULE spectrum
#include <random>
#include <sstream>

#include <Eigen/SVD>

#include "convmtx/checkerboard.hpp"
#include "convmtx/detail/spectrum_fft.hpp"
#include "convmtx/spectrum.hpp"
#include "convmtx/spectrum_cholmod.hpp"
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;
namespace tt = boost::test_tools;

namespace {

index_t pick(std::mt19937_64& rng, index_t lo, index_t hi) { return std::uniform_int_distribution<index_t>(lo, hi)(rng); }

/// Every singular value of W (the conv whose operator the spec is), descending, by Jacobi's SVD.
template <class Scalar>
std::vector<double> reference(const ConvSpec& spec, const std::vector<Scalar>& w) {
    std::vector<double> wd(w.begin(), w.end());
    const Eigen::MatrixXd D(conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, wd));
    if (D.size() == 0) return {};
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(D);
    const Eigen::VectorXd s = svd.singularValues();
    return std::vector<double>(s.data(), s.data() + s.size());
}

/// max_i |a_i - b_i| / b_0 (b descending, same length).
double spectrum_error(const std::vector<double>& a, const std::vector<double>& b) {
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    double e = 0;
    for (size_t i = 0; i < a.size(); ++i) e = std::max(e, std::abs(a[i] - b[i]));
    return b.empty() || b[0] == 0 ? e : e / b[0];
}

/// A random circular conv with output size x stride = input size (block-circulant W).
ConvSpec random_circular(std::mt19937_64& rng, index_t max_stride) {
    for (;;) {
        ConvSpec s;
        const int r = static_cast<int>(pick(rng, 1, 3));
        s.groups = pick(rng, 1, 2);
        s.in_channels = s.groups * pick(rng, 1, 3);
        s.out_channels = s.groups * pick(rng, 1, 3);
        s.padding_mode = PaddingMode::circular;
        for (int j = 0; j < r; ++j) {
            const index_t st = pick(rng, 1, max_stride), m = pick(rng, 1, r == 3 ? 2 : r == 2 ? 4 : 8);
            const index_t n = m * st, k = pick(rng, 1, 4), d = pick(rng, 1, 2), eff = d * (k - 1);
            const index_t P = eff - pick(rng, 0, std::min(st - 1, eff));
            const index_t pl = pick(rng, 0, P);
            s.kernel_size.push_back(k);
            s.stride.push_back(st);
            s.dilation.push_back(d);
            s.input_size.push_back(n);
            s.padding_lo.push_back(pl);
            s.padding_hi.push_back(P - pl);
            s.output_padding.push_back(0);
        }
        try {
            s.validate();
        } catch (const std::exception&) {
            continue;
        }
        if (detail::circulant_obstacle(ConvGeometry(s)).empty()) return s;
    }
}

template <class Scalar>
std::vector<Scalar> weights_for(std::mt19937_64& rng, const ConvSpec& s) {
    return random_values<Scalar>(rng, s.weight_numel());
}

/// The CHOLMOD shift-invert solver when convmtx::suitesparse is built, else none (Lanczos on the
/// shifted normal operator).
ShiftInvertSolver shift_invert_solver() {
#if CONVMTX_WITH_SUITESPARSE
    return cholmod_shift_invert;
#else
    return {};
#endif
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(fft_matches_the_dense_svd_on_block_circulant_convolutions, Scalar, Scalars) {
    std::mt19937_64 rng(14);
    int strided = 0;
    for (int trial = 0; trial < 120; ++trial) {
        const ConvSpec s = random_circular(rng, 3);
        const auto w = weights_for<Scalar>(rng, s);
        SpectrumOptions o;
        o.method = SpectrumMethod::fft;
        const Spectrum sp = singular_values<Scalar>(s, w, o);
        BOOST_TEST_CONTEXT(s.describe()) {
            BOOST_TEST(sp.complete);
            BOOST_TEST(sp.method == SpectrumMethod::fft);
            BOOST_TEST(spectrum_error(sp.values, reference(s, w)) < 1e-10);
        }
        for (auto st : s.stride) strided += st > 1;
    }
    BOOST_TEST(strided > 20);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fft_and_dense_paths_agree_with_stride_2_and_3_and_a_large_kernel, Scalar, Scalars) {
    // Stride 2 and 3 with the polyphase blocks; a 7x7 kernel on an 8x8 grid forms the blocks by FFT.
    struct Case {
        Shape input, weight;
        Dims stride, padding;
        index_t groups;
        bool fft_blocks;
    };
    const Case cases[] = {{{2, 8, 6}, {4, 2, 3, 3}, {2}, {1}, 1, false},
                          {{3, 9, 9}, {3, 1, 3, 3}, {3}, {0}, 3, false},
                          {{2, 12}, {2, 2, 5}, {3}, {1}, 1, false},
                          {{1, 8, 8}, {2, 1, 7, 7}, {1}, {3}, 1, true},
                          {{2, 16}, {2, 2, 15}, {2}, {7}, 1, true}};
    std::mt19937_64 rng(3);
    for (const Case& c : cases) {
        ConvOptions o;
        o.stride = c.stride;
        o.padding = Padding::symmetric(c.padding);
        o.groups = c.groups;
        o.padding_mode = PaddingMode::circular;
        const ConvSpec s = make_conv(c.input, c.weight, o);
        const auto w = weights_for<Scalar>(rng, s);
        SpectrumOptions fo, dopt;
        fo.method = SpectrumMethod::fft;
        dopt.method = SpectrumMethod::dense;
        const Spectrum f = singular_values<Scalar>(s, w, fo), d = singular_values<Scalar>(s, w, dopt);
        BOOST_TEST_CONTEXT(s.describe()) {
            BOOST_TEST(spectrum_error(f.values, d.values) < 1e-10);
            const std::vector<double> wd(w.begin(), w.end());
            const auto bs = detail::circulant_singular_values(detail::circulant_of(ConvGeometry(s)), wd.data(), true, false,
                                                              1e9, {});
            BOOST_TEST(bs.fft == c.fft_blocks);
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fft_applies_where_no_tap_reads_the_padding, Scalar, Scalars) {
    // A transposed conv with kernel = stride and no padding (pixel-shuffle-like upsampling) is block-circulant.
    std::mt19937_64 rng(5);
    ConvTransposeOptions o;
    o.stride = {2};
    const ConvSpec s = make_conv_transpose({3, 4, 5}, {3, 2, 2, 2}, o);
    BOOST_TEST(detail::circulant_obstacle(ConvGeometry(s)).empty());
    const auto w = weights_for<Scalar>(rng, s);
    const Spectrum sp = singular_values<Scalar>(s, w);
    BOOST_TEST(sp.method == SpectrumMethod::fft);
    BOOST_TEST(spectrum_error(sp.values, reference(s, w)) < 1e-10);
    // With padding 1 it is not, and the message says why.
    o.padding = Padding::symmetric({1});
    o.output_padding = Dims{1};
    const ConvSpec p = make_conv_transpose({3, 4, 5}, {3, 2, 3, 3}, o);
    SpectrumOptions f;
    f.method = SpectrumMethod::fft;
    try {
        singular_values<Scalar>(p, weights_for<Scalar>(rng, p), f);
        BOOST_FAIL("fft accepted a zeros-padded transposed conv");
    } catch (const config_error& e) {
        BOOST_TEST(std::string(e.what()).find("block-circulant") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(frequency_map_holds_each_blocks_largest_value, Scalar, Scalars) {
    std::mt19937_64 rng(8);
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    o.padding_mode = PaddingMode::circular;
    const ConvSpec s = make_conv({2, 6, 4}, {3, 2, 3, 3}, o);
    const auto w = weights_for<Scalar>(rng, s);
    SpectrumOptions so;
    so.frequency_map = true;
    const Spectrum sp = singular_values<Scalar>(s, w, so);
    BOOST_TEST(sp.frequency_shape == (Dims{6, 4}), tt::per_element());
    BOOST_REQUIRE_EQUAL(sp.frequency_max.size(), 24u);
    BOOST_TEST(*std::max_element(sp.frequency_max.begin(), sp.frequency_max.end()) == sp.values.front(), tt::tolerance(1e-12));
    // The zero frequency's block is the sum of the taps: its largest singular value directly.
    Eigen::MatrixXd A0 = Eigen::MatrixXd::Zero(3, 2);
    for (index_t oc = 0; oc < 3; ++oc)
        for (index_t c = 0; c < 2; ++c)
            for (index_t t = 0; t < 9; ++t) A0(oc, c) += w[static_cast<size_t>((oc * 2 + c) * 9 + t)];
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(A0);
    BOOST_TEST(sp.frequency_max[0] == svd.singularValues()(0), tt::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(lanczos_finds_the_largest_and_smallest_on_every_padding_mode, Scalar, Scalars) {
    std::mt19937_64 rng(21);
    int done = 0, shift_invert = 0;
    for (int trial = 0; done < 40 && trial < 400; ++trial) {
        const bool transposed = trial % 4 == 3;
        const ConvSpec s = random_spec(rng, transposed);
        const ConvGeometry G(s);
        const index_t p = std::min(G.rows(), G.cols());
        if (p < 6 || G.rows() * G.cols() > 40000) continue;
        const auto w = weights_for<Scalar>(rng, s);
        const auto ref = reference(s, w);
        if (ref.front() == 0) continue;
        const index_t k = std::min<index_t>(3, p - 2);
        for (const SpectrumSide side : {SpectrumSide::largest, SpectrumSide::smallest})
            for (const bool si : {true, false}) {
                if (side == SpectrumSide::largest && !si) continue;
                SpectrumOptions o;
                o.method = SpectrumMethod::lanczos;
                o.k = k;
                o.which = side;
                if (si) o.shift_invert = shift_invert_solver();
                const Spectrum sp = singular_values<Scalar>(s, w, o);
                std::vector<double> want;
                if (side == SpectrumSide::largest) want.assign(ref.begin(), ref.begin() + k);
                else want.assign(ref.end() - k, ref.end());
                BOOST_TEST_CONTEXT(s.describe() << " " << to_string(side) << (si ? " shift-invert" : "") << " " << sp.detail) {
                    BOOST_REQUIRE_EQUAL(sp.values.size(), static_cast<size_t>(k));
                    BOOST_REQUIRE_EQUAL(sp.residuals.size(), static_cast<size_t>(k));
                    double err = 0;
                    for (index_t i = 0; i < k; ++i)
                        err = std::max(err, std::abs(sp.values[static_cast<size_t>(i)] - want[static_cast<size_t>(i)]));
                    // Through W^T W a small value is accurate to about sqrt(eps) sigma_1; the largest to tol.
                    BOOST_TEST(err / ref.front() < (side == SpectrumSide::largest ? 1e-9 : 1e-6));
                    for (double r : sp.residuals) BOOST_TEST(r / ref.front() < 1e-4);
                    if (side == SpectrumSide::smallest && si) shift_invert += sp.detail.find("CHOLMOD") != std::string::npos;
                }
            }
        ++done;
    }
    BOOST_TEST(done == 40);
    // Shift-invert keeps its result unless its error bound is too large (repeated zeros), when
    // Lanczos on the normal operator takes over: most configurations keep it.
    if (CONVMTX_WITH_SUITESPARSE) BOOST_TEST(shift_invert >= 20);
    else BOOST_TEST(shift_invert == 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(lanczos_works_on_a_black_box_and_a_float_operator, Scalar, Scalars) {
    std::mt19937_64 rng(4);
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    o.stride = {2};
    const ConvSpec s = make_conv({2, 12, 10}, {3, 2, 3, 3}, o);
    const auto w = weights_for<Scalar>(rng, s);
    const auto ref = reference(s, w);
    const auto op = direct_operator(s, w);
    // A black box: only apply and apply_adjoint.
    FunctionOperator<Scalar> box(op->model_shape(), op->data_shape(),
                                 [&](const Eigen::Ref<const Batch<Scalar>>& x, Eigen::Ref<Batch<Scalar>> y) { op->apply(x, y); },
                                 [&](const Eigen::Ref<const Batch<Scalar>>& y, Eigen::Ref<Batch<Scalar>> x) { op->apply_adjoint(y, x); });
    SpectrumOptions so;
    so.k = 4;
    so.method = SpectrumMethod::lanczos;
    const Spectrum top = singular_values<Scalar>(box, so);
    const double tolerance = is_double<Scalar> ? 1e-9 : 1e-4;
    for (int i = 0; i < 4; ++i) BOOST_TEST(std::abs(top.values[static_cast<size_t>(i)] - ref[static_cast<size_t>(i)]) / ref[0] < tolerance);
    so.which = SpectrumSide::smallest;
    const Spectrum bottom = singular_values<Scalar>(box, so);
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(std::abs(bottom.values[static_cast<size_t>(i)] - ref[ref.size() - 4 + static_cast<size_t>(i)]) / ref[0] <
                   (is_double<Scalar> ? 1e-6 : 1e-3));
    BOOST_TEST(bottom.detail.find("CHOLMOD") == std::string::npos);  // a black box has no matrix
    // No guaranteed bound for a black box; the matrix operator has one.
    BOOST_CHECK_THROW(operator_norm<Scalar>(box, so, true), config_error);
    const auto M = make_matrix_operator<Scalar>(s, w);
    const OperatorNorm n = operator_norm<Scalar>(*M, {}, true);
    BOOST_TEST(n.upper_bound >= ref[0]);
    BOOST_TEST(n.value == ref[0], tt::tolerance(is_double<Scalar> ? 1e-10 : 1e-5));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(certified_bounds_hold_for_every_padding_mode, Scalar, Scalars) {
    std::mt19937_64 rng(77);
    for (int trial = 0; trial < 60; ++trial) {
        const ConvSpec s = random_spec(rng, trial % 3 == 2);
        const ConvGeometry G(s);
        if (G.rows() * G.cols() > 40000 || std::min(G.rows(), G.cols()) == 0) continue;
        const auto w = weights_for<Scalar>(rng, s);
        const auto ref = reference(s, w);
        const OperatorNorm n = operator_norm<Scalar>(s, w, {}, true);
        BOOST_TEST_CONTEXT(s.describe() << ": " << n.bound_detail) {
            BOOST_TEST(n.upper_bound >= ref.front());
            BOOST_TEST(n.value == ref.front(), tt::tolerance(1e-9));
            // No input is stretched more than the bound: ||W x|| / ||x|| over random x.
            const std::vector<double> wd(w.begin(), w.end());
            const auto W = conv_matrix<double, Eigen::RowMajor, std::int64_t>(s, wd);
            for (int i = 0; i < 20; ++i) {
                const Eigen::VectorXd x = Eigen::VectorXd::Random(W.cols());
                BOOST_TEST((W * x).norm() <= n.upper_bound * x.norm());
                BOOST_TEST((W * x).norm() <= n.value * x.norm() * (1 + 1e-12));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(the_embedding_bound_is_tight_for_a_large_zero_padded_conv, Scalar, Scalars) {
    // A zeros-padded conv on a large grid is nearly its circular relative: the bound from the
    // circular conv that contains it is within a fraction of a percent of the Lanczos value.
    std::mt19937_64 rng(9);
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    const ConvSpec s = make_conv({2, 40, 40}, {2, 2, 3, 3}, o);
    const auto w = weights_for<Scalar>(rng, s);
    SpectrumOptions so;
    so.method = SpectrumMethod::lanczos;
    const OperatorNorm n = operator_norm<Scalar>(s, w, so, true);
    BOOST_TEST(n.bound_detail.find("circular") != std::string::npos, n.bound_detail);
    BOOST_TEST(n.upper_bound >= n.value);
    BOOST_TEST(n.upper_bound <= n.value * 1.01);
    BOOST_TEST(n.residual < 1e-4 * n.value);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(condition_number_and_rank_deficiency, Scalar, Scalars) {
    // [1, -1] on a circle: the zero frequency is annihilated, so W has exactly one zero singular value.
    ConvOptions o;
    o.padding = Padding::sides({1}, {0});
    o.padding_mode = PaddingMode::circular;
    const ConvSpec s = make_conv({1, 8}, {1, 1, 2}, o);
    const std::vector<Scalar> diff = {1, -1};
    const Conditioning c = condition_number<Scalar>(s, diff);
    BOOST_TEST(c.method == SpectrumMethod::fft);
    BOOST_TEST(c.zeros == 1);
    BOOST_TEST(c.rank_deficient());
    BOOST_TEST(c.nullity() == 1);
    BOOST_TEST(std::isinf(c.condition));
    BOOST_TEST(c.sigma_max == 2.0, tt::tolerance(1e-12));
    // A well-conditioned zeros-padded conv through Lanczos: both ends and their ratio.
    std::mt19937_64 rng(2);
    ConvOptions z;
    z.padding = Padding::symmetric({1});
    const ConvSpec t = make_conv({1, 24, 24}, {1, 1, 3, 3}, z);
    std::vector<Scalar> w = weights_for<Scalar>(rng, t);
    w[4] = 4;  // a dominant centre tap keeps W well away from singular
    const auto ref = reference(t, w);
    SpectrumOptions lo;
    lo.method = SpectrumMethod::lanczos;
    const Conditioning l = condition_number<Scalar>(t, w, lo);
    BOOST_TEST(l.method == SpectrumMethod::lanczos);
    BOOST_TEST(l.sigma_max == ref.front(), tt::tolerance(1e-9));
    BOOST_TEST(l.sigma_min == ref.back(), tt::tolerance(1e-8));
    BOOST_TEST(l.condition == ref.front() / ref.back(), tt::tolerance(1e-7));
    BOOST_TEST(!l.rank_deficient());
    // Wide W (stride 2): p = rows; the nullity counts the columns beyond the rank.
    ConvOptions st;
    st.stride = {2};
    const ConvSpec u = make_conv({1, 8}, {1, 1, 2}, st);
    const std::vector<Scalar> ones = {1, 1};
    const Conditioning d = condition_number<Scalar>(u, ones);
    BOOST_TEST(d.count == 4);
    BOOST_TEST(d.zeros == 0);
    BOOST_TEST(d.nullity() == 4);
    BOOST_TEST(d.condition == 1.0, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reshaped_weight_norm_is_the_svd_of_the_reshaped_weight, Scalar, Scalars) {
    std::mt19937_64 rng(6);
    const Shape shape = {4, 3, 2, 5};
    const auto w = random_values<Scalar>(rng, 120);
    Eigen::MatrixXd M0(4, 30), M1(3, 40);
    for (index_t a = 0; a < 4; ++a)
        for (index_t b = 0; b < 3; ++b)
            for (index_t t = 0; t < 10; ++t) {
                const double v = w[static_cast<size_t>((a * 3 + b) * 10 + t)];
                M0(a, b * 10 + t) = v;
                M1(b, a * 10 + t) = v;
            }
    BOOST_TEST(reshaped_weight_norm<Scalar>(w, shape, 0) == Eigen::JacobiSVD<Eigen::MatrixXd>(M0).singularValues()(0), tt::tolerance(1e-12));
    BOOST_TEST(reshaped_weight_norm<Scalar>(w, shape, 1) == Eigen::JacobiSVD<Eigen::MatrixXd>(M1).singularValues()(0), tt::tolerance(1e-12));
    BOOST_CHECK_THROW(reshaped_weight_norm<Scalar>(w, shape, 4), config_error);
    BOOST_CHECK_THROW(reshaped_weight_norm<Scalar>(w, Shape{4, 3, 2, 4}, 0), shape_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_is_refused_with_the_parameter_named, Scalar, Scalars) {
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    const ConvSpec s = make_conv({1, 6, 6}, {1, 1, 3, 3}, o);
    std::vector<Scalar> w(9, 1);
    auto message = [&](auto&& f) -> std::string {
        try {
            f();
        } catch (const std::exception& e) {
            return e.what();
        }
        return "no error";
    };
    w[3] = std::numeric_limits<Scalar>::quiet_NaN();
    BOOST_TEST(message([&] { singular_values<Scalar>(s, w); }).find("weight[3]") != std::string::npos);
    BOOST_CHECK_THROW(singular_values<Scalar>(s, w), config_error);
    w[3] = 1;
    SpectrumOptions o1;
    o1.k = 37;
    BOOST_TEST(message([&] { singular_values<Scalar>(s, w, o1); }).find("k=37 is larger") != std::string::npos);
    o1.k = -1;
    BOOST_TEST(message([&] { singular_values<Scalar>(s, w, o1); }).find("k=-1") != std::string::npos);
    SpectrumOptions o2;
    o2.method = SpectrumMethod::lanczos;
    BOOST_TEST(message([&] { singular_values<Scalar>(s, w, o2); }).find("give k") != std::string::npos);
    SpectrumOptions o3;
    o3.tol = -1;
    BOOST_CHECK_THROW(singular_values<Scalar>(s, w, o3), config_error);
    BOOST_CHECK_THROW(parse_spectrum_method("svd"), config_error);
    BOOST_CHECK_THROW(parse_spectrum_side("middle"), config_error);
    BOOST_CHECK(parse_spectrum_method("auto") == SpectrumMethod::automatic);
    SpectrumOptions o4;
    o4.method = SpectrumMethod::dense;
    o4.memory_limit = 1000;
    BOOST_CHECK_THROW(singular_values<Scalar>(s, w, o4), memory_limit_error);
    BOOST_CHECK_THROW(singular_values<Scalar>(s, std::vector<Scalar>(8, 1)), shape_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(checkerboard_levels_are_the_interior_phase_means_of_the_all_ones_response, Scalar, Scalars) {
    std::mt19937_64 rng(31);
    int uneven = 0;
    for (int trial = 0; trial < 60; ++trial) {
        ConvSpec s = random_spec(rng, true);
        // Grow the input so that every dimension has an interior with full periods.
        for (size_t j = 0; j < s.input_size.size(); ++j) s.input_size[j] += 4 * s.stride[j] + s.dilation[j] * s.kernel_size[j];
        try {
            s.validate();
        } catch (const std::exception&) {
            continue;
        }
        const auto w = weights_for<Scalar>(rng, s);
        const CheckerboardReport rep = checkerboard<Scalar>(s, w);
        const Batch<Scalar> ones = Batch<Scalar>::Ones(s.input_numel(), 1);
        const Batch<Scalar> out = conv_transpose_scatter<Scalar>(s, w, ones);
        const ConvGeometry G(s);
        const int r = s.rank();
        const Dims n = s.output_size();
        // Interior output positions: (k-1)d - pl <= x <= (m-1)s - pl per dimension (overlap.hpp).
        Dims lo(static_cast<size_t>(r)), hi(static_cast<size_t>(r));
        index_t P = 1;
        for (int j = 0; j < r; ++j) {
            const DimGeometry& g = G.dim(j);
            lo[static_cast<size_t>(j)] = std::max<index_t>(0, (g.kernel_size - 1) * g.dilation - g.padding_lo);
            hi[static_cast<size_t>(j)] = std::min<index_t>(g.input_size - 1, (g.output_size - 1) * g.stride - g.padding_lo);
            P *= g.stride;
        }
        std::vector<double> sum(static_cast<size_t>(s.out_channels * P), 0.0);
        std::vector<index_t> count(sum.size(), 0);
        index_t vol = 1;
        for (auto v : n) vol *= v;
        for (index_t c = 0; c < s.out_channels; ++c)
            for (index_t f = 0; f < vol; ++f) {
                index_t rem = f, phase = 0, mul = 1;
                bool inside = true;
                for (int j = r - 1; j >= 0; --j) {
                    const auto J = static_cast<size_t>(j);
                    const index_t x = rem % n[J];
                    rem /= n[J];
                    inside &= x >= lo[J] && x <= hi[J];
                    phase += (x % G.dim(j).stride) * mul;
                    mul *= G.dim(j).stride;
                }
                if (!inside) continue;
                sum[static_cast<size_t>(c * P + phase)] += static_cast<double>(out(c * vol + f, 0));
                ++count[static_cast<size_t>(c * P + phase)];
            }
        BOOST_TEST_CONTEXT(s.describe()) {
            BOOST_REQUIRE_EQUAL(rep.levels.size(), sum.size());
            // The scatter's rounding is relative to the sum of |w| over a level's taps, not to the level.
            double scale = 0;
            for (const Scalar v : w) scale += std::abs(static_cast<double>(v));
            for (size_t i = 0; i < sum.size(); ++i) {
                if (!count[i]) continue;
                BOOST_TEST(std::abs(rep.levels[i] - sum[i] / static_cast<double>(count[i])) <= tol<Scalar>() * scale);
            }
            // All ones: the verdict is overlap()'s structural one.
            const std::vector<Scalar> ones_w(static_cast<size_t>(s.weight_numel()), Scalar(1));
            const CheckerboardReport o = checkerboard<Scalar>(s, ones_w);
            BOOST_TEST(o.free == overlap(s).even);
            uneven += !o.free;
        }
    }
    BOOST_TEST(uneven > 5);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_balanced_kernel_reports_spread_zero, Scalar, Scalars) {
    // Stride 2, 4x4 kernel: each of the four polyphase components gets one tap adjusted so that the
    // components sum to the same value; the levels then agree and the spread is exactly 0.
    std::mt19937_64 rng(12);
    auto w = random_values<Scalar>(rng, 2 * 3 * 16);
    for (index_t c = 0; c < 2; ++c)
        for (index_t o = 0; o < 3; ++o) {
            Scalar* k = w.data() + (c * 3 + o) * 16;
            for (index_t py = 0; py < 2; ++py)
                for (index_t px = 0; px < 2; ++px) {
                    Scalar others = 0;
                    for (index_t ty = py; ty < 4; ty += 2)
                        for (index_t tx = px; tx < 4; tx += 2)
                            if (ty != py || tx != px) others += k[ty * 4 + tx];
                    k[py * 4 + px] = Scalar(0.25) - others;
                }
        }
    const CheckerboardReport rep = checkerboard<Scalar>(w, Shape{2, 3, 4, 4}, Dims{2}, Dims{1}, Dims{1}, 1);
    BOOST_TEST(rep.free);
    BOOST_TEST(rep.spread == 0.0);
    for (double l : rep.levels) BOOST_TEST(l == 0.5, tt::tolerance(1e-5));
    // Unbalance one tap: the spread is that tap's change relative to the largest level.
    w[0] += Scalar(0.125);
    const CheckerboardReport bad = checkerboard<Scalar>(w, Shape{2, 3, 4, 4}, Dims{2}, Dims{1}, Dims{1}, 1);
    BOOST_TEST(!bad.free);
    BOOST_TEST(bad.spread == 0.125 / 0.625, tt::tolerance(1e-5));
    BOOST_TEST(bad.worst_channel == 0);
    BOOST_CHECK_THROW(checkerboard<Scalar>(w, Shape{2, 3, 4, 4}, Dims{0}), config_error);
    BOOST_CHECK_THROW(checkerboard<Scalar>(w, Shape{2, 3, 4, 4}, Dims{2, 2, 2}), config_error);
    w[5] = std::numeric_limits<Scalar>::infinity();
    BOOST_CHECK_THROW(checkerboard<Scalar>(w, Shape{2, 3, 4, 4}, Dims{2}), config_error);
}

// ---- break_hostile F5, F7, F14, F19, F20: huge, tiny and zero weights ----

namespace {

/// Runs f; requires an exception of type E whose message holds every needle.
template <class E, class F>
void error_of(F&& f, std::initializer_list<std::string> needles) {
    try {
        f();
    } catch (const E& e) {
        const std::string m = e.what();
        for (const auto& n : needles) BOOST_TEST(m.find(n) != std::string::npos, "'" << n << "' in: " << m);
        return;
    } catch (const std::exception& e) {
        BOOST_ERROR("wrong exception type: " << e.what());
        return;
    }
    BOOST_ERROR("no exception");
}

}  // namespace

BOOST_AUTO_TEST_CASE(huge_and_tiny_weights_are_scaled_not_overflowed) {
    ConvOptions o;
    o.padding = Padding::symmetric({1, 1});
    const ConvSpec s = make_conv({1, 8, 8}, {1, 1, 3, 3}, o);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0.5, 1.5);
    std::vector<double> w(9);
    for (double& v : w) v = u(rng);
    for (SpectrumMethod m : {SpectrumMethod::lanczos, SpectrumMethod::dense}) {
        SpectrumOptions so;
        so.method = m;
        const Conditioning one = condition_number<double>(s, w, so);
        for (double c : {1e160, 1e-200, 0x1p1000}) {
            std::vector<double> big(w);
            for (double& v : big) v *= c;
            const Conditioning r = condition_number<double>(s, big, so);
            BOOST_TEST(r.sigma_max == c * one.sigma_max, boost::test_tools::tolerance(1e-9));
            BOOST_TEST(r.sigma_min == c * one.sigma_min, boost::test_tools::tolerance(1e-6));
            BOOST_TEST(r.nullity() == one.nullity());
            BOOST_TEST(operator_norm<double>(s, big, so).value == c * one.sigma_max, boost::test_tools::tolerance(1e-9));
            SpectrumOptions k = so;
            k.k = 3;
            for (double v : singular_values<double>(s, big, k).values) BOOST_TEST(std::isfinite(v));
        }
        std::vector<double> huge(9, 1e308);
        error_of<config_error>([&] { condition_number<double>(s, huge, so); },
                               {"weights: the largest |weight| is 1e+308", "larger than the largest double"});
    }
    error_of<config_error>([&] { reshaped_weight_norm<double>(std::vector<double>(9, 1e308), Shape{1, 1, 3, 3}); },
                           {"larger than the largest double"});
    BOOST_TEST(reshaped_weight_norm<double>(std::vector<double>(9, 1e300), Shape{1, 1, 3, 3}) == 3e300,
               boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(zero_weights_have_every_singular_value_zero) {
    ConvOptions o;
    o.padding = Padding::symmetric({1, 1});
    const ConvSpec s = make_conv({1, 64, 64}, {1, 1, 3, 3}, o);
    const std::vector<double> z(9, 0.0);
    for (SpectrumMethod m : {SpectrumMethod::automatic, SpectrumMethod::lanczos}) {
        SpectrumOptions so;
        so.method = m;
        const Conditioning c = condition_number<double>(s, z, so);
        BOOST_TEST(c.sigma_max == 0.0);
        BOOST_TEST(c.sigma_min == 0.0);
        BOOST_TEST(std::isinf(c.condition));
        BOOST_TEST(c.rank_deficient());
        BOOST_TEST(c.nullity() == 64 * 64);
        BOOST_TEST(operator_norm<double>(s, z, so).value == 0.0);
        SpectrumOptions k = so;
        k.k = 2;
        k.method = SpectrumMethod::lanczos;
        const Spectrum v = singular_values<double>(s, z, k);
        BOOST_TEST(v.values.size() == 2u);
        BOOST_TEST(v.zeros() == 2);
    }
}

BOOST_AUTO_TEST_CASE(fft_cost_is_known_before_anything_is_allocated) {
    ConvOptions o;
    o.padding = Padding::symmetric({1, 1});
    o.padding_mode = PaddingMode::circular;
    const ConvSpec big = make_conv({1, 100000, 100000}, {1, 1, 3, 3}, o);
    const auto cost = fft_spectrum_cost(big, true, false);
    BOOST_REQUIRE(cost.has_value());
    BOOST_TEST(cost->bytes > 1e10);
    SpectrumOptions so;
    so.method = SpectrumMethod::fft;
    so.memory_limit = 1e9;
    error_of<memory_limit_error>([&] { condition_number<double>(big, std::vector<double>(9, 1.0), so); },
                                 {"the FFT path needs", "10000000000 frequencies"});
    ConvOptions z;
    z.padding = Padding::symmetric({1, 1});
    BOOST_TEST(!fft_spectrum_cost(make_conv({1, 8, 8}, {1, 1, 3, 3}, z), true, false).has_value());
    const ConvSpec wide = make_conv({128, 32, 32}, {128, 128, 3, 3}, o);
    BOOST_TEST(fft_spectrum_cost(wide, true, false)->work > 16 * fft_spectrum_cost(make_conv({32, 32, 32}, {32, 32, 3, 3}, o), true, false)->work);
}

BOOST_AUTO_TEST_CASE(checkerboard_levels_of_huge_weights) {
    ConvTransposeOptions o;
    o.stride = {2, 2};
    const ConvSpec t = make_conv_transpose({1, 4, 4}, {1, 1, 4, 4}, o);
    const CheckerboardReport r = checkerboard<double>(t, std::vector<double>(16, 1e300));
    for (double v : r.levels) BOOST_TEST(v == 4e300, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(r.free);
    error_of<config_error>([&] { checkerboard<double>(t, std::vector<double>(16, 1e308)); },
                           {"weights: the largest |weight| is 1e+308", "larger than the largest double"});
}
