// The forward model of the solve commands (convmtx solve, convmtx-mpi solve): the blur (--blur
// gaussian:SIZE:SIGMA or box:SIZE, or --kernel FILE.npy) as a 2-d kernel with a one-line
// description, and the flags that degrade an image with it and name the pictures written.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "convmtx/image.hpp"
#include "convmtx/psf.hpp"
#include "convmtx/spec.hpp"

namespace convmtx::cli {

struct Kernel {
    index_t kh = 0, kw = 0;
    std::vector<double> w;  ///< kh x kw, C order
    std::string describe;   ///< "gaussian 9x9 sigma=2.0", "box 3x3", "kernel FILE (kh x kw)"
};

/// gaussian:SIZE:SIGMA (gaussian_kernel, image.hpp) or box:SIZE (all 1/SIZE^2); SIZE in [1, 1024],
/// SIGMA finite > 0. Throws value_error naming the text and the rule.
Kernel parse_blur(const std::string& spec);

/// A kernel from a .npy file of shape (kh, kw) or (1, 1, kh, kw) with finite values; usage_error
/// naming `flag` (--kernel, --psf) otherwise.
Kernel read_kernel(const std::string& path, const char* flag = "--kernel");

/// The kernel as a PSF, checked by make_psf's rules (finite values, a non-zero sum, sums within
/// [1e-150, 1e150]) for every method; usage_error naming `flag_value` ("--kernel FILE", "--blur SPEC").
Psf checked_psf(const Kernel& k, const std::string& flag_value);

/// The degradation b = W x + noise of both solve commands, and the pictures they write.
struct DegradeFlags {
    std::string image;                    ///< --image (empty: the Shepp-Logan phantom)
    index_t size = 128;                   ///< --size of the phantom
    std::optional<index_t> downscale;     ///< --downscale F (block means)
    std::string blur = "gaussian:9:2.0";  ///< --blur
    std::string kernel;                   ///< --kernel FILE.npy (replaces --blur)
    index_t stride = 1;                   ///< --stride of the forward conv
    double noise = 0.01;                  ///< --noise sigma
    index_t seed = 0;                     ///< --seed of the noise
    std::string output, degraded, adjoint, montage;  ///< the pictures (-o, --degraded, --adjoint, --montage)
};

/// The clean image: --image (read_image; usage_error "--image: <reason>") or the Shepp-Logan
/// phantom of --size, reduced by --downscale. `source` names it (the path or "Shepp-Logan phantom").
Image read_truth(const DegradeFlags& f, std::string& source);

/// The blur of --kernel FILE.npy (read_kernel) or --blur SPEC (parse_blur), checked by checked_psf.
Kernel degrade_kernel(const DegradeFlags& f);

/// Writes im to path (nothing when path is empty) and says so on stdout: "wrote PATH (HxW)".
void write_picture(const std::string& path, const Image& im);

/// The options add_degrade_flags added, for the command's own excludes/needs.
struct DegradeOptions {
    CLI::Option *image, *size, *blur, *kernel, *stride, *noise, *seed, *montage;
};

/// Adds --image, --size, --downscale, --blur, --kernel, --stride, --noise, --seed and the four picture
/// options to `cmd`, bound to `f`; `noise_help`, `stride_help` and `output_help` are those options' texts.
DegradeOptions add_degrade_flags(CLI::App& cmd, DegradeFlags& f, const std::string& noise_help,
                                 const std::string& stride_help, const std::string& output_help);

}  // namespace convmtx::cli
