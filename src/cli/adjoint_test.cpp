// convmtx adjoint-test: sweeps seeded random configurations through every pair of
// computations (W x vs conv_direct, W^T y vs T y vs scatter vs gather) and a dot test of
// every operator, in float and double; or checks one configuration (--input ... / --config).
// Exit status 1 when any check fails.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "cli.hpp"
#include "config_flags.hpp"
#include "convmtx/convmtx.hpp"
#include "convmtx/validate.hpp"
#include "flag_values.hpp"
#include "initializers.hpp"

namespace convmtx::cli {

namespace {

// The checks, in table order.
const char* const kChecks[] = {"W x = conv_direct x", "W^T y = T y",     "T y = scatter y", "T y = gather y",
                               "dot test W",          "dot test T",      "dot test conv_direct",
                               "dot test scatter",    "dot test gather",  "colored probes = M"};
constexpr int kNumChecks = sizeof(kChecks) / sizeof(kChecks[0]);

struct Stat {
    index_t run = 0, failed = 0;
    double max_error = 0;  // error / tolerance, the largest
};

struct Failure {
    index_t config = 0;
    std::string spec, flags, check, scalar;
    double error = 0, tol = 0;
};

struct Sweep {
    Stat stats[2][kNumChecks];  // [float, double][check]
    std::vector<Failure> failures;
    index_t configs = 0;
};

std::string join(const Dims& d, const char* sep) { return to_string(d, sep); }

// Flags that rebuild `spec` with `convmtx adjoint-test --input ...`.
std::string spec_flags(const ConvSpec& s, const std::string& weights, std::uint64_t seed) {
    std::ostringstream os;
    os << "--input " << s.in_channels << "x" << join(s.input_size, "x") << " --kernel " << join(s.kernel_size, "x")
       << " --stride " << join(s.stride, "x") << " --padding ";
    for (int j = 0; j < s.rank(); ++j) os << (j ? "," : "") << s.padding_lo[j] << ":" << s.padding_hi[j];
    os << " --dilation " << join(s.dilation, "x") << " --groups " << s.groups << " --out-channels " << s.out_channels;
    if (s.transposed) os << " --transposed --output-padding " << join(s.output_padding, "x");
    else if (s.padding_mode != PaddingMode::zeros) os << " --padding-mode " << to_string(s.padding_mode);
    os << " --weights " << weights << " --seed " << seed;
    return os.str();
}

// The sweep's configurations (convmtx::random_spec): conv or transposed conv, rank 1-3, groups 1-3,
// stride 1-3, dilation 1-2, asymmetric padding 0-2, output_padding, every padding mode for a conv;
// input sizes 1-12 (1-d), 1-7 (2-d), 1-4 (3-d), kernel sizes 1-4 (1-3 in 3-d).
RandomSpecOptions sweep_options() {
    RandomSpecOptions o;
    o.direction = SpecDirection::either;
    o.input_size = {{{1, 12}, {1, 7}, {1, 4}}};
    o.kernel_size = {{{1, 4}, {1, 4}, {1, 3}}};
    o.padding = {0, 2};
    return o;
}

// Row-wise error of a against the reference b: max_r |a_r - b_r| / (|M| |x|)_r, where |M| is the matrix of
// the absolute weights (so taps folded by a padding mode count separately), relative to the summation bound
// 4 eps (L + 2) with L the longest sum (the conv's C_in/G or C_out/G times prod(k)). Returns error / tolerance.
template <class Scalar, class Mat>
double compare(const Batch<Scalar>& a, const Batch<Scalar>& b, const Mat& absM, const Batch<Scalar>& x, index_t L) {
    if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
    const Batch<Scalar> scale = absM * x.cwiseAbs();
    const double tol = 4 * static_cast<double>(std::numeric_limits<Scalar>::epsilon()) * static_cast<double>(L + 2);
    double worst = 0;
    for (index_t i = 0; i < a.size(); ++i) {
        const double d = std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i]));
        if (!(d == d)) return std::numeric_limits<double>::infinity();
        if (d == 0) continue;
        const double s = static_cast<double>(scale.data()[i]);
        worst = std::max(worst, s > 0 ? d / s / tol : std::numeric_limits<double>::infinity());
    }
    return worst;
}

template <class Scalar>
void run_config(const ConvSpec& spec, const std::vector<double>& wd, std::uint64_t seed, index_t index,
                const std::string& flags, Sweep& sw, int trials, std::vector<std::string>* detail) {
    const int si = std::is_same<Scalar, float>::value ? 0 : 1;
    const char* sname = si == 0 ? "float" : "double";
    const std::vector<Scalar> w(wd.begin(), wd.end());
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    auto random_batch = [&](index_t rows) {
        Batch<Scalar> b(rows, 2);
        for (index_t i = 0; i < b.size(); ++i) b.data()[i] = static_cast<Scalar>(normal(rng));
        return b;
    };
    auto record = [&](int check, double err_over_tol, double tol_shown) {
        Stat& st = sw.stats[si][check];
        ++st.run;
        st.max_error = std::max(st.max_error, err_over_tol);
        const bool ok = err_over_tol <= 1.0;
        if (!ok) {
            ++st.failed;
            if (sw.failures.size() < 1000)
                sw.failures.push_back({index, spec.describe(), flags, kChecks[check], sname, err_over_tol, tol_shown});
        }
        if (detail) {
            std::ostringstream os;
            os.precision(3);
            os << (ok ? "  ok    " : "  FAIL  ") << sname << "  " << kChecks[check] << ": error/tolerance " << err_over_tol;
            detail->push_back(os.str());
        }
    };
    auto dot = [&](int check, const LinearOperator<Scalar>& op) {
        const DotTestReport r = dot_test(op, trials, 0, seed + static_cast<std::uint64_t>(check));
        record(check, r.rtol > 0 ? r.error / r.rtol : r.error, r.rtol);
        if (detail) detail->back() += "  (" + r.str() + ")";
    };
    using RowM = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int32_t>;
    // The direct kernel's matrix recovered by colored probing (to_sparse with the configuration as hint)
    // against the operation's matrix M: exact, up to the order of folded taps' sums for padding modes.
    auto probes = [&](const LinearOperator<Scalar>& op, const RowM& M) {
        const Materialized<Scalar> J = to_sparse<Scalar>(op, spec);
        double worst = 0, wmax = 0;
        for (auto v : w) wmax = std::max(wmax, static_cast<double>(std::abs(v)));
        const Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t> D =
            J.matrix.template cast<double>() - M.template cast<double>();
        for (index_t i = 0; i < D.nonZeros(); ++i) worst = std::max(worst, std::abs(D.valuePtr()[i]));
        const double tol = 8 * static_cast<double>(std::numeric_limits<Scalar>::epsilon()) * std::max(1.0, wmax);
        // The stated probe bound (zeros padding): C_in * prod_j min(n_j, (k_j-1)d_j + 3) for a conv,
        // C_in * prod_j min(m_j, floor(((k_j-1)d_j + 2)/s_j) + 1) for a transposed conv.
        const bool within = spec.padding_mode != PaddingMode::zeros || J.stats.probes <= probe_bound(spec);
        record(9, J.stats.verified && within ? worst / tol : std::numeric_limits<double>::infinity(), tol);
        if (detail) detail->back() += "  (" + J.stats.str() + ")";
    };
    const RowM W = conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w);
    const RowM T = conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w);
    std::vector<Scalar> wabs(w);
    for (auto& v : wabs) v = std::abs(v);
    const RowM Wabs = conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, wabs);
    const RowM Tabs = conv_transpose_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, wabs);
    const ConvGeometry g(spec);
    const index_t L = std::max(g.in_per_group(), g.out_per_group()) * g.kernel_volume();
    // W^T y = T y (for either direction; y lives on W's row side, the conv's output).
    {
        const Batch<Scalar> y = random_batch(W.rows());
        const Batch<Scalar> a = W.transpose() * y, b = T * y;
        record(1, compare<Scalar>(b, a, Tabs, y, L), 0);
    }
    SparseOperator<Scalar, Eigen::RowMajor, std::int32_t> Wop(W, spec.transposed ? spec.output_shape() : spec.input_shape(),
                                                             spec.transposed ? spec.input_shape() : spec.output_shape(), "W");
    SparseOperator<Scalar, Eigen::RowMajor, std::int32_t> Top(T, spec.transposed ? spec.input_shape() : spec.output_shape(),
                                                             spec.transposed ? spec.output_shape() : spec.input_shape(), "T");
    dot(4, Wop);
    dot(5, Top);
    if (!spec.transposed) {
        const Batch<Scalar> x = random_batch(spec.input_numel());
        const Batch<Scalar> a = W * x, b = conv_direct<Scalar>(spec, w, x);
        record(0, compare<Scalar>(b, a, Wabs, x, L), 0);
        auto D = std::make_shared<ConvOperator<Scalar>>(spec, w, ApplyMethod::direct);
        dot(6, *D);
        probes(*D, W);
    } else {
        const Batch<Scalar> y = random_batch(spec.input_numel());
        const Batch<Scalar> ref = T * y;
        record(2, compare<Scalar>(Batch<Scalar>(conv_transpose_scatter<Scalar>(spec, w, y)), ref, Tabs, y, L), 0);
        record(3, compare<Scalar>(Batch<Scalar>(conv_transpose_gather<Scalar>(spec, w, y)), ref, Tabs, y, L), 0);
        auto S = std::make_shared<ConvOperator<Scalar>>(spec, w, ApplyMethod::scatter);
        auto G = std::make_shared<ConvOperator<Scalar>>(spec, w, ApplyMethod::gather);
        dot(7, *S);
        dot(8, *G);
        probes(*G, T);
    }
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            o += ' ';
            continue;
        }
        o += c;
    }
    return o;
}

std::string num(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream os;
    os.precision(6);
    os << v;
    return os.str();
}

void write_json(const std::string& path, const Sweep& sw, std::uint64_t seed, bool single, double seconds) {
    std::ostringstream f;
    bool passed = sw.failures.empty();
    f << "{\n  \"command\": \"adjoint-test\",\n  \"mode\": \"" << (single ? "config" : "sweep") << "\",\n  \"seed\": "
      << seed << ",\n  \"configurations\": " << sw.configs << ",\n  \"passed\": " << (passed ? "true" : "false")
      << ",\n  \"seconds\": " << num(seconds) << ",\n  \"checks\": [";
    bool first = true;
    for (int c = 0; c < kNumChecks; ++c)
        for (int s = 0; s < 2; ++s) {
            const Stat& st = sw.stats[s][c];
            if (!st.run) continue;
            f << (first ? "\n" : ",\n") << "    {\"check\": \"" << kChecks[c] << "\", \"scalar\": \""
              << (s ? "double" : "float") << "\", \"run\": " << st.run << ", \"failed\": " << st.failed
              << ", \"max_error_over_tolerance\": " << num(st.max_error) << "}";
            first = false;
        }
    f << "\n  ],\n  \"failures\": [";
    for (size_t i = 0; i < sw.failures.size(); ++i) {
        const Failure& x = sw.failures[i];
        f << (i ? ",\n" : "\n") << "    {\"config\": " << x.config << ", \"check\": \"" << json_escape(x.check)
          << "\", \"scalar\": \"" << x.scalar << "\", \"error_over_tolerance\": " << num(x.error) << ", \"spec\": \""
          << json_escape(x.spec) << "\", \"flags\": \"" << json_escape(x.flags) << "\"}";
    }
    f << (sw.failures.empty() ? "]\n}\n" : "\n  ]\n}\n");
    write_file_atomic(path, f.str());
}

void print_table(std::ostream& os, const Sweep& sw) {
    char line[200];
    std::snprintf(line, sizeof line, "%-22s %20s %20s\n", "check", "float", "double");
    os << line;
    std::snprintf(line, sizeof line, "%-22s %20s %20s\n", "", "passed  max err/tol", "passed  max err/tol");
    os << line;
    for (int c = 0; c < kNumChecks; ++c) {
        std::string cells[2];
        for (int s = 0; s < 2; ++s) {
            const Stat& st = sw.stats[s][c];
            char buf[64];
            if (!st.run) std::snprintf(buf, sizeof buf, "%20s", "-");
            else
                std::snprintf(buf, sizeof buf, "%5lld/%-5lld %8.3g", static_cast<long long>(st.run - st.failed),
                              static_cast<long long>(st.run), st.max_error);
            cells[s] = buf;
        }
        std::snprintf(line, sizeof line, "%-22s %20s %20s\n", kChecks[c], cells[0].c_str(), cells[1].c_str());
        os << line;
    }
}

struct AdjointTestFlags {
    ConfigFlags config;
    long long count = 1000;
    std::uint64_t seed = 0;
    int trials = 3;
    std::string json;
    CLI::Option* count_option = nullptr;
};

void run_adjoint_test(const AdjointTestFlags& f) {
    const long long count = f.count;
    const std::uint64_t seed = f.seed;
    const int trials = f.trials;
    const auto t0 = std::chrono::steady_clock::now();
    Sweep sw;
    const bool single = f.config.given();
    if (f.count_option->count() && single) throw usage_error("--count applies to the sweep, not to one configuration");
    if (single) {
        const Problem p = f.config.problem();
        std::vector<std::string> detail;
        const std::string flags_text = spec_flags(p.spec, p.weight_source, seed);
        run_config<float>(p.spec, p.weight, seed, 0, flags_text, sw, trials, &detail);
        run_config<double>(p.spec, p.weight, seed, 0, flags_text, sw, trials, &detail);
        sw.configs = 1;
        std::cout << "convmtx adjoint-test: " << p.spec.describe() << " (weights " << p.weight_source << ")\n";
        for (const auto& l : detail) std::cout << l << "\n";
    } else {
        const bool tty = isatty(2);
        std::mt19937_64 rng(seed);
        const RandomSpecOptions options = sweep_options();
        for (long long i = 0; i < count; ++i) {
            const ConvSpec spec = random_spec(rng, options);
            const std::uint64_t wseed = seed * 1000003ULL + static_cast<std::uint64_t>(i);
            const std::string weights = "random:" + std::to_string(wseed);
            const std::vector<double> w = generate(parse_initializer(weights, false), spec.weight_numel());
            const std::string flags_text = spec_flags(spec, weights, wseed);
            run_config<float>(spec, w, wseed, i, flags_text, sw, trials, nullptr);
            run_config<double>(spec, w, wseed, i, flags_text, sw, trials, nullptr);
            ++sw.configs;
            if (tty && (i % 10 == 9 || i + 1 == count)) {
                const int width = 40;
                const int done = static_cast<int>(width * (i + 1) / count);
                std::fprintf(stderr, "\r[%s%s] %lld/%lld configurations, %zu failures", std::string(done, '=').c_str(),
                             std::string(width - done, ' ').c_str(), i + 1, count, sw.failures.size());
                std::fflush(stderr);
            }
        }
        if (tty) std::fprintf(stderr, "\n");
        std::cout << "convmtx adjoint-test: " << count << " random configurations (seed " << seed
                  << "), float and double\n";
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "\n";
    print_table(std::cout, sw);
    index_t total = 0, failed = 0;
    for (auto& row : sw.stats)
        for (auto& st : row) {
            total += st.run;
            failed += st.failed;
        }
    if (!sw.failures.empty()) {
        std::cout << "\nfailures (first " << std::min<size_t>(10, sw.failures.size()) << "):\n";
        for (size_t i = 0; i < sw.failures.size() && i < 10; ++i) {
            const Failure& x = sw.failures[i];
            std::cout << "  config " << x.config << " " << x.scalar << " " << x.check << ": error/tolerance "
                      << x.error << "\n    " << x.spec << "\n    reproduce: convmtx adjoint-test " << x.flags << "\n";
        }
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "\n%s: %lld of %lld checks passed (%.1f s)\n", failed ? "FAILED" : "PASSED",
                  static_cast<long long>(total - failed), static_cast<long long>(total), seconds);
    std::cout << buf;
    if (!f.json.empty()) write_json(f.json, sw, seed, single, seconds);
    if (failed) checks_failed();
}

}  // namespace

void setup_adjoint_test(CLI::App& app) {
    CLI::App* cmd = add_command(
        app, "adjoint-test",
        "sweep random configurations through every pair of computations (W, T, direct kernels) and dot tests",
        "Checks every computation of the library against the others: W x against the direct conv, W^T y against T y "
        "(T built directly), the scatter and the gather transposed-conv kernels against T, and a dot test |<Ax,y> - "
        "<x,A^T y>| / (|Ax||y|) of every operator (W, T, conv_direct, scatter, gather), in float and double. Without "
        "a configuration it sweeps --count seeded random configurations (rank 1-3, groups, stride, dilation, "
        "asymmetric padding, output_padding, padding modes); with --input ... or --config FILE it checks that one "
        "configuration and prints every check. Errors are shown relative to their tolerance (pass: <= 1): 4 eps "
        "(L+2) of the row's |M||x| for comparisons, 10 eps sqrt(in+out) for dot tests. Exit status 1 when a check "
        "fails.\n"
        "  convmtx adjoint-test --count 1000 --seed 0 --json report.json\n"
        "  convmtx adjoint-test --input 2x5x5 --kernel 3x3 --stride 2 --transposed");
    auto f = std::make_shared<AdjointTestFlags>();
    f->count_option = cmd->add_option("--count", f->count, "number of random configurations of the sweep (default 1000)")
                          ->option_text("N")
                          ->check(integer_in(1, 10000000));
    cmd->add_option("--seed", f->seed, "seed of the sweep: configurations, weights and inputs (default 0)")
        ->option_text("S")
        ->check(integer_in(0));
    cmd->add_option("--trials", f->trials, "dot-test trials per operator (default 3)")
        ->option_text("N")
        ->check(integer_in(1, 1000));
    cmd->add_option("--json", f->json, "write a machine-readable report to FILE")
        ->option_text("FILE")
        ->check(writable_file());
    f->config.add_to(*cmd);
    cmd->callback([f] { run_adjoint_test(*f); });
}

}  // namespace convmtx::cli
