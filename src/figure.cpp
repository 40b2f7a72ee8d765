// Figures through Cairo (figure.hpp): layout, ticks, series, heat maps and colour bars, encoded as
// PNG (an image surface) or SVG (a vector surface) into memory and written atomically.
#include "convmtx/figure.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <cairo-svg.h>
#include <cairo.h>

#include "convmtx/errors.hpp"
#include "convmtx/file.hpp"

namespace convmtx::figure {

namespace {

constexpr double kTickFont = 11, kLabelFont = 12, kTitleFont = 13, kFigureTitleFont = 15;

Color hex(unsigned v) {
    return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0, 1};
}

// Eleven samples at t = 0, 0.1, ..., 1 of matplotlib's viridis and magma, interpolated linearly.
constexpr std::array<unsigned, 11> kViridis = {0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
                                               0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725};
constexpr std::array<unsigned, 11> kMagma = {0x000004, 0x140e36, 0x3b0f70, 0x641a80, 0x8c2981, 0xb73779,
                                             0xde4968, 0xf7705c, 0xfe9f6d, 0xfecf92, 0xfcfdbf};
constexpr std::array<unsigned, 10> kCycle = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                             0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

struct Rect {
    double x = 0, y = 0, w = 0, h = 0;
    double right() const { return x + w; }
    double bottom() const { return y + h; }
};

struct Ticks {
    std::vector<double> values;
    std::vector<std::string> labels;
};

/// "nice" step near range / target: 1, 2, 2.5 or 5 x 10^e.
double nice_step(double range, double target) {
    const double raw = range / target;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double r = raw / mag;
    return (r < 1.5 ? 1 : r < 2.25 ? 2 : r < 3.5 ? 2.5 : r < 7.5 ? 5 : 10) * mag;
}

std::string number(double v, double step) {
    if (v == 0 || std::abs(v) < step * 1e-9) return "0";
    char buf[48];
    const double a = std::abs(v);
    if (a >= 1e6 || a < 1e-4) {
        std::snprintf(buf, sizeof buf, "%.3g", v);
        return buf;
    }
    const double exponent = std::floor(std::log10(step) + 1e-9);
    int decimals = std::max(0, static_cast<int>(-exponent));
    // A step of 2.5 x 10^e with e <= 0 needs one more decimal (0.25, 2.5); 25 or 250 do not.
    if (exponent <= 0 && std::abs(step / std::pow(10.0, exponent) - 2.5) < 1e-6) ++decimals;
    std::snprintf(buf, sizeof buf, "%.*f", std::min(decimals, 10), v);
    return buf;
}

/// 10^k as text: plain for -2 <= k <= 3, otherwise 10 with a superscript exponent.
std::string power_of_ten(int k) {
    if (k >= 0 && k <= 3) return std::string("1") + std::string(static_cast<size_t>(k), '0');
    if (k == -1) return "0.1";
    if (k == -2) return "0.01";
    static const char* sup[] = {"\u2070", "\u00b9", "\u00b2", "\u00b3", "\u2074", "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
    std::string s = "10";
    if (k < 0) s += "\u207b";
    for (char c : std::to_string(std::abs(k))) s += sup[c - '0'];
    return s;
}

/// Ticks at multiples of a nice step over [lo, hi]; integer: the step is an integer (1, 2, 5 x 10^e,
/// or 25 x 10^e), for integer-valued axes.
Ticks linear_ticks(double lo, double hi, double target, bool integer = false) {
    Ticks t;
    double step = nice_step(hi - lo, std::max(target, 1.0));
    if (integer && step < 1) step = 1;
    if (integer && step != std::floor(step)) step = std::floor(step);  // 2.5 -> 2
    const double first = std::ceil(lo / step - 1e-9);
    for (double k = first; k * step <= hi + step * 1e-9; k += 1) {
        const double v = k * step;
        t.values.push_back(v);
        t.labels.push_back(number(v, step));
        if (t.values.size() > 50) break;
    }
    return t;
}

/// Ticks of a log axis over [lo, hi] (both > 0): powers of ten, thinned to about `target`;
/// 1, 2, 5 x 10^k when the range spans less than two decades.
Ticks log_ticks(double lo, double hi, double target) {
    Ticks t;
    const int k0 = static_cast<int>(std::floor(std::log10(lo) + 1e-9)), k1 = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
    if (k1 - k0 >= 2) {
        const int every = std::max(1, static_cast<int>(std::ceil((k1 - k0 + 1) / target)));
        for (int k = k0; k <= k1; ++k) {
            const double v = std::pow(10.0, k);
            if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9) || (k - k0) % every) continue;
            t.values.push_back(v);
            t.labels.push_back(power_of_ten(k));
        }
    } else {
        for (int k = k0; k <= k1; ++k)
            for (double m : {1.0, 2.0, 5.0}) {
                const double v = m * std::pow(10.0, k);
                if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
                t.values.push_back(v);
                char buf[32];
                std::snprintf(buf, sizeof buf, "%g", v);
                t.labels.push_back(buf);
            }
    }
    if (t.values.size() < 2) return linear_ticks(lo, hi, target);
    return t;
}

void set_color(cairo_t* cr, const Color& c) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a); }

void font(cairo_t* cr, double size, bool bold = false) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    return e.x_advance;
}

/// The line height of the current font.
double line_height(cairo_t* cr) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    return fe.ascent + fe.descent + 1;
}

/// When set, every text drawn is recorded here with its ink box (Figure::text_boxes).
thread_local std::vector<TextBox>* g_boxes = nullptr;
thread_local std::string g_role;
/// When set, only the layout is computed (no heat maps or series drawn) and each panel's plot area
/// (before an equal aspect shrinks it) is stored here, in panel order.
thread_local std::vector<std::array<double, 4>>* g_plots = nullptr;
thread_local int g_panel = -1;

/// Records `s` drawn from the current point under the current transformation.
void record(cairo_t* cr, const std::string& s) {
    if (!g_boxes || s.empty()) return;
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    double cx, cy;
    cairo_get_current_point(cr, &cx, &cy);
    TextBox b{g_role, g_panel, s, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
              -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (double u : {e.x_bearing, e.x_bearing + e.width})
        for (double v : {e.y_bearing, e.y_bearing + e.height}) {
            double x = cx + u, y = cy + v;
            cairo_user_to_device(cr, &x, &y);
            b.x0 = std::min(b.x0, x);
            b.x1 = std::max(b.x1, x);
            b.y0 = std::min(b.y0, y);
            b.y1 = std::max(b.y1, y);
        }
    g_boxes->push_back(std::move(b));
}

/// Draws `s` with its anchor at (x, y): ax = 0 left, 0.5 centre, 1 right; ay = 0 top, 0.5 middle, 1 baseline.
void draw_text(cairo_t* cr, const std::string& s, double x, double y, double ax, double ay) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    const double w = text_width(cr, s);
    const double dy = ay >= 1 ? 0 : ay <= 0 ? fe.ascent : fe.ascent / 2 - 1;
    cairo_move_to(cr, x - ax * w, y + dy);
    record(cr, s);
    cairo_show_text(cr, s.c_str());
}

/// A text laid out in lines no wider than a given width, and the font size that achieves it.
struct Lines {
    std::vector<std::string> lines;
    double size = 12;
    bool bold = false;
    double height = 0;  ///< the block's height (lines x line height); 0 when empty
    double width = 0;   ///< the widest line
};

/// `text` at `size` wrapped at spaces to `max_width` ("\n" starts a line); when a word alone is wider,
/// the font shrinks (to 6 at the least) until the widest line fits.
Lines fit_text(cairo_t* cr, const std::string& text, double size, bool bold, double max_width) {
    Lines L;
    L.size = size;
    L.bold = bold;
    if (text.empty()) return L;
    max_width = std::max(max_width, 20.0);
    for (int attempt = 0; attempt < 4; ++attempt) {
        font(cr, L.size, bold);
        L.lines.clear();
        size_t start = 0;
        while (start <= text.size()) {
            const size_t nl = text.find('\n', start);
            const std::string para = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
            std::string line;
            size_t i = 0;
            while (i <= para.size()) {
                const size_t sp = para.find(' ', i);
                const std::string word = para.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
                const std::string candidate = line.empty() ? word : line + " " + word;
                if (!line.empty() && text_width(cr, candidate) > max_width) {
                    L.lines.push_back(line);
                    line = word;
                } else {
                    line = candidate;
                }
                if (sp == std::string::npos) break;
                i = sp + 1;
            }
            L.lines.push_back(line);
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
        L.width = 0;
        for (const auto& l : L.lines) L.width = std::max(L.width, text_width(cr, l));
        if (L.width <= max_width || L.size <= 6) break;
        L.size = std::max(6.0, std::floor(L.size * max_width / L.width * 10) / 10);
    }
    L.height = static_cast<double>(L.lines.size()) * line_height(cr);
    return L;
}

/// Draws the lines horizontally, the block's top at y, each line anchored at x by ax (0 left, 0.5 centre).
void draw_lines(cairo_t* cr, const Lines& L, double x, double y, double ax) {
    if (L.lines.empty()) return;
    font(cr, L.size, L.bold);
    const double lh = line_height(cr);
    for (size_t i = 0; i < L.lines.size(); ++i) draw_text(cr, L.lines[i], x, y + lh * static_cast<double>(i), ax, 0);
}

/// Draws the lines rotated, centred on ycenter, the block's left edge at x: reading upwards (down = false,
/// the first line leftmost) or downwards (down = true, the first line rightmost).
void draw_vertical_lines(cairo_t* cr, const Lines& L, double x, double ycenter, bool down) {
    if (L.lines.empty()) return;
    font(cr, L.size, L.bold);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    const double lh = line_height(cr);
    const auto n = static_cast<double>(L.lines.size());
    for (size_t i = 0; i < L.lines.size(); ++i) {
        const auto k = static_cast<double>(i);
        const double w = text_width(cr, L.lines[i]);
        const double base = down ? x + (n - k) * lh - fe.ascent : x + k * lh + fe.ascent;
        cairo_save(cr);
        cairo_move_to(cr, base, ycenter + (down ? -w / 2 : w / 2));
        cairo_rotate(cr, down ? M_PI / 2 : -M_PI / 2);
        record(cr, L.lines[i]);
        cairo_show_text(cr, L.lines[i].c_str());
        cairo_restore(cr);
    }
}

struct Range {
    double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
    void add(double v, Scale s) {
        if (!std::isfinite(v) || (s == Scale::log && v <= 0)) return;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    bool empty() const { return !(lo <= hi); }
};

}  // namespace

Color cycle_color(int i) { return hex(kCycle[static_cast<size_t>(((i % 10) + 10) % 10)]); }

Color colormap_color(Colormap map, double t) {
    if (std::isnan(t)) return {0.85, 0.85, 0.85, 1};
    t = std::clamp(t, 0.0, 1.0);
    if (map == Colormap::gray) return {t, t, t, 1};
    const auto& table = map == Colormap::viridis ? kViridis : kMagma;
    const double pos = t * 10;
    const auto i = std::min<size_t>(static_cast<size_t>(pos), 9);
    const double f = pos - static_cast<double>(i);
    const Color a = hex(table[i]), b = hex(table[i + 1]);
    return {a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b), 1};
}

// ---- Axes: the recorded content ------------------------------------------------------------

Axes& Axes::title(std::string text) {
    title_ = std::move(text);
    return *this;
}
Axes& Axes::xlabel(std::string text) {
    xlabel_ = std::move(text);
    return *this;
}
Axes& Axes::ylabel(std::string text) {
    ylabel_ = std::move(text);
    return *this;
}
Axes& Axes::xlim(double lo, double hi) {
    if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
        throw config_error("xlim(" + std::to_string(lo) + ", " + std::to_string(hi) + "): the limits must be finite with lo < hi");
    xfixed_ = true;
    xlo_ = lo;
    xhi_ = hi;
    return *this;
}
Axes& Axes::ylim(double lo, double hi) {
    if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
        throw config_error("ylim(" + std::to_string(lo) + ", " + std::to_string(hi) + "): the limits must be finite with lo < hi");
    yfixed_ = true;
    ylo_ = lo;
    yhi_ = hi;
    return *this;
}
Axes& Axes::yreverse(bool on) {
    yreverse_ = on;
    return *this;
}
Axes& Axes::xscale(Scale s) {
    xscale_ = s;
    return *this;
}
Axes& Axes::yscale(Scale s) {
    yscale_ = s;
    return *this;
}
Axes& Axes::grid(bool on) {
    grid_ = on;
    return *this;
}
Axes& Axes::legend(bool on) {
    legend_ = on;
    return *this;
}
Axes& Axes::xinteger(bool on) {
    xinteger_ = on;
    return *this;
}
Axes& Axes::yinteger(bool on) {
    yinteger_ = on;
    return *this;
}
Axes& Axes::aspect_equal(bool on) {
    aspect_equal_ = on;
    return *this;
}

Axes& Axes::plot(std::vector<double> x, std::vector<double> y, SeriesStyle style) {
    if (x.size() != y.size())
        throw shape_error("plot: x has " + std::to_string(x.size()) + " values and y " + std::to_string(y.size()) +
                          "; they must have the same length");
    series_.push_back({std::move(x), std::move(y), std::move(style), true});
    return *this;
}

Axes& Axes::scatter(std::vector<double> x, std::vector<double> y, SeriesStyle style) {
    if (x.size() != y.size())
        throw shape_error("scatter: x has " + std::to_string(x.size()) + " values and y " + std::to_string(y.size()) +
                          "; they must have the same length");
    if (style.marker <= 0) style.marker = 3;
    series_.push_back({std::move(x), std::move(y), std::move(style), false});
    return *this;
}

Axes& Axes::heat_map(std::vector<double> values, index_t rows, index_t cols, Extent extent, HeatMapStyle style) {
    if (rows < 1 || cols < 1 || static_cast<double>(rows) * static_cast<double>(cols) != static_cast<double>(values.size()))
        throw shape_error("heat_map: " + std::to_string(values.size()) + " values for " + std::to_string(rows) + " x " +
                          std::to_string(cols) + " cells; they must agree (rows, cols >= 1)");
    if (rows > 32767 || cols > 32767)
        throw shape_error("heat_map: " + std::to_string(rows) + " x " + std::to_string(cols) +
                          " cells; at most 32767 per side (Cairo's image limit)");
    if (!(extent.x0 < extent.x1) || !(extent.y0 < extent.y1))
        throw config_error("heat_map: the extent must have x0 < x1 and y0 < y1");
    heat_maps_.push_back({std::move(values), rows, cols, extent, std::move(style)});
    return *this;
}

Axes& Axes::text(double x, double y, std::string text) {
    notes_.push_back({x, y, std::move(text)});
    return *this;
}

// ---- rendering ------------------------------------------------------------------------------

namespace detail {

struct Renderer {
    static void draw_figure(const Figure& f, cairo_t* cr) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        double top = 0;
        if (!f.title_.empty()) {
            const Lines L = fit_text(cr, f.title_, kFigureTitleFont, true, f.width_ - 16);
            set_color(cr, {0, 0, 0, 1});
            g_role = "figure title";
            g_panel = -1;
            draw_lines(cr, L, f.width_ / 2, 8, 0.5);
            top = 8 + L.height + 6;
        }
        const double cw = f.width_ / f.cols_, ch = (f.height_ - top) / f.rows_;
        for (int r = 0; r < f.rows_; ++r)
            for (int c = 0; c < f.cols_; ++c) {
                g_panel = r * f.cols_ + c;
                draw_axes(f.axes_[static_cast<size_t>(r * f.cols_ + c)], cr, {c * cw, top + r * ch, cw, ch});
            }
    }

    struct Map {
        double lo, hi;
        Scale scale;
        double a, b;  // pixel = a + b * t(value)
        double t(double v) const { return scale == Scale::log ? std::log10(v) : v; }
        double operator()(double v) const { return a + b * t(v); }
    };

    static void limits(const Axes& ax, bool xaxis, double& lo, double& hi) {
        const Scale s = xaxis ? ax.xscale_ : ax.yscale_;
        if (xaxis ? ax.xfixed_ : ax.yfixed_) {
            lo = xaxis ? ax.xlo_ : ax.ylo_;
            hi = xaxis ? ax.xhi_ : ax.yhi_;
            if (s == Scale::log && lo <= 0) lo = hi / 1000;
            return;
        }
        Range data, maps;
        for (const auto& se : ax.series_)
            for (double v : xaxis ? se.x : se.y) data.add(v, s);
        for (const auto& hm : ax.heat_maps_) {
            maps.add(xaxis ? hm.extent.x0 : hm.extent.y0, s);
            maps.add(xaxis ? hm.extent.x1 : hm.extent.y1, s);
        }
        for (const auto& n : ax.notes_) data.add(xaxis ? n.x : n.y, s);
        if (data.empty() && maps.empty()) {
            lo = s == Scale::log ? 1 : 0;
            hi = s == Scale::log ? 10 : 1;
            return;
        }
        if (!data.empty()) {
            lo = data.lo;
            hi = data.hi;
            if (s == Scale::log) {
                if (hi <= lo) {
                    lo /= 2;
                    hi *= 2;
                } else {
                    const double pad = 0.04 * (std::log10(hi) - std::log10(lo));
                    lo /= std::pow(10.0, pad);
                    hi *= std::pow(10.0, pad);
                }
            } else if (hi <= lo) {
                const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
                lo -= d;
                hi += d;
            } else {
                const double pad = 0.04 * (hi - lo);
                lo -= pad;
                hi += pad;
            }
        }
        if (!maps.empty()) {
            lo = data.empty() ? maps.lo : std::min(lo, maps.lo);
            hi = data.empty() ? maps.hi : std::max(hi, maps.hi);
        }
    }

    static Ticks ticks(double lo, double hi, Scale s, double target, bool integer) {
        return s == Scale::log ? log_ticks(lo, hi, target) : linear_ticks(lo, hi, target, integer);
    }

    /// Ticks for an axis of `length` pixels whose labels need `room(label)` pixels along it: about one
    /// per `spacing` pixels, thinned until neighbouring labels keep 6 pixels apart.
    template <class Room>
    static Ticks spaced_ticks(double lo, double hi, Scale s, bool integer, double length, double spacing, Room room) {
        double target = std::max(2.0, length / spacing);
        Ticks t;
        for (int attempt = 0; attempt < 8; ++attempt) {
            t = ticks(lo, hi, s, target, integer);
            if (t.values.size() < 2) return t;
            const double gap = length / (s == Scale::log ? std::log10(hi) - std::log10(lo) : hi - lo);
            bool ok = true;
            for (size_t i = 1; i < t.values.size() && ok; ++i) {
                const double d = s == Scale::log ? std::log10(t.values[i]) - std::log10(t.values[i - 1])
                                                 : t.values[i] - t.values[i - 1];
                ok = d * gap >= (room(t.labels[i]) + room(t.labels[i - 1])) / 2 + 6;
            }
            if (ok || target <= 1) return t;
            target = std::max(1.0, target * 0.6);
        }
        return t;
    }

    /// The colour bar's ticks: each integer of a discrete bar (thinned to fit), else nice values.
    static Ticks bar_ticks(cairo_t* cr, const HeatMapStyle& st, double vmin, double vmax, double length) {
        font(cr, kTickFont);
        const double lh = line_height(cr);
        // Digits' ink is about 3/5 of the line height: neighbouring labels keep 6 pixels between their ink.
        return spaced_ticks(vmin, vmax, Scale::linear, st.discrete, length, st.discrete ? 16 : 40, [lh](const std::string&) { return lh * 0.6; });
    }

    static void draw_axes(const Axes& ax, cairo_t* cr, Rect cell) {
        double xlo, xhi, ylo, yhi;
        limits(ax, true, xlo, xhi);
        limits(ax, false, ylo, yhi);
        font(cr, kTickFont);
        const double tick_h = line_height(cr);
        const HeatMapStyle* bar = nullptr;
        double vmin = 0, vmax = 1;
        for (const auto& hm : ax.heat_maps_)
            if (hm.style.colorbar) {
                bar = &hm.style;
                color_range(hm, vmin, vmax);
            }
        // The layout: margins measured from the texts, which are wrapped to the room the plot leaves
        // them; three rounds settle the plot's size and the wraps.
        Rect plot = cell;
        Lines title, xlabel, ylabel, barlabel;
        Ticks xt, yt, bt;
        double ytw = 0, btw = 0;
        for (int round = 0; round < 3; ++round) {
            yt = spaced_ticks(ylo, yhi, ax.yscale_, ax.yinteger_, std::max(plot.h, 20.0), 50,
                              [tick_h](const std::string&) { return tick_h; });
            font(cr, kTickFont);
            ytw = 0;
            for (const auto& l : yt.labels) ytw = std::max(ytw, text_width(cr, l));
            xt = spaced_ticks(xlo, xhi, ax.xscale_, ax.xinteger_, std::max(plot.w, 20.0), 90, [cr](const std::string& l) {
                font(cr, kTickFont);
                return text_width(cr, l);
            });
            font(cr, kTickFont);
            const double last_half = xt.labels.empty() ? 0 : text_width(cr, xt.labels.back()) / 2;
            btw = 0;
            if (bar) {
                bt = bar_ticks(cr, *bar, vmin, vmax, std::max(plot.h, 20.0));
                font(cr, kTickFont);
                for (const auto& l : bt.labels) btw = std::max(btw, text_width(cr, l));
                barlabel = fit_text(cr, bar->colorbar_label, kLabelFont, false, std::max(plot.h, 40.0));
            }
            title = fit_text(cr, ax.title_, kTitleFont, true, cell.w - 8);
            xlabel = fit_text(cr, ax.xlabel_, kLabelFont, false, std::max(plot.w, 40.0));
            ylabel = fit_text(cr, ax.ylabel_, kLabelFont, false, std::max(plot.h, 40.0));
            const double left = 8 + (ylabel.lines.empty() ? 0 : ylabel.height + 6) + ytw + 8;
            const double bar_room = bar ? 10 + 14 + 6 + btw + (barlabel.lines.empty() ? 0 : 6 + barlabel.height) : 0;
            const double right = std::max(12.0, last_half + 4) + bar_room;
            const double topm = title.lines.empty() ? tick_h : 8 + title.height + 8;
            const double bottom = 7 + tick_h + (xlabel.lines.empty() ? 0 : 4 + xlabel.height) + 6;
            plot = {cell.x + left, cell.y + topm, cell.w - left - right, cell.h - topm - bottom};
        }
        if (g_plots) {
            g_plots->push_back({plot.x, plot.y, plot.w, plot.h});
            return;
        }
        if (plot.w < 10 || plot.h < 10) return;  // too small a cell: leave it blank
        const Rect room = plot;  // the labels are centred on the room, the plot may shrink to its aspect
        if (ax.aspect_equal_ && ax.xscale_ == Scale::linear && ax.yscale_ == Scale::linear) {
            const double k = std::min(plot.w / (xhi - xlo), plot.h / (yhi - ylo));
            const double w = k * (xhi - xlo), h = k * (yhi - ylo);
            plot = {plot.x + (plot.w - w) / 2, plot.y + (plot.h - h) / 2, w, h};
            // The ticks for the plot's new size.
            yt = spaced_ticks(ylo, yhi, ax.yscale_, ax.yinteger_, plot.h, 50, [tick_h](const std::string&) { return tick_h; });
            xt = spaced_ticks(xlo, xhi, ax.xscale_, ax.xinteger_, plot.w, 90, [cr](const std::string& l) {
                font(cr, kTickFont);
                return text_width(cr, l);
            });
            if (bar) bt = bar_ticks(cr, *bar, vmin, vmax, room.h);
        }

        const Map X = make_map(xlo, xhi, ax.xscale_, plot.x, plot.w, false);
        const Map Y = ax.yreverse_ ? make_map(ylo, yhi, ax.yscale_, plot.y, plot.h, false)
                                   : make_map(ylo, yhi, ax.yscale_, plot.bottom(), plot.h, true);

        // Heat maps, then grid lines, series and notes, clipped to the plot area.
        cairo_save(cr);
        cairo_rectangle(cr, plot.x, plot.y, plot.w, plot.h);
        cairo_clip(cr);
        for (const auto& hm : ax.heat_maps_) draw_heat_map(cr, hm, X, Y);
        if (ax.grid_) {
            cairo_set_source_rgba(cr, 0, 0, 0, 0.1);
            cairo_set_line_width(cr, 1);
            for (double v : xt.values) line(cr, X(v), plot.y, X(v), plot.bottom());
            for (double v : yt.values) line(cr, plot.x, Y(v), plot.right(), Y(v));
        }
        for (const auto& se : ax.series_) draw_series(cr, se, X, Y, ax.xscale_, ax.yscale_);
        font(cr, kTickFont);
        set_color(cr, {0, 0, 0, 1});
        g_role = "note";
        for (const auto& n : ax.notes_) draw_text(cr, n.text, X(n.x), Y(n.y), 0, 0.5);
        cairo_restore(cr);

        // Frame, ticks and their labels.
        set_color(cr, {0, 0, 0, 1});
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, std::round(plot.x) + 0.5, std::round(plot.y) + 0.5, std::round(plot.w), std::round(plot.h));
        cairo_stroke(cr);
        font(cr, kTickFont);
        g_role = "xtick";
        for (size_t i = 0; i < xt.values.size(); ++i) {
            const double px = X(xt.values[i]);
            line(cr, px, plot.bottom(), px, plot.bottom() + 4);
            draw_text(cr, xt.labels[i], px, plot.bottom() + 7, 0.5, 0);
        }
        g_role = "ytick";
        for (size_t i = 0; i < yt.values.size(); ++i) {
            const double py = Y(yt.values[i]);
            line(cr, plot.x - 4, py, plot.x, py);
            draw_text(cr, yt.labels[i], plot.x - 6, py, 1, 0.5);
        }
        g_role = "xlabel";
        draw_lines(cr, xlabel, room.x + room.w / 2, plot.bottom() + 7 + tick_h + 4, 0.5);
        g_role = "ylabel";
        draw_vertical_lines(cr, ylabel, plot.x - ytw - 8 - 6 - ylabel.height, room.y + room.h / 2, false);
        g_role = "title";
        draw_lines(cr, title, cell.x + cell.w / 2, plot.y - 8 - title.height, 0.5);
        // The colour bar as tall as the room (a flat image's bar keeps room for its ticks).
        if (bar) draw_colorbar(cr, *bar, vmin, vmax, bt, barlabel, {plot.right() + 10, room.y, 14, room.h});
        g_role = "legend";
        if (ax.legend_) draw_legend(cr, ax, plot);
    }

    static Map make_map(double lo, double hi, Scale s, double origin, double extent, bool flip) {
        Map m{lo, hi, s, 0, 0};
        const double t0 = m.t(lo), t1 = m.t(hi);
        m.b = (flip ? -extent : extent) / (t1 - t0);
        m.a = origin - m.b * t0;
        return m;
    }

    static void line(cairo_t* cr, double x0, double y0, double x1, double y1) {
        cairo_move_to(cr, x0, y0);
        cairo_line_to(cr, x1, y1);
        cairo_stroke(cr);
    }

    static void color_range(const Axes::HeatMap& hm, double& vmin, double& vmax) {
        Range r;
        for (double v : hm.values) r.add(v, Scale::linear);
        vmin = std::isnan(hm.style.vmin) ? (r.empty() ? 0 : r.lo) : hm.style.vmin;
        vmax = std::isnan(hm.style.vmax) ? (r.empty() ? 1 : r.hi) : hm.style.vmax;
        if (hm.style.discrete) {  // integers: the bar runs over whole values; one value is one band
            vmin = std::floor(vmin);
            vmax = std::max(vmin, std::ceil(vmax));
            return;
        }
        if (!(vmax > vmin)) {
            const double d = vmin == 0 ? 1 : std::abs(vmin) * 0.05;
            vmin -= d;
            vmax += d;
        }
    }

    /// The position in the colour map of value v on [vmin, vmax] (the middle when they are equal).
    static double color_t(double v, double vmin, double vmax, bool) {
        return vmax > vmin ? (v - vmin) / (vmax - vmin) : 0.5;
    }

    static void draw_heat_map(cairo_t* cr, const Axes::HeatMap& hm, const Map& X, const Map& Y) {
        double vmin, vmax;
        color_range(hm, vmin, vmax);
        const int w = static_cast<int>(hm.cols), h = static_cast<int>(hm.rows);
        cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
        std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> guard(img, cairo_surface_destroy);
        if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) throw std::bad_alloc();
        cairo_surface_flush(img);
        unsigned char* data = cairo_image_surface_get_data(img);
        const int stride = cairo_image_surface_get_stride(img);
        for (int r = 0; r < h; ++r) {
            auto* row = reinterpret_cast<std::uint32_t*>(data + r * stride);
            for (int c = 0; c < w; ++c) {
                const double v = hm.values[static_cast<size_t>(r) * static_cast<size_t>(w) + static_cast<size_t>(c)];
                const Color col = colormap_color(hm.style.colormap, std::isfinite(v) ? color_t(v, vmin, vmax, hm.style.discrete)
                                                                                     : std::numeric_limits<double>::quiet_NaN());
                const auto R = static_cast<std::uint32_t>(std::lround(col.r * 255)), G = static_cast<std::uint32_t>(std::lround(col.g * 255)),
                           B = static_cast<std::uint32_t>(std::lround(col.b * 255));
                row[c] = (R << 16) | (G << 8) | B;
            }
        }
        cairo_surface_mark_dirty(img);
        const double x0 = X(hm.extent.x0), x1 = X(hm.extent.x1);
        const double top = std::min(Y(hm.extent.y0), Y(hm.extent.y1)), bottom = std::max(Y(hm.extent.y0), Y(hm.extent.y1));
        cairo_save(cr);
        cairo_translate(cr, x0, top);
        cairo_scale(cr, (x1 - x0) / w, (bottom - top) / h);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_rectangle(cr, 0, 0, w, h);
        cairo_fill(cr);
        cairo_restore(cr);
    }

    /// The colour bar: a continuous gradient, or one band per integer for a discrete style (the bar
    /// then runs from vmin - 1/2 to vmax + 1/2 and each tick sits at its band's centre).
    static void draw_colorbar(cairo_t* cr, const HeatMapStyle& st, double vmin, double vmax, const Ticks& t,
                              const Lines& label, Rect r) {
        const double levels = vmax - vmin + 1;
        const bool bands = st.discrete && levels <= 32;
        const double lo = bands ? vmin - 0.5 : vmin, hi = bands ? vmax + 0.5 : vmax;
        auto ypos = [&](double v) { return r.bottom() - (v - lo) / (hi - lo) * r.h; };
        if (bands) {
            for (double v = vmin; v <= vmax + 1e-9; v += 1) {
                const Color c = colormap_color(st.colormap, color_t(v, vmin, vmax, true));
                set_color(cr, c);
                cairo_rectangle(cr, r.x, ypos(v + 0.5), r.w, ypos(v - 0.5) - ypos(v + 0.5));
                cairo_fill(cr);
            }
        } else {
            cairo_pattern_t* grad = cairo_pattern_create_linear(0, r.bottom(), 0, r.y);
            for (int i = 0; i <= 16; ++i) {
                const double f = i / 16.0;
                const Color c = colormap_color(st.colormap, f);
                cairo_pattern_add_color_stop_rgb(grad, f, c.r, c.g, c.b);
            }
            cairo_rectangle(cr, r.x, r.y, r.w, r.h);
            cairo_set_source(cr, grad);
            cairo_fill(cr);
            cairo_pattern_destroy(grad);
        }
        set_color(cr, {0, 0, 0, 1});
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, std::round(r.x) + 0.5, std::round(r.y) + 0.5, std::round(r.w), std::round(r.h));
        cairo_stroke(cr);
        font(cr, kTickFont);
        double tw = 0;
        g_role = "colorbar tick";
        for (size_t i = 0; i < t.values.size(); ++i) {
            const double py = ypos(t.values[i]);
            line(cr, r.right(), py, r.right() + 4, py);
            draw_text(cr, t.labels[i], r.right() + 6, py, 0, 0.5);
            tw = std::max(tw, text_width(cr, t.labels[i]));
        }
        g_role = "colorbar label";
        draw_vertical_lines(cr, label, r.right() + 6 + tw + 6, r.y + r.h / 2, true);
    }

    static void draw_series(cairo_t* cr, const Axes::Series& se, const Map& X, const Map& Y, Scale xs, Scale ys) {
        auto ok = [&](size_t i) {
            return std::isfinite(se.x[i]) && std::isfinite(se.y[i]) && (xs != Scale::log || se.x[i] > 0) &&
                   (ys != Scale::log || se.y[i] > 0);
        };
        set_color(cr, se.style.color);
        if (se.line && se.style.width > 0) {
            cairo_set_line_width(cr, se.style.width);
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
            bool pen = false;
            for (size_t i = 0; i < se.x.size(); ++i) {
                if (!ok(i)) {
                    pen = false;
                    continue;
                }
                if (pen) cairo_line_to(cr, X(se.x[i]), Y(se.y[i]));
                else cairo_move_to(cr, X(se.x[i]), Y(se.y[i]));
                pen = true;
            }
            cairo_stroke(cr);
        }
        if (se.style.marker > 0)
            for (size_t i = 0; i < se.x.size(); ++i) {
                if (!ok(i)) continue;
                cairo_new_sub_path(cr);
                cairo_arc(cr, X(se.x[i]), Y(se.y[i]), se.style.marker, 0, 2 * M_PI);
                cairo_fill(cr);
            }
    }

    static void draw_legend(cairo_t* cr, const Axes& ax, Rect plot) {
        std::vector<const Axes::Series*> entries;
        for (const auto& se : ax.series_)
            if (!se.style.label.empty()) entries.push_back(&se);
        if (entries.empty()) return;
        font(cr, kTickFont);
        double tw = 0;
        for (const auto* e : entries) tw = std::max(tw, text_width(cr, e->style.label));
        const double row = 16, w = 8 + 22 + 6 + tw + 8, h = 6 + row * static_cast<double>(entries.size()) + 2;
        const double x = plot.right() - w - 6, y = plot.y + 6;
        cairo_rectangle(cr, x, y, w, h);
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_fill_preserve(cr);
        cairo_set_source_rgba(cr, 0, 0, 0, 0.3);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
        for (size_t i = 0; i < entries.size(); ++i) {
            const auto& st = entries[i]->style;
            const double cy = y + 6 + row * static_cast<double>(i) + row / 2 - 2;
            set_color(cr, st.color);
            if (entries[i]->line && st.width > 0) {
                cairo_set_line_width(cr, st.width);
                line(cr, x + 8, cy, x + 30, cy);
            }
            if (st.marker > 0) {
                cairo_new_sub_path(cr);
                cairo_arc(cr, x + 19, cy, st.marker, 0, 2 * M_PI);
                cairo_fill(cr);
            }
            set_color(cr, {0, 0, 0, 1});
            draw_text(cr, st.label, x + 36, cy, 0, 0.5);
        }
    }
};

}  // namespace detail

namespace {

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

void check(cairo_status_t s, const char* what) {
    if (s == CAIRO_STATUS_NO_MEMORY) throw std::bad_alloc();
    if (s != CAIRO_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": Cairo: " + cairo_status_to_string(s));
}

std::string lower_extension(const std::string& path) {
    const auto dot = path.find_last_of('.');
    const auto slash = path.find_last_of('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
    std::string ext = path.substr(dot);
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

}  // namespace

Figure::Figure(double width, double height, int rows, int cols) : width_(width), height_(height), rows_(rows), cols_(cols) {
    if (!(width >= 64 && width <= 16384) || !(height >= 64 && height <= 16384))
        throw config_error("figure size " + std::to_string(width) + " x " + std::to_string(height) +
                           " must be between 64 and 16384 in each direction");
    if (rows < 1 || rows > 16 || cols < 1 || cols > 16)
        throw config_error("figure grid " + std::to_string(rows) + " x " + std::to_string(cols) +
                           " must have 1 to 16 rows and columns");
    axes_.resize(static_cast<size_t>(rows * cols));
}

Axes& Figure::axes(int row, int col) {
    if (row < 0 || row >= rows_ || col < 0 || col >= cols_)
        throw config_error("axes(" + std::to_string(row) + ", " + std::to_string(col) + ") is outside the figure's " +
                           std::to_string(rows_) + " x " + std::to_string(cols_) + " panels");
    return axes_[static_cast<size_t>(row * cols_ + col)];
}

Figure& Figure::title(std::string text) {
    title_ = std::move(text);
    return *this;
}

std::string Figure::png() const {
    const int w = static_cast<int>(std::lround(width_)), h = static_cast<int>(std::lround(height_));
    cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> guard(s, cairo_surface_destroy);
    check(cairo_surface_status(s), "figure");
    cairo_t* cr = cairo_create(s);
    std::unique_ptr<cairo_t, void (*)(cairo_t*)> cguard(cr, cairo_destroy);
    detail::Renderer::draw_figure(*this, cr);
    check(cairo_status(cr), "figure");
    cairo_surface_flush(s);
    std::string out;
    check(cairo_surface_write_to_png_stream(s, append, &out), "figure PNG");
    return out;
}

std::string Figure::svg() const {
    std::string out;
    {
        cairo_surface_t* s = cairo_svg_surface_create_for_stream(append, &out, width_, height_);
        std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> guard(s, cairo_surface_destroy);
        check(cairo_surface_status(s), "figure SVG");
        cairo_t* cr = cairo_create(s);
        {
            std::unique_ptr<cairo_t, void (*)(cairo_t*)> cguard(cr, cairo_destroy);
            detail::Renderer::draw_figure(*this, cr);
            check(cairo_status(cr), "figure SVG");
        }
        cairo_surface_finish(s);
        check(cairo_surface_status(s), "figure SVG");
    }
    return out;
}

std::vector<TextBox> Figure::text_boxes() const {
    std::vector<TextBox> boxes;
    cairo_rectangle_t extent{0, 0, width_, height_};
    cairo_surface_t* s = cairo_recording_surface_create(CAIRO_CONTENT_COLOR, &extent);
    std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> guard(s, cairo_surface_destroy);
    check(cairo_surface_status(s), "figure layout");
    cairo_t* cr = cairo_create(s);
    std::unique_ptr<cairo_t, void (*)(cairo_t*)> cguard(cr, cairo_destroy);
    g_boxes = &boxes;
    try {
        detail::Renderer::draw_figure(*this, cr);
    } catch (...) {
        g_boxes = nullptr;
        throw;
    }
    g_boxes = nullptr;
    check(cairo_status(cr), "figure layout");
    return boxes;
}

std::vector<std::array<double, 4>> Figure::plot_areas() const {
    std::vector<std::array<double, 4>> plots;
    cairo_rectangle_t extent{0, 0, width_, height_};
    cairo_surface_t* s = cairo_recording_surface_create(CAIRO_CONTENT_COLOR, &extent);
    std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> guard(s, cairo_surface_destroy);
    check(cairo_surface_status(s), "figure layout");
    cairo_t* cr = cairo_create(s);
    std::unique_ptr<cairo_t, void (*)(cairo_t*)> cguard(cr, cairo_destroy);
    g_plots = &plots;
    try {
        detail::Renderer::draw_figure(*this, cr);
    } catch (...) {
        g_plots = nullptr;
        throw;
    }
    g_plots = nullptr;
    return plots;
}

Figure& Figure::fit_plot(double plot_width, double plot_height, double min_width, double min_height) {
    for (int round = 0; round < 4; ++round) {
        const auto p = plot_areas().at(0);
        const double w = std::clamp(std::max(width_ + plot_width - p[2], min_width), 64.0, 16384.0);
        const double h = std::clamp(std::max(height_ + plot_height - p[3], min_height), 64.0, 16384.0);
        if (std::abs(w - width_) < 0.5 && std::abs(h - height_) < 0.5) break;
        width_ = std::round(w);
        height_ = std::round(h);
    }
    return *this;
}

void Figure::save(const std::string& path) const {
    const std::string ext = lower_extension(path);
    if (ext != ".png" && ext != ".svg")
        throw config_error("figure file '" + path + "' must end in .png or .svg (the format follows the extension)");
    const std::string bytes = ext == ".png" ? png() : svg();
    write_file_atomic(path, bytes);
    // For tests of the programs that draw: the layout of every text, appended to a file.
    if (const char* log = std::getenv("CONVMTX_FIGURE_TEXT_BOXES"); log && *log) {
        std::ostringstream os;
        char buf[160];
        for (const auto& b : text_boxes()) {
            std::snprintf(buf, sizeof buf, "\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t", b.role.c_str(), b.panel, b.x0, b.y0, b.x1, b.y1, width_, height_);
            os << path << buf << b.text << "\n";
        }
        std::ofstream(log, std::ios::app) << os.str();
    }
}

}  // namespace convmtx::figure
