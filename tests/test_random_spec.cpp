// convmtx::random_spec, the generator of random configurations behind the C++ suites and
// `convmtx adjoint-test`: every draw is valid and inside its ranges, every value of every range
// is drawn, the sequence is a function of the seed, and bad options are refused by name.
#define BOOST_TEST_MODULE random_spec
#include <map>
#include <set>

#include "test_common.hpp"

namespace convmtx::test {
namespace {

bool within(index_t v, const IndexRange& r) { return v >= r.min && v <= r.max; }

/// The message of the config_error `f` throws ("" when it throws none).
template <class F>
std::string config_error_of(F&& f) {
    try {
        f();
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

BOOST_AUTO_TEST_CASE(draws_are_valid_and_inside_the_ranges) {
    RandomSpecOptions o;
    o.rank = {1, 3};
    o.groups = {2, 3};
    o.channels_per_group = {1, 3};
    o.input_size = {{{4, 9}, {2, 6}, {3, 4}}};
    o.kernel_size = {{{1, 5}, {2, 3}, {1, 2}}};
    o.stride = {2, 4};
    o.dilation = {1, 3};
    o.padding = {1, 2};
    o.padding_modes = {PaddingMode::reflect, PaddingMode::zeros};
    std::mt19937_64 rng(1);
    std::set<std::string> seen;
    for (int i = 0; i < 3000; ++i) {
        const ConvSpec s = convmtx::random_spec(rng, o);
        BOOST_TEST_CONTEXT(s.describe()) {
            BOOST_CHECK_NO_THROW(s.validate());
            const int r = s.rank();
            const size_t j3 = static_cast<size_t>(r - 1);
            BOOST_TEST(within(r, o.rank));
            BOOST_TEST(within(s.groups, o.groups));
            BOOST_TEST(s.in_channels % s.groups == 0);
            BOOST_TEST(s.out_channels % s.groups == 0);
            BOOST_TEST(within(s.in_channels / s.groups, o.channels_per_group));
            BOOST_TEST(within(s.out_channels / s.groups, o.channels_per_group));
            for (int j = 0; j < r; ++j) {
                BOOST_TEST(within(s.input_size[j], o.input_size[j3]));
                BOOST_TEST(within(s.kernel_size[j], o.kernel_size[j3]));
                BOOST_TEST(within(s.stride[j], o.stride));
                BOOST_TEST(within(s.dilation[j], o.dilation));
                BOOST_TEST(within(s.padding_lo[j], o.padding));
                BOOST_TEST(within(s.padding_hi[j], o.padding));
                BOOST_TEST(s.output_padding[j] >= 0);
                BOOST_TEST(s.output_padding[j] < std::max(s.stride[j], s.dilation[j]));
                if (!s.transposed) BOOST_TEST(s.output_padding[j] == 0);
                seen.insert("rank" + std::to_string(r) + " kernel" + std::to_string(s.kernel_size[j]));
                seen.insert("rank" + std::to_string(r) + " input" + std::to_string(s.input_size[j]));
                seen.insert("stride" + std::to_string(s.stride[j]));
                seen.insert("dilation" + std::to_string(s.dilation[j]));
                seen.insert("padding" + std::to_string(s.padding_lo[j]) + ":" + std::to_string(s.padding_hi[j]));
                if (s.transposed) seen.insert("output_padding" + std::to_string(s.output_padding[j]));
            }
            if (s.transposed) BOOST_TEST((s.padding_mode == PaddingMode::zeros));
            else seen.insert("mode " + to_string(s.padding_mode));
            seen.insert(s.transposed ? "transposed" : "conv");
            seen.insert("groups" + std::to_string(s.groups));
            seen.insert("in" + std::to_string(s.in_channels / s.groups));
            seen.insert("out" + std::to_string(s.out_channels / s.groups));
        }
    }
    // Every value of every range occurs (per rank for the sizes), both directions and both modes.
    std::vector<std::string> want{"conv", "transposed", "mode reflect", "mode zeros", "output_padding0", "output_padding3"};
    for (index_t r = 1; r <= 3; ++r) {
        const size_t j3 = static_cast<size_t>(r - 1);
        for (index_t k = o.kernel_size[j3].min; k <= o.kernel_size[j3].max; ++k)
            want.push_back("rank" + std::to_string(r) + " kernel" + std::to_string(k));
        for (index_t n = o.input_size[j3].min; n <= o.input_size[j3].max; ++n)
            want.push_back("rank" + std::to_string(r) + " input" + std::to_string(n));
    }
    for (index_t v = o.stride.min; v <= o.stride.max; ++v) want.push_back("stride" + std::to_string(v));
    for (index_t v = o.dilation.min; v <= o.dilation.max; ++v) want.push_back("dilation" + std::to_string(v));
    for (index_t v = o.groups.min; v <= o.groups.max; ++v) want.push_back("groups" + std::to_string(v));
    for (index_t v = o.channels_per_group.min; v <= o.channels_per_group.max; ++v) {
        want.push_back("in" + std::to_string(v));
        want.push_back("out" + std::to_string(v));
    }
    for (index_t lo = o.padding.min; lo <= o.padding.max; ++lo)
        for (index_t hi = o.padding.min; hi <= o.padding.max; ++hi)
            want.push_back("padding" + std::to_string(lo) + ":" + std::to_string(hi));
    for (const std::string& w : want) BOOST_TEST(seen.count(w) == 1u, "never drawn: " << w);
}

BOOST_AUTO_TEST_CASE(defaults_cover_the_suites_ranges) {
    // The defaults the suites rely on: rank 1-3, both directions, every padding mode, groups 1-3,
    // kernel 1-4, stride 1-3, dilation 1-2, padding 0-3, input sizes up to 11/7/5 by rank.
    std::mt19937_64 rng(2);
    std::map<std::string, index_t> max_seen;
    std::set<std::string> seen;
    auto note = [&](const std::string& k, index_t v) { max_seen[k] = std::max(max_seen[k], v); };
    for (int i = 0; i < 4000; ++i) {
        const ConvSpec s = convmtx::random_spec(rng);
        seen.insert((s.transposed ? "T" : "C") + std::to_string(s.rank()));
        if (!s.transposed) seen.insert("mode " + to_string(s.padding_mode));
        note("groups", s.groups);
        for (int j = 0; j < s.rank(); ++j) {
            note("input" + std::to_string(s.rank()), s.input_size[j]);
            note("kernel", s.kernel_size[j]);
            note("stride", s.stride[j]);
            note("dilation", s.dilation[j]);
            note("padding", std::max(s.padding_lo[j], s.padding_hi[j]));
        }
    }
    for (const char* w : {"C1", "C2", "C3", "T1", "T2", "T3", "mode zeros", "mode circular", "mode reflect", "mode replicate"})
        BOOST_TEST(seen.count(w) == 1u, "never drawn: " << w);
    const std::map<std::string, index_t> want{{"groups", 3}, {"input1", 11}, {"input2", 7}, {"input3", 5}, {"kernel", 4},
                                              {"stride", 3}, {"dilation", 2}, {"padding", 3}};
    BOOST_TEST((max_seen == want));
}

BOOST_AUTO_TEST_CASE(the_sequence_is_a_function_of_the_seed) {
    RandomSpecOptions o;
    o.direction = SpecDirection::transposed;
    std::mt19937_64 a(7), b(7), c(8);
    std::vector<std::string> da, db, dc;
    for (int i = 0; i < 50; ++i) {
        da.push_back(convmtx::random_spec(a, o).describe());
        db.push_back(convmtx::random_spec(b, o).describe());
        dc.push_back(convmtx::random_spec(c, o).describe());
    }
    BOOST_TEST(da == db, boost::test_tools::per_element());
    BOOST_TEST((da != dc));
    for (const auto& d : da) BOOST_TEST(d.find("conv_transpose") == 0u, d);
    // A single padding mode is not drawn: the sequence equals the one with zeros padding fixed.
    RandomSpecOptions z, zr;
    z.direction = zr.direction = SpecDirection::conv;
    z.padding_modes = {PaddingMode::zeros};
    zr.padding_modes = {PaddingMode::replicate};
    std::mt19937_64 ra(9), rb(9);
    for (int i = 0; i < 50; ++i) {
        ConvSpec s1 = convmtx::random_spec(ra, z), s2 = convmtx::random_spec(rb, zr);
        BOOST_TEST((s2.padding_mode == PaddingMode::replicate));
        s2.padding_mode = PaddingMode::zeros;
        BOOST_TEST(s1.describe() == s2.describe());
    }
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused_by_name) {
    std::mt19937_64 rng(3);
    auto with = [&](auto mutate) {
        return config_error_of([&] {
            RandomSpecOptions o;
            mutate(o);
            (void)convmtx::random_spec(rng, o);
        });
    };
    auto has = [](const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; };
    std::string m = with([](RandomSpecOptions& o) { o.rank = {0, 2}; });
    BOOST_TEST(has(m, "rank=[0, 2]"), m);
    m = with([](RandomSpecOptions& o) { o.rank = {1, 4}; });
    BOOST_TEST(has(m, "rank=[1, 4] must lie within [1, 3]"), m);
    m = with([](RandomSpecOptions& o) { o.stride = {3, 2}; });
    BOOST_TEST(has(m, "stride=[3, 2] must be a non-empty range with min >= 1"), m);
    m = with([](RandomSpecOptions& o) { o.padding = {-1, 2}; });
    BOOST_TEST(has(m, "padding=[-1, 2]"), m);
    BOOST_TEST(has(m, "min >= 0"), m);
    m = with([](RandomSpecOptions& o) { o.input_size[1] = {0, 3}; });
    BOOST_TEST(has(m, "input_size[1] (rank 2)=[0, 3]"), m);
    m = with([](RandomSpecOptions& o) { o.kernel_size[2] = {2, 1}; });
    BOOST_TEST(has(m, "kernel_size[2] (rank 3)=[2, 1]"), m);
    m = with([](RandomSpecOptions& o) { o.padding_modes.clear(); });
    BOOST_TEST(has(m, "padding_modes is empty"), m);
    m = with([](RandomSpecOptions& o) { o.max_attempts = 0; });
    BOOST_TEST(has(m, "max_attempts=0 must be positive"), m);
    m = with([](RandomSpecOptions& o) {
        o.groups = {1, index_t(1) << 62};
        o.channels_per_group = {1, 4};
    });
    BOOST_TEST(has(m, "overflows"), m);
    // Ranges of a rank that is never drawn are not checked; a transposed conv needs no padding mode.
    BOOST_TEST(with([](RandomSpecOptions& o) {
                   o.rank = {1, 1};
                   o.input_size[2] = {0, 0};
                   o.direction = SpecDirection::transposed;
                   o.padding_modes.clear();
               }) == "");
    // Ranges that never give a valid configuration: an input of 1 with a kernel of 3 and no padding.
    m = with([](RandomSpecOptions& o) {
        o.direction = SpecDirection::conv;
        o.rank = {1, 1};
        o.input_size[0] = {1, 1};
        o.kernel_size[0] = {3, 3};
        o.padding = {0, 0};
        o.max_attempts = 50;
    });
    BOOST_TEST(has(m, "no valid configuration in max_attempts=50 draws"), m);
}

}  // namespace
}  // namespace convmtx::test
