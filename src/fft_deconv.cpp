// Periodic deconvolution by the 2-D FFT (Eigen's FFT module).
#include "convmtx/fft_deconv.hpp"

#include <algorithm>
#include <cmath>

#include <unsupported/Eigen/FFT>

#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

using Complex = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

/// In-place 2-D DFT of a row-major h x w array (inverse: divided by h w).
void fft2(std::vector<Complex>& a, index_t h, index_t w, bool inverse) {
    Eigen::FFT<double> fft;
    std::vector<Complex> in(static_cast<size_t>(std::max(h, w))), out;
    auto pass = [&](index_t n, index_t count, index_t stride, index_t step) {
        in.resize(static_cast<size_t>(n));
        for (index_t k = 0; k < count; ++k) {
            for (index_t i = 0; i < n; ++i) in[static_cast<size_t>(i)] = a[static_cast<size_t>(k * step + i * stride)];
            if (inverse) fft.inv(out, in);
            else fft.fwd(out, in);
            for (index_t i = 0; i < n; ++i) a[static_cast<size_t>(k * step + i * stride)] = out[static_cast<size_t>(i)];
        }
    };
    if (w > 1) pass(w, h, 1, w);
    if (h > 1) pass(h, w, w, 1);
}

}  // namespace

PeriodicDeconvolver::PeriodicDeconvolver(const Psf& psf, index_t height, index_t width, Regularizer regularizer)
    : h_(height), w_(width) {
    if (height < 1 || width < 1) throw shape_error("PeriodicDeconvolver: the image must be at least 1x1");
    if (psf.height > height || psf.width > width)
        throw config_error("periodic boundary: the PSF (" + std::to_string(psf.height) + "x" + std::to_string(psf.width) +
                           ") must not be larger than the image (" + std::to_string(height) + "x" +
                           std::to_string(width) + ")");
    const auto n = static_cast<size_t>(h_ * w_);
    // K's first column: psf[u, v] at ((u - kh/2) mod h, (v - kw/2) mod w), as blur_operator's
    // circular conv with padding ((kh-1)/2, (kw-1)/2) before and (kh/2, kw/2) after reads it.
    k_hat_.assign(n, Complex(0, 0));
    for (index_t u = 0; u < psf.height; ++u)
        for (index_t v = 0; v < psf.width; ++v) {
            const index_t r = ((u - psf.height / 2) % h_ + h_) % h_, c = ((v - psf.width / 2) % w_ + w_) % w_;
            k_hat_[static_cast<size_t>(r * w_ + c)] += psf.values[static_cast<size_t>(u * psf.width + v)];
        }
    fft2(k_hat_, h_, w_, false);
    k2_.resize(n);
    l2_.resize(n);
    for (index_t r = 0; r < h_; ++r)
        for (index_t c = 0; c < w_; ++c) {
            const auto i = static_cast<size_t>(r * w_ + c);
            k2_[i] = std::norm(k_hat_[i]);
            if (regularizer == Regularizer::tikhonov) {
                l2_[i] = 1;
            } else {
                const double sr = std::sin(kPi * static_cast<double>(r) / static_cast<double>(h_));
                const double sc = std::sin(kPi * static_cast<double>(c) / static_cast<double>(w_));
                l2_[i] = 4 * sr * sr + 4 * sc * sc;
            }
        }
    floor_scale_ = *std::max_element(k2_.begin(), k2_.end());
}

PeriodicDeconvolver::Spectrum PeriodicDeconvolver::transform(const double* image) const {
    Spectrum s(image, image + h_ * w_);
    fft2(s, h_, w_, false);
    return s;
}

void PeriodicDeconvolver::filter(const Spectrum& in, double lambda, bool with_adjoint, double* out) const {
    const double l2 = lambda * lambda;
    double biggest = 0;
    for (size_t i = 0; i < k2_.size(); ++i) biggest = std::max(biggest, k2_[i] + l2 * l2_[i]);
    const double floor = 1e-14 * biggest;
    Spectrum s(in.size());
    for (size_t i = 0; i < s.size(); ++i) {
        const double den = k2_[i] + l2 * l2_[i];
        s[i] = den > floor ? (with_adjoint ? std::conj(k_hat_[i]) : Complex(1, 0)) * in[i] / den : Complex(0, 0);
    }
    fft2(s, h_, w_, true);
    for (size_t i = 0; i < s.size(); ++i) out[i] = s[i].real();
}

void PeriodicDeconvolver::solve(const Spectrum& b_hat, double lambda, double* x) const {
    filter(b_hat, lambda, true, x);
}

double PeriodicDeconvolver::residual_norm(const Spectrum& b_hat, double lambda) const {
    const double l2 = lambda * lambda;
    double biggest = 0;
    for (size_t i = 0; i < k2_.size(); ++i) biggest = std::max(biggest, k2_[i] + l2 * l2_[i]);
    const double floor = 1e-14 * biggest;
    double rr = 0;
    for (size_t i = 0; i < k2_.size(); ++i) {
        const double den = k2_[i] + l2 * l2_[i];
        // r^ = (|K^|^2 / den - 1) b^; zeroed frequencies leave b^ itself.
        const double f = den > floor ? l2 * l2_[i] / den : 1.0;
        rr += f * f * std::norm(b_hat[i]);
    }
    return std::sqrt(rr / static_cast<double>(k2_.size()));
}

double PeriodicDeconvolver::discrepancy_lambda(const Spectrum& b_hat, double target) const {
    double lo = std::log(1e-10), hi = std::log(1e6);
    if (residual_norm(b_hat, std::exp(lo)) >= target) return std::exp(lo);
    if (residual_norm(b_hat, std::exp(hi)) <= target) return std::exp(hi);
    while (hi - lo > 1e-6) {
        const double mid = (lo + hi) / 2;
        (residual_norm(b_hat, std::exp(mid)) < target ? lo : hi) = mid;
    }
    return std::exp((lo + hi) / 2);
}

void PeriodicDeconvolver::apply_inverse(const double* r, double lambda, double* z) const {
    filter(transform(r), lambda, false, z);
}

void PeriodicDeconvolver::apply(const double* x, double* y) const {
    Spectrum s = transform(x);
    for (size_t i = 0; i < s.size(); ++i) s[i] *= k_hat_[i];
    fft2(s, h_, w_, true);
    for (size_t i = 0; i < s.size(); ++i) y[i] = s[i].real();
}

}  // namespace convmtx
