// Benchmark of the iterative solvers (Google Benchmark): the time of one LSQR iteration and
// one CGLS iteration against the time of one W x plus one W^T y on the same explicit W, a
// single-channel 'same'-padded conv of an N x N image with a K x K kernel (default 512, 5).
// An iteration's time is measured between the callbacks of iterations 1 and 1 + S (S = 20),
// so the setup (A^T b, the final residual) is left out; after each solve, product pairs are
// timed too and the ratio is the counter per_products (median of 5 repetitions). Times are the
// process's CPU time (all threads), which other jobs on a shared machine disturb less than the
// wall time.
//
// Usage: bench_solvers [--size N] [--kernel K] [--benchmark_* flags]
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <convmtx/convmtx.hpp>

using namespace convmtx;

namespace {

constexpr index_t kSteps = 20;

/// CPU time of the process (every thread) in seconds.
double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Problem {
    std::shared_ptr<SparseOperator<double>> W;
    Vector<double> x, y, b, z;  // W x -> y, W^T b -> z; allocated and touched once (page faults are slow in a VM)
};

Problem& problem() {
    static Problem p;
    return p;
}

void make_problem(index_t n, index_t k) {
    ConvOptions o;
    o.padding = Padding::sides({(k - 1) / 2, (k - 1) / 2}, {k / 2, k / 2});
    const ConvSpec spec = make_conv({1, n, n}, {1, 1, k, k}, o);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> w(static_cast<size_t>(k * k));
    for (auto& v : w) v = u(rng) / static_cast<double>(k * k);
    Problem& p = problem();
    p.W = make_matrix_operator<double>(spec, w);
    p.x = Vector<double>::NullaryExpr(p.W->model_size(), [&] { return u(rng); });
    p.y = Vector<double>::Zero(p.W->data_size());
    p.b = Vector<double>::NullaryExpr(p.W->data_size(), [&] { return u(rng); });
    p.z = Vector<double>::Zero(p.W->model_size());
}

/// The CPU time of one W x plus one W^T y, the mean of `count` pairs.
double product_seconds(index_t count) {
    Problem& p = problem();
    const double t0 = cpu_seconds();
    for (index_t i = 0; i < count; ++i) {
        p.W->apply(p.x, p.y);
        p.W->apply_adjoint(p.b, p.z);
        benchmark::DoNotOptimize(p.y.data());
        benchmark::DoNotOptimize(p.z.data());
        benchmark::ClobberMemory();
    }
    return (cpu_seconds() - t0) / static_cast<double>(count);
}

void BM_products(benchmark::State& state) {
    for (auto _ : state) state.SetIterationTime(product_seconds(kSteps));
}

/// One iteration of `solve` (lsqr or cgls): the time from the callback of iteration 1 to the
/// callback of iteration 1 + kSteps, divided by kSteps. The counter "per_products" divides it by
/// the time of a product pair measured right after each solve, so that both see the same load.
template <SolveResult<double> (*Solve)(const LinearOperator<double>&, const Vector<double>&, const SolverOptions&)>
void BM_iteration(benchmark::State& state) {
    Problem& p = problem();
    SolverOptions o;
    o.atol = o.btol = 0;
    o.conlim = 0;
    o.iter_lim = kSteps + 1;
    double first = 0, last = 0;
    o.callback = [&](const IterationInfo& info) {
        if (info.iteration == 1) first = cpu_seconds();
        if (info.iteration == kSteps + 1) last = cpu_seconds();
        return true;
    };
    double ratios = 0;
    for (auto _ : state) {
        const SolveResult<double> r = Solve(*p.W, p.b, o);
        if (r.iterations != kSteps + 1) {
            state.SkipWithError(("stopped after " + std::to_string(r.iterations) + " iterations: " + r.reason()).c_str());
            break;
        }
        const double iteration = (last - first) / static_cast<double>(kSteps);
        state.SetIterationTime(iteration);
        ratios += iteration / product_seconds(kSteps);
    }
    state.counters["per_products"] = benchmark::Counter(ratios, benchmark::Counter::kAvgIterations);
}

}  // namespace

BENCHMARK(BM_products)->UseManualTime()->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_iteration<lsqr<double>>)->Name("BM_lsqr_iteration")->UseManualTime()->Iterations(3)
    ->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
BENCHMARK(BM_iteration<cgls<double>>)->Name("BM_cgls_iteration")->UseManualTime()->Iterations(3)
    ->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    index_t n = 512, k = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "--size" || a == "--kernel") && i + 1 < argc) {
            const long long v = std::atoll(argv[++i]);
            if (v < 1) {
                std::fprintf(stderr, "bench_solvers: %s=%s must be a positive integer\n", a.c_str(), argv[i]);
                return 2;
            }
            (a == "--size" ? n : k) = v;
        } else {
            std::fprintf(stderr, "bench_solvers: unknown argument '%s' (--size N, --kernel K, --benchmark_*)\n",
                         a.c_str());
            return 2;
        }
    }
    make_problem(n, k);
    std::printf("W: %lldx%lld, %lld entries (%lldx%lld image, %lldx%lld kernel)\n",
                static_cast<long long>(problem().W->data_size()), static_cast<long long>(problem().W->model_size()),
                static_cast<long long>(problem().W->matrix().nonZeros()), static_cast<long long>(n),
                static_cast<long long>(n), static_cast<long long>(k), static_cast<long long>(k));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
