// The blur of the solve commands (convmtx solve, convmtx-mpi solve): --blur gaussian:SIZE:SIGMA
// or box:SIZE, or --kernel FILE.npy, as a 2-d kernel with a one-line description.
#pragma once

#include <string>
#include <vector>

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

}  // namespace convmtx::cli
