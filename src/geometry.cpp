#include "convmtx/geometry.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "convmtx/builder.hpp"
#include "convmtx/detail/checked.hpp"
#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

index_t floor_div(index_t a, index_t b) {
    const index_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
index_t ceil_div_signed(index_t a, index_t b) { return -floor_div(-a, b); }

/// Intervals [first, last] of padded positions in [-p_lo, n + p_hi) that fold onto input i.
std::vector<std::pair<index_t, index_t>> preimages(const DimGeometry& g, index_t i) {
    const index_t n = g.input_size, lo = -g.padding_lo, hi = n + g.padding_hi - 1;
    std::vector<std::pair<index_t, index_t>> out;
    auto add = [&](index_t a, index_t b) {
        a = std::max(a, lo);
        b = std::min(b, hi);
        if (a <= b) out.emplace_back(a, b);
    };
    switch (g.padding_mode) {
        case PaddingMode::zeros: add(i, i); break;
        case PaddingMode::circular:
            // p = i + j*n; validation keeps the padding within one period on each side.
            for (index_t j = -1; j <= 1; ++j) add(i + j * n, i + j * n);
            break;
        case PaddingMode::reflect:
            if (n == 1) {
                add(lo, hi);
                break;
            }
            // Padding is smaller than n: the mirror images of i within one reflection.
            add(i, i);
            if (i > 0) add(-i, -i);
            if (i < n - 1) add(2 * (n - 1) - i, 2 * (n - 1) - i);
            break;
        case PaddingMode::replicate:
            if (n == 1) add(lo, hi);
            else if (i == 0) add(lo, 0);
            else if (i == n - 1) add(n - 1, hi);
            else add(i, i);
            break;
    }
    std::sort(out.begin(), out.end());
    return out;
}

TapTable forward_table(const DimGeometry& g) {
    TapTable t;
    std::vector<std::pair<index_t, index_t>> items;  // (input, tap)
    for (index_t q = 0; q < g.output_size; ++q) {
        items.clear();
        for (index_t tap = 0; tap < g.kernel_size; ++tap) {
            const index_t i = g.input_position(q, tap);
            if (i >= 0) items.emplace_back(i, tap);
        }
        if (g.padding_mode != PaddingMode::zeros) std::sort(items.begin(), items.end());
        for (size_t a = 0; a < items.size(); ++a) {
            if (a > 0 && items[a].first == items[a - 1].first) {
                t.taps.push_back(items[a].second);
                t.tap_offsets.back() = static_cast<index_t>(t.taps.size());
                continue;
            }
            t.targets.push_back(items[a].first);
            t.taps.push_back(items[a].second);
            t.tap_offsets.push_back(static_cast<index_t>(t.taps.size()));
        }
        t.offsets.push_back(static_cast<index_t>(t.targets.size()));
    }
    return t;
}

/// The table of the other direction: position b of the target side meets every a that meets it.
TapTable transpose_table(const TapTable& f, index_t target_positions) {
    TapTable t;
    t.offsets.assign(static_cast<size_t>(target_positions) + 1, 0);
    for (index_t b : f.targets) ++t.offsets[static_cast<size_t>(b) + 1];
    for (index_t b = 0; b < target_positions; ++b) t.offsets[static_cast<size_t>(b) + 1] += t.offsets[static_cast<size_t>(b)];
    const index_t ngroups = f.total_groups();
    t.targets.resize(static_cast<size_t>(ngroups));
    std::vector<index_t> group_of(static_cast<size_t>(ngroups));
    std::vector<index_t> cursor(t.offsets.begin(), t.offsets.end() - 1);
    for (index_t a = 0; a < f.positions(); ++a)
        for (index_t g = f.begin(a); g < f.end(a); ++g) {
            const index_t pos = cursor[static_cast<size_t>(f.target(g))]++;
            t.targets[static_cast<size_t>(pos)] = a;
            group_of[static_cast<size_t>(pos)] = g;
        }
    t.tap_offsets.assign(static_cast<size_t>(ngroups) + 1, 0);
    t.taps.reserve(f.taps.size());
    for (index_t pos = 0; pos < ngroups; ++pos) {
        const index_t g = group_of[static_cast<size_t>(pos)];
        for (index_t x = f.tap_offsets[static_cast<size_t>(g)]; x < f.tap_offsets[static_cast<size_t>(g + 1)]; ++x)
            t.taps.push_back(f.taps[static_cast<size_t>(x)]);
        t.tap_offsets[static_cast<size_t>(pos) + 1] = static_cast<index_t>(t.taps.size());
    }
    return t;
}

}  // namespace

index_t pad_fold(index_t p, index_t n, PaddingMode mode) {
    if (p >= 0 && p < n) return p;
    switch (mode) {
        case PaddingMode::zeros: return -1;
        case PaddingMode::circular: {
            const index_t r = p % n;
            return r < 0 ? r + n : r;
        }
        case PaddingMode::reflect: {
            if (n == 1) return 0;
            // Reflection about 0 and n-1 has period 2(n-1); 128-bit so that any n and p are safe.
            const __int128 period = 2 * static_cast<__int128>(n - 1);
            __int128 r = static_cast<__int128>(p) % period;
            if (r < 0) r += period;
            return static_cast<index_t>(r < n ? r : period - r);
        }
        case PaddingMode::replicate: return p < 0 ? 0 : n - 1;
    }
    return -1;
}

std::vector<TapHit> DimGeometry::outputs_reading(index_t i) const {
    std::vector<TapHit> out;
    if (i < 0 || i >= input_size) return out;
    const index_t m = output_size, s = stride, d = dilation, pl = padding_lo;
    for (const auto& [a, b] : preimages(*this, i)) {
        // q*s - pl + t*d in [a, b] with 0 <= q < m: t*d in [a + pl - (m-1)s, b + pl].
        const index_t t_lo = std::max<index_t>(0, ceil_div_signed(a + pl - (m - 1) * s, d));
        const index_t t_hi = std::min<index_t>(kernel_size - 1, floor_div(b + pl, d));
        for (index_t t = t_lo; t <= t_hi; ++t) {
            const index_t q_lo = std::max<index_t>(0, ceil_div_signed(a + pl - t * d, s));
            const index_t q_hi = std::min<index_t>(m - 1, floor_div(b + pl - t * d, s));
            for (index_t q = q_lo; q <= q_hi; ++q) out.push_back({q, t, padded_position(q, t)});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const TapHit& x, const TapHit& y) { return x.output != y.output ? x.output < y.output : x.tap < y.tap; });
    return out;
}

std::vector<TapHit> DimGeometry::inputs_read_by(index_t q) const {
    std::vector<TapHit> out;
    if (q < 0 || q >= output_size) return out;
    for (index_t t = 0; t < kernel_size; ++t)
        if (input_position(q, t) >= 0) out.push_back({q, t, padded_position(q, t)});
    return out;
}

struct ConvGeometry::Impl {
    ConvSpec spec;
    int rank = 1, off = 2;
    std::array<DimGeometry, 3> dims;
    index_t cin = 1, cout = 1, groups = 1, nvol = 1, mvol = 1, kvol = 1;
    mutable std::once_flag once;
    mutable std::array<TapTable, 3> fwd, bwd;

    void build_tables() const {
        std::call_once(once, [this] {
            double bytes = 0;  // as ConvGeometry::table_bytes
            for (const auto& d : dims)
                bytes += 24.0 * (static_cast<double>(d.output_size) * static_cast<double>(d.kernel_size) +
                                 static_cast<double>(d.input_size) + static_cast<double>(d.output_size));
            const double limit = physical_memory_bytes();
            if (limit > 0 && bytes > limit)
                throw memory_limit_error(spec.describe() + ": its tap tables (24 bytes per output position and tap, "
                                         "per input and per output position of each dimension) need " +
                                             format_bytes(bytes) + ", more than the physical memory " +
                                             format_bytes(limit),
                                         bytes, limit);
            for (int j = 0; j < 3; ++j) {
                fwd[j] = forward_table(dims[j]);
                bwd[j] = transpose_table(fwd[j], dims[j].input_size);
            }
        });
    }
};

ConvGeometry::ConvGeometry(const ConvSpec& spec) {
    spec.validate();
    auto impl = std::make_shared<Impl>();
    impl->spec = spec;
    impl->rank = spec.rank();
    impl->off = 3 - impl->rank;
    const Dims n = spec.conv_input_size(), m = spec.conv_output_size();
    for (int j = 0; j < impl->rank; ++j) {
        DimGeometry& d = impl->dims[impl->off + j];
        d.input_size = n[j];
        d.output_size = m[j];
        d.kernel_size = spec.kernel_size[j];
        d.stride = spec.stride[j];
        d.dilation = spec.dilation[j];
        d.padding_lo = spec.padding_lo[j];
        d.padding_hi = spec.padding_hi[j];
        d.padding_mode = spec.padding_mode;
    }
    impl->cin = spec.conv_in_channels();
    impl->cout = spec.conv_out_channels();
    impl->groups = spec.groups;
    for (const auto& d : impl->dims) {
        impl->nvol = detail::checked_mul(impl->nvol, d.input_size, "conv input size");
        impl->mvol = detail::checked_mul(impl->mvol, d.output_size, "conv output size");
        impl->kvol = detail::checked_mul(impl->kvol, d.kernel_size, "kernel size");
    }
    impl_ = std::move(impl);
}

const ConvSpec& ConvGeometry::spec() const { return impl_->spec; }
int ConvGeometry::rank() const { return impl_->rank; }
const DimGeometry& ConvGeometry::dim(int j) const { return impl_->dims[static_cast<size_t>(impl_->off + j)]; }
const DimGeometry& ConvGeometry::dim3(int j) const { return impl_->dims[static_cast<size_t>(j)]; }
index_t ConvGeometry::groups() const { return impl_->groups; }
index_t ConvGeometry::conv_in_channels() const { return impl_->cin; }
index_t ConvGeometry::conv_out_channels() const { return impl_->cout; }
index_t ConvGeometry::in_per_group() const { return impl_->cin / impl_->groups; }
index_t ConvGeometry::out_per_group() const { return impl_->cout / impl_->groups; }
index_t ConvGeometry::input_volume() const { return impl_->nvol; }
index_t ConvGeometry::output_volume() const { return impl_->mvol; }
index_t ConvGeometry::kernel_volume() const { return impl_->kvol; }
index_t ConvGeometry::rows() const { return detail::checked_mul(impl_->cout, impl_->mvol, "rows of W"); }
index_t ConvGeometry::cols() const { return detail::checked_mul(impl_->cin, impl_->nvol, "columns of W"); }

Dims ConvGeometry::conv_input_size() const {
    Dims v;
    for (int j = 0; j < rank(); ++j) v.push_back(dim(j).input_size);
    return v;
}
Dims ConvGeometry::conv_output_size() const {
    Dims v;
    for (int j = 0; j < rank(); ++j) v.push_back(dim(j).output_size);
    return v;
}
Shape ConvGeometry::conv_input_shape() const {
    Shape s{impl_->cin};
    for (int j = 0; j < rank(); ++j) s.push_back(dim(j).input_size);
    return s;
}
Shape ConvGeometry::conv_output_shape() const {
    Shape s{impl_->cout};
    for (int j = 0; j < rank(); ++j) s.push_back(dim(j).output_size);
    return s;
}

const TapTable& ConvGeometry::output_taps3(int j) const {
    impl_->build_tables();
    return impl_->fwd[static_cast<size_t>(j)];
}
const TapTable& ConvGeometry::input_taps3(int j) const {
    impl_->build_tables();
    return impl_->bwd[static_cast<size_t>(j)];
}
const TapTable& ConvGeometry::output_taps(int j) const { return output_taps3(impl_->off + j); }
const TapTable& ConvGeometry::input_taps(int j) const { return input_taps3(impl_->off + j); }

double ConvGeometry::table_bytes() const {
    double b = 0;
    for (int j = 0; j < rank(); ++j) {
        const DimGeometry& d = dim(j);
        b += (static_cast<double>(d.output_size) * static_cast<double>(d.kernel_size) +
              static_cast<double>(d.input_size) + static_cast<double>(d.output_size)) * 3.0 * 8.0;
    }
    return b;
}

index_t ConvGeometry::structural_nnz() const {
    index_t nnz = detail::checked_mul(impl_->cout, in_per_group(), "number of matrix entries");
    for (int j = 0; j < 3; ++j) nnz = detail::checked_mul(nnz, output_taps3(j).total_groups(), "number of matrix entries");
    return nnz;
}

}  // namespace convmtx
