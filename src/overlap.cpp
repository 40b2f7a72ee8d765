#include "convmtx/overlap.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>

#include "convmtx/geometry.hpp"

namespace convmtx {

namespace {

/// Phase counts: how many of the taps t*d, t < k, fall on each residue mod s.
std::vector<index_t> residues(index_t k, index_t s, index_t d) {
    std::vector<index_t> r(static_cast<size_t>(s), 0);
    for (index_t t = 0; t < k; ++t) ++r[static_cast<size_t>((t * d) % s)];
    return r;
}

bool all_equal(const std::vector<index_t>& v) {
    return std::all_of(v.begin(), v.end(), [&](index_t x) { return x == v.front(); });
}

std::string join(const std::vector<index_t>& v) { return to_string(v, ","); }

}  // namespace

OverlapReport overlap(const ConvSpec& spec_in) {
    const ConvSpec spec = spec_in.transposed ? spec_in : spec_in.adjoint();
    const ConvGeometry G(spec);
    const int r = G.rank();
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
        od.residue_counts = residues(g.kernel_size, g.stride, g.dilation);
        od.even = all_equal(od.residue_counts);
        for (index_t kk = g.kernel_size - 1; kk >= 1 && !od.smaller_even_kernel; --kk)
            if (all_equal(residues(kk, g.stride, g.dilation))) od.smaller_even_kernel = kk;
        for (index_t kk = g.kernel_size + 1; kk <= g.kernel_size + g.stride * g.stride + g.stride && !od.larger_even_kernel; ++kk)
            if (all_equal(residues(kk, g.stride, g.dilation))) od.larger_even_kernel = kk;
        od.interior_lo = std::max<index_t>(0, (g.kernel_size - 1) * g.dilation - g.padding_lo);
        od.interior_hi = std::min<index_t>(g.input_size - 1, (g.output_size - 1) * g.stride - g.padding_lo);
        const index_t lo = od.interior_lo, hi = od.interior_hi;
        if (hi - lo + 1 < g.stride) {
            // The interior does not hold one full stride period: take the phase counts, which
            // are the interior counts of any input large enough.
            rep.interior_empty = true;
            mins.push_back(*std::min_element(od.residue_counts.begin(), od.residue_counts.end()));
            maxs.push_back(*std::max_element(od.residue_counts.begin(), od.residue_counts.end()));
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
                verdict << " (the " << od.kernel_size << " taps split evenly over the " << od.stride << " output phases: "
                        << join(od.residue_counts) << ")";
            continue;
        }
        if (od.dilation == 1) verdict << ": kernel size " << od.kernel_size << " is not divisible by stride " << od.stride;
        else verdict << ": the taps t*" << od.dilation << " reach the " << od.stride << " output phases unevenly";
        verdict << " (phase counts " << join(od.residue_counts) << ")";
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
