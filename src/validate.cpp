// check_kernel (validate.hpp): the kernel against the builder's matrix, step by step (kernel(0),
// random inputs, the Jacobian by colored probing, the entry-by-entry diagnosis of
// detail/diagnosis.hpp, the adjoint), and the report's text.
#include "convmtx/validate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "convmtx/builder.hpp"
#include "convmtx/detail/diagnosis.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

std::string explain_output_shape(const ConvSpec& spec, const Shape& got) {
    const int r = spec.rank();
    if (static_cast<int>(got.size()) != r + 1) return "";
    const Shape want = spec.output_shape();
    const Dims pads = spec.padding_lo;
    // The operation's output with one parameter replaced, per dimension.
    auto out_with = [&](auto&& change) {
        Shape s{want[0]};
        for (size_t j = 0; j < static_cast<size_t>(r); ++j) {
            index_t k = spec.kernel_size[j], st = spec.stride[j], d = spec.dilation[j], pl = spec.padding_lo[j],
                    ph = spec.padding_hi[j], a = spec.output_padding[j];
            change(st, d, pl, ph, a);
            s.push_back(spec.transposed ? conv_transpose_output_length(spec.input_size[j], k, st, d, pl, ph, a)
                                        : conv_output_length(spec.input_size[j], k, st, d, pl, ph));
        }
        return s;
    };
    auto dims_text = [](const Dims& v) {
        if (std::all_of(v.begin(), v.end(), [&](index_t x) { return x == v.front(); })) return std::to_string(v.front());
        std::string t;
        for (size_t j = 0; j < v.size(); ++j) t += (j ? "," : "") + std::to_string(v[j]);
        return v.size() == 1 ? t : "(" + t + ")";
    };
    auto shape_text = [](const Shape& v) {
        std::string t = "(";
        for (size_t j = 0; j < v.size(); ++j) t += (j ? ", " : "") + std::to_string(v[j]);
        return t + (v.size() == 1 ? ",)" : ")");
    };
    std::vector<std::string> found;
    const std::string head = shape_text(got) + " is the output of ";
    const bool symmetric = spec.padding_lo == spec.padding_hi;
    const std::string now = symmetric ? "padding=" + dims_text(spec.padding_lo)
                                      : "padding_lo=" + dims_text(spec.padding_lo) + ", padding_hi=" + dims_text(spec.padding_hi);
    index_t reach = 0;
    for (int j = 0; j < r; ++j) reach = std::max(reach, spec.dilation[static_cast<size_t>(j)] * (spec.kernel_size[static_cast<size_t>(j)] - 1));
    for (index_t p = 0; p <= reach && found.empty(); ++p) {
        if (symmetric && std::all_of(pads.begin(), pads.end(), [&](index_t v) { return v == p; })) continue;
        if (out_with([&](index_t&, index_t&, index_t& pl, index_t& ph, index_t&) { pl = ph = p; }) == got)
            found.push_back(head + "padding=" + std::to_string(p) + " (the configuration has " + now + ")" +
                            (p == 0 ? ": padding forgotten?" : ": padding off?"));
    }
    const bool dilated = std::any_of(spec.dilation.begin(), spec.dilation.end(), [](index_t v) { return v > 1; });
    if (dilated && out_with([](index_t&, index_t& d, index_t&, index_t&, index_t&) { d = 1; }) == got)
        found.push_back(head + "dilation=1 (the configuration has dilation=" + dims_text(spec.dilation) +
                        "): dilation ignored?");
    const bool strided = std::any_of(spec.stride.begin(), spec.stride.end(), [](index_t v) { return v > 1; });
    if (strided && out_with([](index_t& st, index_t&, index_t&, index_t&, index_t& a) { st = 1, a = 0; }) == got)
        found.push_back(head + "stride=1 (the configuration has stride=" + dims_text(spec.stride) + "): stride ignored?");
    const bool op = std::any_of(spec.output_padding.begin(), spec.output_padding.end(), [](index_t v) { return v > 0; });
    if (spec.transposed && op && out_with([](index_t&, index_t&, index_t&, index_t&, index_t& a) { a = 0; }) == got)
        found.push_back(head + "output_padding=0 (the configuration has output_padding=" +
                        dims_text(spec.output_padding) + "): output_padding ignored?");
    Shape spatial(want.begin() + 1, want.end());
    if (got[0] != want[0] && Shape(got.begin() + 1, got.end()) == spatial)
        found.push_back(shape_text(got) + " has " + std::to_string(got[0]) + " channels where the configuration gives " +
                        std::to_string(want[0]) + ": weight channel axes swapped, or groups wrong?");
    std::string text;
    for (size_t i = 0; i < found.size(); ++i) text += (i ? "; or " : "") + found[i];
    return text;
}

namespace {

using DMatrix = ProbeMatrix<double>;

template <class Scalar>
double default_rtol(double rtol) {
    return rtol > 0 ? rtol : 1000 * static_cast<double>(std::numeric_limits<Scalar>::epsilon());
}

/// config_error naming the first NaN or infinite weight: the matrix of such weights says nothing.
template <class Scalar>
void check_finite_weight(const ConvSpec& spec, span<const Scalar> weight) {
    for (size_t f = 0; f < weight.size(); ++f) {
        const double v = static_cast<double>(weight[f]);
        if (!std::isfinite(v))
            throw config_error("check_kernel: weight" + format_index(spec.weight_shape(), static_cast<index_t>(f)) +
                               " is " + detail::nonfinite_name(v) + "; every weight must be finite (weight shape (" +
                               to_string(spec.weight_shape()) + "))");
    }
}

/// A failed report for a NaN or infinite kernel result: the probing stopped there, nothing else is compared.
KernelReport& fail_nonfinite(KernelReport& R, const std::string& what) {
    R.passed = false;
    R.findings.push_back({"nonfinite", what + ": a linear kernel returns finite values for finite inputs", 0});
    return R;
}

}  // namespace

template <class Scalar>
KernelReport check_kernel(const ConvSpec& spec, span<const Scalar> weight, const KernelFn<Scalar>& forward,
                          const KernelFn<Scalar>& adjoint, const CheckOptions& options) {
    using Block = Batch<Scalar>;
    spec.validate();
    if (!forward) throw config_error("check_kernel: no forward kernel was given");
    check_size(weight, spec.weight_numel(), "check_kernel: weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    check_finite_weight(spec, weight);
    KernelReport R;
    R.spec = spec.describe();
    const index_t in = spec.input_numel(), out = spec.output_numel();
    const Shape in_shape = spec.input_shape(), out_shape = spec.output_shape();
    R.rows = out;
    R.cols = in;
    {
        // Dense blocks of the input and output sizes (kernel(0), the random inputs, probe batches of at
        // most ~4M values) and the reference matrix: refused before any of them is allocated.
        const ConvGeometry G(spec);
        const double values = static_cast<double>(in + out) * (std::max(1, options.random_inputs) + 3) + 8.0 * (1 << 20);
        const double need = values * sizeof(Scalar) + build_bytes(G, sizeof(Scalar), sizeof(std::int64_t), G.rows());
        const double limit = physical_memory_bytes();
        if (limit > 0 && need > limit)
            throw memory_limit_error("check_kernel: " + std::to_string(in) + " inputs and " + std::to_string(out) +
                                         " outputs need " + format_bytes(need) + " for the reference matrix and the " +
                                         "dense probes, more than the physical memory " + format_bytes(limit),
                                     need, limit);
    }
    const std::vector<double> w(weight.begin(), weight.end());
    double wmax = 0;
    for (double v : w) wmax = std::max(wmax, std::abs(v));
    const double atol = default_rtol<Scalar>(options.rtol) * std::max(1.0, wmax);
    const double vtol = default_rtol<Scalar>(options.probe.rtol);

    // kernel(0): an affine kernel (bias) is reported and its offset removed before probing.
    const FunctionOperator<Scalar> raw(in_shape, out_shape, forward, nullptr, "kernel");
    const Block zero_out = raw.apply(Block::Zero(in, 1));
    std::string bad = nonfinite_result<Scalar>(zero_out, out_shape, "kernel", "out", [](index_t) { return "the zero input"; });
    if (!bad.empty()) return fail_nonfinite(R, bad);
    R.zero_response = static_cast<double>(zero_out.cwiseAbs().maxCoeff());
    const bool affine = R.zero_response > atol;
    const FunctionOperator<Scalar> lin(
        in_shape, out_shape,
        [&](const Eigen::Ref<const Block>& x) {
            Block y = forward(x);
            if (affine && y.rows() == out) y.colwise() -= zero_out.col(0);
            return y;
        },
        nullptr, "kernel");

    const auto M = operator_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, weight);
    {  // random inputs
        std::mt19937_64 rng(options.probe.seed ^ 0x5bd1e995ULL);
        std::normal_distribution<double> normal;
        Block X(in, std::max(1, options.random_inputs));
        for (index_t i = 0; i < X.size(); ++i) X.data()[i] = static_cast<Scalar>(normal(rng));
        const Block Y = lin.apply(X);
        bad = nonfinite_result<Scalar>(Y, out_shape, "kernel", "out",
                                       [](index_t b) { return "random input " + std::to_string(b); });
        if (!bad.empty()) return fail_nonfinite(R, bad);
        R.random_error = relative_row_error<Scalar>(M, X, Y);
    }
    const Materialized<Scalar> J = to_sparse<Scalar>(lin, spec, options.probe, false);
    R.probe = J.stats;
    if (!J.stats.nonfinite.empty()) return fail_nonfinite(R, J.stats.nonfinite);
    const DMatrix Jd = J.matrix.template cast<double>(), Md = M.template cast<double>();
    const std::vector<index_t> taps = tap_map(spec, spec.transposed);
    R.nnz_reference = M.nonZeros();
    R.nnz_kernel = Jd.nonZeros();
    detail::Diagnosis D = detail::diagnose(spec, w, Jd, Md, taps, atol, options);
    R.missing = D.missing;
    R.extra = D.extra;
    R.wrong_weight = D.wrong;
    R.max_entry_error = D.max_err;
    R.diffs = std::move(D.diffs);
    R.wrong_rows = std::move(D.rows);
    R.wrong_cols = std::move(D.cols);
    R.wrong_taps = std::move(D.taps);
    R.findings = std::move(D.findings);
    R.lines = std::move(D.lines);
    if (affine)
        R.findings.insert(R.findings.begin(),
                          BugFinding{"affine",
                                     "kernel(0) is not zero (max |kernel(0)| = " + format_value(R.zero_response) +
                                         "): the kernel adds a bias or is not linear; the Jacobian was taken of "
                                         "kernel(x) - kernel(0)",
                                     0});
    if (!R.probe.verified)
        R.findings.push_back({"nonlinear",
                              "the recovered Jacobian does not reproduce the kernel on random inputs even with unit "
                              "probes (max row error " + format_value(R.probe.verify_error) +
                                  "): the kernel is not linear or not deterministic",
                              0});
    R.passed = !affine && R.probe.verified && R.diffs.empty() && R.random_error <= vtol;
    if (!adjoint) return R;

    R.has_adjoint = true;
    const FunctionOperator<Scalar> adj(out_shape, in_shape, adjoint, nullptr, "adjoint kernel");
    using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    R.dot = dot_test<Scalar>(
        in, out, [&](const Vec& x) { return Vec(lin.apply(x)); }, [&](const Vec& y) { return Vec(adj.apply(y)); }, 5,
        0, options.probe.seed);
    R.adjoint_lines.push_back(R.dot.str());
    const Materialized<Scalar> Ja = to_sparse<Scalar>(adj, spec, options.probe, true);
    R.probe.probes += Ja.stats.probes;
    R.probe.calls += Ja.stats.calls;
    R.probe.verify_samples += Ja.stats.verify_samples;
    R.adjoint_lines.push_back("adjoint Jacobian: " + Ja.stats.str());
    const std::string M_name = spec.transposed ? "T" : "W";
    if (!Ja.stats.nonfinite.empty()) {
        R.adjoint_passed = false;
        fail_nonfinite(R, Ja.stats.nonfinite);
        return R;
    }
    DMatrix JaT = Ja.matrix.template cast<double>().transpose();
    JaT.makeCompressed();
    const detail::Diagnosis A = detail::diagnose(spec, w, JaT, Md, taps, atol, options);
    R.adjoint_mismatches = A.missing + A.extra + A.wrong;
    R.adjoint_passed = R.adjoint_mismatches == 0 && Ja.stats.verified && R.dot.passed;
    if (R.adjoint_mismatches == 0) {
        R.adjoint_lines.push_back("the adjoint's Jacobian equals " + M_name + "^T exactly");
    } else {
        R.adjoint_lines.push_back("the adjoint's Jacobian, transposed, differs from " + M_name + ":");
        for (const auto& f : A.findings) R.adjoint_lines.push_back("  diagnosis: " + f.message);
        for (const auto& l : A.lines) R.adjoint_lines.push_back("  " + l);
    }
    R.passed = R.passed && R.adjoint_passed;
    return R;
}

std::string KernelReport::str() const {
    std::ostringstream os;
    os << "check_kernel " << (passed ? "PASSED" : "FAILED") << ": " << spec << "\n";
    os << "  random inputs: max row error |kernel(x) - M x| / (|M||x| + |kernel(x)|) = " << format_value(random_error) << "\n";
    os << "  Jacobian: " << probe.str() << "\n";
    const bool nonfinite = std::any_of(findings.begin(), findings.end(),
                                       [](const BugFinding& f) { return f.name == "nonfinite"; });
    if (!nonfinite && diffs.empty() && missing + extra + wrong_weight == 0) {
        os << "  the kernel's Jacobian equals " << (spec.rfind("conv_transpose", 0) == 0 ? "T" : "W")
           << " entry by entry (" << nnz_reference << " entries)\n";
    }
    for (const auto& f : findings)
        os << "  diagnosis: " << f.message
           << (f.remaining == 0 || f.name == "border" || f.name == "cross_group" || f.name == "zero"
                   ? ""
                   : " (closest explanation; " + std::to_string(f.remaining) + " entries still differ)")
           << "\n";
    for (const auto& l : lines) os << "  " << l << "\n";
    for (const auto& l : adjoint_lines) os << "  adjoint: " << l << "\n";
    std::string s = os.str();
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

#define CONVMTX_VALIDATE_INST(S)                                                                                   \
    template KernelReport check_kernel<S>(const ConvSpec&, span<const S>, const KernelFn<S>&, const KernelFn<S>&, \
                                          const CheckOptions&);
CONVMTX_VALIDATE_INST(float)
CONVMTX_VALIDATE_INST(double)
#undef CONVMTX_VALIDATE_INST

}  // namespace convmtx
