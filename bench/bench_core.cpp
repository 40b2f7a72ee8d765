// Benchmark of the core: time and peak memory of assembling W and T (both storage
// orders, zeros and reflect padding, conv and transposed conv), against the bytes of the
// result, and the time of applying W, T and the direct kernels to one sample.
// Each measurement runs in a fresh child process so that its peak RSS is its own.
//
// Usage: bench_core [--size N] [--channels C] [--kernel K]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <convmtx/convmtx.hpp>

using namespace convmtx;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long peak_rss_kb() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// Runs fn in a child process; fn prints its own line. Returns when the child exits.
void isolated(const std::function<void()>& fn) {
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        fn();
        std::fflush(stdout);
        std::_Exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
}

template <class M>
double matrix_mb(const M& A) {
    using SI = typename M::StorageIndex;
    return (double(A.nonZeros()) * (sizeof(typename M::Scalar) + sizeof(SI)) + double(A.outerSize() + 1) * sizeof(SI)) / 1e6;
}

template <int Order>
void build_one(const char* label, const ConvSpec& spec, const std::vector<double>& w, bool transpose) {
    isolated([&] {
        const long before = peak_rss_kb();
        const auto t0 = Clock::now();
        const auto M = transpose ? conv_transpose_matrix<double, Order, std::int32_t>(spec, w)
                                 : conv_matrix<double, Order, std::int32_t>(spec, w);
        const double s = seconds_since(t0);
        const double peak = static_cast<double>(peak_rss_kb() - before) / 1024.0 * 1.048576;
        std::printf("| %-34s | %s | %11ld | %8.3f s | %7.1f MB/s-equiv | %8.1f MB | %8.1f MB |\n", label,
                    Order == Eigen::RowMajor ? "row" : "col", static_cast<long>(M.nonZeros()), s,
                    matrix_mb(M) / s, matrix_mb(M), peak);
    });
}

}  // namespace

int main(int argc, char** argv) {
    long size = 512, channels = 8, kernel = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string f = argv[i];
        const long v = std::atol(argv[i + 1]);
        if (v <= 0) {
            std::fprintf(stderr, "bench_core: %s=%s must be a positive integer\n", f.c_str(), argv[i + 1]);
            return 2;
        }
        if (f == "--size") size = v;
        else if (f == "--channels") channels = v;
        else if (f == "--kernel") kernel = v;
        else {
            std::fprintf(stderr, "bench_core: unknown option %s\n", f.c_str());
            return 2;
        }
    }
    ConvOptions o;
    o.padding = Padding::symmetric({kernel / 2});
    const Shape wshape{channels, channels, kernel, kernel};
    const ConvSpec conv = make_conv({channels, size, size}, wshape, o);
    o.padding_mode = PaddingMode::reflect;
    const ConvSpec refl = make_conv({channels, size, size}, wshape, o);
    ConvTransposeOptions t;
    t.stride = {2};
    t.padding = Padding::symmetric({kernel / 2});
    t.output_padding = Dims{1};
    const ConvSpec up = make_conv_transpose({channels, size / 2, size / 2}, wshape, t);
    std::vector<double> w(static_cast<size_t>(conv.weight_numel()));
    for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01 * double(i % 97) - 0.3;

    std::printf("conv: %s\ntransposed: %s\n\n", conv.describe().c_str(), up.describe().c_str());
    std::printf("| matrix | order | nnz | time | throughput | result | peak RSS growth |\n|---|---|---|---|---|---|---|\n");
    build_one<Eigen::RowMajor>("W, conv, zeros", conv, w, false);
    build_one<Eigen::ColMajor>("W, conv, zeros", conv, w, false);
    build_one<Eigen::RowMajor>("T = W^T, conv, zeros", conv, w, true);
    build_one<Eigen::RowMajor>("W, conv, reflect", refl, w, false);
    build_one<Eigen::RowMajor>("T = W^T, conv, reflect (counted)", refl, w, true);
    build_one<Eigen::RowMajor>("T, transposed conv s2", up, w, false);
    build_one<Eigen::RowMajor>("T, transposed conv s2", up, w, true);

    std::printf("\n| apply one sample | time |\n|---|---|\n");
    isolated([&] {
        const auto W = conv_matrix<double>(conv, w);
        const auto T = conv_transpose_matrix<double>(up, w);
        Batch<double> x = Batch<double>::Random(conv.input_numel(), 1);
        Batch<double> y = Batch<double>::Random(up.input_numel(), 1);
        auto time = [](const char* label, const std::function<void()>& fn) {
            fn();
            const auto t0 = Clock::now();
            for (int r = 0; r < 3; ++r) fn();
            std::printf("| %-40s | %8.4f s |\n", label, seconds_since(t0) / 3);
        };
        Batch<double> out;
        time("W x (sparse, conv)", [&] { out = W * x; });
        time("conv_direct", [&] { out = conv_direct<double>(conv, w, x); });
        time("T y (sparse, transposed)", [&] { out = T * y; });
        time("conv_transpose_scatter", [&] { out = conv_transpose_scatter<double>(up, w, y); });
        time("conv_transpose_gather", [&] { out = conv_transpose_gather<double>(up, w, y); });
    });
    return 0;
}
