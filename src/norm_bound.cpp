// sigma_max for the solvers from convmtx::spectrum: certified bounds, Lanczos with a margin,
// closed forms.
#include "convmtx/norm_bound.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>

#include "convmtx/detail/spectrum_fft.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/spectrum.hpp"

namespace convmtx {

namespace {

/// Operators with at most this many entries go through the dense SVD (spectrum's dense_limit).
constexpr double kDenseEntries = double(1 << 18);
/// A certified bound within this factor of the Lanczos bound is preferred to it: a step at most
/// 10% shorter buys the guarantee (the circular embedding of a zeros-padded 48 x 48 blur is 1.4%
/// above its norm); a looser bound (a Schur test on signed weights) would slow the iterations more.
constexpr double kCertifiedSlack = 1.1;

struct NonFinite : std::runtime_error {
    NonFinite() : std::runtime_error("non-finite") {}
};

std::string num(double v) {
    std::ostringstream os;
    os.precision(6);
    os << v;
    return os.str();
}

/// Lanczos' accuracy: the steps need an upper bound, not digits. The margin is rigorous whatever
/// the tolerance (the residual is measured afterwards), and a blur's crowded top values would take
/// Lanczos thousands of products to 1e-8 (measured: 7.7 s on a 128 x 128 Gaussian blur).
constexpr double kLanczosTol = 1e-4;

template <class Scalar>
SpectrumOptions options_for() {
    SpectrumOptions o;
    o.tol = kLanczosTol;
    return o;
}

NormBound non_finite() {
    NormBound b;
    b.method = "none";
    b.detail = "the operator returned a non-finite value while its norm was computed";
    return b;
}

/// One product each way with a Gaussian vector: false when either is not finite (a NaN or Inf
/// entry of an explicit matrix, or an operator that fails).
template <class Scalar>
bool probe(const LinearOperator<Scalar>& A) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> nd;
    Batch<Scalar> x(A.model_size(), 1), y(A.data_size(), 1);
    for (index_t i = 0; i < x.rows(); ++i) x(i, 0) = static_cast<Scalar>(nd(rng));
    A.apply(x, y);
    if (!y.allFinite()) return false;
    A.apply_adjoint(y, x);
    return x.allFinite();
}

/// upper from spectrum's value and certified bound: the certified bound unless it is more than
/// kCertifiedSlack above the Lanczos value plus its margin (a loose Schur test), then the latter.
NormBound from_norm(const OperatorNorm& n, double tol) {
    NormBound b;
    b.sigma_max = n.value;
    b.method = to_string(n.method);
    const bool have_certified = !std::isnan(n.upper_bound);
    if (n.method == SpectrumMethod::lanczos) {
        const double lanczos = n.value + 2 * n.residual + 10 * tol * n.value;
        if (have_certified && n.upper_bound <= kCertifiedSlack * lanczos) {
            b.upper = n.upper_bound;
            b.certified = true;
            b.detail = n.bound_detail;
        } else {
            b.upper = lanczos;
            b.detail = "Lanczos' sigma_1 + 2 x its residual bound " + num(n.residual) + " + 10 x tol " + num(tol);
            if (have_certified)
                b.detail += " (the certified bound, " + num(n.upper_bound) + " by " + n.bound_detail + ", is " +
                            num(100 * (n.upper_bound / lanczos - 1)) + "% larger)";
        }
    } else {
        b.upper = have_certified ? n.upper_bound : n.value;
        b.certified = have_certified;
        b.detail = have_certified ? n.bound_detail : n.detail;
    }
    return b;
}

/// True when A is a ConvOperator whose W is block-circulant (the FFT then gives sigma_min too).
template <class Scalar>
bool block_circulant(const LinearOperator<Scalar>& A) {
    const auto* c = dynamic_cast<const ConvOperator<Scalar>*>(&A);
    return c && detail::circulant_obstacle(ConvGeometry(c->spec())).empty();
}

template <class Scalar>
bool certifiable(const LinearOperator<Scalar>& A) {
    return dynamic_cast<const ConvOperator<Scalar>*>(&A) ||
           dynamic_cast<const SparseOperator<Scalar, Eigen::RowMajor, int>*>(&A) ||
           dynamic_cast<const SparseOperator<Scalar, Eigen::RowMajor, std::int64_t>*>(&A) ||
           dynamic_cast<const SparseOperator<Scalar, Eigen::ColMajor, int>*>(&A) ||
           dynamic_cast<const SparseOperator<Scalar, Eigen::ColMajor, std::int64_t>*>(&A);
}

}  // namespace

std::string NormBound::str() const {
    std::ostringstream os;
    os.precision(6);
    if (std::isnan(sigma_max)) return "sigma_max unknown (" + detail + ")";
    os << "sigma_max = " << sigma_max << " (" << method << ")";
    if (num(upper) != num(sigma_max)) os << ", upper bound " << upper;
    os << (certified ? ", certified" : ", not certified");
    if (!detail.empty()) os << ": " << detail;
    return os.str();
}

template <class Scalar>
NormBound norm_bound(const LinearOperator<Scalar>& A, bool want_sigma_min) {
    using Block = typename LinearOperator<Scalar>::Block;
    if (A.model_size() == 0 || A.data_size() == 0) {
        NormBound b;
        b.sigma_max = b.upper = 0;
        b.method = "empty";
        b.certified = true;
        return b;
    }
    try {
        if (!probe(A)) return non_finite();
        const SpectrumOptions o = options_for<Scalar>();
        NormBound b;
        if (want_sigma_min) {
            if (auto f = fft_norm_bound(A)) return *f;
        }
        if (certifiable(A)) return from_norm(operator_norm<Scalar>(A, o, true), o.tol);
        // A black box: every product checked, so that a NaN stops Lanczos at once.
        const FunctionOperator<Scalar> checked(
            A.model_shape(), A.data_shape(),
            [&A](const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) {
                A.apply(x, y);
                if (!y.allFinite()) throw NonFinite();
            },
            [&A](const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) {
                A.apply_adjoint(y, x);
                if (!x.allFinite()) throw NonFinite();
            },
            A.name());
        const bool small = static_cast<double>(A.model_size()) * static_cast<double>(A.data_size()) <= kDenseEntries;
        SpectrumOptions d = o;
        if (small) d.method = SpectrumMethod::dense;
        return from_norm(operator_norm<Scalar>(checked, d, small), o.tol);
    } catch (const NonFinite&) {
        return non_finite();
    }
}

template <class Scalar>
std::optional<NormBound> fft_norm_bound(const LinearOperator<Scalar>& A) {
    if (!block_circulant(A)) return std::nullopt;
    SpectrumOptions o = options_for<Scalar>();
    o.method = SpectrumMethod::fft;
    NormBound b = from_norm(operator_norm<Scalar>(A, o, true), o.tol);
    b.sigma_min = condition_number<Scalar>(A, o).sigma_min;
    return b;
}

template <class Scalar>
NormBound norm_bound(const ConvSpec& spec, span<const Scalar> weight, bool want_sigma_min) {
    const SpectrumOptions o = options_for<double>();
    NormBound b = from_norm(operator_norm<Scalar>(spec, weight, o, true), o.tol);
    if (want_sigma_min && detail::circulant_obstacle(ConvGeometry(spec)).empty()) {
        SpectrumOptions f = o;
        f.method = SpectrumMethod::fft;
        b.sigma_min = condition_number<Scalar>(spec, weight, f).sigma_min;
    }
    return b;
}

NormBound gradient_norm_bound(index_t rank) {
    if (rank < 1) throw config_error("gradient_norm_bound: rank=" + std::to_string(rank) + " must be >= 1");
    NormBound b;
    b.sigma_max = b.upper = 2 * std::sqrt(static_cast<double>(rank));
    b.method = "closed form";
    b.certified = true;
    b.detail = "||D||^2 <= 4 r = " + std::to_string(4 * rank) + " (Gershgorin on the Laplacian D^T D)";
    return b;
}

NormBound stacked_norm_bound(const NormBound& a, const NormBound& b, double weight) {
    if (std::isnan(a.sigma_max)) return a;
    if (std::isnan(b.sigma_max)) return b;
    NormBound s;
    s.sigma_max = s.upper = std::sqrt(a.upper * a.upper + weight * weight * b.upper * b.upper);
    s.method = a.method + " + " + b.method;
    s.certified = a.certified && b.certified;
    auto part = [](const NormBound& n) {
        return num(n.upper) + " (" + n.method + (n.certified ? ", certified" : "") +
               (n.detail.empty() ? std::string() : ": " + n.detail) + ")";
    };
    s.detail = "sqrt(||A||^2 + " + num(weight) + "^2 ||B||^2) with ||A|| <= " + part(a) + ", ||B|| <= " + part(b);
    return s;
}

NormBound given_norm(double value) {
    NormBound b;
    b.sigma_max = b.upper = value;
    b.method = "given";
    b.detail = "given by the caller";
    return b;
}

#define CONVMTX_NORM_BOUND(S)                                                 \
    template NormBound norm_bound<S>(const LinearOperator<S>&, bool);         \
    template NormBound norm_bound<S>(const ConvSpec&, span<const S>, bool);   \
    template std::optional<NormBound> fft_norm_bound<S>(const LinearOperator<S>&);
CONVMTX_NORM_BOUND(float)
CONVMTX_NORM_BOUND(double)
#undef CONVMTX_NORM_BOUND

}  // namespace convmtx
