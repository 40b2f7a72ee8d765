// Kernel validation: dot tests on operators (real and complex) and their non-finite trials, to_sparse
// by unit, pattern and convolution-colored probes (exactly W, with the stated probe bound),
// check_kernel on correct kernels (ours) and on hand-written kernels with each typical bug injected
// (a data-driven table over random configurations), which must be detected and named, and NaN or
// infinite kernel results, which must fail with their position named.
#define BOOST_TEST_MODULE validate
#include <complex>
#include <functional>
#include <ostream>

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include "convmtx/validate.hpp"
#include "test_common.hpp"

using namespace convmtx;
using namespace convmtx::test;
namespace data = boost::unit_test::data;

namespace {

template <class Scalar>
using Block = Batch<Scalar>;

// Exact equality of two sparse matrices' values (missing entries count as 0).
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
    Eigen::MatrixXd da = Eigen::MatrixXd(a.template cast<double>()), db = Eigen::MatrixXd(b.template cast<double>());
    return (da - db).cwiseAbs().maxCoeff();
}

// ---- hand-written 2-D kernels with injectable bugs (independent of the library's geometry) ----
struct Bugs {
    index_t pad_offset = 0;       // conv: reads with pad_lo + pad_offset; gather: low pad off by this
    bool no_dilation = false;     // conv
    bool no_stride = false;       // conv: x[q - pl + t d]
    bool stride_on_input = false; // conv: x[(q - pl + t d)/s] (zero-inserted input)
    int flip = -2;                // conv: -1 applies w[..., k-1-t] in every dimension, j in dimension j only
    index_t out_shift = 0;        // conv: out[q] holds what belongs at out[q + out_shift] (0 beyond the end)
    bool swapped_layout = false;  // conv: weight read as (C_in, C_out/G, k); gather: read as (C_out, C_in/G, k)
    bool group_mod = false;       // conv: group of o = o mod G
    bool group_interleave = false;// conv: group g reads input channels c'*G + g
    bool no_flip = false;         // transposed gather: kernel not flipped
    bool output_padding_low = false;  // transposed gather: output_padding added at the low end
    double bias = 0;              // conv: adds a constant
    bool square = false;          // conv: squares the result (not linear)
};

// Conv by gathering, 2-D, zeros padding: y[o, q] = sum w[o, c', t] x[g*Cin/G + c', q*s - pl + t*d].
template <class Scalar>
Block<Scalar> naive_conv(const ConvSpec& s, const std::vector<Scalar>& w, const Block<Scalar>& x, const Bugs& b) {
    const index_t n0 = s.input_size[0], n1 = s.input_size[1];
    const Dims m = s.output_size();
    const index_t Cin = s.in_channels, Cout = s.out_channels, G = s.groups, cin_g = Cin / G, cout_g = Cout / G;
    const index_t k0 = s.kernel_size[0], k1 = s.kernel_size[1];
    const index_t d0 = b.no_dilation ? 1 : s.dilation[0], d1 = b.no_dilation ? 1 : s.dilation[1];
    const index_t s0 = b.no_stride ? 1 : s.stride[0], s1 = b.no_stride ? 1 : s.stride[1];
    const index_t pl0 = s.padding_lo[0] + b.pad_offset, pl1 = s.padding_lo[1] + b.pad_offset;
    Block<Scalar> y = Block<Scalar>::Zero(Cout * m[0] * m[1], x.cols());
    for (Eigen::Index col = 0; col < x.cols(); ++col)
        for (index_t o = 0; o < Cout; ++o) {
            const index_t g = b.group_mod ? o % G : o / cout_g;
            for (index_t y0 = 0; y0 < m[0]; ++y0)
                for (index_t y1 = 0; y1 < m[1]; ++y1) {
                    const index_t q0 = y0 + b.out_shift, q1 = y1 + b.out_shift;
                    if (q0 < 0 || q0 >= m[0] || q1 < 0 || q1 >= m[1]) continue;
                    Scalar acc = static_cast<Scalar>(b.bias);
                    for (index_t cp = 0; cp < cin_g; ++cp)
                        for (index_t t0 = 0; t0 < k0; ++t0)
                            for (index_t t1 = 0; t1 < k1; ++t1) {
                                index_t i0, i1;
                                if (b.stride_on_input) {
                                    const index_t z0 = q0 - pl0 + t0 * d0, z1 = q1 - pl1 + t1 * d1;
                                    if (z0 < 0 || z1 < 0 || z0 % s.stride[0] || z1 % s.stride[1]) continue;
                                    i0 = z0 / s.stride[0];
                                    i1 = z1 / s.stride[1];
                                } else {
                                    i0 = q0 * s0 - pl0 + t0 * d0;
                                    i1 = q1 * s1 - pl1 + t1 * d1;
                                }
                                if (i0 < 0 || i0 >= n0 || i1 < 0 || i1 >= n1) continue;
                                const index_t c = b.group_interleave ? cp * G + g : g * cin_g + cp;
                                const index_t u0 = b.flip == -1 || b.flip == 0 ? k0 - 1 - t0 : t0;
                                const index_t u1 = b.flip == -1 || b.flip == 1 ? k1 - 1 - t1 : t1;
                                const index_t wi = b.swapped_layout
                                                       ? ((c * cout_g + (o - g * cout_g)) * k0 + u0) * k1 + u1
                                                       : ((o * cin_g + cp) * k0 + u0) * k1 + u1;
                                acc += w[static_cast<size_t>(wi)] * x((c * n0 + i0) * n1 + i1, col);
                            }
                    if (b.square) acc = acc * acc;
                    y((o * m[0] + y0) * m[1] + y1, col) = acc;
                }
        }
    return y;
}

// Transposed conv in the gather form (Dumoulin & Visin 2016, "A guide to convolution arithmetic for deep
// learning"), 2-D: out[o, p] = sum_u wflip[u] * ypad[p + u*d], where ypad is y with s-1 zeros inserted
// and d(k-1)-pl zeros before; wflip[c, o', u] = w[c, o', k-1-u].
template <class Scalar>
Block<Scalar> naive_gather(const ConvSpec& s, const std::vector<Scalar>& w, const Block<Scalar>& y, const Bugs& b) {
    const index_t m0 = s.input_size[0], m1 = s.input_size[1];
    const Dims n = s.output_size();
    const index_t Cin = s.in_channels, Cout = s.out_channels, G = s.groups, cin_g = Cin / G, cout_g = Cout / G;
    const index_t k0 = s.kernel_size[0], k1 = s.kernel_size[1];
    index_t lo0 = s.dilation[0] * (k0 - 1) - s.padding_lo[0] + b.pad_offset;
    index_t lo1 = s.dilation[1] * (k1 - 1) - s.padding_lo[1] + b.pad_offset;
    if (b.output_padding_low) {
        lo0 += s.output_padding[0];
        lo1 += s.output_padding[1];
    }
    Block<Scalar> out = Block<Scalar>::Zero(Cout * n[0] * n[1], y.cols());
    for (Eigen::Index col = 0; col < y.cols(); ++col)
        for (index_t o = 0; o < Cout; ++o) {
            const index_t g = o / cout_g, op = o % cout_g;
            for (index_t p0 = 0; p0 < n[0]; ++p0)
                for (index_t p1 = 0; p1 < n[1]; ++p1) {
                    Scalar acc = 0;
                    for (index_t cp = 0; cp < cin_g; ++cp)
                        for (index_t u0 = 0; u0 < k0; ++u0)
                            for (index_t u1 = 0; u1 < k1; ++u1) {
                                const index_t z0 = p0 + u0 * s.dilation[0] - lo0, z1 = p1 + u1 * s.dilation[1] - lo1;
                                if (z0 < 0 || z1 < 0 || z0 % s.stride[0] || z1 % s.stride[1]) continue;
                                const index_t i0 = z0 / s.stride[0], i1 = z1 / s.stride[1];
                                if (i0 >= m0 || i1 >= m1) continue;
                                const index_t c = g * cin_g + cp;
                                const index_t t0 = b.no_flip ? u0 : k0 - 1 - u0, t1 = b.no_flip ? u1 : k1 - 1 - u1;
                                const index_t slice = b.swapped_layout ? o * cin_g + cp : c * cout_g + op;
                                acc += w[static_cast<size_t>((slice * k0 + t0) * k1 + t1)] * y((c * m0 + i0) * m1 + i1, col);
                            }
                    out((o * n[0] + p0) * n[1] + p1, col) = acc;
                }
        }
    return out;
}

template <class Scalar>
KernelFn<Scalar> conv_fn(const ConvSpec& s, const std::vector<Scalar>& w, Bugs b) {
    return [s, w, b](const Eigen::Ref<const Block<Scalar>>& x) { return naive_conv(s, w, Block<Scalar>(x), b); };
}
template <class Scalar>
KernelFn<Scalar> gather_fn(const ConvSpec& s, const std::vector<Scalar>& w, Bugs b) {
    return [s, w, b](const Eigen::Ref<const Block<Scalar>>& y) { return naive_gather(s, w, Block<Scalar>(y), b); };
}

ConvSpec conv2d(Shape in, Shape wshape, Dims stride, Dims pad, Dims dil, index_t groups = 1,
                PaddingMode mode = PaddingMode::zeros) {
    ConvOptions o;
    o.stride = stride;
    o.padding = Padding::symmetric(pad);
    o.dilation = dil;
    o.groups = groups;
    o.padding_mode = mode;
    return make_conv(in, wshape, o);
}

ConvSpec tconv2d(Shape in, Shape wshape, Dims stride, Dims pad, Dims opad, Dims dil = {1}, index_t groups = 1) {
    ConvTransposeOptions o;
    o.stride = stride;
    o.padding = Padding::symmetric(pad);
    o.output_padding = opad;
    o.dilation = dil;
    o.groups = groups;
    return make_conv_transpose(in, wshape, o);
}

// A random valid 2-D configuration for the hand-written kernels: groups 1-2, kernel 1-3, stride 1-2
// (transposed 1-3), dilation 1-2, padding 0-2 (transposed 0-1), output_padding below the stride.
ConvSpec random_2d(std::mt19937_64& rng, bool transposed, PaddingMode mode = PaddingMode::zeros) {
    auto pick = [&](index_t lo, index_t hi) { return std::uniform_int_distribution<index_t>(lo, hi)(rng); };
    for (int attempt = 0; attempt < 1000; ++attempt) {
        try {
            const index_t G = pick(1, 2), in_g = pick(1, 2), out_g = pick(1, 2), k0 = pick(1, 3), k1 = pick(1, 3);
            // The draws are sequenced (last argument first, as the seeded cases were drawn): the order in
            // which a compiler evaluates function arguments is unspecified.
            if (!transposed) {
                const index_t d0 = pick(1, 2), d1 = pick(1, 2), p0 = pick(0, 2), p1 = pick(0, 2);
                const index_t s0 = pick(1, 2), s1 = pick(1, 2), h = pick(3, 8), w = pick(3, 8);
                return conv2d({G * in_g, h, w}, {G * out_g, in_g, k0, k1}, {s0, s1}, {p0, p1}, {d0, d1}, G, mode);
            }
            const index_t s0 = pick(1, 3), s1 = pick(1, 2);
            const index_t d0 = pick(1, 2), d1 = pick(1, 2), o0 = pick(0, s0 - 1), o1 = pick(0, s1 - 1);
            const index_t p0 = pick(0, 1), p1 = pick(0, 1), h = pick(2, 5), w = pick(2, 5);
            return tconv2d({G * in_g, h, w}, {G * in_g, out_g, k0, k1}, {s0, s1}, {p0, p1}, {o0, o1}, {d0, d1}, G);
        } catch (const config_error&) {
        }
    }
    throw std::runtime_error("random_2d: no valid configuration in 1000 draws");
}

// The kernel must fail with a verified Jacobian, the first finding must be `name` and explain every
// differing entry, the report must list wrong outputs and contain every one of `texts`, the colored
// Jacobian must equal the one from unit probes, and the differing entries must be exactly those of J - M.
template <class Scalar>
void expect_bug(const ConvSpec& spec, const std::vector<Scalar>& w, const KernelFn<Scalar>& f, const std::string& name,
                const std::vector<std::string>& texts) {
    const KernelReport r = check_kernel<Scalar>(spec, w, f);
    BOOST_TEST_MESSAGE(r.str());
    BOOST_TEST(!r.passed, spec.describe());
    BOOST_TEST(r.probe.verified);
    BOOST_REQUIRE_MESSAGE(!r.findings.empty(), spec.describe() << "\n" << r.str());
    BOOST_TEST(r.findings.front().name == name, spec.describe() << "\n" << r.str());
    BOOST_TEST(r.findings.front().remaining == 0, spec.describe() << "\n" << r.str());
    BOOST_TEST(!r.wrong_rows.empty());
    for (const std::string& text : texts)
        BOOST_TEST(r.str().find(text) != std::string::npos, "report lacks '" << text << "':\n" << r.str());
    BOOST_TEST(r.str().find("out[") != std::string::npos);
    FunctionOperator<Scalar> op(spec.input_shape(), spec.output_shape(), f, nullptr);
    const auto Jc = to_sparse<Scalar>(op, spec);
    const auto Ju = to_sparse<Scalar>(op);
    BOOST_TEST(max_abs_diff(Jc.matrix, Ju.matrix) == 0.0);
    const auto M = operator_matrix<Scalar>(spec, w);
    double wmax = 1;  // check_kernel's entry tolerance: 1000 eps(Scalar) max(1, max|w|)
    for (Scalar v : w) wmax = std::max(wmax, static_cast<double>(std::abs(v)));
    const double atol = 1000 * std::numeric_limits<Scalar>::epsilon() * wmax;
    index_t n = 0;
    const Eigen::MatrixXd D = Eigen::MatrixXd(Ju.matrix.template cast<double>()) - Eigen::MatrixXd(M.template cast<double>());
    for (Eigen::Index i = 0; i < D.size(); ++i) n += std::abs(D.data()[i]) > atol;
    BOOST_TEST(static_cast<index_t>(r.diffs.size()) == n);
}

// ---- the table of bug models: how each is injected into a correct kernel, and its finding ----
struct BugCase {
    std::string model;      // what the kernel gets wrong
    bool transposed;        // the gather form of a transposed conv (else a conv)
    PaddingMode mode;       // the configuration's padding mode
    Bugs inject;            // the hand-written kernel's flags
    std::function<bool(const ConvSpec&)> visible;  // configurations where the bug changes the matrix
    std::string finding, text;
};

std::ostream& operator<<(std::ostream& os, const BugCase& c) { return os << c.model; }

index_t per_group(index_t channels, const ConvSpec& s) { return channels / s.groups; }

std::vector<BugCase> bug_cases() {
    auto any_kernel = [](const ConvSpec& s) { return s.kernel_size[0] > 1 || s.kernel_size[1] > 1; };
    auto both = [](const ConvSpec& s) {
        return per_group(s.conv_out_channels(), s) > 1 && per_group(s.conv_in_channels(), s) > 1;
    };
    auto always = [](const ConvSpec&) { return true; };
    std::vector<BugCase> t;
    auto add = [&](std::string model, bool transposed, PaddingMode mode, std::function<void(Bugs&)> set,
                   std::function<bool(const ConvSpec&)> visible, std::string finding, std::string text) {
        Bugs b;
        set(b);
        t.push_back({std::move(model), transposed, mode, b, std::move(visible), std::move(finding), std::move(text)});
    };
    const PaddingMode zeros = PaddingMode::zeros;
    add("conv kernel flipped", false, zeros, [](Bugs& b) { b.flip = -1; }, any_kernel, "flipped",
        "flipped in every spatial dimension");
    add("conv kernel flipped along dimension 0", false, zeros, [](Bugs& b) { b.flip = 0; },
        [](const ConvSpec& s) { return s.kernel_size[0] > 1 && s.kernel_size[1] > 1; }, "flipped_dim",
        "flipped along spatial dimension 0 only");
    add("gather form not flipped", true, zeros, [](Bugs& b) { b.no_flip = true; }, any_kernel, "flipped",
        "must flip the kernel");
    add("conv weight layout swapped", false, zeros, [](Bugs& b) { b.swapped_layout = true; }, both, "swapped_layout",
        "channel axes swapped");
    add("gather form not swapped", true, zeros, [](Bugs& b) { b.swapped_layout = true; }, both, "swapped_layout",
        "channel axes swapped");
    add("gather form neither flipped nor swapped", true, zeros,
        [](Bugs& b) {
            b.swapped_layout = true;
            b.no_flip = true;
        },
        [=](const ConvSpec& s) { return both(s) && any_kernel(s); }, "flipped_swapped", "AND its channel axes");
    add("conv padding off by one (+1)", false, zeros, [](Bugs& b) { b.pad_offset = 1; }, always, "shift",
        "padding off by one");
    add("conv padding off by one (-1)", false, zeros, [](Bugs& b) { b.pad_offset = -1; }, always, "shift",
        "padding off by one");
    add("gather padding off by one", true, zeros, [](Bugs& b) { b.pad_offset = -1; }, always, "shift",
        "padding off by one");
    add("output_padding at the low end", true, zeros, [](Bugs& b) { b.output_padding_low = true; },
        [](const ConvSpec& s) { return s.output_padding[0] + s.output_padding[1] > 0; }, "shift",
        "applied at the low end");
    // A 1 x 1 kernel shifted at its output reads what a shifted input or padding gives: only a wider
    // kernel tells them apart.
    add("conv outputs shifted", false, zeros, [](Bugs& b) { b.out_shift = 1; }, any_kernel, "conv_output_shift",
        "the outputs are shifted");
    add("dilation ignored", false, zeros, [](Bugs& b) { b.no_dilation = true; },
        [](const ConvSpec& s) {
            return (s.dilation[0] > 1 && s.kernel_size[0] > 1) || (s.dilation[1] > 1 && s.kernel_size[1] > 1);
        },
        "dilation_ignored",
        "dilation is ignored");
    add("stride applied to the input", false, zeros, [](Bugs& b) { b.stride_on_input = true; },
        [](const ConvSpec& s) { return s.stride[0] > 1 || s.stride[1] > 1; }, "stride_swapped",
        "stride is applied to the input instead of the output");
    add("stride ignored", false, zeros, [](Bugs& b) { b.no_stride = true; },
        [](const ConvSpec& s) { return s.stride[0] > 1 || s.stride[1] > 1; }, "stride_ignored", "stride is ignored");
    add("group of output channel o mod G", false, zeros, [](Bugs& b) { b.group_mod = true; },
        [](const ConvSpec& s) { return s.groups > 1 && per_group(s.out_channels, s) > 1; }, "groups",
        "channels mixed across groups");
    add("input channels of a group interleaved", false, zeros, [](Bugs& b) { b.group_interleave = true; },
        [](const ConvSpec& s) { return s.groups > 1 && per_group(s.in_channels, s) > 1; }, "groups",
        "(interleaved)");
    for (PaddingMode m : {PaddingMode::circular, PaddingMode::reflect, PaddingMode::replicate})
        add("zeros padding where the configuration says " + to_string(m), false, m, [](Bugs&) {},
            [](const ConvSpec& s) { return s.padding_lo[0] + s.padding_lo[1] > 0; }, "padding_mode",
            "pads with padding_mode='zeros' but the configuration says '" + to_string(m) + "'");
    return t;
}

}  // namespace

// Each bug model of the table on several random configurations where it changes the matrix.
BOOST_DATA_TEST_CASE(injected_bugs_are_named, data::make(bug_cases()) * data::xrange(4), bug, trial) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        std::mt19937_64 rng(1000 + 97 * static_cast<std::uint64_t>(trial) + std::hash<std::string>{}(bug.model) % 1000);
        ConvSpec s;
        bool visible = false;
        for (int attempt = 0; attempt < 2000 && !visible; ++attempt) {
            s = random_2d(rng, bug.transposed, bug.mode);
            visible = bug.visible(s);
        }
        BOOST_REQUIRE_MESSAGE(visible, "no configuration makes '" << bug.model << "' visible");
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        const KernelFn<Scalar> f = bug.transposed ? gather_fn(s, w, bug.inject) : conv_fn(s, w, bug.inject);
        expect_bug(s, w, f, bug.finding, {bug.text});
    });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(dot_test_of_operators_passes_and_detects_wrong_adjoints, Scalar, Scalars) {
    std::mt19937_64 rng(11);
    for (int trial = 0; trial < 30; ++trial) {
        const ConvSpec s = random_spec(rng, trial % 2 == 1);
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        auto M = make_matrix_operator<Scalar>(s, w);
        const DotTestReport a = dot_test(*M, 5);
        BOOST_TEST(a.passed, a.str() << " " << s.describe());
        BOOST_TEST(a.trials.size() == 5u);
        BOOST_TEST(a.failure.empty());
        BOOST_TEST(a.rtol == default_dot_rtol<Scalar>(s.input_numel(), s.output_numel()));
        const DotTestReport t = dot_test(*M->transpose(), 5);
        BOOST_TEST(t.passed, t.str());
        if (s.padding_mode == PaddingMode::zeros || s.transposed) {
            auto D = direct_operator(s, w, false);
            BOOST_TEST(dot_test(*D, 5).passed);
        }
        // A pair that is not adjoint: the adjoint uses another weight.
        if (M->matrix().nonZeros() == 0) continue;
        auto w2 = w;
        for (auto& v : w2) v = v * Scalar(1.5) + Scalar(0.25);
        const auto W2 = operator_matrix<Scalar>(s, w2);
        FunctionOperator<Scalar> bad(
            s.input_shape(), s.output_shape(), [&](const Eigen::Ref<const Block<Scalar>>& x) { return M->apply(x); },
            [&](const Eigen::Ref<const Block<Scalar>>& y) { return Block<Scalar>(W2.transpose() * y); });
        const DotTestReport b = dot_test(bad, 5);
        BOOST_TEST(!b.passed, b.str() << " " << s.describe());
        BOOST_TEST(b.error > 1e-3);
        for (const auto& tr : b.trials) BOOST_TEST(tr.error <= b.error);
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(complex_dot_test_needs_the_conjugate_transpose, Scalar, Scalars) {
    using C = std::complex<Scalar>;
    using CM = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic>;
    using CV = Eigen::Matrix<C, Eigen::Dynamic, 1>;
    std::srand(3);
    const CM A = CM::Random(7, 5);
    const auto good = dot_test<C>(5, 7, [&](const CV& x) { return CV(A * x); },
                                  [&](const CV& y) { return CV(A.adjoint() * y); }, 6, 0, 1);
    BOOST_TEST(good.passed, good.str());
    const auto bad = dot_test<C>(5, 7, [&](const CV& x) { return CV(A * x); },
                                 [&](const CV& y) { return CV(A.transpose() * y); }, 6, 0, 1);
    BOOST_TEST(!bad.passed, bad.str());
    // <Ax, y> is complex: the trial records both sides.
    BOOST_TEST(std::abs(good.trials[0].forward.imag()) > 0.0);
    BOOST_TEST(std::abs(good.trials[0].forward - good.trials[0].adjoint) <=
               10 * default_dot_rtol<C>(5, 7) * std::abs(good.trials[0].forward) + 1e-3);
    // A NaN imaginary part fails too.
    const auto nan = dot_test<C>(5, 7, [&](const CV& x) { CV y = A * x; y[2] = C(0, std::numeric_limits<Scalar>::quiet_NaN()); return y; },
                                 [&](const CV& y) { return CV(A.adjoint() * y); }, 3, 0, 1);
    BOOST_TEST(!nan.passed);
    BOOST_TEST(nan.failure == "trial 0: the forward result A x holds NaN at index 2", nan.failure);
}

// Regression (issue #10): a NaN or infinite value in any trial, not only the first, fails the dot test.
BOOST_AUTO_TEST_CASE_TEMPLATE(dot_test_fails_on_a_non_finite_trial_after_the_first, Scalar, Scalars) {
    const ConvSpec s = conv2d({1, 6, 6}, {2, 1, 3, 3}, {1}, {1}, {1});
    std::mt19937_64 rng(4);
    const auto w = random_values<Scalar>(rng, s.weight_numel());
    auto M = make_matrix_operator<Scalar>(s, w);
    const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN(), inf = std::numeric_limits<Scalar>::infinity();
    struct Case {
        int bad_call;     // 0-based call of the poisoned side
        bool forward;     // which side returns the bad value
        Scalar value;
        std::string failure;
    };
    const std::vector<Case> cases = {
        {2, true, nan, "trial 2: the forward result A x holds NaN at index 5"},
        {4, false, inf, "trial 4: the adjoint result A^H y holds inf at index 5"},
        {1, false, -inf, "trial 1: the adjoint result A^H y holds -inf at index 5"},
        {0, true, nan, "trial 0: the forward result A x holds NaN at index 5"},
    };
    for (const Case& c : cases) {
        int fwd_calls = 0, adj_calls = 0;
        auto poison = [&](Block<Scalar> v, int& calls, bool side) {
            if (side == c.forward && calls++ == c.bad_call) v(5, 0) = c.value;
            return v;
        };
        FunctionOperator<Scalar> op(
            s.input_shape(), s.output_shape(),
            [&](const Eigen::Ref<const Block<Scalar>>& x) { return poison(M->apply(x), fwd_calls, true); },
            [&](const Eigen::Ref<const Block<Scalar>>& y) { return poison(M->apply_adjoint(y), adj_calls, false); });
        const DotTestReport r = dot_test(op, 6);
        BOOST_TEST(!r.passed, r.str());
        BOOST_TEST(r.failure == c.failure, r.failure);
        BOOST_TEST(r.error == std::numeric_limits<double>::infinity());
        BOOST_TEST(r.trials.size() == 6u);  // every trial runs
        BOOST_TEST(!r.trials[static_cast<size_t>(c.bad_call)].nonfinite.empty());
        BOOST_TEST(r.str().find("FAILED") != std::string::npos);
        BOOST_TEST(r.str().find(c.failure) != std::string::npos);
    }
    // Finite results whose norm overflows: ||Ax|| is infinite (double accumulation; double only).
    if constexpr (is_double<Scalar>) {
        FunctionOperator<Scalar> huge(
            s.input_shape(), s.output_shape(),
            [&](const Eigen::Ref<const Block<Scalar>>& x) { return Block<Scalar>(M->apply(x) * Scalar(1e200)); },
            [&](const Eigen::Ref<const Block<Scalar>>& y) { return Block<Scalar>(M->apply_adjoint(y) * Scalar(1e200)); });
        const DotTestReport r = dot_test(huge, 3);
        BOOST_TEST(!r.passed);
        BOOST_TEST(r.failure == "trial 0: ||Ax|| is inf", r.failure);
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(to_sparse_of_direct_kernels_equals_W, Scalar, Scalars) {
    std::mt19937_64 rng(5);
    for (int trial = 0; trial < 40; ++trial) {
        const bool transposed = trial % 2 == 1;
        const ConvSpec s = random_spec(rng, transposed);
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        const auto M = operator_matrix<Scalar>(s, w);
        const bool exact = s.padding_mode == PaddingMode::zeros;  // other modes fold taps: sums in another order
        const double tol = exact ? 0.0 : 8 * std::numeric_limits<Scalar>::epsilon();
        std::vector<std::shared_ptr<const LinearOperator<Scalar>>> ops;
        if (!transposed) {
            ops.push_back(std::make_shared<FunctionOperator<Scalar>>(
                s.input_shape(), s.output_shape(),
                [s, w](const Eigen::Ref<const Block<Scalar>>& x) { return conv_direct<Scalar>(s, w, x); }, nullptr,
                "conv_direct"));
        } else {
            ops.push_back(direct_operator(s, w, false));
            ops.push_back(direct_operator(s, w, true));
        }
        for (const auto& op : ops) {
            ProbeOptions po;
            po.seed = static_cast<std::uint64_t>(trial);
            const auto c = to_sparse<Scalar>(*op, s, po);
            BOOST_TEST(c.stats.verified);
            BOOST_TEST(c.stats.nonfinite.empty());
            BOOST_TEST(max_abs_diff(c.matrix, M) <= tol, s.describe());
            BOOST_TEST(c.stats.levels == 1, c.stats.str() << " " << s.describe());
            BOOST_TEST(c.stats.probes == probe_colors(s), s.describe());
            if (s.padding_mode == PaddingMode::zeros) BOOST_TEST(c.stats.probes <= probe_bound(s), s.describe());
            const auto u = to_sparse<Scalar>(*op);
            BOOST_TEST(max_abs_diff(u.matrix, M) <= tol);
            BOOST_TEST(u.stats.probes == s.input_numel());
            BOOST_TEST(u.stats.calls == (s.input_numel() + 255) / 256);
            const auto p = to_sparse<Scalar>(*op, matrix_pattern<std::int64_t>(s, s.transposed));
            BOOST_TEST(max_abs_diff(p.matrix, M) <= tol);
            BOOST_TEST(p.stats.levels == 1);
            // The adjoint direction with the same hint.
            if (s.transposed || s.padding_mode == PaddingMode::zeros) {
                auto d = direct_operator(s, w, false);
                const auto a = to_sparse<Scalar>(*d->transpose(), s, po, true);
                BOOST_TEST(max_abs_diff(a.matrix, Eigen::SparseMatrix<Scalar>(M.transpose())) <= tol);
                BOOST_TEST(a.stats.probes == probe_colors(s, 1, true));
                BOOST_TEST(a.stats.probes <= probe_bound(s, 1, true));
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(probe_bound_formula_on_known_cases) {
    // conv 1x8x8, k=3, s=1, margin 1: P = min(8, 2 + 2 + 1) = 5 per dimension -> 25 probes per channel.
    const ConvSpec a = conv2d({2, 8, 8}, {3, 2, 3, 3}, {1}, {1}, {1});
    BOOST_TEST(probe_bound(a) == 2 * 5 * 5);
    BOOST_TEST(probe_colors(a) <= probe_bound(a));
    BOOST_TEST(probe_colors(a) == 2 * 5 * 5);  // the greedy period reaches the bound at stride 1
    // transposed 1x4x4 -> k=3, s=2: P = min(4, floor((2 + 2)/2) + 1) = 3 per dimension.
    const ConvSpec t = tconv2d({1, 4, 4}, {1, 2, 3, 3}, {2}, {0}, {0});
    BOOST_TEST(probe_bound(t) == 9);
    BOOST_TEST(probe_colors(t) <= 9);
    // Unit probes would need 16 here; the conv direction of a 16x16 input needs 5*5 instead of 256.
    const ConvSpec wide = conv2d({1, 16, 16}, {1, 1, 3, 3}, {1}, {1}, {1});
    BOOST_TEST(probe_colors(wide) == 25);
    // margin 0: exactly the kernel's reach, P = k_eff = 3.
    BOOST_TEST(probe_colors(wide, 0) == 9);
    BOOST_TEST(probe_bound(wide, 0) == 9);
    // A margin beyond the padded input covers every position: one color per input element, no more.
    BOOST_TEST(probe_colors(wide, 1000) == 256);
    // Strided conv: the bound does not grow with the stride, P = min(n, (k-1)d + 2*margin + 1).
    const ConvSpec strided = conv2d({1, 16, 16}, {1, 1, 3, 3}, {3}, {1}, {2});
    BOOST_TEST(probe_bound(strided) == 7 * 7);
    BOOST_TEST(probe_colors(strided) <= 49);
    BOOST_CHECK_THROW(probe_colors(wide, -1), config_error);
    BOOST_CHECK_THROW(probe_bound(wide, -1), config_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(correct_kernels_pass, Scalar, Scalars) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 30; ++trial) {
        const bool transposed = trial % 2 == 1;
        const ConvSpec s = random_spec(rng, transposed);
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        auto op = direct_operator(s, w, trial % 4 == 3);
        KernelFn<Scalar> f = [&](const Eigen::Ref<const Block<Scalar>>& x) { return op->apply(x); };
        KernelFn<Scalar> a = [&](const Eigen::Ref<const Block<Scalar>>& y) { return op->apply_adjoint(y); };
        const KernelReport r = check_kernel<Scalar>(s, w, f, a);
        BOOST_TEST(r.passed, r.str());
        const KernelReport ro = check_kernel<Scalar>(s, w, *op);  // the operator overload
        BOOST_TEST(ro.passed);
        BOOST_TEST(ro.has_adjoint);
        BOOST_TEST(r.diffs.empty());
        BOOST_TEST(r.findings.empty());
        BOOST_TEST(r.dot.passed);
        BOOST_TEST(r.adjoint_mismatches == 0);
        BOOST_TEST(r.str().find("PASSED") != std::string::npos);
    }
    // The hand-written kernels without bugs pass too.
    const ConvSpec c = conv2d({4, 6, 7}, {4, 2, 3, 2}, {2, 1}, {1, 2}, {2, 1}, 2);
    const auto wc = random_values<Scalar>(rng, c.weight_numel());
    BOOST_TEST(check_kernel<Scalar>(c, wc, conv_fn(c, wc, {})).passed);
    const ConvSpec t = tconv2d({2, 3, 4}, {2, 3, 3, 2}, {3, 2}, {1, 0}, {2, 1}, {1, 2});
    const auto wt = random_values<Scalar>(rng, t.weight_numel());
    BOOST_TEST(check_kernel<Scalar>(t, wt, gather_fn(t, wt, {})).passed);
}

namespace {

// The issue's typical bugs on fixed small configurations, with the report's details.
struct Example {
    std::string what;
    ConvSpec spec;
    Bugs bugs;
    std::string finding;
    std::vector<std::string> texts;  // every one must appear in the report
    int min_levels = 1;              // colorings the probing needs
};

std::ostream& operator<<(std::ostream& os, const Example& e) { return os << e.what; }

std::vector<Example> examples() {
    Bugs no_flip, pad_plus, pad_minus, opad_low, group_mod, stride_in, swapped, no_dilation;
    no_flip.no_flip = true;
    pad_plus.pad_offset = 1;
    pad_minus.pad_offset = -1;
    opad_low.output_padding_low = true;
    group_mod.group_mod = true;
    stride_in.stride_on_input = true;
    swapped.swapped_layout = true;
    no_dilation.no_dilation = true;
    return {
        {"unflipped gather kernel", tconv2d({1, 3, 3}, {1, 1, 3, 3}, {2}, {0}, {0}), no_flip, "flipped",
         // the entries name the tap W expects and the tap whose value the kernel used; every tap but the centre
         {"flipped in every spatial dimension", "= tap w[0, 0,", "(= w[0, 0,",
          "taps with a wrong weight at every position (8 of 9 taps)"}},
        {"conv padding off by one", conv2d({2, 6, 6}, {2, 2, 3, 3}, {1}, {1}, {1}), pad_plus, "shift",
         {"it behaves like padding_lo=(2, 2) instead of (1, 1) - padding off by one?"}},
        {"gather padding off by one", tconv2d({1, 4, 4}, {1, 2, 3, 3}, {2}, {1}, {1}), pad_minus, "shift",
         {"padding off by one"}},
        {"output_padding on the wrong side", tconv2d({1, 3, 3}, {1, 1, 3, 3}, {3}, {1}, {2}), opad_low, "shift",
         {"output_padding=(2, 2) applied at the low end"}},
        {"wrong group-to-channel mapping", conv2d({4, 5, 5}, {4, 2, 3, 3}, {1}, {1}, {1}, 2), group_mod, "groups",
         {"channels mixed across groups", "connects channels of different groups"}},
        {"transposed weight layout", conv2d({2, 5, 4}, {3, 2, 3, 2}, {1}, {0}, {1}), swapped, "swapped_layout",
         {"channel axes swapped"}},
        {"dilation ignored", conv2d({1, 9, 9}, {1, 1, 3, 3}, {1}, {2}, {2}), no_dilation, "dilation_ignored",
         {"dilation is ignored"}},
        // This bug moves entries far outside the footprints: the probing needs finer colorings.
        {"stride applied to the input", conv2d({1, 9, 8}, {2, 1, 3, 3}, {2}, {1}, {1}), stride_in, "stride_swapped",
         {"stride is applied to the input instead of the output"}, 2},
    };
}

}  // namespace

BOOST_DATA_TEST_CASE(typical_bugs_of_the_issue_are_named, data::make(examples()), ex) {
    for_each_scalar([&](auto scalar) {
        using Scalar = decltype(scalar);
        std::mt19937_64 rng(21);
        const auto w = random_values<Scalar>(rng, ex.spec.weight_numel());
        const KernelFn<Scalar> f = ex.spec.transposed ? gather_fn(ex.spec, w, ex.bugs) : conv_fn(ex.spec, w, ex.bugs);
        expect_bug(ex.spec, w, f, ex.finding, ex.texts);
        const KernelReport r = check_kernel<Scalar>(ex.spec, w, f);
        BOOST_TEST(r.probe.levels >= ex.min_levels, r.probe.str());
    });
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bias_and_nonlinearity_are_reported, Scalar, Scalars) {
    std::mt19937_64 rng(28);
    const ConvSpec c = conv2d({1, 5, 5}, {1, 1, 3, 3}, {1}, {1}, {1});
    const auto w = random_values<Scalar>(rng, c.weight_numel());
    Bugs b;
    b.bias = Scalar(0.25);
    const KernelReport r = check_kernel<Scalar>(c, w, conv_fn(c, w, b));
    BOOST_TEST(!r.passed);
    BOOST_REQUIRE(!r.findings.empty());
    BOOST_TEST(r.findings.front().name == "affine");
    BOOST_TEST(r.diffs.empty());  // the linear part is right
    BOOST_TEST(std::abs(r.zero_response - 0.25) < 1e-6);
    Bugs sq;
    sq.square = true;
    const KernelReport n = check_kernel<Scalar>(c, w, conv_fn(c, w, sq));
    BOOST_TEST(!n.passed);
    BOOST_TEST(!n.probe.verified);
    BOOST_TEST(n.str().find("not linear") != std::string::npos);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(buggy_adjoint_is_diagnosed, Scalar, Scalars) {
    std::mt19937_64 rng(29);
    const ConvSpec c = conv2d({1, 6, 6}, {1, 1, 3, 3}, {1}, {1}, {1});
    const auto w = random_values<Scalar>(rng, c.weight_numel());
    // Correct forward; the adjoint is the gather form without the flip.
    const ConvSpec a = c.adjoint();
    Bugs b;
    b.no_flip = true;
    const KernelReport r = check_kernel<Scalar>(c, w, conv_fn(c, w, {}), gather_fn(a, w, b));
    BOOST_TEST(!r.passed);
    BOOST_TEST(!r.adjoint_passed);
    BOOST_TEST(!r.dot.passed);
    BOOST_TEST(r.adjoint_mismatches > 0);
    BOOST_TEST(r.str().find("adjoint:   diagnosis: the kernel is flipped") != std::string::npos, r.str());
}

// ---- non-finite values (issue #10) ----

namespace {

// A correct conv that returns `value` at output `out_flat` when `trigger` holds for the input block column.
template <class Scalar, class Trigger>
KernelFn<Scalar> poisoned(const ConvSpec& s, const std::vector<Scalar>& w, index_t out_flat, Scalar value,
                          Trigger trigger) {
    return [s, w, out_flat, value, trigger](const Eigen::Ref<const Block<Scalar>>& x) {
        const Block<Scalar> X(x);
        Block<Scalar> y = naive_conv(s, w, X, {});
        for (Eigen::Index b = 0; b < X.cols(); ++b)
            if (trigger(X, b)) y(out_flat, b) = value;
        return y;
    };
}

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(non_finite_kernel_results_fail_with_their_position, Scalar, Scalars) {
    std::mt19937_64 rng(40);
    const ConvSpec c = conv2d({2, 5, 5}, {2, 2, 3, 3}, {1}, {1}, {1});
    const auto w = random_values<Scalar>(rng, c.weight_numel());
    const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN(), inf = std::numeric_limits<Scalar>::infinity();
    const index_t in_flat = (1 * 5 + 2) * 5 + 3;  // in[1, 2, 3]
    const index_t out_flat = (1 * 5 + 1) * 5 + 1; // out[1, 1, 1]
    struct Case {
        std::string what;
        std::function<bool(const Block<Scalar>&, Eigen::Index)> trigger;
        Scalar value;
        std::string message;
    };
    const std::vector<Case> cases = {
        {"zero input", [](const Block<Scalar>& X, Eigen::Index b) { return X.col(b).isZero(); }, nan,
         "kernel returned NaN at out[1, 1, 1] for the zero input"},
        {"random inputs", [](const Block<Scalar>& X, Eigen::Index b) { return X(0, b) != 0 && X(0, b) != 1; }, inf,
         "kernel returned inf at out[1, 1, 1] for random input 0"},
        {"a probe", [=](const Block<Scalar>& X, Eigen::Index b) { return X(in_flat, b) == 1; }, nan,
         "kernel returned NaN at out[1, 1, 1] for probe"},
    };
    for (const Case& k : cases) {
        const KernelReport r = check_kernel<Scalar>(c, w, poisoned(c, w, out_flat, k.value, k.trigger));
        BOOST_TEST(!r.passed, k.what);
        BOOST_REQUIRE(!r.findings.empty());
        BOOST_TEST(r.findings.front().name == "nonfinite", k.what);
        BOOST_TEST(r.findings.front().message.find(k.message) != std::string::npos, r.findings.front().message);
        BOOST_TEST(r.str().find("check_kernel FAILED") != std::string::npos);
        BOOST_TEST(r.str().find("equals W entry by entry") == std::string::npos);
    }
    // The probe's inputs are named, and the probing stopped at the first level.
    const KernelReport p = check_kernel<Scalar>(c, w, poisoned(c, w, out_flat, nan, cases[2].trigger));
    BOOST_TEST(p.probe.levels == 1);
    BOOST_TEST(!p.probe.verified);
    BOOST_TEST(p.probe.nonfinite == p.findings.front().message.substr(0, p.probe.nonfinite.size()));
    // A kernel that turns NaN only on the verification inputs (after the random inputs and the probes).
    int calls = 0;
    const KernelFn<Scalar> late = [&](const Eigen::Ref<const Block<Scalar>>& x) {
        Block<Scalar> y = naive_conv(c, w, Block<Scalar>(x), {});
        if (++calls == 4) y(out_flat, 1) = -inf;  // calls: zero input, random inputs, probes, verification
        return y;
    };
    const KernelReport v = check_kernel<Scalar>(c, w, late);
    BOOST_TEST(!v.passed);
    BOOST_TEST(v.findings.front().message.find("kernel returned -inf at out[1, 1, 1] for random verification input 1") !=
                   std::string::npos,
               v.str());
    // The adjoint's NaN fails the adjoint part, named after the operation's input.
    const ConvSpec a = c.adjoint();
    KernelFn<Scalar> bad_adjoint = [&](const Eigen::Ref<const Block<Scalar>>& y) {
        Block<Scalar> x = naive_gather(a, w, Block<Scalar>(y), {});
        x(in_flat, 0) = nan;
        return x;
    };
    const KernelReport ra = check_kernel<Scalar>(c, w, conv_fn(c, w, {}), bad_adjoint);
    BOOST_TEST(!ra.passed);
    BOOST_TEST(!ra.adjoint_passed);
    BOOST_TEST(!ra.dot.passed);
    BOOST_TEST(ra.dot.failure.find("the adjoint result A^H y holds NaN at index " + std::to_string(in_flat)) !=
               std::string::npos, ra.dot.failure);
    BOOST_TEST(ra.str().find("adjoint kernel returned NaN at in[1, 2, 3] for probe 0 of level 0 (out[") != std::string::npos,
               ra.str());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(to_sparse_of_a_non_finite_operator_stops_unverified, Scalar, Scalars) {
    const ConvSpec c = conv2d({1, 6, 6}, {1, 1, 3, 3}, {1}, {1}, {1});
    std::mt19937_64 rng(41);
    const auto w = random_values<Scalar>(rng, c.weight_numel());
    const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
    const KernelFn<Scalar> f =
        poisoned(c, w, 7, nan, [](const Block<Scalar>& X, Eigen::Index b) { return X(20, b) != 0; });
    FunctionOperator<Scalar> op(c.input_shape(), c.output_shape(), f, nullptr, "forward");
    for (int hint = 0; hint < 3; ++hint) {
        const Materialized<Scalar> m = hint == 0   ? to_sparse<Scalar>(op)
                                       : hint == 1 ? to_sparse<Scalar>(op, c)
                                                   : to_sparse<Scalar>(op, matrix_pattern<std::int64_t>(c));
        BOOST_TEST(!m.stats.verified);
        BOOST_TEST(m.stats.nonfinite.find("forward returned NaN at out[0, 1, 1] for probe ") == 0u, m.stats.nonfinite);
        BOOST_TEST(m.stats.levels == 1);
        BOOST_TEST(m.matrix.nonZeros() == 0);
        BOOST_TEST(m.matrix.rows() == 36);
        BOOST_TEST(m.stats.str().find("NOT verified: forward returned NaN") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_arguments_are_rejected, Scalar, Scalars) {
    const ConvSpec c = conv2d({1, 5, 5}, {1, 1, 3, 3}, {1}, {0}, {1});
    const std::vector<Scalar> w(9, 1);
    KernelFn<Scalar> wrong = [](const Eigen::Ref<const Block<Scalar>>& x) { return Block<Scalar>::Zero(3, x.cols()); };
    BOOST_CHECK_THROW(check_kernel<Scalar>(c, w, wrong), shape_error);
    BOOST_CHECK_THROW(check_kernel<Scalar>(c, std::vector<Scalar>(8, 1), conv_fn(c, w, {})), shape_error);
    auto op = make_matrix_operator<Scalar>(c, w);
    const ConvSpec other = conv2d({1, 6, 6}, {1, 1, 3, 3}, {1}, {0}, {1});
    BOOST_CHECK_THROW(to_sparse<Scalar>(*op, other), shape_error);
    ProbeOptions po;
    po.margin = -1;
    BOOST_CHECK_THROW(to_sparse<Scalar>(*op, c, po), config_error);
    po.margin = 1;
    po.batch = 0;
    BOOST_CHECK_THROW(to_sparse<Scalar>(*op, c, po), config_error);
    BOOST_TEST(format_index({2, 3, 4}, 23) == "[1, 2, 3]");
    // NaN and infinite weights are refused where they enter, naming the first one.
    for (const Scalar bad : {std::numeric_limits<Scalar>::quiet_NaN(), std::numeric_limits<Scalar>::infinity()}) {
        std::vector<Scalar> wb(9, 1);
        wb[5] = bad;
        wb[7] = bad;
        try {
            check_kernel<Scalar>(c, wb, conv_fn(c, w, {}));
            BOOST_ERROR("a non-finite weight was accepted");
        } catch (const config_error& e) {
            const std::string expect =
                std::string("check_kernel: weight[0, 0, 1, 2] is ") + (std::isnan(bad) ? "NaN" : "inf");
            BOOST_TEST(std::string(e.what()).find(expect) == 0u, e.what());
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(random_buggy_kernels_give_exact_jacobians_and_verdicts, Scalar, Scalars) {
    std::mt19937_64 rng(31);
    auto pick = [&](index_t lo, index_t hi) { return std::uniform_int_distribution<index_t>(lo, hi)(rng); };
    int failing = 0;
    for (int trial = 0; trial < 40; ++trial) {
        const bool transposed = trial % 2 == 1;
        const ConvSpec s = random_2d(rng, transposed);
        const auto w = random_values<Scalar>(rng, s.weight_numel());
        Bugs b;
        if (!transposed) {
            switch (pick(0, 4)) {
                case 0: b.pad_offset = pick(0, 1) ? 1 : -1; break;
                case 1: b.no_dilation = true; break;
                case 2: b.stride_on_input = true; break;
                case 3: b.swapped_layout = true; break;
                default: b.group_mod = true; break;
            }
        } else {
            switch (pick(0, 2)) {
                case 0: b.pad_offset = pick(0, 1) ? 1 : -1; break;
                case 1: b.no_flip = true; break;
                default: b.output_padding_low = true; b.no_flip = pick(0, 1) == 1; break;
            }
        }
        const KernelFn<Scalar> f = transposed ? gather_fn(s, w, b) : conv_fn(s, w, b);
        FunctionOperator<Scalar> op(s.input_shape(), s.output_shape(), f, nullptr);
        const auto Jc = to_sparse<Scalar>(op, s);
        const auto Ju = to_sparse<Scalar>(op);
        BOOST_TEST(Jc.stats.verified);
        BOOST_TEST(max_abs_diff(Jc.matrix, Ju.matrix) == 0.0, s.describe());
        const auto M = operator_matrix<Scalar>(s, w);
        const bool differs = max_abs_diff(Ju.matrix, M) > 1e-3;
        const KernelReport r = check_kernel<Scalar>(s, w, f);
        BOOST_TEST(r.passed == !differs, s.describe() << "\n" << r.str());
        failing += differs;
    }
    BOOST_TEST(failing >= 25);  // most injected bugs change the matrix in these configurations
}
