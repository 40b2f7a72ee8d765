#include "convmtx/slab_layout.hpp"

#include <algorithm>
#include <string>

#include "convmtx/errors.hpp"

namespace convmtx {

SideLayout::SideLayout(index_t channels, const Dims& size, int parts) : channels_(channels) {
    if (parts < 1) throw config_error("parts: value " + std::to_string(parts) + " must be >= 1");
    if (size.empty()) throw config_error("SideLayout: the side needs at least one spatial axis");
    length0_ = size[0];
    for (size_t j = 1; j < size.size(); ++j) plane_ *= size[j];
    begin_.resize(static_cast<size_t>(parts) + 1);
    offset_.resize(static_cast<size_t>(parts) + 1);
    for (int p = 0; p <= parts; ++p) {
        // floor(p L / P) without overflowing for huge L: L = qP + r.
        const index_t P = parts, q = length0_ / P, r = length0_ % P;
        begin_[static_cast<size_t>(p)] = q * p + (r * p) / P;
        offset_[static_cast<size_t>(p)] = channels_ * begin_[static_cast<size_t>(p)] * plane_;
    }
}

int SideLayout::part_of_slab_position(index_t i0) const {
    // The last part whose slab begins at or before i0 (empty slabs share their begin with the next).
    const auto it = std::upper_bound(begin_.begin(), begin_.end() - 1, i0);
    return static_cast<int>(it - begin_.begin()) - 1;
}

index_t SideLayout::to_distributed(index_t flat) const {
    const index_t per_channel = length0_ * plane_;
    const index_t c = flat / per_channel, rem = flat % per_channel;
    const index_t i0 = rem / plane_, rest = rem % plane_;
    const int p = part_of_slab_position(i0);
    return offset(p) + (c * slab_length(p) + (i0 - slab_begin(p))) * plane_ + rest;
}

index_t SideLayout::to_flat(index_t distributed) const {
    const int p = static_cast<int>(std::upper_bound(offset_.begin(), offset_.end() - 1, distributed) - offset_.begin()) - 1;
    const index_t local = distributed - offset(p);
    const index_t per_channel = slab_length(p) * plane_;
    const index_t c = local / per_channel, rem = local % per_channel;
    return (c * length0_ + slab_begin(p) + rem / plane_) * plane_ + rem % plane_;
}

SlabLayout slab_layout(const ConvGeometry& geometry, int parts) {
    return SlabLayout{SideLayout(geometry.conv_out_channels(), geometry.conv_output_size(), parts),
                      SideLayout(geometry.conv_in_channels(), geometry.conv_input_size(), parts)};
}

double PartModel::matrix_bytes(int index_bytes) const {
    const double ib = index_bytes;
    return static_cast<double>(entries) * (8 + ib) + 2 * static_cast<double>(rows + 1) * ib +
           static_cast<double>(halo) * (8 + ib);
}

std::vector<PartModel> slab_model(const ConvGeometry& G, bool transpose, int parts) {
    const SlabLayout layout = slab_layout(G, parts);
    const SideLayout& rows = layout.matrix_rows(transpose);
    const SideLayout& cols = layout.matrix_cols(transpose);
    auto table = [&](int j) -> const TapTable& { return transpose ? G.input_taps(j) : G.output_taps(j); };
    auto reverse = [&](int j) -> const TapTable& { return transpose ? G.output_taps(j) : G.input_taps(j); };
    const index_t partners = transpose ? G.out_per_group() : G.in_per_group();

    // The other axes are whole on every part: their sums and reaches are shared.
    index_t other_entries = 1, other_reach = 1;
    for (int j = 1; j < G.rank(); ++j) {
        other_entries *= table(j).total_groups();
        const TapTable& R = reverse(j);
        index_t reached = 0;
        for (index_t i = 0; i < R.positions(); ++i) reached += R.groups(i) > 0;
        other_reach *= reached;
    }

    const TapTable& T0 = table(0);
    std::vector<int> stamp(static_cast<size_t>(cols.slab_begin(cols.parts())), -1);  // last part that reached i_0
    std::vector<int> neighbour_stamp(static_cast<size_t>(parts), -1);
    std::vector<PartModel> out(static_cast<size_t>(parts));
    for (int p = 0; p < parts; ++p) {
        PartModel& m = out[static_cast<size_t>(p)];
        m.rows = rows.local_size(p);
        m.cols = cols.local_size(p);
        index_t s0 = 0, d0 = 0, halo0 = 0;
        for (index_t q = rows.slab_begin(p); q < rows.slab_begin(p + 1); ++q) {
            s0 += T0.groups(q);
            for (index_t g = T0.begin(q); g < T0.end(q); ++g) {
                const index_t i = T0.target(g);
                const int owner = cols.part_of_slab_position(i);
                if (owner == p) {
                    ++d0;
                    continue;
                }
                if (stamp[static_cast<size_t>(i)] != p) {
                    stamp[static_cast<size_t>(i)] = p;
                    ++halo0;
                }
                if (neighbour_stamp[static_cast<size_t>(owner)] != p) {
                    neighbour_stamp[static_cast<size_t>(owner)] = p;
                    ++m.neighbours;
                }
            }
        }
        const index_t channel_pairs = rows.channels() * partners;
        m.entries = channel_pairs * s0 * other_entries;
        m.diagonal_entries = channel_pairs * d0 * other_entries;
        m.halo = cols.channels() * halo0 * other_reach;
        if (m.entries == 0) m.neighbours = 0;
    }
    return out;
}

}  // namespace convmtx
