// SSIM with separable Gaussian filtering over the valid region; PSNR.
#include "convmtx/metrics.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

constexpr index_t kRadius = 5;  // 11 x 11: scipy's gaussian_filter with sigma 1.5, truncate 3.5

template <class T>
double ssim_impl(const T* a, const T* b, index_t h, index_t w, double L) {
    if (h < 2 * kRadius + 1 || w < 2 * kRadius + 1)
        throw shape_error("ssim: the images are " + std::to_string(h) + "x" + std::to_string(w) +
                          "; the 11x11 Gaussian window needs at least 11x11 pixels");
    if (!(L > 0) || !std::isfinite(L)) throw config_error("ssim: data_range=" + std::to_string(L) + " must be > 0");
    double g[2 * kRadius + 1], z = 0;
    for (index_t i = -kRadius; i <= kRadius; ++i) z += g[i + kRadius] = std::exp(-double(i * i) / (2 * 1.5 * 1.5));
    for (double& v : g) v /= z;
    // The five moment images, filtered along rows into the valid columns, then along columns.
    const index_t vw = w - 2 * kRadius, vh = h - 2 * kRadius;
    std::vector<double> rows(static_cast<size_t>(5 * h * vw), 0.0);
    auto R = [&](int k, index_t r, index_t c) -> double& { return rows[static_cast<size_t>((k * h + r) * vw + c)]; };
    for (index_t r = 0; r < h; ++r)
        for (index_t c = 0; c < vw; ++c)
            for (index_t t = 0; t <= 2 * kRadius; ++t) {
                const double x = static_cast<double>(a[r * w + c + t]), y = static_cast<double>(b[r * w + c + t]);
                const double gt = g[t];
                R(0, r, c) += gt * x;
                R(1, r, c) += gt * y;
                R(2, r, c) += gt * x * x;
                R(3, r, c) += gt * y * y;
                R(4, r, c) += gt * x * y;
            }
    const double C1 = (0.01 * L) * (0.01 * L), C2 = (0.03 * L) * (0.03 * L);
    double sum = 0;
    for (index_t r = 0; r < vh; ++r)
        for (index_t c = 0; c < vw; ++c) {
            double m[5] = {0, 0, 0, 0, 0};
            for (index_t t = 0; t <= 2 * kRadius; ++t)
                for (int k = 0; k < 5; ++k) m[k] += g[t] * R(k, r + t, c);
            const double va = m[2] - m[0] * m[0], vb = m[3] - m[1] * m[1], cab = m[4] - m[0] * m[1];
            sum += (2 * m[0] * m[1] + C1) * (2 * cab + C2) / ((m[0] * m[0] + m[1] * m[1] + C1) * (va + vb + C2));
        }
    return sum / static_cast<double>(vh * vw);
}

template <class T>
double psnr_impl(const T* a, const T* b, index_t n, double L) {
    if (n <= 0) throw shape_error("psnr: the images are empty");
    double se = 0;
    for (index_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
        se += d * d;
    }
    if (se == 0) return std::numeric_limits<double>::infinity();
    return 10 * std::log10(L * L / (se / static_cast<double>(n)));
}

}  // namespace

double ssim(const float* a, const float* b, index_t h, index_t w, double L) { return ssim_impl(a, b, h, w, L); }
double ssim(const double* a, const double* b, index_t h, index_t w, double L) { return ssim_impl(a, b, h, w, L); }
double psnr_db(const float* a, const float* b, index_t n, double L) { return psnr_impl(a, b, n, L); }
double psnr_db(const double* a, const double* b, index_t n, double L) { return psnr_impl(a, b, n, L); }

}  // namespace convmtx
