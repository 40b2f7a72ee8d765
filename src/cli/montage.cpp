// Labelled montages through convmtx::figure.
#include "montage.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "convmtx/figure.hpp"

namespace convmtx::cli {

std::string panel_quality(std::pair<double, double> q) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f dB / SSIM %.3f", q.first, q.second);
    return buf;
}

std::string montage_caption(const std::vector<MontagePanel>& panels) {
    std::string s;
    for (const auto& p : panels) s += (s.empty() ? "" : " | ") + p.label;
    return s;
}

Image write_montage(const std::string& path, const std::vector<MontagePanel>& panels) {
    std::string ext = path.size() >= 4 ? path.substr(path.size() - 4) : "";
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".pgm") {
        std::vector<Image> images;
        for (const auto& p : panels) images.push_back(p.image);
        Image m = hconcat(images);
        write_image(path, m);
        return m;
    }
    // Each panel: its image (at least 256 pixels on its longer side), pixel axes, a grey-level colour bar.
    index_t h = 0, w = 0;
    for (const auto& p : panels) h = std::max(h, p.image.height), w = std::max(w, p.image.width);
    const double scale = std::max(1.0, 256.0 / static_cast<double>(std::max(h, w)));
    const double pw = static_cast<double>(w) * scale + 170, ph = static_cast<double>(h) * scale + 120;
    const int cols = static_cast<int>(panels.size());
    figure::Figure fig(std::min(16384.0, pw * cols), std::min(16384.0, ph), 1, cols);
    for (int i = 0; i < cols; ++i) {
        const MontagePanel& p = panels[static_cast<size_t>(i)];
        const Image& im = p.image;
        std::vector<double> v(im.pixels.begin(), im.pixels.end());
        figure::HeatMapStyle style;
        style.colormap = figure::Colormap::gray;
        style.colorbar_label = "grey level (0 black, 1 white)";
        style.vmin = 0;
        style.vmax = 1;
        std::string title = p.label;
        if (p.display_max != 1) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "\nshown x%.3g: white = %.3g", 1 / p.display_max, p.display_max);
            title += buf;
            style.vmax = p.display_max;
            style.colorbar_label = "grey level (display scaled)";
        }
        fig.axes(0, i)
            .title(title)
            .xlabel("x (pixels)")
            .ylabel("y (pixels)")
            .grid(false)
            .yreverse(true)
            .xinteger(true)
            .yinteger(true)
            .aspect_equal(true)
            .heat_map(std::move(v), im.height, im.width,
                      {-0.5, static_cast<double>(im.width) - 0.5, -0.5, static_cast<double>(im.height) - 0.5}, style);
    }
    fig.save(path);
    return Image(static_cast<index_t>(fig.height()), static_cast<index_t>(fig.width()));
}

}  // namespace convmtx::cli
