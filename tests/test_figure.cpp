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
