// Figures (figure.hpp): a PNG and an SVG rendered and read back (size, where the series, the heat
// map and the colour bar landed, the SVG's elements), and the errors for bad arguments.
#define BOOST_TEST_MODULE figure
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <unistd.h>

#include "convmtx/figure.hpp"
#include "convmtx/png.hpp"
#include "test_common.hpp"

using namespace convmtx;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
    const fs::path dir = fs::temp_directory_path() / ("convmtx_test_figure_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

Rgb to_rgb(const figure::Color& c) {
    return {static_cast<std::uint8_t>(std::lround(c.r * 255)), static_cast<std::uint8_t>(std::lround(c.g * 255)),
            static_cast<std::uint8_t>(std::lround(c.b * 255))};
}

/// The pixels of `img` that have exactly colour `c`, with the smallest and largest x among them.
struct Hits {
    index_t count = 0, xmin = -1, xmax = -1, ymin = -1, ymax = -1;
};
Hits find(const RgbImage& img, Rgb c) {
    Hits h;
    for (index_t y = 0; y < img.height; ++y)
        for (index_t x = 0; x < img.width; ++x)
            if (img.at(x, y) == c) {
                if (h.count++ == 0) h.xmin = h.xmax = x, h.ymin = h.ymax = y;
                h.xmin = std::min(h.xmin, x);
                h.xmax = std::max(h.xmax, x);
                h.ymin = std::min(h.ymin, y);
                h.ymax = std::max(h.ymax, y);
            }
    return h;
}

/// A two-panel figure: a thick line (cycle colour 3) on the left, a 2 x 2 heat map with its colour bar on the right.
figure::Figure two_panels() {
    figure::Figure fig(640, 320, 1, 2);
    fig.title("two panels");
    fig.axes(0, 0).title("line").xlabel("x").ylabel("y").plot({0, 1, 2, 3}, {0, 1, 0, 1}, {figure::cycle_color(3), 4, 0, "zigzag"});
    fig.axes(0, 1).title("heat map").xlabel("column").ylabel("row").heat_map({0, 1, 2, 3}, 2, 2, {0, 2, 0, 2},
                                                                             {figure::Colormap::viridis, "value"});
    return fig;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(png_has_the_size_and_puts_each_element_in_its_panel) {
    const fs::path path = temp_dir() / "two.png";
    two_panels().save(path.string());
    const RgbImage img = read_rgb_png(path.string());
    BOOST_TEST(img.width == 640);
    BOOST_TEST(img.height == 320);
    BOOST_TEST((img.at(0, 0) == Rgb{255, 255, 255}));

    // The 4-pixel line (Tableau red) lies in the left panel, over most of its width.
    const Hits line = find(img, to_rgb(figure::cycle_color(3)));
    BOOST_TEST(line.count > 300);
    BOOST_TEST(line.xmax < 320);
    BOOST_TEST(line.xmax - line.xmin > 150);

    // The heat map's cells: value 0 (viridis' first colour) is the top-left cell of the right
    // panel, value 3 (its last) the bottom-right one; the colour bar repeats both ends further right.
    const Rgb lo = to_rgb(figure::colormap_color(figure::Colormap::viridis, 0));
    const Rgb hi = to_rgb(figure::colormap_color(figure::Colormap::viridis, 1));
    const Hits first = find(img, lo), last = find(img, hi);
    BOOST_TEST(first.count > 1000);
    BOOST_TEST(last.count > 1000);
    BOOST_TEST(first.xmin > 320);
    BOOST_TEST(last.xmin > first.xmin);
    BOOST_TEST(first.ymin < last.ymax);
    // The two middle cells (1/3 and 2/3 of the map) fill a block each.
    BOOST_TEST(find(img, to_rgb(figure::colormap_color(figure::Colormap::viridis, 1.0 / 3))).count > 1000);
    BOOST_TEST(find(img, to_rgb(figure::colormap_color(figure::Colormap::viridis, 2.0 / 3))).count > 1000);
    fs::remove_all(path.parent_path());
}

BOOST_AUTO_TEST_CASE(svg_has_the_size_and_the_elements) {
    const fs::path path = temp_dir() / "two.SVG";
    two_panels().save(path.string());
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string svg = ss.str();
    BOOST_TEST(svg.rfind("<?xml", 0) == 0);
    BOOST_TEST(svg.find("width=\"640pt\"") != std::string::npos);
    BOOST_TEST(svg.find("height=\"320pt\"") != std::string::npos);
    BOOST_TEST(svg.find("</svg>") != std::string::npos);
    // The heat map is one embedded image; the colour bar a linear gradient; text is drawn as glyphs.
    BOOST_TEST(count(svg, "<image") == 1u);
    BOOST_TEST(count(svg, "<linearGradient") == 1u);
    BOOST_TEST(count(svg, "<use xlink:href=\"#glyph") > 40u);
    // The line in Tableau red (cycle colour 3, 0xd62728), stroked 4 wide.
    const std::regex red(R"(stroke-width:4;[^"]*stroke:rgb\(83\.9\d*%,15\.2\d*%,15\.6\d*%\))");
    BOOST_TEST(std::regex_search(svg, red));
    fs::remove_all(path.parent_path());
}

BOOST_AUTO_TEST_CASE(log_axes_and_non_finite_points_render) {
    figure::Figure fig(300, 200);
    fig.axes().yscale(figure::Scale::log).xscale(figure::Scale::log).grid(false).legend(false)
        .plot({1, 10, 100, 1000}, {1e-12, std::nan(""), 1, 0}, {figure::cycle_color(0), 2, 3, "s"})
        .scatter({2, 20}, {1e-6, 1e-3});
    fig.axes().text(10, 1e-3, "note");
    const std::string png = fig.png();
    BOOST_TEST(png.substr(1, 3) == "PNG");
    BOOST_TEST(fig.svg().find("</svg>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw_and_write_nothing) {
    BOOST_CHECK_THROW(figure::Figure(10, 100), config_error);
    BOOST_CHECK_THROW(figure::Figure(100, std::nan("")), config_error);
    BOOST_CHECK_THROW(figure::Figure(100, 100, 0, 1), config_error);
    figure::Figure fig(100, 100);
    BOOST_CHECK_THROW(fig.axes(0, 1), config_error);
    BOOST_CHECK_THROW(fig.axes().plot({1, 2}, {1}), shape_error);
    BOOST_CHECK_THROW(fig.axes().heat_map({1, 2, 3}, 2, 2, {}), shape_error);
    BOOST_CHECK_THROW(fig.axes().heat_map({1, 2, 3, 4}, 2, 2, {1, 0, 0, 1}), config_error);
    BOOST_CHECK_THROW(fig.axes().xlim(1, 1), config_error);
    BOOST_CHECK_THROW(fig.axes().ylim(0, std::numeric_limits<double>::infinity()), config_error);
    const fs::path path = temp_dir() / "figure.pdf";
    BOOST_CHECK_THROW(fig.save(path.string()), config_error);
    BOOST_TEST(!fs::exists(path));
    BOOST_CHECK_THROW(fig.save((temp_dir() / "no" / "such" / "dir.png").string()), io_error);
    fs::remove_all(path.parent_path());
}

BOOST_AUTO_TEST_CASE(colormaps_run_from_end_to_end) {
    const auto v0 = figure::colormap_color(figure::Colormap::viridis, -1);
    const auto v1 = figure::colormap_color(figure::Colormap::viridis, 2);
    BOOST_TEST((to_rgb(v0) == Rgb{0x44, 0x01, 0x54}));
    BOOST_TEST((to_rgb(v1) == Rgb{0xfd, 0xe7, 0x25}));
    BOOST_TEST((to_rgb(figure::colormap_color(figure::Colormap::gray, 0.5)) == Rgb{128, 128, 128}));
    BOOST_TEST((to_rgb(figure::colormap_color(figure::Colormap::magma, 1)) == Rgb{0xfc, 0xfd, 0xbf}));
    BOOST_TEST((to_rgb(figure::cycle_color(10)) == to_rgb(figure::cycle_color(0))));
}

BOOST_AUTO_TEST_CASE(tick_labels_have_the_step_s_decimals) {
    // Cairo's SVG draws each character as one glyph reference. x over [0, 100] has ticks every 25:
    // "0", "25", "50", "75", "100" (10 characters, none of them ".0"); y over [0, 1] every 0.2:
    // "0", "0.2", ..., "1.0" (16 characters).
    figure::Figure fig(400, 300);
    fig.axes().legend(false).plot({0, 100}, {0, 1}).xlim(0, 100).ylim(0, 1);
    BOOST_TEST(count(fig.svg(), "<use xlink:href=\"#glyph") == 26u);
}

BOOST_AUTO_TEST_CASE(reversed_y_axis_puts_small_values_at_the_top) {
    // A 2 x 1 heat map (row 0 = 0, row 1 = 1) over y in [-0.5, 1.5] and a red marker at y = -0.25:
    // with yreverse the marker lies at the top, in row 0's cell; row 0 stays the top cell either way.
    const fs::path dir = temp_dir();
    for (bool reversed : {false, true}) {
        figure::Figure fig(300, 300);
        fig.axes().yreverse(reversed).heat_map({0, 1}, 2, 1, {-0.5, 0.5, -0.5, 1.5}, {figure::Colormap::viridis, "v"});
        fig.axes().scatter({0}, {-0.25}, {figure::cycle_color(3), 0, 3, ""});
        const fs::path path = dir / (reversed ? "rev.png" : "fwd.png");
        fig.save(path.string());
        RgbImage img = read_rgb_png(path.string());
        for (index_t y = 0; y < img.height; ++y)  // keep the left half: the plot area without the colour bar
            for (index_t x = 150; x < img.width; ++x) img.set(x, y, {255, 255, 255});
        const Hits row0 = find(img, to_rgb(figure::colormap_color(figure::Colormap::viridis, 0)));
        const Hits row1 = find(img, to_rgb(figure::colormap_color(figure::Colormap::viridis, 1)));
        const Hits marker = find(img, to_rgb(figure::cycle_color(3)));
        BOOST_TEST(row0.count > 1000);
        BOOST_TEST(row1.count > 1000);
        BOOST_TEST(marker.count > 5);
        BOOST_TEST(row0.ymax < row1.ymin + 2);  // row 0 on top in both orientations
        const index_t my = (marker.ymin + marker.ymax) / 2;
        if (reversed) BOOST_TEST((my > row0.ymin && my < row0.ymax));   // y = -0.25 inside the top cell
        else BOOST_TEST((my > row1.ymin && my < row1.ymax));            // y = -0.25 near the bottom
    }
    fs::remove_all(dir);
}

namespace {

/// Every text of `fig` lies inside the canvas, and no two texts overlap (notes excepted: they are
/// data, clipped to the plot area).
void check_layout(const figure::Figure& fig, const std::string& what) {
    const auto boxes = fig.text_boxes();
    BOOST_TEST_INFO(what);
    BOOST_TEST(!boxes.empty());
    for (const auto& b : boxes) {
        BOOST_TEST_INFO(what << ": " << b.role << " '" << b.text << "' at " << b.x0 << ", " << b.y0 << " - " << b.x1 << ", " << b.y1);
        BOOST_TEST((b.x0 >= -0.5 && b.y0 >= -0.5 && b.x1 <= fig.width() + 0.5 && b.y1 <= fig.height() + 0.5));
    }
    for (size_t i = 0; i < boxes.size(); ++i)
        for (size_t j = i + 1; j < boxes.size(); ++j) {
            const auto &a = boxes[i], &b = boxes[j];
            if (a.role == "note" || b.role == "note") continue;
            const bool overlap = a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5;
            BOOST_TEST_INFO(what << ": " << a.role << " '" << a.text << "' and " << b.role << " '" << b.text << "'");
            BOOST_TEST(!overlap);
        }
}

std::vector<double> ramp(index_t n, double mod) {
    std::vector<double> v(static_cast<size_t>(n));
    for (index_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = std::fmod(static_cast<double>(i), mod);
    return v;
}

bool all_integers(const std::vector<figure::TextBox>& boxes, const std::string& role) {
    bool any = false;
    for (const auto& b : boxes)
        if (b.role == role) {
            any = true;
            if (b.text.find('.') != std::string::npos) return false;
        }
    return any;
}

}  // namespace

BOOST_AUTO_TEST_CASE(no_text_is_clipped_in_any_picture_kind) {
    // spy of a 4 x 16 W (the README's example): a y label much longer than the 96-pixel plot.
    {
        figure::Figure fig(614, 240);
        figure::HeatMapStyle st{figure::Colormap::viridis, "kernel tap t (flat spatial index)", true, 0, 8};
        st.discrete = true;
        fig.axes().title("W 4 x 16, 25 entries").xlabel("column = conv input index = channel x 16 + position")
            .ylabel("row = conv output index = channel x 4 + position").grid(false).yreverse(true).legend(false)
            .xinteger(true).yinteger(true).aspect_equal(true)
            .heat_map(ramp(64, 9), 4, 16, {-0.5, 15.5, -0.5, 3.5}, st);
        fig.fit_plot(384, 96, 360, 240);
        check_layout(fig, "spy 4 x 16");
        const auto boxes = fig.text_boxes();
        BOOST_TEST(all_integers(boxes, "xtick"));
        BOOST_TEST(all_integers(boxes, "ytick"));
        BOOST_TEST(all_integers(boxes, "colorbar tick"));
        const auto plot = fig.plot_areas().at(0);
        BOOST_TEST(std::abs(plot[2] - 384) < 1);
        BOOST_TEST(plot[3] >= 95);  // at least 240 high overall: the equal aspect keeps 24-pixel cells
    }
    // spectrum, one panel 560 wide: a figure title wider than the figure.
    {
        figure::Figure fig(560, 420);
        fig.title("spectrum of W, conv 8x16x16 -> 8x16x16, kernel 3x3, zeros padding, and some more words here");
        fig.axes().title("the 5 computed singular values").xlabel("index i (descending, from 1)").ylabel("singular value sigma_i")
            .xinteger(true).xlim(0.5, 5.5).plot({1, 2, 3, 4, 5}, {9.8, 7, 5, 3, 1}, {figure::cycle_color(0), 1.5, 3, "sigma_i (lanczos)"});
        check_layout(fig, "spectrum, one panel");
        BOOST_TEST(all_integers(fig.text_boxes(), "xtick"));
    }
    // spectrum, two panels with the frequency map; overlap with the weights' panel.
    for (int kind = 0; kind < 2; ++kind) {
        figure::Figure fig(1000, 420, 1, 2);
        fig.title("two panels with a long figure title: transposed conv 3x8x8 -> 2x17x17, kernel 3x3, stride 2x2");
        fig.axes(0, 0).title("overlap counts: interior max/min = 4/1 (uneven)").xlabel("output position, last dimension")
            .ylabel("output position, dimension 0").xinteger(true).yinteger(true).aspect_equal(true).grid(false).yreverse(true);
        figure::HeatMapStyle counts{figure::Colormap::viridis, "(input, tap) pairs per output (structure)", true, 1, 4};
        counts.discrete = true;
        fig.axes(0, 0).heat_map(ramp(17 * 17, 4), 17, 17, {-0.5, 16.5, -0.5, 16.5}, counts);
        fig.axes(0, 1).title("with the weights: response to all-ones input, channel 1; phase spread 0.834")
            .xlabel(kind ? "frequency f_1 (cycles per 16)" : "output position, last dimension")
            .ylabel(kind ? "frequency f_0 (cycles per 16)" : "output position, dimension 0")
            .xinteger(true).yinteger(true).aspect_equal(true).grid(false)
            .heat_map(ramp(16 * 16, 7.49), 16, 16, {-8.5, 7.5, -8.5, 7.5},
                      {figure::Colormap::magma, "output value for an all-ones input (weights w.npy)"});
        check_layout(fig, kind ? "spectrum, two panels" : "overlap with weights");
        const auto boxes = fig.text_boxes();
        BOOST_TEST(all_integers(boxes, "xtick"));
        BOOST_TEST(all_integers(boxes, "ytick"));
        std::vector<std::string> bar;
        for (const auto& b : boxes)
            if (b.role == "colorbar tick" && b.panel == 0) bar.push_back(b.text);
        BOOST_TEST((bar == std::vector<std::string>{"1", "2", "3", "4"}));  // one tick per count
    }
    // montage: four panels with two-line titles and grey-level bars.
    {
        figure::Figure fig(4 * 426, 376, 1, 4);
        for (int i = 0; i < 4; ++i)
            fig.axes(0, i).title(i == 2 ? "W^T b 7.01 dB / SSIM 0.215\nshown x4.16: white = 0.24" : "tv 25.77 dB / SSIM 0.791")
                .xlabel("x (pixels)").ylabel("y (pixels)").grid(false).yreverse(true).xinteger(true).yinteger(true).aspect_equal(true)
                .heat_map(ramp(128 * 128, 1.0), 128, 128, {-0.5, 127.5, -0.5, 127.5},
                          {figure::Colormap::gray, "grey level (0 black, 1 white)", true, 0, 1});
        check_layout(fig, "montage");
    }
    // A cramped figure: the texts wrap and shrink rather than leave the canvas.
    {
        figure::Figure fig(200, 150);
        fig.title("a very long figure title that cannot fit on one line of a small figure");
        fig.axes().title("averyveryverylongsinglewordtitlethatmustshrink").xlabel("a long x label that wraps").ylabel("y")
            .plot({0, 1000000}, {0, 1});
        check_layout(fig, "cramped");
    }
}

BOOST_AUTO_TEST_CASE(integer_axes_have_integer_ticks_and_discrete_bars_one_band_per_value) {
    // x over [-0.5, 5.5] would get ticks 0, 0.5, ..., 5.0 (or 2.5 steps) without xinteger.
    figure::Figure fig(600, 400);
    figure::HeatMapStyle st{figure::Colormap::viridis, "count", true, 1, 3};
    st.discrete = true;
    fig.axes().xinteger(true).yinteger(true).heat_map({1, 2, 3, 1, 2, 3}, 1, 6, {-0.5, 5.5, -0.5, 0.5}, st);
    const auto boxes = fig.text_boxes();
    std::vector<std::string> x, bar;
    for (const auto& b : boxes) {
        if (b.role == "xtick") x.push_back(b.text);
        if (b.role == "colorbar tick") bar.push_back(b.text);
    }
    BOOST_TEST((x == std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
    BOOST_TEST((bar == std::vector<std::string>{"1", "2", "3"}));
    BOOST_TEST(all_integers(boxes, "ytick"));
    // The three bands of the bar and the three cells have the colour map's 0, 1/2 and 1.
    const std::string png = fig.png();
    const fs::path path = temp_dir() / "discrete.png";
    std::ofstream(path, std::ios::binary) << png;
    const RgbImage img = read_rgb_png(path.string());
    for (double t : {0.0, 0.5, 1.0}) BOOST_TEST(find(img, to_rgb(figure::colormap_color(figure::Colormap::viridis, t))).count > 500);
    fs::remove_all(path.parent_path());
}
