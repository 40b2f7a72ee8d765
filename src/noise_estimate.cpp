// MAD noise estimate on the finest Haar detail coefficients.
#include "convmtx/noise_estimate.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "convmtx/errors.hpp"

namespace convmtx {

double estimate_noise_sigma(const double* x, index_t h, index_t w) {
    if (w < 2 || (h != 1 && h < 2))
        throw shape_error("estimate_noise_sigma: the image is " + std::to_string(h) + "x" + std::to_string(w) +
                          "; it needs at least 2 pixels along each dimension longer than 1");
    std::vector<double> d;
    if (h == 1) {
        for (index_t j = 0; j + 1 < w; j += 2) d.push_back(std::fabs(x[j] - x[j + 1]) / std::sqrt(2.0));
    } else {
        for (index_t i = 0; i + 1 < h; i += 2)
            for (index_t j = 0; j + 1 < w; j += 2) {
                const double* p = x + i * w + j;
                d.push_back(std::fabs(p[0] - p[1] - p[w] + p[w + 1]) / 2);
            }
    }
    const auto mid = d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2);
    std::nth_element(d.begin(), mid, d.end());
    return *mid / 0.6745;
}

}  // namespace convmtx
