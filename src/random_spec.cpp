#include "convmtx/random_spec.hpp"

#include <algorithm>
#include <limits>
#include <string>

namespace convmtx {

namespace {

void check_range(const IndexRange& r, index_t lowest, const std::string& name) {
    if (r.min < lowest || r.max < r.min)
        throw config_error("random_spec: " + name + "=[" + std::to_string(r.min) + ", " + std::to_string(r.max) +
                           "] must be a non-empty range with min >= " + std::to_string(lowest));
}

void check_options(const RandomSpecOptions& o) {
    check_range(o.rank, 1, "rank");
    if (o.rank.max > 3)
        throw config_error("random_spec: rank=[" + std::to_string(o.rank.min) + ", " + std::to_string(o.rank.max) +
                           "] must lie within [1, 3]");
    check_range(o.groups, 1, "groups");
    check_range(o.channels_per_group, 1, "channels_per_group");
    index_t channels = 0;
    if (__builtin_mul_overflow(o.groups.max, o.channels_per_group.max, &channels))
        throw config_error("random_spec: groups.max=" + std::to_string(o.groups.max) + " times channels_per_group.max=" +
                           std::to_string(o.channels_per_group.max) + " overflows a 64-bit integer");
    for (index_t r = o.rank.min; r <= o.rank.max; ++r) {
        const size_t j = static_cast<size_t>(r - 1);
        check_range(o.input_size[j], 1, "input_size[" + std::to_string(j) + "] (rank " + std::to_string(r) + ")");
        check_range(o.kernel_size[j], 1, "kernel_size[" + std::to_string(j) + "] (rank " + std::to_string(r) + ")");
    }
    check_range(o.stride, 1, "stride");
    check_range(o.dilation, 1, "dilation");
    check_range(o.padding, 0, "padding");
    if (o.padding_modes.empty() && o.direction != SpecDirection::transposed)
        throw config_error("random_spec: padding_modes is empty; a conv needs at least one padding mode");
    if (o.max_attempts < 1)
        throw config_error("random_spec: max_attempts=" + std::to_string(o.max_attempts) + " must be positive");
}

}  // namespace

ConvSpec random_spec(std::mt19937_64& rng, const RandomSpecOptions& o) {
    check_options(o);
    auto pick = [&](const IndexRange& r) { return std::uniform_int_distribution<index_t>(r.min, r.max)(rng); };
    const IndexRange either{0, 1};
    const auto modes = static_cast<index_t>(o.padding_modes.size());
    for (int attempt = 0; attempt < o.max_attempts; ++attempt) {
        ConvSpec s;
        s.transposed = o.direction == SpecDirection::either ? pick(either) == 1 : o.direction == SpecDirection::transposed;
        const int r = static_cast<int>(pick(o.rank));
        const size_t by_rank = static_cast<size_t>(r - 1);
        s.groups = pick(o.groups);
        s.in_channels = s.groups * pick(o.channels_per_group);
        s.out_channels = s.groups * pick(o.channels_per_group);
        for (int j = 0; j < r; ++j) {
            s.kernel_size.push_back(pick(o.kernel_size[by_rank]));
            s.stride.push_back(pick(o.stride));
            s.dilation.push_back(pick(o.dilation));
            s.input_size.push_back(pick(o.input_size[by_rank]));
            s.padding_lo.push_back(pick(o.padding));
            s.padding_hi.push_back(pick(o.padding));
            const index_t a_max = std::max(s.stride.back(), s.dilation.back()) - 1;
            s.output_padding.push_back(s.transposed ? pick({0, a_max}) : 0);
        }
        if (!s.transposed && modes > 1) s.padding_mode = o.padding_modes[static_cast<size_t>(pick({0, modes - 1}))];
        else if (!s.transposed) s.padding_mode = o.padding_modes.front();
        try {
            s.validate();
            return s;
        } catch (const config_error&) {
        } catch (const index_overflow_error&) {
        }
    }
    throw config_error("random_spec: no valid configuration in max_attempts=" + std::to_string(o.max_attempts) +
                       " draws; widen the ranges (input_size, padding) or narrow kernel_size, stride and dilation");
}

}  // namespace convmtx
