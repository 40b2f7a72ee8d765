// The --montage picture of `convmtx solve`: the images side by side, each titled with its label
// (e.g. "tv 27.41 dB / SSIM 0.842"), drawn by the figure module (figure.hpp) as gray heat maps with
// row 0 at the top, pixel axes and a grey-level colour bar, on [0, 1] unless the panel says otherwise
// (a dark image such as W^T b of a strided model is shown on [0, display_max], and its title says so).
// A .pgm path gets the bare images side by side (hconcat; a PGM holds no text).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "convmtx/image.hpp"

namespace convmtx::cli {

struct MontagePanel {
    Image image;
    std::string label;
    /// The grey value drawn white: 1, or less to show a dark image brighter (said in its title).
    double display_max = 1;
};

/// "27.41 dB / SSIM 0.842" for (PSNR, SSIM).
std::string panel_quality(std::pair<double, double> psnr_ssim);
/// The labels joined by " | ".
std::string montage_caption(const std::vector<MontagePanel>& panels);
/// Writes the montage; returns its size as an image of that height and width (pixels unset for PNG).
Image write_montage(const std::string& path, const std::vector<MontagePanel>& panels);

}  // namespace convmtx::cli
