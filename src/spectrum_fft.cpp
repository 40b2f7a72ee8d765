// The block-circulant path of spectrum.hpp: W of a circular convolution with m s = n is unitarily
// equivalent to the block-diagonal matrix of A(f), one C_out x (C_in prod(s)) block per frequency
// f of the output grid (per group a (C_out/G) x (C_in/G prod(s)) block). Sedghi, Gupta & Long,
// ICLR 2019, for stride 1; the polyphase split (t d - p_lo) = a(t) s + phase(t) for stride s.
#include "convmtx/detail/spectrum_fft.hpp"

#include "convmtx/detail/lapack_svd.hpp"

#include <atomic>
#include <cmath>
#include <complex>
#include <exception>
#include <limits>
#include <sstream>

#include <Eigen/Dense>
#include <unsupported/Eigen/FFT>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace convmtx::detail {

namespace {

using cd = std::complex<double>;
constexpr double kEps = std::numeric_limits<double>::epsilon();

index_t floor_div(index_t a, index_t b) {
    const index_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
index_t mod(index_t a, index_t b) { return a - floor_div(a, b) * b; }

/// Per dimension: each tap's phase (t d - p_lo) mod s and block shift floor((t d - p_lo) / s).
struct TapSplit {
    std::array<std::vector<index_t>, 3> phase, shift;
};

TapSplit split_taps(const CirculantConv& c) {
    TapSplit t;
    for (int j = 0; j < 3; ++j)
        for (index_t tap = 0; tap < c.k[j]; ++tap) {
            const index_t off = tap * c.d[j] - c.pl[j];
            t.phase[j].push_back(mod(off, c.s[j]));
            t.shift[j].push_back(floor_div(off, c.s[j]));
        }
    return t;
}

/// E_j[f][t] = exp(2 pi i f shift_j(t) / m_j), the exponent reduced modulo m_j in integers first.
std::array<std::vector<cd>, 3> twiddles(const CirculantConv& c, const TapSplit& ts) {
    std::array<std::vector<cd>, 3> E;
    for (int j = 0; j < 3; ++j) {
        const index_t m = c.m[j], k = c.k[j];
        E[j].resize(static_cast<size_t>(m * k));
        for (index_t f = 0; f < m; ++f)
            for (index_t t = 0; t < k; ++t) {
                const auto r = static_cast<index_t>((static_cast<__int128>(f) * ts.shift[j][static_cast<size_t>(t)]) % m);
                const index_t e = r < 0 ? r + m : r;
                E[j][static_cast<size_t>(f * k + t)] = std::polar(1.0, 2 * M_PI * static_cast<double>(e) / static_cast<double>(m));
            }
    }
    return E;
}

/// Frequency f (flat, C order over m) -> its conjugate -f mod m.
index_t conjugate(const CirculantConv& c, index_t f) {
    const index_t f2 = f % c.m[2], f1 = (f / c.m[2]) % c.m[1], f0 = f / (c.m[2] * c.m[1]);
    const index_t g0 = (c.m[0] - f0) % c.m[0], g1 = (c.m[1] - f1) % c.m[1], g2 = (c.m[2] - f2) % c.m[2];
    return (g0 * c.m[1] + g1) * c.m[2] + g2;
}

/// Unscaled inverse DFT (sum_a h[a] exp(+2 pi i f a / m)) along each axis of a C-order (m0, m1, m2) array.
void inverse_dft_3d(std::vector<cd>& h, const CirculantConv& c, Eigen::FFT<double>& fft) {
    std::vector<cd> in, out;
    const index_t M[3] = {c.m[0], c.m[1], c.m[2]};
    for (int axis = 0; axis < 3; ++axis) {
        const index_t len = M[axis];
        if (len == 1) continue;
        const index_t stride = axis == 2 ? 1 : axis == 1 ? M[2] : M[1] * M[2];
        const index_t outer = (M[0] * M[1] * M[2]) / len;
        in.resize(static_cast<size_t>(len));
        for (index_t line = 0; line < outer; ++line) {
            const index_t base = (line / stride) * stride * len + line % stride;
            for (index_t a = 0; a < len; ++a) in[static_cast<size_t>(a)] = h[static_cast<size_t>(base + a * stride)];
            fft.inv(out, in);
            for (index_t a = 0; a < len; ++a) h[static_cast<size_t>(base + a * stride)] = out[static_cast<size_t>(a)];
        }
    }
}

double bytes_of(double count, double size) { return count * size; }

}  // namespace

Dims CirculantConv::frequency_shape() const { return Dims(m.begin() + (3 - rank), m.end()); }

std::string circulant_obstacle(const ConvGeometry& G) {
    for (int j = 0; j < G.rank(); ++j) {
        const DimGeometry& g = G.dim(j);
        std::ostringstream os;
        if (g.output_size * g.stride != g.input_size) {
            os << "dimension " << j << ": output size " << g.output_size << " x stride " << g.stride << " = "
               << g.output_size * g.stride << " differs from the input size " << g.input_size
               << " (W is block-circulant only when output size x stride = input size)";
            return os.str();
        }
        const bool inside =
            g.padding_lo == 0 && (g.output_size - 1) * g.stride + (g.kernel_size - 1) * g.dilation <= g.input_size - 1;
        if (g.padding_mode != PaddingMode::circular && !inside) {
            os << "dimension " << j << ": padding_mode='" << to_string(g.padding_mode)
               << "' and taps read the padding (W is block-circulant only for circular padding)";
            return os.str();
        }
    }
    return {};
}

CirculantConv circulant_of(const ConvGeometry& G) {
    CirculantConv c;
    c.rank = G.rank();
    const int off = 3 - c.rank;
    for (int j = 0; j < c.rank; ++j) {
        const DimGeometry& g = G.dim(j);
        const auto J = static_cast<size_t>(off + j);
        c.n[J] = g.input_size;
        c.m[J] = g.output_size;
        c.k[J] = g.kernel_size;
        c.s[J] = g.stride;
        c.d[J] = g.dilation;
        c.pl[J] = g.padding_lo;
    }
    c.out_channels = G.conv_out_channels();
    c.in_channels = G.conv_in_channels();
    c.groups = G.groups();
    return c;
}

CirculantConv circulant_embedding(const ConvGeometry& G) {
    CirculantConv c = circulant_of(G);
    const int off = 3 - c.rank;
    for (int j = 0; j < c.rank; ++j) {
        const DimGeometry& g = G.dim(j);
        const auto J = static_cast<size_t>(off + j);
        // Positions read: q s - p_lo + t d in [-p_lo, (m-1)s - p_lo + (k-1)d]. Those below 0 must wrap
        // into the zeros at [n, L) (L >= n + p_lo), those from n on must not wrap (L above the last).
        index_t L = std::max({g.input_size + g.padding_lo,
                              (g.output_size - 1) * g.stride - g.padding_lo + (g.kernel_size - 1) * g.dilation + 1,
                              g.output_size * g.stride});
        L = (L + g.stride - 1) / g.stride * g.stride;
        c.n[J] = L;
        c.m[J] = L / g.stride;
    }
    return c;
}

double circulant_margin(const CirculantConv& c, const double* weight) {
    const index_t numel = c.out_channels * (c.in_channels / c.groups) * c.kernel_volume();
    double abs_sum = 0;
    for (index_t i = 0; i < numel; ++i) abs_sum += std::abs(weight[i]);
    const double F = static_cast<double>(c.frequencies());
    const double terms = static_cast<double>(c.kernel_volume()) + 2.0 * c.rank + 2 + 5 * std::log2(F + 1) +
                         8.0 * static_cast<double>(std::max(c.block_rows(), c.block_cols())) + 10;
    // Every block entry is a sum of at most prod(k) terms |w| |e|, so ||A(f)||_F <= sum |w|.
    return terms * kEps * abs_sum * (1 + 1e-6);
}

FftCost fft_cost(const CirculantConv& c, bool all_values, bool want_map) {
    const double F = static_cast<double>(c.frequencies()), G = static_cast<double>(c.groups);
    const double R = static_cast<double>(c.block_rows()), Cc = static_cast<double>(c.block_cols());
    const double b = static_cast<double>(c.block_values()), K = static_cast<double>(c.kernel_volume());
    const double nc = F / 2 + 1;  // the canonical frequencies
    FftCost cost;
    // Per canonical frequency and group: the block's entries (K taps each) and its SVD, whose Jacobi
    // sweeps grow with the block; 60 units of bookkeeping per frequency (measured: about 6e7 units
    // a second on one core).
    cost.work = nc * (G * (R * Cc * (K / std::max(1.0, static_cast<double>(c.phases())) + b * std::max(1.0, b / 16))) + 60);
    cost.bytes = 16 * nc + (all_values ? 8 * F * G * b : 0) + (want_map ? 8 * F : 0);
    return cost;
}

BlockSpectrum circulant_singular_values(const CirculantConv& c, const double* weight, bool all_values, bool want_map,
                                        double memory_limit, const SpectrumCallback& progress) {
    const index_t F = c.frequencies(), S = c.phases(), K = c.kernel_volume(), G = c.groups;
    const index_t R = c.block_rows(), cin_g = c.in_channels / G, Cc = c.block_cols(), b = c.block_values();
    // Memory, checked before anything of the size of the frequency grid is allocated.
    {
        const FftCost cost = fft_cost(c, all_values, want_map);
        if (cost.bytes > memory_limit) {
            std::ostringstream os;
            os << "the FFT path needs " << format_bytes(cost.bytes) << " for " << F << " frequencies ("
               << (all_values ? F * G * b : F) << (all_values ? " singular values" : " blocks")
               << (want_map ? " and the frequency map" : "") << "), over the memory limit of " << format_bytes(memory_limit)
               << "; ask for k values (lanczos) or raise memory_limit";
            throw memory_limit_error(os.str(), cost.bytes, memory_limit);
        }
    }
    const TapSplit ts = split_taps(c);

    // The canonical frequencies: f with f <= -f; the conjugate block has the same singular values.
    std::vector<index_t> canon;
    std::vector<index_t> offset;  // first value slot of canon[i]
    {
        index_t slots = 0;
        for (index_t f = 0; f < F; ++f) {
            const index_t g = conjugate(c, f);
            if (f > g) continue;
            canon.push_back(f);
            offset.push_back(slots);
            slots += (f == g ? 1 : 2);
        }
    }
    const index_t nc = static_cast<index_t>(canon.size());

    // FFT assembly (all lines (o, c', phase) at once) pays off for large kernels: about 5 log2(F)
    // operations per frequency and line, against prod(k) / prod(s) for the direct sums.
    const double lines = static_cast<double>(c.out_channels) * static_cast<double>(cin_g) * static_cast<double>(S);
    const double tensor_bytes = bytes_of(lines * static_cast<double>(F), sizeof(cd));
    const double value_bytes = all_values ? bytes_of(static_cast<double>(F) * static_cast<double>(G * b), 8) : 0;
    const double map_bytes = want_map ? bytes_of(static_cast<double>(F), 8) : 0;
    const bool use_fft = static_cast<double>(K) > 2.0 * static_cast<double>(S) * std::max(1.0, std::log2(static_cast<double>(F))) &&
                         tensor_bytes + value_bytes + map_bytes <= 0.5 * memory_limit;
    const double need = value_bytes + map_bytes + (use_fft ? tensor_bytes : 0);
    if (need > memory_limit) {
        std::ostringstream os;
        os << "the FFT path needs " << format_bytes(need) << " for " << F * G * b << " singular values"
           << (want_map ? " and the frequency map" : "") << ", over the memory limit of " << format_bytes(memory_limit)
           << "; ask for k values (lanczos) or raise memory_limit";
        throw memory_limit_error(os.str(), need, memory_limit);
    }

    BlockSpectrum out;
    out.fft = use_fft;
    out.computed = nc;
    if (all_values) out.values.assign(static_cast<size_t>(F * G * b), 0.0);
    if (want_map) out.frequency_max.assign(static_cast<size_t>(F), 0.0);

    // Per group and tap, the (C_out/G) x (C_in/G) slice of the weight.
    std::vector<Eigen::MatrixXd> slices;
    std::vector<cd> tensor;  // use_fft: [f][line], line = ((g R + o) cin_g + c') S + phase
    std::array<std::vector<cd>, 3> E;
    std::vector<index_t> tap_phase(static_cast<size_t>(K));
    for (index_t t = 0; t < K; ++t) {
        const index_t t2 = t % c.k[2], t1 = (t / c.k[2]) % c.k[1], t0 = t / (c.k[2] * c.k[1]);
        tap_phase[static_cast<size_t>(t)] = (ts.phase[0][static_cast<size_t>(t0)] * c.s[1] + ts.phase[1][static_cast<size_t>(t1)]) * c.s[2] +
                                            ts.phase[2][static_cast<size_t>(t2)];
    }
    if (use_fft) {
        tensor.assign(static_cast<size_t>(lines) * static_cast<size_t>(F), cd(0, 0));
        Eigen::FFT<double> fft;
        fft.SetFlag(Eigen::FFT<double>::Unscaled);
        std::vector<cd> h(static_cast<size_t>(F));
        const auto L = static_cast<index_t>(lines);
        for (index_t line = 0; line < L; ++line) {
            const index_t phase = line % S, cc = (line / S) % cin_g, o = line / (S * cin_g);
            std::fill(h.begin(), h.end(), cd(0, 0));
            bool any = false;
            for (index_t t = 0; t < K; ++t) {
                if (tap_phase[static_cast<size_t>(t)] != phase) continue;
                const index_t t2 = t % c.k[2], t1 = (t / c.k[2]) % c.k[1], t0 = t / (c.k[2] * c.k[1]);
                const index_t a0 = mod(ts.shift[0][static_cast<size_t>(t0)], c.m[0]);
                const index_t a1 = mod(ts.shift[1][static_cast<size_t>(t1)], c.m[1]);
                const index_t a2 = mod(ts.shift[2][static_cast<size_t>(t2)], c.m[2]);
                h[static_cast<size_t>((a0 * c.m[1] + a1) * c.m[2] + a2)] += weight[(o * cin_g + cc) * K + t];
                any = true;
            }
            if (!any) continue;
            inverse_dft_3d(h, c, fft);
            for (index_t f = 0; f < F; ++f) tensor[static_cast<size_t>(f * L + line)] = h[static_cast<size_t>(f)];
        }
    } else {
        E = twiddles(c, ts);
        slices.resize(static_cast<size_t>(G * K));
        for (index_t g = 0; g < G; ++g)
            for (index_t t = 0; t < K; ++t) {
                Eigen::MatrixXd& Wt = slices[static_cast<size_t>(g * K + t)];
                Wt.resize(R, cin_g);
                for (index_t o = 0; o < R; ++o)
                    for (index_t cc = 0; cc < cin_g; ++cc) Wt(o, cc) = weight[((g * R + o) * cin_g + cc) * K + t];
            }
    }

    std::atomic<index_t> done{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    double sigma_max = 0;
#pragma omp parallel
    {
        Eigen::MatrixXcd A(R, Cc), gram;
        LapackSvd svd;
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd> eig;
        double local_max = 0;
        bool master = true;
#ifdef _OPENMP
        master = omp_get_thread_num() == 0;
#endif
#pragma omp for schedule(dynamic, 8)
        for (index_t ci = 0; ci < nc; ++ci) {
            if (failed.load(std::memory_order_relaxed)) continue;
            try {
                const index_t f = canon[static_cast<size_t>(ci)], fc = conjugate(c, f);
                const index_t f2 = f % c.m[2], f1 = (f / c.m[2]) % c.m[1], f0 = f / (c.m[2] * c.m[1]);
                double fmax = 0;
                for (index_t g = 0; g < G; ++g) {
                    if (use_fft) {
                        const cd* src = tensor.data() + static_cast<size_t>(f) * static_cast<size_t>(lines) +
                                        static_cast<size_t>(g * R * Cc);
                        A = Eigen::Map<const Eigen::Matrix<cd, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(src, R, Cc);
                    } else {
                        A.setZero();
                        for (index_t t = 0; t < K; ++t) {
                            const index_t t2 = t % c.k[2], t1 = (t / c.k[2]) % c.k[1], t0 = t / (c.k[2] * c.k[1]);
                            const cd e = E[0][static_cast<size_t>(f0 * c.k[0] + t0)] * E[1][static_cast<size_t>(f1 * c.k[1] + t1)] *
                                         E[2][static_cast<size_t>(f2 * c.k[2] + t2)];
                            const Eigen::MatrixXd& Wt = slices[static_cast<size_t>(g * K + t)];
                            const index_t ph = tap_phase[static_cast<size_t>(t)];
                            for (index_t cc = 0; cc < cin_g; ++cc) {
                                auto col = A.col(cc * S + ph);
                                col.real() += e.real() * Wt.col(cc);
                                col.imag() += e.imag() * Wt.col(cc);
                            }
                        }
                    }
                    double block_max = 0;
                    if (b == 1) {
                        block_max = A.norm();
                        if (all_values) {
                            const auto slot = static_cast<size_t>(offset[static_cast<size_t>(ci)] * G * b + g);
                            out.values[slot] = block_max;
                            if (fc != f) out.values[slot + static_cast<size_t>(G * b)] = block_max;
                        }
                    } else if (all_values) {
                        const Eigen::VectorXd& sv = svd.values(A);
                        block_max = sv(0);
                        const auto slot = static_cast<size_t>((offset[static_cast<size_t>(ci)] * G + g) * b);
                        for (index_t i = 0; i < b; ++i) out.values[slot + static_cast<size_t>(i)] = sv(i);
                        if (fc != f)
                            for (index_t i = 0; i < b; ++i)
                                out.values[slot + static_cast<size_t>(G * b + i)] = sv(i);
                    } else {
                        if (R <= Cc) gram.noalias() = A * A.adjoint();
                        else gram.noalias() = A.adjoint() * A;
                        eig.compute(gram, Eigen::EigenvaluesOnly);
                        block_max = std::sqrt(std::max(0.0, eig.eigenvalues().maxCoeff()));
                    }
                    fmax = std::max(fmax, block_max);
                }
                if (want_map) {
                    out.frequency_max[static_cast<size_t>(f)] = fmax;
                    out.frequency_max[static_cast<size_t>(fc)] = fmax;
                }
                local_max = std::max(local_max, fmax);
                const index_t now = ++done;
                if (master && progress && (now % 64 == 0 || now == nc)) progress({"frequencies", now, nc});
            } catch (...) {
#pragma omp critical(convmtx_spectrum_error)
                if (!error) error = std::current_exception();
                failed = true;
            }
        }
#pragma omp critical(convmtx_spectrum_max)
        sigma_max = std::max(sigma_max, local_max);
    }
    if (error) std::rethrow_exception(error);
    if (progress) progress({"frequencies", nc, nc});
    out.sigma_max = sigma_max;
    return out;
}

double schur_bound(const ConvGeometry& G, const double* weight) {
    const int r = G.rank();
    const index_t K = G.kernel_volume(), cin_g = G.in_per_group(), cout_g = G.out_per_group();
    const index_t cout = G.conv_out_channels(), cin = G.conv_in_channels();
    // Per dimension and tap: the most outputs q whose tap t lands on one input i.
    std::vector<std::vector<double>> count(static_cast<size_t>(r));
    for (int j = 0; j < r; ++j) {
        const TapTable& tab = G.input_taps(j);
        const index_t k = G.dim(j).kernel_size;
        std::vector<index_t> local(static_cast<size_t>(k), 0), best(static_cast<size_t>(k), 0);
        for (index_t i = 0; i < tab.positions(); ++i) {
            for (index_t grp = tab.begin(i); grp < tab.end(i); ++grp)
                for (index_t y = tab.tap_offsets[static_cast<size_t>(grp)]; y < tab.tap_offsets[static_cast<size_t>(grp + 1)]; ++y)
                    ++local[static_cast<size_t>(tab.taps[static_cast<size_t>(y)])];
            for (index_t t = 0; t < k; ++t) {
                best[static_cast<size_t>(t)] = std::max(best[static_cast<size_t>(t)], local[static_cast<size_t>(t)]);
                local[static_cast<size_t>(t)] = 0;
            }
        }
        count[static_cast<size_t>(j)].assign(best.begin(), best.end());
    }
    std::vector<double> tap_count(static_cast<size_t>(K), 1.0);
    for (index_t t = 0; t < K; ++t) {
        index_t rem = t;
        for (int j = r - 1; j >= 0; --j) {
            const index_t k = G.dim(j).kernel_size;
            tap_count[static_cast<size_t>(t)] *= count[static_cast<size_t>(j)][static_cast<size_t>(rem % k)];
            rem /= k;
        }
    }
    double row = 0;
    std::vector<double> col(static_cast<size_t>(cin), 0.0);
    for (index_t o = 0; o < cout; ++o) {
        double rs = 0;
        const index_t g = o / cout_g;
        for (index_t cc = 0; cc < cin_g; ++cc) {
            double cs = 0;
            for (index_t t = 0; t < K; ++t) {
                const double a = std::abs(weight[(o * cin_g + cc) * K + t]);
                rs += a;
                cs += a * tap_count[static_cast<size_t>(t)];
            }
            col[static_cast<size_t>(g * cin_g + cc)] += cs;
        }
        row = std::max(row, rs);
    }
    const double colmax = col.empty() ? 0 : *std::max_element(col.begin(), col.end());
    const double terms = static_cast<double>(K) * static_cast<double>(std::max(cin_g, cout)) + 8;
    return std::sqrt(row * colmax) * (1 + 2 * terms * kEps);
}

}  // namespace convmtx::detail
