// Statistics, the structure (Toeplitz) check, explain terms and overlap counts,
// against dense computations and the builder's matrices.
#define BOOST_TEST_MODULE inspect
#include <map>
#include <set>

#include "convmtx/inspect.hpp"
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;

namespace {

/// The matrix under test (Scalar), converted to the inspection type.
template <class Scalar>
CsrMatrix built(const ConvSpec& spec, const std::vector<Scalar>& w, bool transpose) {
    using M = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t>;
    const M A = transpose ? conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, w)
                          : conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, w);
    return A.template cast<double>();
}

template <class Scalar>
std::vector<double> as_double(const std::vector<Scalar>& w) {
    return {w.begin(), w.end()};
}

// Tolerance of the structure check: float sums of folded taps differ from double sums.
template <class Scalar>
constexpr double check_rtol = is_double<Scalar> ? 1e-12 : 1e-5;

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(stats_match_a_dense_computation, Scalar, Scalars) {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 20; ++trial) {
        const ConvSpec spec = random_spec(rng, trial % 2 == 1);
        const auto w = random_values<Scalar>(rng, spec.weight_numel());
        const CsrMatrix M = built(spec, w, trial % 3 == 0);
        const MatrixStats st = matrix_stats(M);
        const Eigen::MatrixXd D(M);
        index_t nnz = 0, lo = 0, up = 0, rmin = 1 << 30, rmax = 0;
        std::set<double> distinct;
        for (index_t r = 0; r < M.rows(); ++r) {
            index_t cnt = 0;
            for (CsrMatrix::InnerIterator it(M, r); it; ++it) {
                ++cnt;
                distinct.insert(it.value());
            }
            rmin = std::min(rmin, cnt);
            rmax = std::max(rmax, cnt);
            nnz += cnt;
            for (index_t c = 0; c < M.cols(); ++c)
                if (D(r, c) != 0) lo = std::max(lo, r - c), up = std::max(up, c - r);
        }
        BOOST_TEST(st.nnz == nnz);
        BOOST_TEST(st.row_min == rmin);
        BOOST_TEST(st.row_max == rmax);
        BOOST_TEST(st.lower_bandwidth == lo);
        BOOST_TEST(st.upper_bandwidth == up);
        BOOST_TEST(st.distinct_values == static_cast<index_t>(distinct.size()));
        BOOST_TEST(st.csr_bytes_int32 == static_cast<std::uint64_t>((M.rows() + 1) * 4 + nnz * 12));
        BOOST_TEST(st.density == static_cast<double>(nnz) / static_cast<double>(M.rows() * M.cols()), boost::test_tools::tolerance(1e-15));
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(structure_check_passes_for_every_built_matrix, Scalar, Scalars) {
    std::mt19937_64 rng(5);
    for (int trial = 0; trial < 120; ++trial) {
        const bool transposed = trial % 2 == 1;
        const ConvSpec spec = random_spec(rng, transposed);
        const auto w = random_values<Scalar>(rng, spec.weight_numel());
        const auto wd = as_double(w);
        for (bool T : {false, true}) {
            const StructureReport rep = check_structure(spec, built(spec, w, T), T, wd, check_rtol<Scalar>);
            BOOST_TEST_CONTEXT(spec.describe() << (T ? " T" : " W")) {
                BOOST_TEST(rep.ok, rep.violation);
                BOOST_TEST(rep.violation.empty());
                BOOST_TEST(rep.weights_checked);
                BOOST_TEST(rep.weights_ok, rep.weight_violation);
                BOOST_TEST(rep.checked_entries >= built(spec, w, T).nonZeros());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(structure_check_names_a_perturbed_entry, Scalar, Scalars) {
    std::mt19937_64 rng(6);
    int named = 0, failed = 0;
    for (int trial = 0; trial < 120; ++trial) {
        const bool transposed = trial % 2 == 1;
        const ConvSpec spec = random_spec(rng, transposed);
        const auto w = random_values<Scalar>(rng, spec.weight_numel());
        const auto wd = as_double(w);
        const bool T = trial % 4 >= 2;
        CsrMatrix M = built(spec, w, T);
        if (M.nonZeros() == 0) continue;
        const index_t k = std::uniform_int_distribution<index_t>(0, M.nonZeros() - 1)(rng);
        M.valuePtr()[k] += 0.5;
        index_t row = 0;
        while (M.outerIndexPtr()[row + 1] <= k) ++row;
        const index_t col = M.innerIndexPtr()[k];
        // Against the weights the perturbed entry is always found and named; the weight-free
        // Toeplitz check fails whenever the entry's diagonal has other clean rows to compare with.
        const StructureReport rep = check_structure(spec, M, T, wd, check_rtol<Scalar>);
        BOOST_TEST_CONTEXT(spec.describe() << (T ? " T" : " W") << " entry (" << row << ", " << col << ")") {
            BOOST_TEST(!rep.weights_ok);
            BOOST_TEST(rep.weight_violation_row == row);
            BOOST_TEST(rep.weight_violation_col == col);
            BOOST_TEST(rep.weight_violation.find("[" + std::to_string(row) + ", " + std::to_string(col) + "]") != std::string::npos,
                       rep.weight_violation);
            if (!rep.ok) {
                ++failed;
                if (rep.violation_row == row && rep.violation_col == col && rep.actual == M.valuePtr()[k]) ++named;
            }
        }
    }
    BOOST_TEST_MESSAGE("Toeplitz check failed for " << failed << " of 120 perturbations, named the entry " << named << " times");
    BOOST_TEST(failed > 80);
    BOOST_TEST(named >= failed - 5);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(structure_check_without_weights_uses_the_diagonals, Scalar, Scalars) {
    // conv2d 1x6x6, k3, stride 2, padding 1: every tap value occurs on at least 2 rows.
    ConvOptions o;
    o.stride = {2};
    o.padding = Padding::symmetric({1});
    const ConvSpec spec = make_conv({2, 6, 6}, {2, 2, 3, 3}, o);
    std::mt19937_64 rng(3);
    const auto w = random_values<Scalar>(rng, spec.weight_numel());
    CsrMatrix W = built(spec, w, false);
    BOOST_TEST(check_structure(spec, W, false, {}, check_rtol<Scalar>).ok);
    BOOST_TEST(!check_structure(spec, W, false, {}, check_rtol<Scalar>).weights_checked);
    // Different weights: the structure still holds, the weights differ.
    std::vector<double> other(spec.weight_numel(), 0.25);
    const StructureReport r2 = check_structure(spec, W, false, other, check_rtol<Scalar>);
    BOOST_TEST(r2.ok);
    BOOST_TEST(!r2.weights_ok);
    BOOST_TEST(r2.weight_violation.find("tap w[0,0,0,0]") != std::string::npos, r2.weight_violation);
    // A nonzero outside the band (row 0 reads columns of input rows 0..1 only).
    W.coeffRef(0, 35) = 1.0;
    const StructureReport r3 = check_structure(spec, W, false, {}, check_rtol<Scalar>);
    BOOST_TEST(!r3.ok);
    BOOST_TEST(r3.violation_row == 0);
    BOOST_TEST(r3.violation_col == 35);
    BOOST_TEST(r3.violation.find("outside the band") != std::string::npos, r3.violation);
    // A wrong shape.
    const CsrMatrix small(3, 3);
    BOOST_TEST(!check_structure(spec, small, false).ok);
    BOOST_TEST(describe_structure(spec).find("strided doubly block Toeplitz") != std::string::npos);
    BOOST_TEST(describe_structure(spec).find("4 block(s) (1 group(s) x 2 out x 2 in)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(descriptions_name_the_structure) {
    const ConvSpec s1 = make_conv({1, 8}, {1, 1, 3});
    BOOST_TEST(describe_structure(s1).find("Toeplitz (stride 1)") != std::string::npos);
    const ConvSpec s2 = make_conv({4, 5, 5}, {4, 4, 3, 3});
    BOOST_TEST(describe_structure(s2).find("16 block(s) (1 group(s) x 4 out x 4 in)") != std::string::npos);
    BOOST_TEST(describe_structure(s2).find("doubly block Toeplitz (stride 1)") != std::string::npos);
    ConvOptions g;
    g.groups = 2;
    const ConvSpec s3 = make_conv({4, 3, 3, 3}, {4, 2, 2, 2, 2}, g);
    BOOST_TEST(describe_structure(s3).find("triply block Toeplitz") != std::string::npos);
    BOOST_TEST(describe_structure(s3).find("the other 8 blocks are zero") != std::string::npos);
    ConvOptions c;
    c.padding = Padding::symmetric({1});
    c.padding_mode = PaddingMode::circular;
    BOOST_TEST(describe_structure(make_conv({1, 6}, {1, 1, 3}, c)).find("circulant") != std::string::npos);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(explain_terms_are_the_rows_and_columns_of_the_matrix, Scalar, Scalars) {
    std::mt19937_64 rng(9);
    for (int trial = 0; trial < 60; ++trial) {
        const ConvSpec spec = random_spec(rng, trial % 2 == 1);
        const auto w = random_values<Scalar>(rng, spec.weight_numel());
        const CsrMatrix M = built(spec, w, spec.transposed);  // the operation's own matrix: y = M x
        const Eigen::MatrixXd D(M);
        for (int probe = 0; probe < 4; ++probe) {
            const index_t r = std::uniform_int_distribution<index_t>(0, M.rows() - 1)(rng);
            std::map<index_t, double> row;
            for (const Term& t : output_terms(spec, r)) {
                BOOST_TEST(t.output_flat == r);
                BOOST_TEST(ravel_index(t.input_index, spec.input_shape()) == t.input_flat);
                BOOST_TEST(ravel_index(t.weight_index, spec.weight_shape()) == t.weight_flat);
                row[t.input_flat] += static_cast<double>(w[static_cast<size_t>(t.weight_flat)]);
            }
            std::map<index_t, double> want;
            for (CsrMatrix::InnerIterator it(M, r); it; ++it) want[it.col()] = it.value();
            BOOST_TEST_CONTEXT(spec.describe() << " row " << r) {
                BOOST_TEST(row.size() == want.size());
                for (auto& [c, v] : want) BOOST_TEST(row[c] == v, boost::test_tools::tolerance(tol<Scalar>()));
            }
            const index_t c = std::uniform_int_distribution<index_t>(0, M.cols() - 1)(rng);
            std::map<index_t, double> col;
            for (const Term& t : input_terms(spec, c)) {
                BOOST_TEST(t.input_flat == c);
                col[t.output_flat] += static_cast<double>(w[static_cast<size_t>(t.weight_flat)]);
            }
            index_t stored = 0;
            for (index_t rr = 0; rr < M.rows(); ++rr)
                for (CsrMatrix::InnerIterator it(M, rr); it; ++it)
                    if (it.col() == c) {
                        ++stored;
                        BOOST_TEST(col[rr] == it.value(), boost::test_tools::tolerance(tol<Scalar>()));
                    }
            BOOST_TEST_CONTEXT(spec.describe() << " column " << c) { BOOST_TEST(static_cast<index_t>(col.size()) == stored); }
        }
    }
}

BOOST_AUTO_TEST_CASE(explain_d2l_transposed_example) {
    // ConvTranspose2d(1, 1, 3, stride=2) on [[1,2],[3,4]] with a ones kernel: the centre output
    // y[0,2,2] collects all four inputs, each through its kernel corner.
    ConvTransposeOptions o;
    o.stride = {2};
    const ConvSpec spec = make_conv_transpose({1, 2, 2}, {1, 1, 3, 3}, o);
    const auto terms = output_terms(spec, ravel_index({0, 2, 2}, spec.output_shape()));
    BOOST_TEST(terms.size() == 4u);
    std::set<std::pair<Shape, Shape>> got;
    for (const Term& t : terms) got.insert({t.input_index, t.weight_index});
    const std::set<std::pair<Shape, Shape>> want = {{{0, 0, 0}, {0, 0, 2, 2}},
                                                    {{0, 0, 1}, {0, 0, 2, 0}},
                                                    {{0, 1, 0}, {0, 0, 0, 2}},
                                                    {{0, 1, 1}, {0, 0, 0, 0}}};
    BOOST_TEST((got == want));
    BOOST_CHECK_THROW(output_terms(spec, 25), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(overlap_counts_are_row_sums_of_the_pattern_of_T) {
    std::mt19937_64 rng(13);
    for (int trial = 0; trial < 60; ++trial) {
        const ConvSpec spec = random_spec(rng, true);
        const OverlapReport rep = overlap(spec);
        const auto pat = matrix_pattern<std::int64_t>(spec, true);
        const index_t spatial = static_cast<index_t>(rep.counts.size());
        BOOST_TEST_CONTEXT(spec.describe()) {
            BOOST_TEST(pat.rows == spec.out_channels * spatial);
            for (index_t r = 0; r < pat.rows; ++r) {
                const index_t row_sum = pat.outer[r + 1] - pat.outer[r];
                BOOST_TEST(row_sum == rep.channels_per_output * rep.counts[static_cast<size_t>(r % spatial)]);
            }
            BOOST_TEST(rep.interior_min <= rep.interior_max);
        }
    }
}

BOOST_AUTO_TEST_CASE(checkerboard_verdicts) {
    ConvTransposeOptions o;
    o.stride = {2};
    const OverlapReport r3 = overlap(make_conv_transpose({1, 4, 4}, {1, 1, 3, 3}, o));
    BOOST_TEST(!r3.even);
    BOOST_TEST(r3.interior_min == 1);
    BOOST_TEST(r3.interior_max == 4);
    BOOST_TEST(r3.uniformity == 4.0);
    BOOST_TEST(r3.dims[0].smaller_even_kernel == 2);
    BOOST_TEST(r3.dims[0].larger_even_kernel == 4);
    BOOST_TEST(r3.verdict.find("kernel size 3 is not divisible by stride 2") != std::string::npos, r3.verdict);
    BOOST_TEST(r3.verdict.find("kernel size 2 or 4 would be even") != std::string::npos, r3.verdict);
    BOOST_TEST((r3.dims[0].counts == std::vector<index_t>{1, 1, 2, 1, 2, 1, 2, 1, 1}), boost::test_tools::per_element());

    // d2l's 2x2 input: the interior (output 2) is shorter than a stride period; the figure
    // comes from the phase counts, (2*2)/(1*1).
    const OverlapReport rs = overlap(make_conv_transpose({1, 2, 2}, {1, 1, 3, 3}, o));
    BOOST_TEST(rs.interior_empty);
    BOOST_TEST(rs.uniformity == 4.0);
    BOOST_TEST(!rs.even);

    const OverlapReport r4 = overlap(make_conv_transpose({1, 4, 4}, {1, 1, 4, 4}, o));
    BOOST_TEST(r4.even);
    BOOST_TEST(r4.uniformity == 1.0);
    BOOST_TEST(r4.interior_max == 4);

    ConvTransposeOptions d;
    d.stride = {2};
    d.dilation = {2};
    const OverlapReport rd = overlap(make_conv_transpose({1, 5}, {1, 1, 3}, d));
    BOOST_TEST(!rd.even);
    BOOST_TEST(std::isinf(rd.uniformity));
    BOOST_TEST(rd.dims[0].larger_even_kernel == 0);
    BOOST_TEST(rd.verdict.find("no kernel size is even") != std::string::npos, rd.verdict);

    ConvTransposeOptions s3;
    s3.stride = {3};
    const OverlapReport r5 = overlap(make_conv_transpose({1, 6}, {1, 1, 5}, s3));
    BOOST_TEST(r5.dims[0].smaller_even_kernel == 3);
    BOOST_TEST(r5.dims[0].larger_even_kernel == 6);

    // A conv is analysed through its adjoint: column counts of W.
    ConvOptions c;
    c.stride = {2};
    const OverlapReport rc = overlap(make_conv({1, 9, 9}, {1, 1, 3, 3}, c));
    BOOST_TEST(!rc.even);
    BOOST_TEST((rc.shape == Dims{9, 9}));
}

BOOST_AUTO_TEST_CASE(overlap_phases_are_closed_form) {
    // Phase counts, evenness and the nearest even kernels against brute force over small (k, s, d).
    for (index_t s = 1; s <= 6; ++s)
        for (index_t d = 1; d <= 4; ++d)
            for (index_t k = 1; k <= 13; ++k) {
                ConvTransposeOptions o;
                o.stride = {s};
                o.dilation = {d};
                const OverlapReport r = overlap(make_conv_transpose({1, 7}, {1, 1, k}, o));
                auto brute = [&](index_t kk) {
                    std::vector<index_t> c(static_cast<size_t>(s), 0);
                    for (index_t t = 0; t < kk; ++t) ++c[static_cast<size_t>((t * d) % s)];
                    return c;
                };
                auto even = [&](index_t kk) {
                    const auto c = brute(kk);
                    return std::all_of(c.begin(), c.end(), [&](index_t x) { return x == c.front(); });
                };
                const OverlapDim& od = r.dims[0];
                BOOST_TEST(od.residue_counts == brute(k), boost::test_tools::per_element());
                BOOST_TEST(od.even == even(k), "k=" << k << " s=" << s << " d=" << d);
                index_t smaller = 0, larger = 0;
                for (index_t kk = k - 1; kk >= 1 && !smaller; --kk)
                    if (even(kk)) smaller = kk;
                for (index_t kk = k + 1; kk <= k + s * s + s && !larger; ++kk)
                    if (even(kk)) larger = kk;
                BOOST_TEST(od.smaller_even_kernel == smaller, "k=" << k << " s=" << s << " d=" << d);
                BOOST_TEST(od.larger_even_kernel == larger, "k=" << k << " s=" << s << " d=" << d);
            }
    // A huge stride (a single input position) is answered without allocating or scanning s phases.
    ConvTransposeOptions h;
    h.stride = {index_t(1) << 50};
    const OverlapReport rh = overlap(make_conv_transpose({1, 1}, {1, 1, 4}, h));
    BOOST_TEST(rh.dims[0].residue_counts.empty());
    BOOST_TEST(!rh.even);
    BOOST_TEST(rh.dims[0].larger_even_kernel == (index_t(1) << 50));
}
