// Measures, in its own process, the peak resident memory a build of W or T adds, and compares it
// with the estimate the builder checks against its memory limit (build_bytes): exit status 1 when
// the peak exceeds `--max-ratio` (default 1.2) times the estimate. Run by ctest (build_rss_*).
//   build_rss --size 512 --channels 8 --kernel 3 [--float] [--int64] [--transpose] [--colmajor]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "convmtx/builder.hpp"

namespace {

/// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
double status_bytes(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string key = std::string(field) + ":";
    while (std::getline(in, line))
        if (line.compare(0, key.size(), key) == 0) return std::atof(line.c_str() + key.size()) * 1024.0;
    return -1;
}

template <class Scalar, class Index>
int run(const convmtx::ConvSpec& spec, bool transpose, bool colmajor, double max_ratio) {
    using namespace convmtx;
    const std::vector<Scalar> w(static_cast<size_t>(spec.weight_numel()), Scalar(1));
    const ConvGeometry G(spec);
    (void)G.structural_nnz();  // the tables exist before the baseline: they are counted separately
    const bool outer_rows = transpose == colmajor;
    const double estimate = build_bytes(G, sizeof(Scalar), sizeof(Index), outer_rows ? G.rows() : G.cols());
    const double before = status_bytes("VmRSS");
    long long nnz = 0;
    if (colmajor) {
        const auto M = transpose ? conv_transpose_matrix<Scalar, Eigen::ColMajor, Index>(G, w)
                                 : conv_matrix<Scalar, Eigen::ColMajor, Index>(G, w);
        nnz = M.nonZeros();
    } else {
        const auto M = transpose ? conv_transpose_matrix<Scalar, Eigen::RowMajor, Index>(G, w)
                                 : conv_matrix<Scalar, Eigen::RowMajor, Index>(G, w);
        nnz = M.nonZeros();
    }
    const double peak = status_bytes("VmHWM");
    const double grown = peak - before;
    const double ratio = grown / estimate;
    std::printf("%s %s: %lld entries, estimate %.1f MB, peak RSS growth %.1f MB, ratio %.3f (limit %.2f)\n",
                spec.describe().c_str(), transpose ? "T" : "W", nnz, estimate / 1e6, grown / 1e6, ratio, max_ratio);
    return ratio <= max_ratio ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    long long size = 256, channels = 4, kernel = 3;
    bool single = false, int64 = false, transpose = false, colmajor = false;
    double max_ratio = 1.2;
    for (int a = 1; a < argc; ++a) {
        const std::string f = argv[a];
        auto value = [&]() -> long long {
            if (a + 1 >= argc) {
                std::fprintf(stderr, "build_rss: %s needs a value\n", f.c_str());
                std::exit(2);
            }
            return std::atoll(argv[++a]);
        };
        if (f == "--size") size = value();
        else if (f == "--channels") channels = value();
        else if (f == "--kernel") kernel = value();
        else if (f == "--max-ratio") max_ratio = static_cast<double>(value()) / 100.0;
        else if (f == "--float") single = true;
        else if (f == "--int64") int64 = true;
        else if (f == "--transpose") transpose = true;
        else if (f == "--colmajor") colmajor = true;
        else {
            std::fprintf(stderr, "build_rss: unknown option %s\n", f.c_str());
            return 2;
        }
    }
    convmtx::ConvOptions o;
    o.padding = convmtx::Padding::symmetric({kernel / 2});
    const auto spec = convmtx::make_conv({channels, size, size}, {channels, channels, kernel, kernel}, o);
    if (single) return int64 ? run<float, std::int64_t>(spec, transpose, colmajor, max_ratio)
                             : run<float, std::int32_t>(spec, transpose, colmajor, max_ratio);
    return int64 ? run<double, std::int64_t>(spec, transpose, colmajor, max_ratio)
                 : run<double, std::int32_t>(spec, transpose, colmajor, max_ratio);
}
