// PSF generators and parser.
#include "convmtx/psf.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

constexpr double kPi = 3.14159265358979323846;

void normalise(Psf& p) {
    double s = 0;
    for (double v : p.values) s += v;
    for (double& v : p.values) v /= s;
}

std::string num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

}  // namespace

Psf gaussian_psf(index_t size, double sigma) {
    if (size < 1 || size > 1025) throw config_error("gaussian PSF size=" + std::to_string(size) + " must be in [1, 1025]");
    if (!(sigma > 0) || !std::isfinite(sigma))
        throw config_error("gaussian PSF sigma=" + num(sigma) + " must be finite and > 0");
    Psf p;
    p.height = p.width = size;
    p.values.resize(static_cast<size_t>(size * size));
    const double c = static_cast<double>(size - 1) / 2;
    for (index_t r = 0; r < size; ++r)
        for (index_t s = 0; s < size; ++s) {
            const double dr = static_cast<double>(r) - c, ds = static_cast<double>(s) - c;
            p.values[static_cast<size_t>(r * size + s)] = std::exp(-(dr * dr + ds * ds) / (2 * sigma * sigma));
        }
    double z = 0;
    for (double v : p.values) z += v;
    if (!(z > 0) || !std::isfinite(z) || !(2 * sigma * sigma > 0)) {
        // sigma so small that 2 sigma^2 or every value underflows: the limit, equal weights on the
        // pixels nearest the centre (the common factor exp(-d_min^2 / 2 sigma^2) divided out).
        double dmin = std::numeric_limits<double>::infinity();
        for (index_t r = 0; r < size; ++r)
            for (index_t s = 0; s < size; ++s) {
                const double dr = static_cast<double>(r) - c, ds = static_cast<double>(s) - c;
                dmin = std::min(dmin, dr * dr + ds * ds);
            }
        for (index_t r = 0; r < size; ++r)
            for (index_t s = 0; s < size; ++s) {
                const double dr = static_cast<double>(r) - c, ds = static_cast<double>(s) - c;
                p.values[static_cast<size_t>(r * size + s)] = std::exp(-((dr * dr + ds * ds - dmin) / sigma) / sigma / 2);
            }
    }
    normalise(p);
    p.description = "gaussian " + std::to_string(size) + "x" + std::to_string(size) + " sigma=" + num(sigma);
    return p;
}

Psf motion_psf(double length, double angle_degrees) {
    if (!(length >= 1 && length <= 1024))
        throw config_error("motion PSF length=" + num(length) + " must be in [1, 1024] pixels");
    if (!std::isfinite(angle_degrees)) throw config_error("motion PSF angle=" + num(angle_degrees) + " must be finite");
    const double a = angle_degrees * kPi / 180, ca = std::cos(a), sa = std::sin(a);
    const double half = length / 2;
    const auto samples = static_cast<index_t>(std::ceil(length)) * 64;
    // The farthest sample's nearest pixel decides the size.
    const double t_max = half - 0.5 * length / static_cast<double>(samples);
    const auto reach = std::max(std::llabs(std::llround(t_max * ca)), std::llabs(std::llround(t_max * sa)));
    const index_t size = 2 * reach + 1, c = reach;
    Psf p;
    p.height = p.width = size;
    p.values.assign(static_cast<size_t>(size * size), 0.0);
    for (index_t j = 0; j < samples; ++j) {
        const double t = -half + (static_cast<double>(j) + 0.5) * length / static_cast<double>(samples);
        const index_t r = c + static_cast<index_t>(std::llround(-t * sa));
        const index_t s = c + static_cast<index_t>(std::llround(t * ca));
        if (r >= 0 && r < size && s >= 0 && s < size) p.values[static_cast<size_t>(r * size + s)] += 1;
    }
    normalise(p);
    p.description = "motion length=" + num(length) + " angle=" + num(angle_degrees);
    return p;
}

Psf disk_psf(double radius) {
    if (!(radius > 0 && radius <= 512)) throw config_error("disk PSF radius=" + num(radius) + " must be in (0, 512]");
    const auto reach = static_cast<index_t>(std::ceil(radius));
    const index_t size = 2 * reach + 1;
    constexpr int kSub = 16;
    Psf p;
    p.height = p.width = size;
    p.values.assign(static_cast<size_t>(size * size), 0.0);
    for (index_t r = 0; r < size; ++r)
        for (index_t s = 0; s < size; ++s) {
            int inside = 0;
            for (int i = 0; i < kSub; ++i)
                for (int j = 0; j < kSub; ++j) {
                    const double y = static_cast<double>(r - reach) - 0.5 + (i + 0.5) / kSub;
                    const double x = static_cast<double>(s - reach) - 0.5 + (j + 0.5) / kSub;
                    inside += x * x + y * y <= radius * radius;
                }
            p.values[static_cast<size_t>(r * size + s)] = inside / double(kSub * kSub);
        }
    normalise(p);
    p.description = "disk radius=" + num(radius);
    return p;
}

Psf parse_psf(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ':');) parts.push_back(part);
    auto bad = [&]() {
        return config_error("PSF '" + text + "' must be gaussian:SIZE:SIGMA (e.g. gaussian:9:2.0), "
                            "motion:LENGTH:ANGLE (e.g. motion:9:0) or disk:RADIUS (e.g. disk:3), or a .npy file");
    };
    auto number = [&](const std::string& s) {
        size_t pos = 0;
        double v = 0;
        try {
            v = std::stod(s, &pos);
        } catch (const std::exception&) {
            throw bad();
        }
        if (pos != s.size() || !std::isfinite(v)) throw bad();
        return v;
    };
    if (parts.size() == 3 && parts[0] == "gaussian") {
        const double size = number(parts[1]);
        if (size != std::floor(size)) throw bad();
        return gaussian_psf(static_cast<index_t>(size), number(parts[2]));
    }
    if (parts.size() == 3 && parts[0] == "motion") return motion_psf(number(parts[1]), number(parts[2]));
    if (parts.size() == 2 && parts[0] == "disk") return disk_psf(number(parts[1]));
    throw bad();
}

Psf make_psf(index_t height, index_t width, std::vector<double> values, std::string description) {
    if (height < 1 || width < 1 || static_cast<index_t>(values.size()) != height * width)
        throw config_error("PSF of shape (" + std::to_string(height) + ", " + std::to_string(width) + ") with " +
                           std::to_string(values.size()) + " values: the shape must be at least 1x1 and hold them all");
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i]))
            throw config_error("PSF value [" + std::to_string(i) + "] = " + num(values[i]) + "; it must be finite");
        sum += values[i];
    }
    if (sum == 0) throw config_error("PSF values sum to 0; a blur must preserve the mean (normally sum 1)");
    // W's norm is at most sum |values|, and the solvers work with W^T W: both must fit a double.
    double abs_sum = 0, vmax = 0;
    for (double v : values) vmax = std::max(vmax, std::abs(v));
    for (double v : values) abs_sum += std::abs(v) / vmax;  // scaled: never overflows
    if (!(std::log10(abs_sum) + std::log10(vmax) <= 150) || !(std::abs(sum) >= 1e-150))
        throw config_error("PSF values sum to " + num(sum) + " (sum of |values| " + num(abs_sum * vmax) +
                           "): the sum and the sum of |values| must be within [1e-150, 1e150] so that W^T W fits a "
                           "double; a blur preserves the mean: divide the PSF by its sum (normally sum 1)");
    Psf p;
    p.height = height;
    p.width = width;
    p.values = std::move(values);
    p.description = std::move(description);
    return p;
}

}  // namespace convmtx
