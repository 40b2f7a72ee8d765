// ConvGeometry (the one evaluation of the tap relation) against brute force written from the
// formulas of docs/semantics.md, the operator API (apply into caller-owned blocks, transpose of
// any operator, shape errors naming both shapes) and sized weight spans.
#define BOOST_TEST_MODULE geometry
#include <map>
#include <set>

#include "test_common.hpp"

namespace convmtx::test {
namespace {

/// The fold of F.pad written as repeated mirroring/wrapping, independent of pad_fold's closed form.
index_t fold_by_steps(index_t p, index_t n, PaddingMode mode) {
    if (p >= 0 && p < n) return p;
    switch (mode) {
        case PaddingMode::zeros: return -1;
        case PaddingMode::replicate: return p < 0 ? 0 : n - 1;
        case PaddingMode::circular:
            while (p < 0) p += n;
            while (p >= n) p -= n;
            return p;
        case PaddingMode::reflect:
            if (n == 1) return 0;
            while (p < 0 || p >= n) p = p < 0 ? -p : 2 * (n - 1) - p;
            return p;
    }
    return -1;
}

BOOST_AUTO_TEST_CASE(pad_fold_equals_repeated_reflection) {
    for (PaddingMode mode : {PaddingMode::zeros, PaddingMode::circular, PaddingMode::reflect, PaddingMode::replicate})
        for (index_t n = 1; n <= 7; ++n)
            for (index_t p = -3 * n; p < 4 * n; ++p)
                BOOST_TEST(pad_fold(p, n, mode) == fold_by_steps(p, n, mode), "p=" << p << " n=" << n << " " << mode);
    // Extreme positions and sizes do not overflow.
    const index_t big = std::numeric_limits<index_t>::max() / 2;
    BOOST_TEST(pad_fold(-1, big, PaddingMode::reflect) == 1);
    BOOST_TEST(pad_fold(big, big, PaddingMode::reflect) == big - 2);
    BOOST_TEST(pad_fold(-1, big, PaddingMode::circular) == big - 1);
    BOOST_TEST(pad_fold(std::numeric_limits<index_t>::min(), 3, PaddingMode::circular) ==
               fold_by_steps(std::numeric_limits<index_t>::min() % 3, 3, PaddingMode::circular));
}

BOOST_AUTO_TEST_CASE(tap_tables_equal_brute_force_on_random_configurations) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 300; ++trial) {
        const ConvSpec s = random_spec(rng, trial % 3 == 0);
        const ConvGeometry G(s);
        BOOST_TEST(G.rank() == s.rank());
        BOOST_TEST(G.conv_input_size() == s.conv_input_size(), boost::test_tools::per_element());
        BOOST_TEST(G.conv_output_size() == s.conv_output_size(), boost::test_tools::per_element());
        for (int j = 0; j < G.rank(); ++j) {
            const DimGeometry& d = G.dim(j);
            // Brute force: every (q, t) pair and the input it reads.
            std::map<std::pair<index_t, index_t>, std::vector<index_t>> taps;  // (q, i) -> taps
            std::map<index_t, std::vector<TapHit>> by_input;
            for (index_t q = 0; q < d.output_size; ++q)
                for (index_t t = 0; t < d.kernel_size; ++t) {
                    const index_t p = q * d.stride - d.padding_lo + t * d.dilation;
                    const index_t i = fold_by_steps(p, d.input_size, d.padding_mode);
                    if (i < 0) continue;
                    taps[{q, i}].push_back(t);
                    by_input[i].push_back({q, t, p});
                }
            const TapTable& F = G.output_taps(j);
            const TapTable& B = G.input_taps(j);
            BOOST_TEST_REQUIRE(F.positions() == d.output_size);
            BOOST_TEST_REQUIRE(B.positions() == d.input_size);
            std::map<std::pair<index_t, index_t>, std::vector<index_t>> fwd, bwd;
            for (index_t q = 0; q < d.output_size; ++q) {
                index_t last = -1;
                for (index_t g = F.begin(q); g < F.end(q); ++g) {
                    BOOST_TEST(F.target(g) > last);  // sorted, distinct
                    last = F.target(g);
                    auto& v = fwd[{q, F.target(g)}];
                    for (index_t x = F.tap_offsets[g]; x < F.tap_offsets[g + 1]; ++x) v.push_back(F.taps[x]);
                }
            }
            for (index_t i = 0; i < d.input_size; ++i)
                for (index_t g = B.begin(i); g < B.end(i); ++g) {
                    auto& v = bwd[{B.target(g), i}];
                    for (index_t x = B.tap_offsets[g]; x < B.tap_offsets[g + 1]; ++x) v.push_back(B.taps[x]);
                }
            BOOST_TEST((fwd == taps), s.describe() << " dim " << j);
            BOOST_TEST((bwd == taps), s.describe() << " dim " << j);
            // Closed-form per-element queries agree with the scan.
            for (index_t i = 0; i < d.input_size; ++i) {
                const auto hits = d.outputs_reading(i);
                const auto& want = by_input[i];
                BOOST_TEST_REQUIRE(hits.size() == want.size(), s.describe() << " dim " << j << " input " << i);
                for (size_t h = 0; h < hits.size(); ++h) {
                    BOOST_TEST(hits[h].output == want[h].output);
                    BOOST_TEST(hits[h].tap == want[h].tap);
                    BOOST_TEST(hits[h].padded == want[h].padded);
                }
            }
            for (index_t q = 0; q < d.output_size; ++q)
                for (const TapHit& h : d.inputs_read_by(q)) BOOST_TEST(d.input_position(q, h.tap) >= 0);
        }
        BOOST_TEST(G.structural_nnz() == structural_nnz(s));
    }
}

BOOST_AUTO_TEST_CASE(closed_form_queries_on_huge_dimensions) {
    // One position of a dimension with 2^40 outputs: answered without a scan over the outputs.
    ConvSpec s;
    s.input_size = {index_t(1) << 40};
    s.kernel_size = {3};
    s.stride = {2};
    s.dilation = {1};
    s.padding_lo = {1};
    s.padding_hi = {1};
    s.output_padding = {0};
    s.padding_mode = PaddingMode::replicate;
    const ConvGeometry G(s);
    const DimGeometry& d = G.dim(0);
    BOOST_TEST(d.output_size == (index_t(1) << 39));
    const auto hits = d.outputs_reading(0);  // read by q=0 taps 0 (padding, replicated) and 1
    BOOST_TEST_REQUIRE(hits.size() == 2u);
    BOOST_TEST(hits[0].output == 0);
    BOOST_TEST(hits[0].tap == 0);
    BOOST_TEST(hits[0].padded == -1);
    BOOST_TEST(hits[1].tap == 1);
    const auto last = d.outputs_reading(d.input_size - 1);
    BOOST_TEST_REQUIRE(!last.empty());
    BOOST_TEST(last.back().output == d.output_size - 1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(transposed_matrix_is_built_directly_for_every_padding_mode, Scalar, Scalars) {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 60; ++trial) {
        const ConvSpec s = random_spec(rng, false);
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        const auto W = conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(s, w);
        const auto T = conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int64_t>(s, w);
        const auto Tc = conv_transpose_matrix<Scalar, Eigen::ColMajor, std::int32_t>(s, w);
        const Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t> Wt = W.transpose();
        BOOST_TEST(T.nonZeros() == W.nonZeros());
        BOOST_TEST(rel_diff(Batch<Scalar>(T), Batch<Scalar>(Wt)) == 0.0, s.describe());
        BOOST_TEST(rel_diff(Batch<Scalar>(Tc), Batch<Scalar>(Wt)) == 0.0, s.describe());
        // tap_lists: each entry equals the sum of the weights it lists.
        const TapLists L = tap_lists(s, true);
        BOOST_TEST_REQUIRE(static_cast<index_t>(L.offsets.size()) == T.nonZeros() + 1);
        for (index_t e = 0; e < T.nonZeros(); ++e) {
            double sum = 0;
            for (index_t x = L.offsets[e]; x < L.offsets[e + 1]; ++x) sum += static_cast<double>(w[L.taps[x]]);
            BOOST_TEST(std::abs(sum - static_cast<double>(T.valuePtr()[e])) <= 1e-5 * (1 + std::abs(sum)));
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(weights_of_the_wrong_size_are_refused, Scalar, Scalars) {
    const ConvSpec s = make_conv({1, 5, 5}, {1, 1, 3, 3});
    const std::vector<Scalar> three(3, Scalar(1));
    try {
        (void)conv_matrix<Scalar>(s, three);
        BOOST_FAIL("expected shape_error");
    } catch (const shape_error& e) {
        BOOST_TEST(std::string(e.what()).find("weight has 3 values; the configuration needs 9") != std::string::npos,
                   e.what());
    }
    const Batch<Scalar> x = Batch<Scalar>::Ones(25, 2);
    BOOST_CHECK_THROW(conv_direct<Scalar>(s, three, x), shape_error);
    BOOST_CHECK_THROW(ConvOperator<Scalar>(s, three), shape_error);
    const std::vector<Scalar> nine(9, Scalar(1));
    BOOST_CHECK_THROW(conv_direct<Scalar>(s, nine, x, std::vector<Scalar>(2)), shape_error);  // bias of 2 for 1 channel
}

BOOST_AUTO_TEST_CASE_TEMPLATE(conv_operator_applies_into_caller_blocks_and_transposes, Scalar, Scalars) {
    std::mt19937_64 rng(3);
    for (int trial = 0; trial < 40; ++trial) {
        const ConvSpec s = random_spec(rng, trial % 2 == 1);
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        const auto M = operator_matrix<Scalar, Eigen::RowMajor, std::int64_t>(s, w);
        std::vector<ApplyMethod> methods{ApplyMethod::matrix};
        if (s.transposed) {
            methods.push_back(ApplyMethod::scatter);
            methods.push_back(ApplyMethod::gather);
        } else {
            methods.push_back(ApplyMethod::direct);
        }
        const Batch<Scalar> x = random_batch<Scalar>(rng, s.input_numel(), 3);
        const Batch<Scalar> y = random_batch<Scalar>(rng, s.output_numel(), 3);
        const Batch<Scalar> Mx = M * x, Mty = M.transpose() * y;
        for (ApplyMethod m : methods) {
            const ConvOperator<Scalar> op(s, w, m);  // on the stack: transpose() must still work
            Batch<Scalar> out(s.output_numel(), 3), back(s.input_numel(), 3);
            const Scalar* data = out.data();
            op.apply(x, out);
            op.apply_adjoint(y, back);
            BOOST_TEST(out.data() == data);  // written in place, not reallocated
            BOOST_TEST(rel_diff(out, Mx) <= tol<Scalar>(), s.describe() << " " << to_string(m));
            BOOST_TEST(rel_diff(back, Mty) <= tol<Scalar>(), s.describe() << " " << to_string(m));
            const auto T = op.transpose();
            BOOST_TEST(T->model_shape() == op.data_shape(), boost::test_tools::per_element());
            BOOST_TEST(rel_diff(T->apply(y), Mty) <= tol<Scalar>());
            BOOST_TEST(rel_diff(T->transpose()->apply(x), Mx) <= tol<Scalar>());
            BOOST_TEST(dot_test(op).passed, dot_test(op).str());
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(operator_shape_errors_name_both_shapes, Scalar, Scalars) {
    const ConvSpec s = make_conv({2, 6, 6}, {3, 2, 3, 3});
    const ConvOperator<Scalar> op(s, std::vector<Scalar>(54, Scalar(1)), ApplyMethod::direct);
    Batch<Scalar> x = Batch<Scalar>::Ones(72, 2), y_bad(47, 2), y(48, 2), y_cols(48, 3);
    try {
        op.apply(x, y_bad);
        BOOST_FAIL("expected shape_error");
    } catch (const shape_error& e) {
        const std::string m = e.what();
        BOOST_TEST(m.find("72 x 2") != std::string::npos, m);
        BOOST_TEST(m.find("47 x 2") != std::string::npos, m);
        BOOST_TEST(m.find("(2x6x6) -> data (3x4x4)") != std::string::npos, m);
    }
    BOOST_CHECK_THROW(op.apply(x, y_cols), shape_error);
    BOOST_CHECK_NO_THROW(op.apply(x, y));
    BOOST_CHECK_THROW(ConvOperator<Scalar>(s, std::vector<Scalar>(54), ApplyMethod::scatter), config_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(operator_refuses_overlapping_operands_and_null_views, Scalar, Scalars) {
    // A same-size conv (25 -> 25): apply(a, a) would read entries it already overwrote.
    ConvOptions o;
    o.padding = Padding::same();
    const ConvSpec s = make_conv({1, 5, 5}, {1, 1, 3, 3}, o);
    std::vector<Scalar> w(9);
    for (int i = 0; i < 9; ++i) w[static_cast<size_t>(i)] = Scalar(i + 1);
    const Batch<Scalar> x = Batch<Scalar>::Random(25, 2);
    for (ApplyMethod m : {ApplyMethod::matrix, ApplyMethod::direct}) {
        const ConvOperator<Scalar> op(s, convmtx::span<const Scalar>(w.data(), w.size()), m);  // a raw view
        Batch<Scalar> a = x, big = Batch<Scalar>::Zero(50, 2);
        try {
            op.apply(a, a);
            BOOST_FAIL("expected shape_error for aliased operands");
        } catch (const shape_error& e) {
            BOOST_TEST(std::string(e.what()).find("overlap") != std::string::npos, e.what());
        }
        BOOST_CHECK_THROW(op.apply_adjoint(a, a), shape_error);
        big.topRows(25) = x;
        BOOST_CHECK_THROW(op.apply(big.topRows(25), big.middleRows(10, 25)), shape_error);  // partial overlap
        Batch<Scalar> y(25, 2);
        op.apply(big.topRows(25), y);  // disjoint: fine, and equal to W x
        BOOST_TEST(rel_diff(y, Batch<Scalar>(op.matrix() * x)) <= tol<Scalar>());
    }
    const convmtx::span<const Scalar> null_view(nullptr, 9);
    try {
        (void)conv_matrix<Scalar>(s, null_view);
        BOOST_FAIL("expected shape_error for a null view");
    } catch (const shape_error& e) {
        BOOST_TEST(std::string(e.what()).find("null pointer with 9 values") != std::string::npos, e.what());
    }
    BOOST_CHECK_THROW(ConvOperator<Scalar>(s, null_view), shape_error);
    BOOST_CHECK_THROW(conv_direct<Scalar>(s, null_view, x), shape_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(transpose_of_a_user_operator_on_the_stack, Scalar, Scalars) {
    // A FunctionOperator and a user subclass created on the stack: transpose() does not throw.
    FunctionOperator<Scalar> f({3}, {2}, [](const Eigen::Ref<const Batch<Scalar>>& x) { return Batch<Scalar>(x.topRows(2)); },
                               [](const Eigen::Ref<const Batch<Scalar>>& y, Eigen::Ref<Batch<Scalar>> x) {
                                   x.setZero();
                                   x.topRows(2) = y;
                               });
    const auto ft = f.transpose();
    Batch<Scalar> y(2, 1);
    y << 1, 2;
    const Batch<Scalar> x = ft->apply(y);
    BOOST_TEST(x(0, 0) == Scalar(1));
    BOOST_TEST(x(2, 0) == Scalar(0));
    BOOST_TEST(dot_test(f).passed);
}

}  // namespace
}  // namespace convmtx::test
