// The performance benchmark of docs/performance.md (Google Benchmark): this machine's memory
// floors, the build of W, the explicit products W x and W^T y, the matrix-free kernels, and the
// growth of build and apply time with the size, all in one run.
//
//   floor/write_4k, floor/write_huge  writing fresh memory (mmap, first touch by every thread)
//                                     with 4 KiB pages and with madvise(MADV_HUGEPAGE)
//   floor/read                        summing memory already touched, on every thread
//   build/<workload>/<scalar>         conv_matrix<Scalar, RowMajor, int32>; x_write_huge and
//                                     x_write_4k = time / (result bytes / the write floor)
//   apply/<op>/<order>/<N>/<scalar>   spmv on the 8 -> 8 channel 512^2 W (and T of a transposed
//                                     conv); x_read = time / ((matrix + x + y bytes) / the read floor);
//                                     eigen/... is Eigen's own product on the same operands
//   conv/<workload>/<scalar>, conv_transpose/...: conv_direct, conv_transpose_scatter
//   growth/build/<n>, growth/apply/<n>: workload A at n^2; the fitted exponents of time against
//                                     nnz are printed after the table
// Each benchmark runs a fixed number of iterations (5, 1 with --tiny), timed one by one; the
// counter ms is their median. Threads: OpenMP's (OMP_NUM_THREADS). --cpu-time times by the
// process's CPU time divided by the threads instead of the wall clock: on a machine shared with
// other jobs (load above the cores) it estimates the wall time the same work takes on a quiet
// machine (run it with OMP_WAIT_POLICY=passive, so that waiting threads do not spin).
//
//   bench_perf [--tiny] [--cpu-time] [--benchmark_filter=REGEX] [other Google Benchmark flags]
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <convmtx/convmtx.hpp>
#include <convmtx/spmv.hpp>

#ifdef _OPENMP
#include <omp.h>
#endif

using namespace convmtx;

namespace {

bool tiny = false;
bool cpu_time = false;
int iterations() { return tiny ? 1 : 5; }

int threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/// Process CPU seconds (all threads).
double process_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::map<std::string, double> floors;  // bytes per second
std::map<std::string, std::vector<std::pair<double, double>>> growth;  // name -> (nnz, seconds)

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Runs f once per iteration, timing each; returns the median seconds and sets counter ms.
template <class F>
double timed(benchmark::State& state, F&& f) {
    std::vector<double> t;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = process_seconds();
        f();
        const double s = cpu_time ? (process_seconds() - c0) / threads()
                                  : std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        state.SetIterationTime(s);
        t.push_back(s);
    }
    const double m = median(t);
    state.counters["ms"] = m * 1e3;
    return m;
}

// ---- floors ---------------------------------------------------------------------------------

size_t floor_bytes() { return tiny ? (size_t(64) << 20) : (size_t(1800) << 20); }

void write_floor(benchmark::State& state, bool huge) {
    const size_t bytes = floor_bytes();
    const double t = timed(state, [&] {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            state.SkipWithError("mmap failed");
            return;
        }
        if (huge) madvise(p, bytes, MADV_HUGEPAGE);
        auto* c = static_cast<char*>(p);
#pragma omp parallel
        {
#ifdef _OPENMP
            const size_t T = static_cast<size_t>(omp_get_num_threads()), id = static_cast<size_t>(omp_get_thread_num());
#else
            const size_t T = 1, id = 0;
#endif
            const size_t lo = bytes * id / T, hi = bytes * (id + 1) / T;
            std::memset(c + lo, 1, hi - lo);
        }
        benchmark::DoNotOptimize(c[bytes - 1]);
        munmap(p, bytes);
    });
    floors[huge ? "write_huge" : "write_4k"] = static_cast<double>(bytes) / t;
    state.counters["GB/s"] = static_cast<double>(bytes) / t / 1e9;
}

void read_floor(benchmark::State& state) {
    // Integer sums: vectorised with one-cycle adds, so the loop waits on memory, not on the adds.
    const size_t n = floor_bytes() / sizeof(std::uint64_t);
    std::vector<std::uint64_t> v(n, 1);
    const double t = timed(state, [&] {
        std::uint64_t s = 0;
#pragma omp parallel for simd reduction(+ : s) schedule(static)
        for (size_t i = 0; i < n; ++i) s += v[i];
        benchmark::DoNotOptimize(s);
    });
    floors["read"] = static_cast<double>(n * sizeof(std::uint64_t)) / t;
    state.counters["GB/s"] = static_cast<double>(n * sizeof(std::uint64_t)) / t / 1e9;
}

// ---- workloads --------------------------------------------------------------------------------

struct Workload {
    const char* name;
    index_t batch, in_ch, out_ch;
    Dims size;
    index_t kernel, stride, padding, output_padding;
};

/// The workloads (sizes reduced with --tiny): A-F single channel, B and G multi-channel.
std::vector<Workload> workloads() {
    if (tiny)
        return {{"A", 1, 1, 1, {32, 32}, 5, 1, 2, 0}, {"B", 1, 4, 4, {16, 16}, 3, 2, 1, 1},
                {"C", 1, 1, 1, {64, 64}, 3, 1, 1, 0}, {"D", 1, 1, 1, {12, 12, 12}, 3, 1, 1, 0},
                {"E", 1, 1, 1, {1024}, 31, 4, 15, 3}, {"F", 2, 1, 1, {32, 32}, 5, 1, 2, 0},
                {"G", 2, 8, 8, {16, 16}, 3, 1, 1, 0}};
    return {{"A", 1, 1, 1, {512, 512}, 5, 1, 2, 0},        {"B", 1, 32, 32, {112, 112}, 3, 2, 1, 1},
            {"C", 1, 1, 1, {2048, 2048}, 3, 1, 1, 0},      {"D", 1, 1, 1, {128, 128, 128}, 3, 1, 1, 0},
            {"E", 1, 1, 1, {1 << 20}, 31, 4, 15, 3},       {"F", 8, 1, 1, {512, 512}, 5, 1, 2, 0},
            {"G", 8, 64, 64, {64, 64}, 3, 1, 1, 0}};
}

/// The conv of a workload: input (in_ch, size...), weight (out_ch, in_ch, k...).
ConvSpec conv_of(const Workload& w) {
    ConvOptions o;
    o.stride = {w.stride};
    o.padding = Padding::symmetric({w.padding});
    Shape in{w.in_ch}, ws{w.out_ch, w.in_ch};
    for (auto n : w.size) in.push_back(n);
    for (size_t j = 0; j < w.size.size(); ++j) ws.push_back(w.kernel);
    return make_conv(in, ws, o);
}

/// The transposed conv whose output is the conv's input: input (in_ch, conv output size...).
ConvSpec transpose_of(const Workload& w) {
    const ConvSpec c = conv_of(w);
    ConvTransposeOptions o;
    o.stride = {w.stride};
    o.padding = Padding::symmetric({w.padding});
    o.output_padding = Dims{w.output_padding};
    Shape in{w.in_ch}, ws{w.in_ch, w.out_ch};
    for (auto m : c.output_size()) in.push_back(m);
    for (size_t j = 0; j < w.size.size(); ++j) ws.push_back(w.kernel);
    return make_conv_transpose(in, ws, o);
}

template <class Scalar>
std::vector<Scalar> weights(index_t n) {
    std::vector<Scalar> w(static_cast<size_t>(n));
    for (size_t i = 0; i < w.size(); ++i) w[i] = Scalar(0.5) + Scalar(i % 7) / Scalar(8);
    return w;
}

template <class Scalar>
Batch<Scalar> random_block(index_t rows, index_t cols) {
    return Batch<Scalar>::Random(rows, cols);
}

template <class M>
double matrix_bytes(const M& A) {
    using S = typename M::Scalar;
    using I = typename M::StorageIndex;
    return static_cast<double>(A.nonZeros()) * static_cast<double>(sizeof(S) + sizeof(I)) +
           static_cast<double>(A.outerSize() + 1) * static_cast<double>(sizeof(I));
}

void floor_ratio(benchmark::State& state, const char* floor, const char* label, double bytes, double t) {
    const auto it = floors.find(floor);
    if (it != floors.end()) state.counters[label] = t / (bytes / it->second);
}

// ---- build ----------------------------------------------------------------------------------

template <class Scalar>
void build(benchmark::State& state, ConvSpec spec, std::string growth_key) {
    const ConvGeometry G(spec);
    const std::vector<Scalar> w = weights<Scalar>(spec.weight_numel());
    (void)G.structural_nnz();  // the tap tables, built once per geometry
    double bytes = 0, nnz = 0;
    const double t = timed(state, [&] {
        const auto M = conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(G, w);
        bytes = matrix_bytes(M);
        nnz = static_cast<double>(M.nonZeros());
    });
    state.counters["nnz"] = nnz;
    state.counters["GB/s"] = bytes / t / 1e9;
    floor_ratio(state, "write_huge", "x_write_huge", bytes, t);
    floor_ratio(state, "write_4k", "x_write_4k", bytes, t);
    if (!growth_key.empty()) growth[growth_key].emplace_back(nnz, t);
}

// ---- apply ----------------------------------------------------------------------------------

/// The 8 -> 8 channel, 3x3, 512^2 conv (the 1.8 GB W), or a 16^2 one with --tiny.
ConvSpec big_conv() {
    const index_t n = tiny ? 16 : 512;
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    return make_conv({8, n, n}, {8, 8, 3, 3}, o);
}

/// The transposed conv 8 -> 8, 3x3, stride 2 from 256^2 to 512^2 (T has 37.6 M entries).
ConvSpec big_transpose() {
    const index_t n = tiny ? 8 : 256;
    ConvTransposeOptions o;
    o.stride = {2};
    o.padding = Padding::symmetric({1});
    o.output_padding = Dims{1};
    return make_conv_transpose({8, n, n}, {8, 8, 3, 3}, o);
}

template <class Scalar, int Order>
void apply(benchmark::State& state, ConvSpec spec, bool transpose, index_t columns, bool eigen, std::string growth_key) {
    const std::vector<Scalar> w = weights<Scalar>(spec.weight_numel());
    const auto M = operator_matrix<Scalar, Order, std::int32_t>(spec, w);
    const index_t in = transpose ? M.rows() : M.cols(), out = transpose ? M.cols() : M.rows();
    const Batch<Scalar> x = random_block<Scalar>(in, columns);
    Batch<Scalar> y(out, columns);
    const double t = timed(state, [&] {
        if (eigen) {
            if (transpose) y.noalias() = M.transpose() * x;
            else y.noalias() = M * x;
        } else {
            spmv(M, transpose, x, y);
        }
        benchmark::DoNotOptimize(y.data());
    });
    const double bytes = matrix_bytes(M) + static_cast<double>((in + out) * columns) * sizeof(Scalar);
    state.counters["nnz"] = static_cast<double>(M.nonZeros());
    state.counters["GB/s"] = bytes / t / 1e9;
    floor_ratio(state, "read", "x_read", bytes, t);
    if (!growth_key.empty()) growth[growth_key].emplace_back(static_cast<double>(M.nonZeros()), t);
}

// ---- matrix-free ------------------------------------------------------------------------------

template <class Scalar>
void matrix_free(benchmark::State& state, Workload wl, bool transposed) {
    const ConvSpec spec = transposed ? transpose_of(wl) : conv_of(wl);
    const std::vector<Scalar> w = weights<Scalar>(spec.weight_numel());
    const Batch<Scalar> x = random_block<Scalar>(spec.input_numel(), wl.batch);
    Batch<Scalar> y(spec.output_numel(), wl.batch);
    const double t = timed(state, [&] {
        if (transposed) conv_transpose_scatter<Scalar>(spec, w, x, y);
        else conv_direct<Scalar>(spec, w, x, y);
        benchmark::DoNotOptimize(y.data());
    });
    // Multiply-adds of the conv: batch * C_out * prod(m) * C_in/G * prod(k), the same for its transpose.
    const ConvSpec conv = conv_of(wl);
    const double macs = static_cast<double>(wl.batch) * static_cast<double>(conv.output_numel()) *
                        static_cast<double>(conv.weight_numel()) / static_cast<double>(wl.out_ch);
    state.counters["GFLOP/s"] = 2 * macs / t / 1e9;
}

const char* scalar_name(float) { return "float32"; }
const char* scalar_name(double) { return "float64"; }

template <class Scalar>
void register_all_scalar() {
    const std::string sn = scalar_name(Scalar());
    auto reg = [](const std::string& name, auto fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(iterations())->UseManualTime()->Unit(
            benchmark::kMillisecond);
    };
    for (const auto& wl : workloads()) {
        if (std::string("ABC").find(wl.name) == std::string::npos) continue;
        reg("build/" + std::string(wl.name) + "/" + sn,
            [wl](benchmark::State& s) { build<Scalar>(s, conv_of(wl), ""); });
    }
    reg("build/big_8x8_512/" + sn, [](benchmark::State& s) { build<Scalar>(s, big_conv(), ""); });
    for (index_t cols : {index_t(1), index_t(8)}) {
        const std::string c = "/" + std::to_string(cols) + "/" + sn;
        reg("apply/Wx/row" + c, [cols](benchmark::State& s) { apply<Scalar, Eigen::RowMajor>(s, big_conv(), false, cols, false, ""); });
        reg("apply/WTy/row" + c, [cols](benchmark::State& s) { apply<Scalar, Eigen::RowMajor>(s, big_conv(), true, cols, false, ""); });
        reg("apply/Wx/col" + c, [cols](benchmark::State& s) { apply<Scalar, Eigen::ColMajor>(s, big_conv(), false, cols, false, ""); });
        reg("apply/WTy/col" + c, [cols](benchmark::State& s) { apply<Scalar, Eigen::ColMajor>(s, big_conv(), true, cols, false, ""); });
        reg("apply/Ty/row" + c, [cols](benchmark::State& s) { apply<Scalar, Eigen::RowMajor>(s, big_transpose(), false, cols, false, ""); });
    }
    reg("eigen/Wx/row/1/" + sn, [](benchmark::State& s) { apply<Scalar, Eigen::RowMajor>(s, big_conv(), false, 1, true, ""); });
    reg("eigen/WTy/row/1/" + sn, [](benchmark::State& s) { apply<Scalar, Eigen::RowMajor>(s, big_conv(), true, 1, true, ""); });
    for (const auto& wl : workloads()) {
        reg("conv/" + std::string(wl.name) + "/" + sn, [wl](benchmark::State& s) { matrix_free<Scalar>(s, wl, false); });
        reg("conv_transpose/" + std::string(wl.name) + "/" + sn,
            [wl](benchmark::State& s) { matrix_free<Scalar>(s, wl, true); });
    }
}

void register_growth() {
    const std::vector<index_t> sizes = tiny ? std::vector<index_t>{16, 32, 64, 128} : std::vector<index_t>{256, 512, 1024, 2048};
    for (index_t n : sizes) {
        Workload a{"A", 1, 1, 1, {n, n}, 5, 1, 2, 0};
        benchmark::RegisterBenchmark(("growth/build/" + std::to_string(n)).c_str(),
                                     [a](benchmark::State& s) { build<double>(s, conv_of(a), "build"); })
            ->Iterations(iterations())->UseManualTime()->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("growth/apply/" + std::to_string(n)).c_str(), [a](benchmark::State& s) {
            apply<double, Eigen::RowMajor>(s, conv_of(a), false, 1, false, "apply");
        })->Iterations(iterations())->UseManualTime()->Unit(benchmark::kMillisecond);
    }
}

/// Least-squares slope of log(seconds) against log(nnz).
double exponent(const std::vector<std::pair<double, double>>& pts) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const double n = static_cast<double>(pts.size());
    for (const auto& [x, y] : pts) {
        const double lx = std::log(x), ly = std::log(y);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--tiny") == 0) tiny = true;
        else if (std::strcmp(argv[i], "--cpu-time") == 0) cpu_time = true;
        else args.push_back(argv[i]);
    }
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
    auto reg_floor = [](const char* name, auto fn) {
        benchmark::RegisterBenchmark(name, fn)->Iterations(iterations())->UseManualTime()->Unit(benchmark::kMillisecond);
    };
    reg_floor("floor/write_4k", [](benchmark::State& s) { write_floor(s, false); });
    reg_floor("floor/write_huge", [](benchmark::State& s) { write_floor(s, true); });
    reg_floor("floor/read", read_floor);
    register_all_scalar<double>();
    register_all_scalar<float>();
    register_growth();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    for (const auto& [name, pts] : growth)
        if (pts.size() >= 2)
            std::printf("growth exponent of %s time against nnz over %zu sizes of A: %.3f\n", name.c_str(), pts.size(),
                        exponent(pts));
    return 0;
}
