#include "convmtx/overlap.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>

#include "convmtx/detail/builder_impl.hpp"
#include "convmtx/geometry.hpp"

namespace convmtx {

namespace {

/// The phases of the taps t*d, t < k, modulo s: tap t lands on residue (t*d) mod s. With
/// g = gcd(d, s) the residues visited are the multiples of g, each by the taps of one class
/// t = t0 (mod s/g), so every count is closed form and nothing scans up to k or s.
struct Phases {
    index_t g = 1, period = 1;       // gcd(d, s) and s/g
    index_t min_count = 0, max_count = 0;
    bool even = true;
    index_t smaller_even = 0, larger_even = 0;  // nearest even kernel sizes (0: none)
};

Phases phases(index_t k, index_t s, index_t d) {
    Phases p;
    p.g = std::gcd(d, s);
    p.period = s / p.g;
    // Residues that are not multiples of g get no tap; the others floor or ceil of k / period.
    p.max_count = (k + p.period - 1) / p.period;
    p.min_count = p.g > 1 ? 0 : k / p.period;
    p.even = s == 1 || (p.g == 1 && k % s == 0);
    if (p.g == 1) {
        p.smaller_even = ((k - 1) / s) * s;  // 0 when no positive multiple of s lies below k
        p.larger_even = (k / s + 1) * s;
    }
    return p;
}

/// Count of taps on each residue r = 0..s-1 (s <= kMaxPhases), from one class per residue.
std::vector<index_t> residue_counts(index_t k, index_t s, index_t d, const Phases& p) {
    std::vector<index_t> r(static_cast<size_t>(s), 0);
    for (index_t t = 0; t < std::min(k, p.period); ++t) {
        const auto res = static_cast<size_t>((static_cast<__int128>(t) * d) % s);
        r[res] = (k - 1 - t) / p.period + 1;
    }
    return r;
}

constexpr index_t kMaxPhases = 1 << 16;

std::string join(const std::vector<index_t>& v) { return to_string(v, ","); }

}  // namespace

OverlapReport overlap(const ConvSpec& spec_in) {
    const ConvSpec spec = spec_in.transposed ? spec_in : spec_in.adjoint();
    const ConvGeometry G(spec);
    const int r = G.rank();
    // The count grid (one index_t per output position), the per-dimension counts and the tables.
    double need = static_cast<double>(G.input_volume()) * sizeof(index_t) + G.table_bytes();
    for (int j = 0; j < r; ++j) need += static_cast<double>(G.dim(j).input_size) * sizeof(index_t);
    detail::check_memory(0, 0, 0, 0, need, 0, "overlap");
    OverlapReport rep;
    rep.shape = G.conv_input_size();
    rep.channels_per_output = G.out_per_group();
    std::vector<index_t> mins, maxs;
    std::ostringstream verdict;
    for (int j = 0; j < r; ++j) {
        const DimGeometry& g = G.dim(j);
        const TapTable& tab = G.input_taps(j);
        OverlapDim od;
        od.kernel_size = g.kernel_size;
        od.stride = g.stride;
        od.dilation = g.dilation;
        od.counts.assign(static_cast<size_t>(g.input_size), 0);
        for (index_t x = 0; x < g.input_size; ++x)
            for (index_t grp = tab.begin(x); grp < tab.end(x); ++grp) od.counts[static_cast<size_t>(x)] += tab.tap_count(grp);
        const Phases ph = phases(g.kernel_size, g.stride, g.dilation);
        if (g.stride <= kMaxPhases) od.residue_counts = residue_counts(g.kernel_size, g.stride, g.dilation, ph);
        od.even = ph.even;
        od.smaller_even_kernel = ph.smaller_even;
        od.larger_even_kernel = ph.larger_even;
        od.interior_lo = std::max<index_t>(0, (g.kernel_size - 1) * g.dilation - g.padding_lo);
        od.interior_hi = std::min<index_t>(g.input_size - 1, (g.output_size - 1) * g.stride - g.padding_lo);
        const index_t lo = od.interior_lo, hi = od.interior_hi;
        if (hi - lo + 1 < g.stride) {
            // The interior does not hold one full stride period: take the phase counts, which
            // are the interior counts of any input large enough.
            rep.interior_empty = true;
            mins.push_back(ph.min_count);
            maxs.push_back(ph.max_count);
        } else {
            mins.push_back(*std::min_element(od.counts.begin() + lo, od.counts.begin() + hi + 1));
            maxs.push_back(*std::max_element(od.counts.begin() + lo, od.counts.begin() + hi + 1));
        }
        rep.even &= od.even;
        rep.dims.push_back(std::move(od));
    }
    const index_t nvol = G.input_volume();
    rep.counts.assign(static_cast<size_t>(nvol), 1);
    std::vector<index_t> x(static_cast<size_t>(r), 0);
    for (index_t f = 0; f < nvol; ++f) {
        index_t c = 1;
        for (int j = 0; j < r; ++j) c *= rep.dims[static_cast<size_t>(j)].counts[static_cast<size_t>(x[static_cast<size_t>(j)])];
        rep.counts[static_cast<size_t>(f)] = c;
        for (int j = r - 1; j >= 0; --j) {
            if (++x[static_cast<size_t>(j)] < rep.shape[static_cast<size_t>(j)]) break;
            x[static_cast<size_t>(j)] = 0;
        }
    }
    rep.interior_min = std::accumulate(mins.begin(), mins.end(), index_t{1}, std::multiplies<index_t>());
    rep.interior_max = std::accumulate(maxs.begin(), maxs.end(), index_t{1}, std::multiplies<index_t>());
    rep.uniformity = rep.interior_min > 0 ? static_cast<double>(rep.interior_max) / static_cast<double>(rep.interior_min)
                                          : std::numeric_limits<double>::infinity();
    const std::string where = rep.interior_empty ? "in the interior of a large enough input (this one is too small to show a full period)"
                                                 : "in the interior";
    if (rep.even) {
        verdict << "even overlap: every output " << where << " receives " << rep.interior_max
                << " (input, tap) pair(s) per channel pair: no checkerboard from the overlap";
    } else {
        verdict << "uneven overlap (checkerboard): outputs " << where << " receive between " << rep.interior_min << " and "
                << rep.interior_max << " (input, tap) pairs per channel pair";
    }
    for (int j = 0; j < r; ++j) {
        const OverlapDim& od = rep.dims[static_cast<size_t>(j)];
        verdict << "\n  dimension " << j << ": kernel " << od.kernel_size << ", stride " << od.stride;
        if (od.dilation != 1) verdict << ", dilation " << od.dilation;
        if (od.even) {
            verdict << ": even";
            if (od.stride > 1)
                verdict << " (the " << od.kernel_size << " taps split evenly over the " << od.stride << " output phases"
                        << (od.residue_counts.empty() ? std::string() : ": " + join(od.residue_counts)) << ")";
            continue;
        }
        if (od.dilation == 1) verdict << ": kernel size " << od.kernel_size << " is not divisible by stride " << od.stride;
        else verdict << ": the taps t*" << od.dilation << " reach the " << od.stride << " output phases unevenly";
        if (!od.residue_counts.empty()) verdict << " (phase counts " << join(od.residue_counts) << ")";
        if (od.smaller_even_kernel || od.larger_even_kernel) {
            verdict << "; kernel size ";
            if (od.smaller_even_kernel) verdict << od.smaller_even_kernel;
            if (od.smaller_even_kernel && od.larger_even_kernel) verdict << " or ";
            if (od.larger_even_kernel) verdict << od.larger_even_kernel;
            verdict << " would be even";
        } else {
            verdict << "; no kernel size is even with this stride and dilation (the taps miss some phases)";
        }
    }
    rep.verdict = verdict.str();
    return rep;
}

}  // namespace convmtx
