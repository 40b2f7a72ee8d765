// Direct kernels, written from the index formulas. They share nothing with
// ConvGeometry or the builder but the ConvSpec (see kernels.hpp).
#include "convmtx/kernels.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>
#include <type_traits>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace convmtx {

namespace {

using A3 = std::array<index_t, 3>;

struct Dims3 {
    A3 n{1, 1, 1}, m{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pl{0, 0, 0}, ph{0, 0, 0}, a{0, 0, 0};
};

Dims3 to3(const ConvSpec& spec) {
    Dims3 r;
    const int off = 3 - spec.rank();
    const Dims n = spec.conv_input_size(), m = spec.conv_output_size();
    for (int j = 0; j < spec.rank(); ++j) {
        r.n[off + j] = n[j];
        r.m[off + j] = m[j];
        r.k[off + j] = spec.kernel_size[j];
        r.s[off + j] = spec.stride[j];
        r.d[off + j] = spec.dilation[j];
        r.pl[off + j] = spec.padding_lo[j];
        r.ph[off + j] = spec.padding_hi[j];
        r.a[off + j] = spec.output_padding[j];
    }
    return r;
}

index_t vol(const A3& v) { return v[0] * v[1] * v[2]; }

template <class Scalar>
void check_operands(const ConvSpec& spec, span<const Scalar> w, const Eigen::Ref<const Batch<Scalar>>& x,
                    const Eigen::Ref<Batch<Scalar>>& y, span<const Scalar> bias, const char* fn) {
    spec.validate();
    const std::string f(fn);
    check_size(w, spec.weight_numel(), f + ": weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    if (!bias.empty()) check_size(bias, spec.out_channels, f + ": bias", "out_channels");
    if (x.rows() != spec.input_numel())
        throw shape_error(f + ": input has " + std::to_string(x.rows()) +
                          " values per sample; the configuration needs " + std::to_string(spec.input_numel()) +
                          " = prod(" + to_string(spec.input_shape(), "x") + ")");
    if (y.rows() != spec.output_numel() || y.cols() != x.cols())
        throw shape_error(f + ": output is " + std::to_string(y.rows()) + " x " + std::to_string(y.cols()) +
                          "; the configuration needs " + std::to_string(spec.output_numel()) + " x " +
                          std::to_string(x.cols()) + " (output_numel x samples)");
}

// Source index of padded position p (0 <= p < n + pl + ph) for F.pad's modes; -1 for a zero.
index_t pad_source(index_t p, index_t n, index_t pl, PaddingMode mode) {
    index_t i = p - pl;
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case PaddingMode::zeros: return -1;
        case PaddingMode::replicate: return i < 0 ? 0 : n - 1;
        case PaddingMode::circular: return i < 0 ? i + n : i - n;
        case PaddingMode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;
    }
    return -1;
}

// ---- the line engine ------------------------------------------------------------------------
// Both fast kernels reduce to sums along the last dimension over contiguous runs:
//   out[o * out_cs + u] = sum_{c' < channels} sum_{k < taps} w[(c' * taps + k) * OB + o] * in[c' * in_cs + off[k] + u]
// for u < len and o < OB, a register tile of OB output channels by U vectors of positions.
// It is compiled for AVX-512, AVX2+FMA and SSE2 and picked at run time (CONVMTX_KERNEL_ISA=sse2,
// avx2 or avx512 restricts the choice, for testing every path).

constexpr index_t kTile = 128;       // the most positions one tile covers (16 floats x 8)
constexpr index_t kSlack = 2 * kTile;  // values past the end of an input buffer that a tile may read

template <class Scalar>
struct LineArgs {
    const Scalar* in = nullptr;
    index_t in_cs = 0, channels = 0;
    const index_t* off = nullptr;
    index_t taps = 0;
    const Scalar* w = nullptr;
    Scalar* out = nullptr;
    index_t out_cs = 0, len = 0;
};

template <class Scalar, int VB, int OB, int U>
__attribute__((always_inline)) inline void line_tiles(const LineArgs<Scalar>& a) {
    typedef Scalar vec __attribute__((vector_size(VB)));
    constexpr index_t V = VB / static_cast<int>(sizeof(Scalar)), T = V * U;
    for (index_t u0 = 0; u0 < a.len; u0 += T) {
        vec acc[OB][U];
#pragma GCC unroll 16
        for (int o = 0; o < OB; ++o)
#pragma GCC unroll 16
            for (int u = 0; u < U; ++u) acc[o][u] = vec{};
        const Scalar* wc = a.w;
        for (index_t c = 0; c < a.channels; ++c) {
            const Scalar* inc = a.in + c * a.in_cs + u0;
            for (index_t k = 0; k < a.taps; ++k, wc += OB) {
                const Scalar* src = inc + a.off[k];
                vec xv[U];
#pragma GCC unroll 16
                for (int u = 0; u < U; ++u) __builtin_memcpy(&xv[u], src + u * V, VB);
#pragma GCC unroll 16
                for (int o = 0; o < OB; ++o) {
                    const vec wb = vec{} + wc[o];
#pragma GCC unroll 16
                    for (int u = 0; u < U; ++u) acc[o][u] += wb * xv[u];
                }
            }
        }
        if (u0 + T <= a.len) {
#pragma GCC unroll 16
            for (int o = 0; o < OB; ++o)
#pragma GCC unroll 16
                for (int u = 0; u < U; ++u) __builtin_memcpy(a.out + o * a.out_cs + u0 + u * V, &acc[o][u], VB);
        } else {
            Scalar t[OB][T];
            __builtin_memcpy(t, acc, sizeof t);
            for (int o = 0; o < OB; ++o)
                for (index_t u = 0; u < a.len - u0; ++u) a.out[o * a.out_cs + u0 + u] = t[o][u];
        }
    }
}

template <class Scalar, int VB>
__attribute__((always_inline)) inline void run_block(const LineArgs<Scalar>& a, index_t ob) {
    constexpr int budget = VB == 64 ? 16 : 8;  // accumulator registers of 32 (AVX-512) or 16
    switch (ob) {
        case 8: line_tiles<Scalar, VB, 8, (budget / 8 > 0 ? budget / 8 : 1)>(a); break;
        case 4: line_tiles<Scalar, VB, 4, budget / 4>(a); break;
        case 2: line_tiles<Scalar, VB, 2, budget / 2>(a); break;
        default: line_tiles<Scalar, VB, 1, (VB == 64 ? 8 : 4)>(a); break;
    }
}

template <class Scalar>
using RunFn = void (*)(const LineArgs<Scalar>&, index_t);

#if defined(__GNUC__) && defined(__x86_64__)
#define CONVMTX_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi2")))
#define CONVMTX_AVX2 __attribute__((target("avx2,fma,bmi2")))
CONVMTX_AVX512 void run_avx512_d(const LineArgs<double>& a, index_t ob) { run_block<double, 64>(a, ob); }
CONVMTX_AVX512 void run_avx512_f(const LineArgs<float>& a, index_t ob) { run_block<float, 64>(a, ob); }
CONVMTX_AVX2 void run_avx2_d(const LineArgs<double>& a, index_t ob) { run_block<double, 32>(a, ob); }
CONVMTX_AVX2 void run_avx2_f(const LineArgs<float>& a, index_t ob) { run_block<float, 32>(a, ob); }
#undef CONVMTX_AVX512
#undef CONVMTX_AVX2
#endif
void run_base_d(const LineArgs<double>& a, index_t ob) { run_block<double, 16>(a, ob); }
void run_base_f(const LineArgs<float>& a, index_t ob) { run_block<float, 16>(a, ob); }

template <class Scalar>
struct Engine {
    RunFn<Scalar> fn;
    index_t max_block;  ///< output channels per tile
    void run(const LineArgs<Scalar>& a, index_t ob) const { fn(a, ob); }
};

enum class Isa { base, avx2, avx512 };

Isa kernel_isa() {
    static const Isa isa = [] {
        Isa best = Isa::base;
#if defined(__GNUC__) && defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::avx2;
        if (best == Isa::avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
            best = Isa::avx512;
#endif
        const char* want = std::getenv("CONVMTX_KERNEL_ISA");
        const std::string w = want ? want : "";
        if (w == "sse2" || w == "base") return Isa::base;
        if (w == "avx2" && best == Isa::avx512) return Isa::avx2;
        return best;
    }();
    return isa;
}

template <class Scalar>
const Engine<Scalar>& engine() {
    static const Engine<Scalar> e = [] {
        constexpr bool d = std::is_same_v<Scalar, double>;
        switch (kernel_isa()) {
#if defined(__GNUC__) && defined(__x86_64__)
            case Isa::avx512:
                if constexpr (d) return Engine<Scalar>{run_avx512_d, 8};
                else return Engine<Scalar>{run_avx512_f, 8};
            case Isa::avx2:
                if constexpr (d) return Engine<Scalar>{run_avx2_d, 4};
                else return Engine<Scalar>{run_avx2_f, 4};
#endif
            default: break;
        }
        if constexpr (d) return Engine<Scalar>{run_base_d, 4};
        else return Engine<Scalar>{run_base_f, 4};
    }();
    return e;
}

/// A run of output channels handled by one tile: [first, first + size), size 8, 4, 2 or 1.
struct Block {
    index_t first, size;
};

std::vector<Block> channel_blocks(index_t channels, index_t max_block) {
    std::vector<Block> out;
    index_t o = 0;
    for (index_t b = max_block; b >= 1; b /= 2)
        for (; channels - o >= b; o += b) out.push_back({o, b});
    return out;
}

/// Pieces to cut each of `lines` lines of `len` positions into, so that every thread has work.
index_t line_chunks(index_t lines, index_t len) {
#ifdef _OPENMP
    const index_t want = 4 * static_cast<index_t>(omp_get_max_threads());
#else
    const index_t want = 1;
#endif
    if (lines >= want) return 1;
    return std::max<index_t>(1, std::min((want + lines - 1) / lines, len / 256));
}

}  // namespace

template <class Scalar>
void add_bias(Eigen::Ref<Batch<Scalar>> y, span<const Scalar> bias) {
    if (bias.empty()) return;
    const index_t channels = static_cast<index_t>(bias.size());
    if (y.rows() % channels)
        throw shape_error("add_bias: " + std::to_string(y.rows()) + " rows are not a multiple of the " +
                          std::to_string(channels) + " bias channels");
    const index_t per = y.rows() / channels;
    for (index_t c = 0; c < channels; ++c) y.middleRows(c * per, per).array() += bias[static_cast<size_t>(c)];
}

template <class Scalar>
void conv_direct(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& x,
                 Eigen::Ref<Batch<Scalar>> y, span<const Scalar> bias) {
    if (spec.transposed)
        throw config_error("conv_direct needs a convolution; this spec is transposed (use conv_transpose_scatter or "
                           "conv_transpose_gather)");
    check_operands<Scalar>(spec, weight, x, y, bias, "conv_direct");
    const Scalar* w = weight.data();
    const Dims3 g = to3(spec);
    const index_t Cin = spec.in_channels, Cout = spec.out_channels, G = spec.groups;
    const index_t cin_g = Cin / G, cout_g = Cout / G;
    const index_t N = x.cols();
    // F.pad first: xpad = the padded input of each sample, its last dimension stored as its s2
    // phases, so that every tap reads a contiguous run: padded p2 = s2*u + r is at r*L2 + u.
    A3 P;
    for (int j = 0; j < 3; ++j) P[j] = g.n[j] + g.pl[j] + g.ph[j];
    const index_t s2 = g.s[2], L2 = (P[2] + s2 - 1) / s2, R = s2 * L2;
    std::array<std::vector<index_t>, 3> src;
    for (int j = 0; j < 3; ++j)
        for (index_t p = 0; p < P[j]; ++p) src[j].push_back(pad_source(p, g.n[j], g.pl[j], spec.padding_mode));
    const index_t nv = vol(g.n), mv = vol(g.m), kv = vol(g.k);
    const index_t chan = P[0] * P[1] * R, sample = Cin * chan;
    std::vector<Scalar> xpad(static_cast<size_t>(N * sample + kSlack));
    const index_t rows_total = N * Cin * P[0] * P[1];
#pragma omp parallel for schedule(static) if (N * sample > 32768)
    for (index_t line = 0; line < rows_total; ++line) {
        const index_t p1 = line % P[1], p0 = (line / P[1]) % P[0], c = (line / (P[1] * P[0])) % Cin;
        const index_t b = line / (P[1] * P[0] * Cin);
        Scalar* row = xpad.data() + line * R;
        const index_t i0 = src[0][static_cast<size_t>(p0)], i1 = src[1][static_cast<size_t>(p1)];
        if (i0 < 0 || i1 < 0) {
            std::fill(row, row + R, Scalar(0));
            continue;
        }
        const Scalar* xr = x.data() + b * x.outerStride() + c * nv + (i0 * g.n[1] + i1) * g.n[2];
        for (index_t p2 = 0; p2 < P[2]; ++p2) {
            const index_t i2 = src[2][static_cast<size_t>(p2)];
            row[(p2 % s2) * L2 + p2 / s2] = i2 < 0 ? Scalar(0) : xr[i2];
        }
    }
    // Taps as offsets into xpad from the first position an output line reads.
    std::vector<index_t> off(static_cast<size_t>(kv));
    for (index_t t0 = 0; t0 < g.k[0]; ++t0)
        for (index_t t1 = 0; t1 < g.k[1]; ++t1)
            for (index_t t2 = 0; t2 < g.k[2]; ++t2) {
                const index_t e = t2 * g.d[2];
                off[static_cast<size_t>((t0 * g.k[1] + t1) * g.k[2] + t2)] =
                    (t0 * g.d[0] * P[1] + t1 * g.d[1]) * R + (e % s2) * L2 + e / s2;
            }
    const Engine<Scalar>& eng = engine<Scalar>();
    const std::vector<Block> blocks = channel_blocks(cout_g, eng.max_block);
    // Weights packed per (group, block): wp[(c' * kv + k) * OB + o] = w[o_first + o, c', k].
    std::vector<Scalar> wp(static_cast<size_t>(G * cout_g * cin_g * kv));
    std::vector<index_t> wp_at(static_cast<size_t>(G * static_cast<index_t>(blocks.size())));
    {
        index_t at = 0;
        for (index_t grp = 0; grp < G; ++grp)
            for (size_t bi = 0; bi < blocks.size(); ++bi) {
                const Block& bl = blocks[bi];
                wp_at[static_cast<size_t>(grp) * blocks.size() + bi] = at;
                for (index_t cp = 0; cp < cin_g; ++cp)
                    for (index_t k = 0; k < kv; ++k)
                        for (index_t o = 0; o < bl.size; ++o)
                            wp[static_cast<size_t>(at++)] = w[((grp * cout_g + bl.first + o) * cin_g + cp) * kv + k];
            }
    }
    const index_t lines = N * G * static_cast<index_t>(blocks.size()) * g.m[0] * g.m[1];
    const index_t chunks = line_chunks(lines, g.m[2]);
    const index_t clen = (g.m[2] + chunks - 1) / chunks;
#pragma omp parallel for schedule(static) if (lines * chunks > 1 && N * mv * Cout * cin_g * kv > 65536)
    for (index_t job = 0; job < lines * chunks; ++job) {
        index_t rest = job / chunks;
        const index_t chunk = job % chunks;
        const index_t q1 = rest % g.m[1];
        rest /= g.m[1];
        const index_t q0 = rest % g.m[0];
        rest /= g.m[0];
        const auto bi = static_cast<size_t>(rest % static_cast<index_t>(blocks.size()));
        rest /= static_cast<index_t>(blocks.size());
        const index_t grp = rest % G, b = rest / G;
        const Block& bl = blocks[bi];
        const index_t u0 = chunk * clen, len = std::min(clen, g.m[2] - u0);
        if (len <= 0) continue;
        LineArgs<Scalar> a;
        a.in = xpad.data() + b * sample + grp * cin_g * chan + (q0 * g.s[0] * P[1] + q1 * g.s[1]) * R + u0;
        a.in_cs = chan;
        a.channels = cin_g;
        a.off = off.data();
        a.taps = kv;
        a.w = wp.data() + wp_at[static_cast<size_t>(grp) * blocks.size() + bi];
        a.out = y.data() + b * y.outerStride() + (grp * cout_g + bl.first) * mv + (q0 * g.m[1] + q1) * g.m[2] + u0;
        a.out_cs = mv;
        a.len = len;
        eng.run(a, bl.size);
    }
    add_bias<Scalar>(y, bias);
}

template <class Scalar>
Batch<Scalar> conv_direct(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& x,
                          span<const Scalar> bias) {
    Batch<Scalar> y(spec.output_numel(), x.cols());
    conv_direct<Scalar>(spec, weight, x, y, bias);
    return y;
}

template <class Scalar>
void conv_transpose_scatter(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& y,
                            Eigen::Ref<Batch<Scalar>> out, span<const Scalar> bias) {
    if (!spec.transposed)
        throw config_error("conv_transpose_scatter needs a transposed convolution; this spec is a conv");
    check_operands<Scalar>(spec, weight, y, out, bias, "conv_transpose_scatter");
    const Scalar* w = weight.data();
    const Dims3 g = to3(spec);
    const index_t Cin = spec.in_channels, Cout = spec.out_channels, G = spec.groups;
    const index_t cin_g = Cin / G, cout_g = Cout / G;
    const index_t nv = vol(g.n), mv = vol(g.m), kv = vol(g.k);
    const index_t N = y.cols();
    // The scatter out[p] += y[i] w[t], p = i*s - pl + t*d, summed per output so that threads own
    // disjoint outputs: with p + pl = s*u + r and t*d = s*a_t + b_t, the taps reaching p are those
    // with b_t = r, from input i = u - a_t. Per output phase r this is a stride-1 sum over u.
    // ypad holds y shifted by A = max a_t and zero outside [0, m), so that every tap reads a run.
    A3 Amax, U, Y;
    for (int j = 0; j < 3; ++j) {
        Amax[j] = (g.d[j] * (g.k[j] - 1)) / g.s[j];
        U[j] = (g.n[j] - 1 + g.pl[j]) / g.s[j] + 1;  // u of the last output, plus one
        Y[j] = std::max(g.m[j], U[j]) + Amax[j];
    }
    const index_t chan = Y[0] * Y[1] * Y[2], sample = Cin * chan;
    std::vector<Scalar> ypad(static_cast<size_t>(N * sample + kSlack));
    const index_t rows_total = N * Cin * Y[0] * Y[1];
#pragma omp parallel for schedule(static) if (N * sample > 32768)
    for (index_t line = 0; line < rows_total; ++line) {
        const index_t v1 = line % Y[1], v0 = (line / Y[1]) % Y[0], c = (line / (Y[1] * Y[0])) % Cin;
        const index_t b = line / (Y[1] * Y[0] * Cin);
        Scalar* row = ypad.data() + line * Y[2];
        std::fill(row, row + Y[2], Scalar(0));
        const index_t i0 = v0 - Amax[0], i1 = v1 - Amax[1];
        if (i0 < 0 || i0 >= g.m[0] || i1 < 0 || i1 >= g.m[1]) continue;
        const Scalar* yr = y.data() + b * y.outerStride() + c * mv + (i0 * g.m[1] + i1) * g.m[2];
        std::copy(yr, yr + g.m[2], row + Amax[2]);
    }
    // Per phase (r0, r1, r2): its taps, their offsets into ypad and their packed weights.
    const Engine<Scalar>& eng = engine<Scalar>();
    const std::vector<Block> blocks = channel_blocks(cout_g, eng.max_block);
    const index_t phases = g.s[0] * g.s[1] * g.s[2];
    std::vector<index_t> tap_at(static_cast<size_t>(phases + 1), 0), off, taps;
    for (index_t ph = 0; ph < phases; ++ph) {
        const index_t r2 = ph % g.s[2], r1 = (ph / g.s[2]) % g.s[1], r0 = ph / (g.s[2] * g.s[1]);
        for (index_t t0 = 0; t0 < g.k[0]; ++t0) {
            if ((t0 * g.d[0]) % g.s[0] != r0) continue;
            for (index_t t1 = 0; t1 < g.k[1]; ++t1) {
                if ((t1 * g.d[1]) % g.s[1] != r1) continue;
                for (index_t t2 = 0; t2 < g.k[2]; ++t2) {
                    if ((t2 * g.d[2]) % g.s[2] != r2) continue;
                    const index_t a0 = t0 * g.d[0] / g.s[0], a1 = t1 * g.d[1] / g.s[1], a2 = t2 * g.d[2] / g.s[2];
                    off.push_back(((Amax[0] - a0) * Y[1] + (Amax[1] - a1)) * Y[2] + (Amax[2] - a2));
                    taps.push_back((t0 * g.k[1] + t1) * g.k[2] + t2);
                }
            }
        }
        tap_at[static_cast<size_t>(ph + 1)] = static_cast<index_t>(taps.size());
    }
    // wp for (phase, group, block): [(c' * K + k) * OB + o] = w[g*cin_g + c', o_first + o, tap k].
    const auto nb = static_cast<index_t>(blocks.size());
    std::vector<index_t> wp_at(static_cast<size_t>(phases * G * nb));
    std::vector<Scalar> wp;
    for (index_t ph = 0; ph < phases; ++ph)
        for (index_t grp = 0; grp < G; ++grp)
            for (index_t bi = 0; bi < nb; ++bi) {
                const Block& bl = blocks[static_cast<size_t>(bi)];
                wp_at[static_cast<size_t>((ph * G + grp) * nb + bi)] = static_cast<index_t>(wp.size());
                for (index_t cp = 0; cp < cin_g; ++cp)
                    for (index_t k = tap_at[static_cast<size_t>(ph)]; k < tap_at[static_cast<size_t>(ph + 1)]; ++k)
                        for (index_t o = 0; o < bl.size; ++o)
                            wp.push_back(w[((grp * cin_g + cp) * cout_g + bl.first + o) * kv + taps[static_cast<size_t>(k)]]);
            }
    const index_t lines = N * G * nb * g.n[0] * g.n[1] * g.s[2];
    const index_t per_phase = (g.n[2] + g.s[2] - 1) / g.s[2];
    const index_t chunks = line_chunks(lines, per_phase);
    const index_t clen = (per_phase + chunks - 1) / chunks;
    const index_t max_block = eng.max_block;
#pragma omp parallel if (lines * chunks > 1 && N * nv * Cout * cin_g * kv > 65536 * g.s[0] * g.s[1] * g.s[2])
    {
        std::vector<Scalar> tmp(static_cast<size_t>(max_block * (clen + kTile)));
#pragma omp for schedule(static)
        for (index_t job = 0; job < lines * chunks; ++job) {
            index_t rest = job / chunks;
            const index_t chunk = job % chunks;
            const index_t r2 = rest % g.s[2];
            rest /= g.s[2];
            const index_t p1 = rest % g.n[1];
            rest /= g.n[1];
            const index_t p0 = rest % g.n[0];
            rest /= g.n[0];
            const index_t bi = rest % nb;
            rest /= nb;
            const index_t grp = rest % G, b = rest / G;
            const Block& bl = blocks[static_cast<size_t>(bi)];
            // Outputs of phase r2 on this line: p2 = first + s2*v, v in [0, count).
            const index_t first = ((r2 - g.pl[2]) % g.s[2] + g.s[2]) % g.s[2];
            const index_t count = first < g.n[2] ? (g.n[2] - first + g.s[2] - 1) / g.s[2] : 0;
            const index_t v0 = chunk * clen, len = std::min(clen, count - v0);
            if (len <= 0) continue;
            const index_t q0 = p0 + g.pl[0], q1 = p1 + g.pl[1], u2 = (first + g.pl[2]) / g.s[2] + v0;
            const index_t ph = ((q0 % g.s[0]) * g.s[1] + q1 % g.s[1]) * g.s[2] + r2;
            Scalar* o_line = out.data() + b * out.outerStride() + (grp * cout_g + bl.first) * nv +
                             (p0 * g.n[1] + p1) * g.n[2] + first + g.s[2] * v0;
            const index_t K = tap_at[static_cast<size_t>(ph + 1)] - tap_at[static_cast<size_t>(ph)];
            if (K == 0) {
                for (index_t o = 0; o < bl.size; ++o)
                    for (index_t v = 0; v < len; ++v) o_line[o * nv + v * g.s[2]] = Scalar(0);
                continue;
            }
            LineArgs<Scalar> a;
            a.in = ypad.data() + b * sample + grp * cin_g * chan + ((q0 / g.s[0]) * Y[1] + q1 / g.s[1]) * Y[2] + u2;
            a.in_cs = chan;
            a.channels = cin_g;
            a.off = off.data() + tap_at[static_cast<size_t>(ph)];
            a.taps = K;
            a.w = wp.data() + wp_at[static_cast<size_t>((ph * G + grp) * nb + bi)];
            a.len = len;
            if (g.s[2] == 1) {
                a.out = o_line;
                a.out_cs = nv;
                eng.run(a, bl.size);
            } else {
                a.out = tmp.data();
                a.out_cs = len;
                eng.run(a, bl.size);
                for (index_t o = 0; o < bl.size; ++o)
                    for (index_t v = 0; v < len; ++v) o_line[o * nv + v * g.s[2]] = tmp[static_cast<size_t>(o * len + v)];
            }
        }
    }
    add_bias<Scalar>(out, bias);
}

template <class Scalar>
Batch<Scalar> conv_transpose_scatter(const ConvSpec& spec, span<const Scalar> weight,
                                     const Eigen::Ref<const Batch<Scalar>>& y, span<const Scalar> bias) {
    Batch<Scalar> out(spec.output_numel(), y.cols());
    conv_transpose_scatter<Scalar>(spec, weight, y, out, bias);
    return out;
}

template <class Scalar>
std::vector<Scalar> gather_weight(const ConvSpec& spec, span<const Scalar> weight) {
    check_size(weight, spec.weight_numel(), "gather_weight: weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    const Scalar* w = weight.data();
    const index_t G = spec.groups, cin_g = spec.in_channels / G, cout_g = spec.out_channels / G;
    const index_t kv = spec.weight_numel() / (spec.in_channels * cout_g);
    std::vector<Scalar> w2(static_cast<size_t>(spec.weight_numel()));
    for (index_t grp = 0; grp < G; ++grp)
        for (index_t op = 0; op < cout_g; ++op)
            for (index_t cp = 0; cp < cin_g; ++cp)
                for (index_t t = 0; t < kv; ++t)
                    w2[(((grp * cout_g + op) * cin_g + cp) * kv) + t] =
                        w[(((grp * cin_g + cp) * cout_g + op) * kv) + (kv - 1 - t)];
    return w2;
}

template <class Scalar>
void conv_transpose_gather(const ConvSpec& spec, span<const Scalar> weight, const Eigen::Ref<const Batch<Scalar>>& y,
                           Eigen::Ref<Batch<Scalar>> out, span<const Scalar> bias) {
    if (!spec.transposed)
        throw config_error("conv_transpose_gather needs a transposed convolution; this spec is a conv");
    check_operands<Scalar>(spec, weight, y, out, bias, "conv_transpose_gather");
    const Dims3 g = to3(spec);
    const index_t Cin = spec.in_channels;
    // Zero insertion and outer padding d(k-1)-pl / d(k-1)-ph+a; a negative amount crops.
    A3 lo, L;
    for (int j = 0; j < 3; ++j) {
        lo[j] = g.d[j] * (g.k[j] - 1) - g.pl[j];
        const index_t hi = g.d[j] * (g.k[j] - 1) - g.ph[j] + g.a[j];
        L[j] = (g.m[j] - 1) * g.s[j] + 1 + lo[j] + hi;
    }
    const index_t mv = vol(g.m), lv = vol(L);
    Batch<Scalar> z = Batch<Scalar>::Zero(Cin * lv, y.cols());
    for (Eigen::Index b = 0; b < y.cols(); ++b)
        for (index_t c = 0; c < Cin; ++c)
            for (index_t i0 = 0; i0 < g.m[0]; ++i0)
                for (index_t i1 = 0; i1 < g.m[1]; ++i1)
                    for (index_t i2 = 0; i2 < g.m[2]; ++i2) {
                        const index_t z0 = lo[0] + i0 * g.s[0], z1 = lo[1] + i1 * g.s[1], z2 = lo[2] + i2 * g.s[2];
                        if (z0 < 0 || z0 >= L[0] || z1 < 0 || z1 >= L[1] || z2 < 0 || z2 >= L[2]) continue;
                        z(c * lv + (z0 * L[1] + z1) * L[2] + z2, b) = y(c * mv + (i0 * g.m[1] + i1) * g.m[2] + i2, b);
                    }
    ConvSpec conv;
    conv.transposed = false;
    conv.in_channels = Cin;
    conv.out_channels = spec.out_channels;
    conv.groups = spec.groups;
    conv.kernel_size = spec.kernel_size;
    conv.dilation = spec.dilation;
    const int r = spec.rank(), off = 3 - r;
    conv.input_size.resize(static_cast<size_t>(r));
    for (int j = 0; j < r; ++j) conv.input_size[static_cast<size_t>(j)] = L[static_cast<size_t>(off + j)];
    conv.stride.assign(static_cast<size_t>(r), 1);
    conv.padding_lo.assign(static_cast<size_t>(r), 0);
    conv.padding_hi.assign(static_cast<size_t>(r), 0);
    conv.output_padding.assign(static_cast<size_t>(r), 0);
    const std::vector<Scalar> w2 = gather_weight<Scalar>(spec, weight);
    conv_direct<Scalar>(conv, w2, z, out, bias);
}

template <class Scalar>
Batch<Scalar> conv_transpose_gather(const ConvSpec& spec, span<const Scalar> weight,
                                    const Eigen::Ref<const Batch<Scalar>>& y, span<const Scalar> bias) {
    Batch<Scalar> out(spec.output_numel(), y.cols());
    conv_transpose_gather<Scalar>(spec, weight, y, out, bias);
    return out;
}

#define CONVMTX_KERNELS(S)                                                                                     \
    template void add_bias<S>(Eigen::Ref<Batch<S>>, span<const S>);                                            \
    template void conv_direct<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&,            \
                                 Eigen::Ref<Batch<S>>, span<const S>);                                          \
    template Batch<S> conv_direct<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&,        \
                                     span<const S>);                                                            \
    template void conv_transpose_scatter<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&, \
                                            Eigen::Ref<Batch<S>>, span<const S>);                               \
    template Batch<S> conv_transpose_scatter<S>(const ConvSpec&, span<const S>,                                \
                                                const Eigen::Ref<const Batch<S>>&, span<const S>);              \
    template void conv_transpose_gather<S>(const ConvSpec&, span<const S>, const Eigen::Ref<const Batch<S>>&,  \
                                           Eigen::Ref<Batch<S>>, span<const S>);                                \
    template Batch<S> conv_transpose_gather<S>(const ConvSpec&, span<const S>,                                 \
                                               const Eigen::Ref<const Batch<S>>&, span<const S>);               \
    template std::vector<S> gather_weight<S>(const ConvSpec&, span<const S>);
CONVMTX_KERNELS(float)
CONVMTX_KERNELS(double)
#undef CONVMTX_KERNELS

}  // namespace convmtx
