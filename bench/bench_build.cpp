// Benchmark: time to build the sparse matrix W of one convolution in C++
// (conv_matrix<Scalar, RowMajor, Index>), best of --repeat runs. The default
// configuration is a 2-D conv with 16 -> 16 channels, a 3x3 kernel and padding 1
// on a 148x148 input: W has 50,013,184 entries. bench/bench_python_build.py times
// the same matrix built from Python (convmtx.conv_matrix) and compares.
//
// Usage: bench_build [--size N] [--channels C] [--kernel K] [--repeat R] [--float] [--int64]
// Prints one line: "cpp  scalar=double index=int32 nnz=... best=...s mean=...s entries/s=...".
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <convmtx/convmtx.hpp>

namespace {

struct Args {
    long size = 148, channels = 16, kernel = 3, repeat = 5;
    bool single = false, index64 = false;
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr, "bench_build: %s\nusage: bench_build [--size N] [--channels C] [--kernel K] [--repeat R] "
                         "[--float] [--int64]\n", msg);
    std::exit(2);
}

long positive(const char* name, const char* value) {
    char* end = nullptr;
    const long v = std::strtol(value, &end, 10);
    if (!*value || *end || v <= 0) usage((std::string(name) + "=" + value + " must be a positive integer").c_str());
    return v;
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage((f + " needs a value").c_str());
            return argv[++i];
        };
        if (f == "--size") a.size = positive("--size", value());
        else if (f == "--channels") a.channels = positive("--channels", value());
        else if (f == "--kernel") a.kernel = positive("--kernel", value());
        else if (f == "--repeat") a.repeat = positive("--repeat", value());
        else if (f == "--float") a.single = true;
        else if (f == "--int64") a.index64 = true;
        else usage(("unknown option " + f).c_str());
    }
    return a;
}

template <class Scalar, class Index>
int run(const Args& a) {
    using namespace convmtx;
    ConvOptions o;
    o.padding = Padding::symmetric({a.kernel / 2});
    const ConvSpec spec = make_conv({a.channels, a.size, a.size}, {a.channels, a.channels, a.kernel, a.kernel}, o);
    std::vector<Scalar> w(static_cast<size_t>(spec.weight_numel()));
    for (size_t i = 0; i < w.size(); ++i) w[i] = Scalar(0.5) + Scalar(i % 7);  // no zero taps
    double best = 1e300, total = 0;
    index_t nnz = 0;
    for (long r = 0; r < a.repeat; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        auto M = conv_matrix<Scalar, Eigen::RowMajor, Index>(spec, w);
        const auto t1 = std::chrono::steady_clock::now();
        const double s = std::chrono::duration<double>(t1 - t0).count();
        nnz = M.nonZeros();
        best = std::min(best, s);
        total += s;
    }
    std::printf("cpp     scalar=%s index=%s input=(%ld,%ld,%ld) kernel=%ldx%ld nnz=%lld best=%.4fs mean=%.4fs "
                "entries/s=%.3g\n",
                sizeof(Scalar) == 4 ? "float" : "double", sizeof(Index) == 4 ? "int32" : "int64", a.channels, a.size,
                a.size, a.kernel, a.kernel, static_cast<long long>(nnz), best, total / static_cast<double>(a.repeat), static_cast<double>(nnz) / best);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const Args a = parse(argc, argv);
    try {
        if (a.single) return a.index64 ? run<float, std::int64_t>(a) : run<float, std::int32_t>(a);
        return a.index64 ? run<double, std::int64_t>(a) : run<double, std::int32_t>(a);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_build: %s\n", e.what());
        return 2;
    }
}
