// Internal: a ConvSpec brought to three spatial dimensions (leading dimensions of
// size 1), and per-dimension tables of which input position each tap reads.
// Not part of the public API; include <convmtx/convmtx.hpp> instead.
#pragma once

#include <algorithm>
#include <array>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx::detail {

using Arr3 = std::array<index_t, 3>;

/// W maps the "small" side (Cs, m) from the "big" side (Cb, n); T = W^T.
struct Geom {
    index_t Cb = 1, Cs = 1, G = 1, cb_g = 1, cs_g = 1;
    Arr3 n{1, 1, 1}, m{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pl{0, 0, 0}, ph{0, 0, 0};
    PaddingMode mode = PaddingMode::zeros;
    index_t nvol = 1, mvol = 1, kvol = 1;
};

inline Geom make_geom(const ConvSpec& spec) {
    spec.validate();
    Geom g;
    const int r = spec.rank();
    const int off = 3 - r;
    const Dims big = spec.big_spatial(), small = spec.small_spatial();
    for (int j = 0; j < r; ++j) {
        g.n[off + j] = big[j];
        g.m[off + j] = small[j];
        g.k[off + j] = spec.kernel[j];
        g.s[off + j] = spec.stride[j];
        g.d[off + j] = spec.dilation[j];
        g.pl[off + j] = spec.pad_lo[j];
        g.ph[off + j] = spec.pad_hi[j];
    }
    g.Cb = spec.big_channels();
    g.Cs = spec.small_channels();
    g.G = spec.groups;
    g.cb_g = g.Cb / g.G;
    g.cs_g = g.Cs / g.G;
    g.mode = spec.padding_mode;
    g.nvol = g.n[0] * g.n[1] * g.n[2];
    g.mvol = g.m[0] * g.m[1] * g.m[2];
    g.kvol = g.k[0] * g.k[1] * g.k[2];
    return g;
}

/// Maps a padded position p in [-pl, n+ph) to an input index, or -1 for a zero.
inline index_t map_position(index_t p, index_t n, PaddingMode mode) {
    if (p >= 0 && p < n) return p;
    switch (mode) {
        case PaddingMode::zeros: return -1;
        case PaddingMode::circular: return ((p % n) + n) % n;
        case PaddingMode::reflect: {
            if (n == 1) return 0;
            const index_t period = 2 * (n - 1);
            index_t r = ((p % period) + period) % period;
            return r < n ? r : period - r;
        }
        case PaddingMode::replicate: return p < 0 ? 0 : n - 1;
    }
    return -1;
}

/// For each position of one dimension: groups of (target position, taps) sorted
/// by target. A group has several taps only when padding modes fold them together.
struct DimTable {
    std::vector<index_t> offs;      // groups of position q: [offs[q], offs[q+1])
    std::vector<index_t> target;    // per group
    std::vector<index_t> tap_offs;  // taps of group g: [tap_offs[g], tap_offs[g+1])
    std::vector<index_t> taps;
    index_t groups(index_t q) const { return offs[q + 1] - offs[q]; }
    index_t total() const { return offs.back(); }
};

/// Small-side table of dimension j: output q reads input map(q*s - pl + t*d) through tap t.
inline DimTable small_table(const Geom& g, int j) {
    DimTable t;
    t.offs.push_back(0);
    t.tap_offs.push_back(0);
    std::vector<std::pair<index_t, index_t>> items;
    for (index_t q = 0; q < g.m[j]; ++q) {
        items.clear();
        for (index_t tap = 0; tap < g.k[j]; ++tap) {
            const index_t p = map_position(q * g.s[j] - g.pl[j] + tap * g.d[j], g.n[j], g.mode);
            if (p >= 0) items.emplace_back(p, tap);
        }
        std::sort(items.begin(), items.end());
        for (size_t a = 0; a < items.size(); ++a) {
            if (a == 0 || items[a].first != items[a - 1].first) {
                if (a) t.tap_offs.push_back(static_cast<index_t>(t.taps.size()));
                t.target.push_back(items[a].first);
            }
            t.taps.push_back(items[a].second);
        }
        if (!items.empty()) t.tap_offs.push_back(static_cast<index_t>(t.taps.size()));
        t.offs.push_back(static_cast<index_t>(t.target.size()));
    }
    return t;
}

/// Big-side table of dimension j (zeros padding): input i reaches output q = (i + pl - t*d)/s through tap t.
inline DimTable big_table(const Geom& g, int j) {
    DimTable t;
    t.offs.push_back(0);
    t.tap_offs.push_back(0);
    for (index_t i = 0; i < g.n[j]; ++i) {
        for (index_t tap = g.k[j] - 1; tap >= 0; --tap) {
            const index_t num = i + g.pl[j] - tap * g.d[j];
            if (num < 0 || num % g.s[j]) continue;
            const index_t q = num / g.s[j];
            if (q >= g.m[j]) continue;
            t.target.push_back(q);
            t.taps.push_back(tap);
            t.tap_offs.push_back(static_cast<index_t>(t.taps.size()));
        }
        t.offs.push_back(static_cast<index_t>(t.target.size()));
    }
    return t;
}

}  // namespace convmtx::detail
