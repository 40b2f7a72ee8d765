// Figures for the command-line tool and the library: a grid of panels (Axes), each with a title,
// axis labels, ticks with "nice" values (1, 2, 2.5, 5 x 10^e on linear axes, powers of ten on
// logarithmic ones), optional grid lines, line and scatter plots with a legend, heat maps with a
// colour bar, and free text. Drawn with Cairo (the only file that calls it is src/figure.cpp) into
// PNG or SVG, chosen by the file's extension, and written atomically (file.hpp).
//
//   figure::Figure fig(900, 400, 1, 2);                 // 900 x 400 pixels, one row of two panels
//   fig.axes(0, 0).title("singular values").xlabel("index i").ylabel("sigma_i")
//       .plot(x, y, {figure::cycle_color(0), 1.5, 0, "sigma_i"});
//   fig.axes(0, 1).heat_map(values, rows, cols, {-8, 7, -8, 7}, {figure::Colormap::viridis, "sigma_max"});
//   fig.save("s.png");                                   // or "s.svg"
//
// Sizes are in pixels for PNG and points for SVG. Data outside the axes' limits is clipped.
// The layout measures every text (Cairo's text extents) and reserves room for it: a title, axis label
// or colour-bar label wider than its room is wrapped at spaces (an explicit "\n" starts a new line)
// and, when a word is still too wide, drawn smaller; ticks are thinned until their labels do not
// overlap. Figure::text_boxes() returns where every text landed, for tests.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "convmtx/spec.hpp"

namespace convmtx::figure {

/// An RGBA colour, each component in [0, 1].
struct Color {
    double r = 0;  ///< red
    double g = 0;  ///< green
    double b = 0;  ///< blue
    double a = 1;  ///< opacity
};
/// The i-th colour of the default cycle (Tableau 10, matplotlib's default), repeating after ten.
Color cycle_color(int i);

/// Colour maps for heat maps: viridis and magma (perceptually uniform, readable in gray and by
/// colour-blind readers; van der Walt & Smith, matplotlib), and gray (black to white).
enum class Colormap { viridis, magma, gray };
/// The colour at t in [0, 1] (clamped; NaN gives light gray).
Color colormap_color(Colormap map, double t);

/// An axis' scale.
enum class Scale { linear, log };

/// How a series is drawn: a line of `width` pixels (0: none) and round markers of radius `marker`
/// pixels (0: none); `label` is its legend entry ("": not in the legend).
struct SeriesStyle {
    Color color = {0.122, 0.467, 0.706, 1};  ///< line and marker colour
    double width = 1.5;                      ///< line width in pixels (0: no line)
    double marker = 0;                       ///< marker radius in pixels (0: no markers)
    std::string label;                       ///< legend entry ("": none)
};

/// The rectangle [x0, x1] x [y0, y1] of data coordinates a heat map covers.
struct Extent {
    double x0 = 0;  ///< left edge
    double x1 = 1;  ///< right edge
    double y0 = 0;  ///< bottom edge
    double y1 = 1;  ///< top edge
};

/// How a heat map is drawn: its colour map and colour bar, and the values at the map's ends.
struct HeatMapStyle {
    Colormap colormap = Colormap::viridis;  ///< the colour map
    std::string colorbar_label;  ///< the colour bar's label
    bool colorbar = true;        ///< draw the colour bar
    /// The values mapped to the ends of the colour map; NaN: the data's smallest and largest.
    double vmin = std::numeric_limits<double>::quiet_NaN();
    double vmax = std::numeric_limits<double>::quiet_NaN();  ///< the value at the top of the colour map
    /// The values are integers (counts, kernel taps): the colour bar has one band per integer from vmin
    /// to vmax with a tick at each (at most 32 bands; beyond, a continuous bar with integer ticks).
    bool discrete = false;
};

/// Where a text was drawn: its ink box in pixels (PNG) or points (SVG), from Cairo's text extents.
struct TextBox {
    std::string role;  ///< "figure title", "title", "xlabel", "ylabel", "xtick", "ytick", "colorbar tick", "colorbar label", "legend", "note"
    int panel = -1;    ///< the panel (row * cols + col); -1 for the figure title
    std::string text;  ///< the line drawn
    double x0 = 0;  ///< left edge, in the figure's units (pixels or points) from the left
    double y0 = 0;  ///< top edge, from the top
    double x1 = 0;  ///< right edge
    double y1 = 0;  ///< bottom edge
};

class Axes;
namespace detail {
struct Renderer;
}

/// One panel: its plot area, axes, ticks, labels and content.
class Axes {
public:
    /// The panel's title, above the plot area.
    Axes& title(std::string text);
    /// The label under the x axis.
    Axes& xlabel(std::string text);
    /// The label left of the y axis.
    Axes& ylabel(std::string text);
    /// Fixed axis limits (lo < hi); by default the data's range, 4% wider for plots, exact for heat maps.
    Axes& xlim(double lo, double hi);
    /// Fixed y limits, as xlim.
    Axes& ylim(double lo, double hi);
    /// A logarithmic axis ignores values <= 0.
    Axes& xscale(Scale s);
    /// The y axis' scale, as xscale.
    Axes& yscale(Scale s);
    /// Grid lines at the major ticks (on by default).
    Axes& grid(bool on);
    /// The y axis grows downwards (on: like a matrix's row index or an image's rows), off by default.
    /// A heat map keeps its row 0 at the top of the plot either way: at y0 when on, at y1 when off.
    Axes& yreverse(bool on);
    /// The legend (upper right, inside the plot area) is drawn when a series has a label, unless off.
    Axes& legend(bool on);
    /// Integer-valued axes (indices, pixel positions, frequencies): ticks only at integers.
    Axes& xinteger(bool on);
    /// Integer ticks on the y axis, as xinteger.
    Axes& yinteger(bool on);
    /// One data unit is as long on x as on y (images, matrices): the plot area shrinks to keep the
    /// aspect and is centred in its room. Off by default.
    Axes& aspect_equal(bool on);

    /// A series through (x[i], y[i]); a non-finite point breaks the line. shape_error unless
    /// x and y have the same length.
    Axes& plot(std::vector<double> x, std::vector<double> y, SeriesStyle style = {});
    /// Markers only (radius style.marker, 3 pixels when 0).
    Axes& scatter(std::vector<double> x, std::vector<double> y, SeriesStyle style = {});
    /// `rows` x `cols` values in C order over `extent`, row 0 at the top like an image (see yreverse), with
    /// a colour bar on the right. Non-finite values are light gray. shape_error unless the sizes agree.
    Axes& heat_map(std::vector<double> values, index_t rows, index_t cols, Extent extent, HeatMapStyle style = {});
    /// Text at data coordinates (x, y), its left end there.
    Axes& text(double x, double y, std::string text);

private:
    friend struct detail::Renderer;
    struct Series {
        std::vector<double> x, y;
        SeriesStyle style;
        bool line = true;
    };
    struct HeatMap {
        std::vector<double> values;
        index_t rows = 0, cols = 0;
        Extent extent;
        HeatMapStyle style;
    };
    struct Note {
        double x, y;
        std::string text;
    };
    std::string title_, xlabel_, ylabel_;
    bool xfixed_ = false, yfixed_ = false;
    double xlo_ = 0, xhi_ = 1, ylo_ = 0, yhi_ = 1;
    Scale xscale_ = Scale::linear, yscale_ = Scale::linear;
    bool grid_ = true, legend_ = true, yreverse_ = false;
    bool xinteger_ = false, yinteger_ = false, aspect_equal_ = false;
    std::vector<Series> series_;
    std::vector<HeatMap> heat_maps_;
    std::vector<Note> notes_;
};

/// A figure of `rows` x `cols` panels of equal size, with an optional title above them.
class Figure {
public:
    /// width and height in pixels (PNG) or points (SVG), each in [64, 16384]; rows and cols in [1, 16].
    /// config_error otherwise.
    Figure(double width, double height, int rows = 1, int cols = 1);
    /// The panel at (row, col); config_error outside the grid.
    Axes& axes(int row = 0, int col = 0);
    /// The figure's title, above every panel.
    Figure& title(std::string text);

    /// The encoded figure as PNG bytes.
    std::string png() const;
    /// The encoded figure as SVG text.
    std::string svg() const;
    /// Resizes the figure so that panel (0, 0)'s plot area is plot_width x plot_height (the margins
    /// measured from its texts), at least min_width x min_height overall, within [64, 16384].
    Figure& fit_plot(double plot_width, double plot_height, double min_width = 64, double min_height = 64);
    /// Each panel's plot area (x, y, width, height) before an equal aspect shrinks it, in panel order.
    std::vector<std::array<double, 4>> plot_areas() const;
    /// The layout query: every text the figure draws, with its ink box (in the order drawn).
    std::vector<TextBox> text_boxes() const;
    /// Writes PNG or SVG by the path's extension (.png or .svg, any case; config_error otherwise),
    /// atomically (write_file_atomic): never a partial file. io_error when it cannot be written.
    /// When the environment variable CONVMTX_FIGURE_TEXT_BOXES names a file, text_boxes() is appended
    /// to it, one tab-separated line per text (path, role, panel, x0, y0, x1, y1, width, height, text):
    /// the tests of the programs that draw check with it that no text is clipped.
    void save(const std::string& path) const;

    /// Width in pixels (PNG) or points (SVG).
    double width() const { return width_; }
    /// Height in pixels (PNG) or points (SVG).
    double height() const { return height_; }

private:
    friend struct detail::Renderer;
    double width_, height_;
    int rows_, cols_;
    std::string title_;
    std::vector<Axes> axes_;
};

}  // namespace convmtx::figure
