// Singular values, operator norm and condition number (spectrum.hpp): the choice of method, the
// dense reference, Lanczos on the normal operator through Spectra, and the certified bounds.
#include "convmtx/spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>

#include <Eigen/Dense>

#include "convmtx/detail/lanczos.hpp"
#include "convmtx/detail/lapack_svd.hpp"
#include "convmtx/detail/spectrum_fft.hpp"
#include "convmtx/geometry.hpp"

namespace convmtx {

namespace {

using SparseD = Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t>;
constexpr double kEps = std::numeric_limits<double>::epsilon();

double memory_limit_of(const SpectrumOptions& o) {
    return o.memory_limit > 0 ? o.memory_limit : 0.5 * physical_memory_bytes();
}

void check_options(const SpectrumOptions& o) {
    if (o.k < 0) throw config_error("k=" + std::to_string(o.k) + " must be >= 0 (0: every singular value)");
    if (!(o.tol >= 0) || o.tol > 0.1)
        throw config_error("tol=" + std::to_string(o.tol) + " must be 0 (the default) or in (0, 0.1]");
    if (o.ncv < 0) throw config_error("ncv=" + std::to_string(o.ncv) + " must be >= 0 (0: max(2k + 1, 20))");
    if (o.max_restarts < 1) throw config_error("max_restarts=" + std::to_string(o.max_restarts) + " must be >= 1");
    if (o.dense_limit < 0) throw config_error("dense_limit=" + std::to_string(o.dense_limit) + " must be >= 0");
    if (!(o.memory_limit >= 0) || std::isinf(o.memory_limit))
        throw config_error("memory_limit=" + std::to_string(o.memory_limit) + " must be a finite number of bytes >= 0 (0: half the physical memory)");
}

void check_k(const SpectrumOptions& o, index_t p) {
    if (o.k > p)
        throw config_error("k=" + std::to_string(o.k) + " is larger than the number of singular values, min(rows, cols) = " +
                           std::to_string(p));
}

template <class Scalar>
std::vector<double> finite_weight(span<const Scalar> weight) {
    std::vector<double> w(weight.size());
    for (size_t i = 0; i < weight.size(); ++i) {
        if (!std::isfinite(static_cast<double>(weight[i]))) {
            std::ostringstream os;
            os << "weight[" << i << "] = " << weight[i] << ": the spectrum needs finite weights";
            throw config_error(os.str());
        }
        w[i] = static_cast<double>(weight[i]);
    }
    return w;
}

std::string dims_text(const Dims& d) { return to_string(d, " x "); }

/// The method `automatic` stands for, or the one asked for after checking that it applies.
SpectrumMethod choose(const SpectrumOptions& o, const std::string& obstacle, bool have_geometry, index_t rows,
                      index_t cols) {
    const index_t p = std::min(rows, cols);
    switch (o.method) {
        case SpectrumMethod::fft:
            if (!have_geometry)
                throw config_error("method='fft' needs a convolution configuration (a ConvSpec or ConvOperator), not a "
                                   "general operator or matrix");
            if (!obstacle.empty())
                throw config_error("method='fft' needs a block-circulant W: " + obstacle + "; use 'lanczos' or 'dense'");
            return SpectrumMethod::fft;
        case SpectrumMethod::dense: return SpectrumMethod::dense;
        case SpectrumMethod::lanczos:
            if (o.k == 0)
                throw config_error("method='lanczos' computes k values: give k with 1 <= k < " + std::to_string(p) +
                                   " (every value: method='dense' or 'fft')");
            if (o.k >= p)
                throw config_error("k=" + std::to_string(o.k) + " with method='lanczos': Lanczos gives at most min(rows, cols) - 1 = " +
                                   std::to_string(p - 1) + " values; use method='dense' for all of them");
            return SpectrumMethod::lanczos;
        case SpectrumMethod::automatic: break;
    }
    if (have_geometry && obstacle.empty()) return SpectrumMethod::fft;
    const double entries = static_cast<double>(rows) * static_cast<double>(cols);
    if (o.k == 0 || o.k >= p || entries <= static_cast<double>(o.dense_limit)) return SpectrumMethod::dense;
    return SpectrumMethod::lanczos;
}

/// The k largest or smallest of descending values (all when k = 0), with their residuals.
void select(Spectrum& s, const SpectrumOptions& o) {
    if (o.k == 0 || o.k >= static_cast<index_t>(s.values.size())) return;
    const auto k = static_cast<std::ptrdiff_t>(o.k);
    if (o.which == SpectrumSide::largest) {
        s.values.erase(s.values.begin() + k, s.values.end());
        if (!s.residuals.empty()) s.residuals.erase(s.residuals.begin() + k, s.residuals.end());
    } else {
        s.values.erase(s.values.begin(), s.values.end() - k);
        if (!s.residuals.empty()) s.residuals.erase(s.residuals.begin(), s.residuals.end() - k);
    }
}

void sort_descending(std::vector<double>& v) { std::sort(v.begin(), v.end(), std::greater<double>()); }

// ---- the dense reference -------------------------------------------------------------------

void check_dense_memory(index_t rows, index_t cols, double extra, double limit) {
    const double need = 16.0 * static_cast<double>(rows) * static_cast<double>(cols) + extra;
    if (need > limit) {
        std::ostringstream os;
        os << "method='dense': the SVD of the dense " << rows << " x " << cols << " matrix needs "
           << format_bytes(need) << ", over the memory limit of " << format_bytes(limit)
           << "; ask for k values (lanczos), or raise memory_limit";
        throw memory_limit_error(os.str(), need, limit);
    }
}

std::vector<double> dense_values(Eigen::MatrixXd D) {
    if (D.rows() == 0 || D.cols() == 0) return {};
    detail::LapackSvd svd;
    const Eigen::VectorXd& s = svd.values(D);
    return std::vector<double>(s.data(), s.data() + s.size());
}

/// The operator as a dense matrix: its explicit matrix, or its products with the identity's columns.
template <class S>
Eigen::MatrixXd dense_of(const LinearOperator<S>& A, const std::function<SparseD()>& matrix, double limit) {
    const index_t rows = A.data_size(), cols = A.model_size();
    check_dense_memory(rows, cols, 0, limit);
    if (matrix) return Eigen::MatrixXd(matrix());
    Eigen::MatrixXd D(rows, cols);
    const index_t chunk = 256;
    for (index_t c0 = 0; c0 < cols; c0 += chunk) {
        const index_t w = std::min(chunk, cols - c0);
        Batch<S> I = Batch<S>::Zero(cols, w);
        for (index_t j = 0; j < w; ++j) I(c0 + j, j) = S(1);
        Batch<S> Y(rows, w);
        A.apply(I, Y);
        D.middleCols(c0, w) = Y.template cast<double>();
    }
    return D;
}

// ---- Lanczos on the normal operator --------------------------------------------------------

/// Spectra's operator: x -> shift x - N x with N = A^T A (columns: the model space is the smaller)
/// or A A^T, applied through the operator into preallocated blocks.
template <class S>
class NormalOp {
public:
    using Scalar = double;
    NormalOp(const LinearOperator<S>& A, bool columns, double shift, index_t& products, const SpectrumCallback& progress)
        : A_(A), columns_(columns), shift_(shift), n_(columns ? A.model_size() : A.data_size()),
          in_(n_, 1), mid_(columns ? A.data_size() : A.model_size(), 1), out_(n_, 1), products_(products),
          progress_(progress) {}
    Eigen::Index rows() const { return n_; }
    Eigen::Index cols() const { return n_; }
    void perform_op(const double* x, double* y) const {
        const Eigen::Map<const Eigen::VectorXd> X(x, n_);
        in_.col(0) = X.cast<S>();
        if (columns_) {
            A_.apply(in_, mid_);
            A_.apply_adjoint(mid_, out_);
        } else {
            A_.apply_adjoint(in_, mid_);
            A_.apply(mid_, out_);
        }
        Eigen::Map<Eigen::VectorXd> Y(y, n_);
        if (shift_ != 0) Y = shift_ * X - out_.col(0).template cast<double>();
        else Y = out_.col(0).template cast<double>();
        products_ += 2;
        if (progress_ && products_ % 20 == 0) progress_({"operator products", products_, 0});
    }

private:
    const LinearOperator<S>& A_;
    bool columns_;
    double shift_;
    index_t n_;
    mutable Batch<S> in_, mid_, out_;
    index_t& products_;
    const SpectrumCallback& progress_;
};

struct LanczosOut {
    std::vector<double> values, residuals;  // descending
    index_t restarts = 0, products = 0;
    double sigma1 = 0;                      // sigma_1 (largest) or its estimate (smallest)
    std::string detail;
};

Eigen::VectorXd start_vector(index_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    Eigen::VectorXd v(n);
    for (index_t i = 0; i < n; ++i) v(i) = normal(rng);
    return v;
}

/// sigma_i = ||A v_i|| (columns; ||A^T v_i|| otherwise) with the bound of its error from the eigen residual
/// rho = ||N v - sigma^2 v|| of N = A^T A (or A A^T): some eigenvalue of N lies within rho of sigma^2, so
/// some singular value lies within min(rho / sigma, sqrt(rho)) of sigma.
template <class S>
void triplets(const LinearOperator<S>& A, bool columns, const Eigen::MatrixXd& V, LanczosOut& out) {
    const Batch<S> Vs = V.cast<S>();
    const Batch<S> U = columns ? A.apply(Vs) : A.apply_adjoint(Vs);
    const Batch<S> NV = columns ? A.apply_adjoint(U) : A.apply(U);
    out.products += 2 * V.cols();
    std::vector<std::pair<double, double>> pairs;
    for (Eigen::Index i = 0; i < V.cols(); ++i) {
        const double vn = std::max(V.col(i).norm(), 1e-300);
        const double s = U.col(i).template cast<double>().norm() / vn;
        const double rho = (NV.col(i).template cast<double>() / vn - s * s * V.col(i) / vn).norm();
        pairs.emplace_back(s, s > 0 ? std::min(rho / s, std::sqrt(rho)) : std::sqrt(rho));
    }
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [s, r] : pairs) {
        out.values.push_back(s);
        out.residuals.push_back(r);
    }
}

/// The relative rounding error of one product with the normal operator, generously.
template <class S>
double op_noise() {
    return sizeof(S) <= 4 ? 1e-4 : 1e-11;
}

template <class S>
double default_tol(const SpectrumOptions& o) {
    return o.tol > 0 ? o.tol : (sizeof(S) <= 4 ? 1e-5 : 1e-10);
}

index_t krylov_size(const SpectrumOptions& o, index_t k, index_t n) {
    index_t ncv = o.ncv > 0 ? o.ncv : std::max<index_t>(2 * k + 1, 20);
    ncv = std::min(ncv, n);
    if (ncv <= k)
        throw config_error("ncv=" + std::to_string(o.ncv) + " must exceed k=" + std::to_string(k) +
                           " (Spectra's Krylov subspace holds the k wanted vectors and more)");
    return ncv;
}

[[noreturn]] void not_converged(const char* what, index_t got, index_t k, index_t restarts, index_t products, double tol) {
    std::ostringstream os;
    os << "Lanczos (" << what << ") converged on " << got << " of the " << k << " values asked for after " << restarts
       << " restarts and " << products << " operator products (tol=" << tol
       << "); raise max_restarts or ncv, loosen tol, or use method='dense' for a small W";
    throw convergence_error(os.str());
}

/// Who found the eigenpairs: Spectra, or the dense eigensolver when the Krylov space is the whole space.
std::string solver_text(index_t ncv, index_t n) {
    return ncv >= n ? "the dense eigensolver (the Krylov space would be all " + std::to_string(n) + " dimensions)"
                    : "Spectra's SymEigsSolver";
}

std::string runs_text(index_t runs) {
    return runs > 1 ? " in " + std::to_string(runs) + " runs (the later ones deflated, for repeated values)" : "";
}

/// Whether the normal operator maps the random vector v to exactly 0: then W = 0 (with probability 1),
/// and Lanczos, which would find no Krylov space to converge in, is not run.
template <class Op>
bool zero_operator(const Op& op, const Eigen::VectorXd& v) {
    Eigen::VectorXd y(v.size());
    op.perform_op(v.data(), y.data());
    return y.cwiseAbs().maxCoeff() == 0;
}

/// The k largest singular values by Lanczos on the normal operator.
template <class S>
LanczosOut lanczos_largest(const LinearOperator<S>& A, index_t k, const SpectrumOptions& o, double tol) {
    const bool columns = A.model_size() <= A.data_size();
    const index_t n = std::min(A.model_size(), A.data_size());
    LanczosOut out;
    NormalOp<S> op(A, columns, 0, out.products, o.progress);
    const index_t ncv = krylov_size(o, k, n);
    if (zero_operator(op, start_vector(n, o.seed))) {  // W = 0: every singular value is 0 exactly
        out.values.assign(static_cast<size_t>(k), 0.0);
        out.residuals.assign(static_cast<size_t>(k), 0.0);
        out.sigma1 = 0;
        out.detail = std::string("W^T W v = 0 for a random v: W = 0, every singular value is 0");
        return out;
    }
    const detail::EigenRun r = detail::largest_eigenpairs(op, k, ncv, o.max_restarts, tol, start_vector(n, o.seed), op_noise<S>());
    out.restarts = r.restarts;
    if (static_cast<index_t>(r.theta.size()) < k)
        not_converged("largest", static_cast<index_t>(r.theta.size()), k, out.restarts, out.products, tol);
    triplets(A, columns, r.vectors, out);
    out.sigma1 = out.values.front();
    std::ostringstream os;
    os << solver_text(ncv, n) << " on " << (columns ? "W^T W" : "W W^T") << " (" << n << " x " << n << ", Krylov size "
       << ncv << "): " << out.restarts << " restarts, " << out.products << " products with W or W^T" << runs_text(r.runs);
    out.detail = os.str();
    return out;
}

/// The k smallest: shift-invert with CHOLMOD on the explicit matrix when possible, otherwise Lanczos
/// on shift I - N with shift = sigma_1^2, whose largest eigenvalues are shift - the smallest of N.
template <class S>
LanczosOut lanczos_smallest(const LinearOperator<S>& A, index_t k, const SpectrumOptions& o, double tol,
                            const std::function<SparseD()>& matrix, double limit, double sigma1) {
    const bool columns = A.model_size() <= A.data_size();
    const index_t n = std::min(A.model_size(), A.data_size());
    LanczosOut out;
    if (!(sigma1 > 0)) {
        SpectrumOptions quick = o;
        quick.ncv = 0;
        const LanczosOut top = lanczos_largest(A, 1, quick, 1e-6);
        out.products += top.products;
        sigma1 = top.values.front();
    }
    if (sigma1 == 0) {  // W = 0 (lanczos_largest found so): the smallest values are 0 too
        out.values.assign(static_cast<size_t>(k), 0.0);
        out.residuals.assign(static_cast<size_t>(k), 0.0);
        out.detail = std::string("W = 0: every singular value is 0");
        return out;
    }
    out.sigma1 = sigma1;
    const double lam_max = sigma1 * sigma1;
    const index_t ncv = krylov_size(o, k, n);
    const Eigen::VectorXd v0 = start_vector(n, o.seed);
    std::string fallback;
    if (o.shift_invert && matrix && lam_max > 0) {
        try {
            const SparseD M = matrix();  // A itself: rows = A.data_size()
            const SparseD small = columns ? SparseD(M.transpose()) : M;
            const ShiftInvertResult r = o.shift_invert(small, k, lam_max, tol, ncv, o.max_restarts, v0, limit);
            out.restarts = r.restarts;
            if (static_cast<index_t>(r.eigenvalues.size()) < k)
                not_converged("shift-invert, smallest", static_cast<index_t>(r.eigenvalues.size()), k, out.restarts,
                              r.solves, tol);
            // The values from the inverse's Ritz values: its vectors carry the solves' rounding
            // (cond(N + shift) eps) along the large singular directions, so ||W v|| would not do.
            std::vector<std::pair<double, double>> pairs;
            for (size_t i = 0; i < r.eigenvalues.size(); ++i) {
                const double s = std::sqrt(r.eigenvalues[i]), e = r.errors[i];
                pairs.emplace_back(s, s > 0 ? std::min(e / s, std::sqrt(e)) : std::sqrt(e));
            }
            std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
            // Repeated near-zero eigenvalues make the inverse's huge eigenvalues nearly equal, and
            // the solves' rounding can then leave a Ritz pair unconverged: its bound says so, and
            // Lanczos on the normal operator (accurate to about sqrt(eps) sigma_1) takes over.
            const double worst = std::max_element(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
                                     return a.second < b.second;
                                 })->second;
            const double accept = std::max(1e3 * tol, 1e-7) * sigma1;
            if (worst <= accept) {
                for (const auto& [s, e] : pairs) {
                    out.values.push_back(s);
                    out.residuals.push_back(e);
                }
                std::ostringstream os;
                os << solver_text(ncv, n) << " on (" << (columns ? "W^T W" : "W W^T") << " + shift)^-1 by " << r.detail
                   << ": " << out.restarts << " restarts, " << r.solves << " solves" << runs_text(r.runs);
                out.detail = os.str();
                return out;
            }
            std::ostringstream os;
            os << " (shift-invert left an error bound of " << worst << " > " << accept << ")";
            fallback = os.str();
            out.restarts = 0;
        } catch (const memory_limit_error& e) {
            fallback = std::string(" (no shift-invert: ") + e.what() + ")";
        }
    }
    NormalOp<S> op(A, columns, lam_max, out.products, o.progress);
    // Convergence is relative to the shift (~ sigma_1^2): tol^2 keeps sigma within about tol sigma_1.
    const double shifted_tol = std::max(tol * tol, 10 * kEps);
    const detail::EigenRun r = detail::largest_eigenpairs(op, k, ncv, o.max_restarts, shifted_tol, v0, op_noise<S>());
    out.restarts = r.restarts;
    if (static_cast<index_t>(r.theta.size()) < k)
        not_converged("smallest", static_cast<index_t>(r.theta.size()), k, out.restarts, out.products, shifted_tol);
    triplets(A, columns, r.vectors, out);
    std::ostringstream os;
    os << solver_text(ncv, n) << " on sigma_1^2 I - " << (columns ? "W^T W" : "W W^T") << " (" << n << " x " << n
       << ", Krylov size " << ncv << "): " << out.restarts << " restarts, " << out.products << " products with W or W^T"
       << runs_text(r.runs) << fallback;
    out.detail = os.str();
    return out;
}

// ---- one subject: an operator, maybe with its convolution and explicit matrix ----------------

template <class S>
struct Subject {
    const LinearOperator<S>* op = nullptr;
    const ConvSpec* spec = nullptr;            // when the operator is a convolution
    const std::vector<double>* weight = nullptr;
    std::function<SparseD()> matrix;           // the operator's explicit matrix (rows: its data space)
    bool certifiable = false;                  // a ConvSpec or an explicit matrix
    bool zero = false;                         // every weight is 0: W = 0, every singular value 0
};

double zero_threshold(SpectrumMethod m, index_t rows, index_t cols, double sigma1) {
    const double big = static_cast<double>(std::max(rows, cols));
    return m == SpectrumMethod::lanczos ? std::sqrt(big * kEps) * sigma1 : big * kEps * sigma1;
}

Spectrum fft_spectrum(const ConvSpec& spec, const std::vector<double>& w, const SpectrumOptions& o) {
    const ConvGeometry G(spec);
    const detail::CirculantConv c = detail::circulant_of(G);
    detail::BlockSpectrum bs =
        detail::circulant_singular_values(c, w.data(), true, o.frequency_map, memory_limit_of(o), o.progress);
    Spectrum s;
    s.method = SpectrumMethod::fft;
    s.rows = G.rows();
    s.cols = G.cols();
    s.count = std::min(s.rows, s.cols);
    s.values = std::move(bs.values);
    sort_descending(s.values);
    std::ostringstream os;
    os << "exact: " << (c.phases() > 1 ? "polyphase " : "") << "DFT of the kernel, then the SVD of a " << c.block_rows()
       << " x " << c.block_cols() << " block per group (" << c.groups << ") and frequency ("
       << dims_text(c.frequency_shape()) << " = " << c.frequencies() << "; " << bs.computed
       << " computed, the others their complex conjugates); block sums by "
       << (bs.fft ? "Eigen's FFT" : "direct DFT sums");
    s.detail = os.str();
    if (o.frequency_map) {
        s.frequency_shape = c.frequency_shape();
        s.frequency_max = std::move(bs.frequency_max);
    }
    return s;
}

template <class S>
Spectrum run_spectrum(const Subject<S>& sub, const SpectrumOptions& o) {
    const LinearOperator<S>& A = *sub.op;
    const index_t rows = A.data_size(), cols = A.model_size(), p = std::min(rows, cols);
    check_k(o, p);
    std::string obstacle = "not a convolution";
    if (sub.spec) obstacle = detail::circulant_obstacle(ConvGeometry(*sub.spec));
    const SpectrumMethod method = choose(o, obstacle, sub.spec != nullptr, rows, cols);
    const double limit = memory_limit_of(o);
    Spectrum s;
    if (method == SpectrumMethod::fft) {
        s = fft_spectrum(*sub.spec, *sub.weight, o);
    } else if (method == SpectrumMethod::dense) {
        s.method = method;
        s.values = dense_values(dense_of(A, sub.matrix, limit));
        std::ostringstream os;
        os << "exact: LAPACK's dgesdd of the dense " << rows << " x " << cols << " matrix";
        s.detail = os.str();
    } else {
        const double tol = default_tol<S>(o);
        LanczosOut l;
        if (sub.zero) {  // W = 0: Lanczos has nothing to converge on
            l.values.assign(static_cast<size_t>(o.k), 0.0);
            l.residuals.assign(static_cast<size_t>(o.k), 0.0);
            l.detail = "exact: every weight is 0, so W = 0 and every singular value is 0";
        } else {
            l = o.which == SpectrumSide::largest ? lanczos_largest(A, o.k, o, tol)
                                                 : lanczos_smallest(A, o.k, o, tol, sub.matrix, limit, 0.0);
        }
        s.method = method;
        s.values = std::move(l.values);
        s.residuals = std::move(l.residuals);
        s.restarts = l.restarts;
        s.products = l.products;
        s.detail = std::move(l.detail);
        s.zero_threshold = zero_threshold(method, rows, cols, l.sigma1);
    }
    s.rows = rows;
    s.cols = cols;
    s.count = p;
    if (method != SpectrumMethod::lanczos) s.zero_threshold = zero_threshold(method, rows, cols, s.values.empty() ? 0 : s.values.front());
    s.complete = static_cast<index_t>(s.values.size()) == p;
    select(s, o);
    s.complete = static_cast<index_t>(s.values.size()) == p;
    return s;
}

template <class S>
OperatorNorm run_norm(const Subject<S>& sub, const SpectrumOptions& o_in, bool certify, index_t max_embedding) {
    SpectrumOptions o = o_in;
    o.k = 1;
    o.which = SpectrumSide::largest;
    const LinearOperator<S>& A = *sub.op;
    const index_t rows = A.data_size(), cols = A.model_size();
    std::string obstacle = "not a convolution";
    std::optional<ConvGeometry> G;
    if (sub.spec) {
        G.emplace(*sub.spec);
        obstacle = detail::circulant_obstacle(*G);
    }
    OperatorNorm r;
    if (std::min(rows, cols) == 0) {
        r.method = SpectrumMethod::dense;
        r.detail = "W has no entries";
        if (certify) {
            r.upper_bound = 0;
            r.bound_detail = "W is empty";
        }
        return r;
    }
    r.method = choose(o, obstacle, sub.spec != nullptr, rows, cols);
    if (certify && !sub.spec && !sub.matrix && r.method != SpectrumMethod::dense)
        throw config_error("certify: no guaranteed bound exists for the matrix-free operator '" + A.name() +
                           "' (a black box); pass a ConvOperator or SparseOperator, or use method='dense'");
    struct Bound {
        double value;
        std::string what;
    };
    std::vector<Bound> bounds;
    if (r.method == SpectrumMethod::fft) {
        const detail::CirculantConv c = detail::circulant_of(*G);
        const detail::BlockSpectrum bs =
            detail::circulant_singular_values(c, sub.weight->data(), false, false, memory_limit_of(o), o.progress);
        r.value = bs.sigma_max;
        std::ostringstream os;
        os << "exact: the largest singular value of the " << c.block_rows() << " x " << c.block_cols()
           << " frequency blocks (" << c.frequencies() << " frequencies, " << bs.computed << " computed)";
        r.detail = os.str();
        bounds.push_back({bs.sigma_max + detail::circulant_margin(c, sub.weight->data()),
                          "the exact FFT value plus its rounding margin"});
    } else if (r.method == SpectrumMethod::dense) {
        const std::vector<double> v = dense_values(dense_of(A, sub.matrix, memory_limit_of(o)));
        r.value = v.empty() ? 0 : v.front();
        r.detail = "exact: LAPACK's dgesdd of the dense matrix";
        bounds.push_back({r.value * (1 + 16 * static_cast<double>(std::max(rows, cols)) * kEps),
                          "the dense SVD value plus its rounding margin"});
    } else if (sub.zero) {
        r.value = 0;
        r.detail = "exact: every weight is 0, so W = 0";
    } else {
        const LanczosOut l = lanczos_largest(A, 1, o, default_tol<S>(o));
        r.value = l.values.front();
        r.residual = l.residuals.front();
        r.detail = l.detail;
    }
    if (!certify) return r;
    if (G) {
        const ConvGeometry& g = *G;
        bounds.push_back({detail::schur_bound(g, sub.weight->data()), "the Schur test sqrt(||W||_1 ||W||_inf)"});
        if (sub.spec->padding_mode == PaddingMode::zeros && r.method != SpectrumMethod::fft) {
            const detail::CirculantConv e = detail::circulant_embedding(g);
            if (e.frequencies() <= max_embedding) {
                const detail::BlockSpectrum bs =
                    detail::circulant_singular_values(e, sub.weight->data(), false, false, memory_limit_of(o), o.progress);
                std::ostringstream os;
                os << "the norm of the circular convolution on " << dims_text(Dims(e.n.begin() + (3 - e.rank), e.n.end()))
                   << ", which holds W as a sub-block (plus its rounding margin)";
                bounds.push_back({bs.sigma_max + detail::circulant_margin(e, sub.weight->data()), os.str()});
            }
        }
    } else if (sub.matrix) {
        const SparseD M = sub.matrix();
        Eigen::VectorXd row = Eigen::VectorXd::Zero(M.rows()), col = Eigen::VectorXd::Zero(M.cols());
        for (index_t j = 0; j < M.outerSize(); ++j)
            for (SparseD::InnerIterator it(M, j); it; ++it) {
                row(it.row()) += std::abs(it.value());
                col(it.col()) += std::abs(it.value());
            }
        const double terms = static_cast<double>(std::max(rows, cols)) + 8;
        bounds.push_back({std::sqrt(row.maxCoeff() * col.maxCoeff()) * (1 + 2 * terms * kEps),
                          "the Schur test sqrt(||W||_1 ||W||_inf)"});
    }
    if (bounds.empty())
        throw config_error("certify: no guaranteed bound exists for the matrix-free operator '" + A.name() +
                           "' (a black box); pass a ConvOperator or SparseOperator, or use method='dense'");
    const auto best = std::min_element(bounds.begin(), bounds.end(), [](const Bound& a, const Bound& b) { return a.value < b.value; });
    r.upper_bound = std::max(best->value, r.value);
    r.bound_detail = best->what;
    return r;
}

template <class S>
Conditioning run_condition(const Subject<S>& sub, const SpectrumOptions& o_in) {
    SpectrumOptions o = o_in;
    const LinearOperator<S>& A = *sub.op;
    const index_t rows = A.data_size(), cols = A.model_size(), p = std::min(rows, cols);
    Conditioning c;
    c.rows = rows;
    c.cols = cols;
    c.count = p;
    if (p == 0) {
        c.method = SpectrumMethod::dense;
        c.detail = "W has no entries";
        return c;
    }
    std::string obstacle = "not a convolution";
    if (sub.spec) obstacle = detail::circulant_obstacle(ConvGeometry(*sub.spec));
    o.k = p > 1 ? 1 : 0;
    SpectrumMethod m = choose(o, obstacle, sub.spec != nullptr, rows, cols);
    if (m == SpectrumMethod::lanczos && p < 2) m = SpectrumMethod::dense;
    c.method = m;
    double threshold = 0;
    if (m != SpectrumMethod::lanczos) {
        o.k = 0;
        o.method = m;
        const Spectrum s = run_spectrum(sub, o);
        c.sigma_max = s.values.front();
        c.sigma_min = s.values.back();
        c.zeros = s.zeros();
        c.detail = s.detail;
        threshold = s.zero_threshold;
    } else if (sub.zero) {
        c.sigma_max = c.sigma_min = 0;
        c.zeros = p;
        c.zeros_exact = true;
        c.detail = "exact: every weight is 0, so W = 0 and every singular value is 0";
    } else {
        const double tol = default_tol<S>(o);
        const LanczosOut top = lanczos_largest(A, 1, o, tol);
        const LanczosOut bottom = lanczos_smallest(A, 1, o, tol, sub.matrix, memory_limit_of(o), top.values.front());
        c.sigma_max = top.values.front();
        c.sigma_min = bottom.values.front();
        c.residual_max = top.residuals.front();
        c.residual_min = bottom.residuals.front();
        threshold = zero_threshold(m, rows, cols, c.sigma_max);
        c.zeros = c.sigma_min <= threshold ? 1 : 0;
        c.zeros_exact = c.zeros == 0;
        if (c.sigma_max == 0) {  // W = 0: every one of the p values is 0, exactly
            c.zeros = p;
            c.zeros_exact = true;
        }
        c.detail = "largest: " + top.detail + "; smallest: " + bottom.detail;
    }
    if (c.zeros > 0) c.sigma_min = 0;
    c.condition = c.sigma_min > 0 ? c.sigma_max / c.sigma_min : std::numeric_limits<double>::infinity();
    if (c.sigma_max == 0) c.condition = std::numeric_limits<double>::infinity();
    return c;
}

// ---- subjects from the public arguments ----------------------------------------------------

template <class S>
Subject<S> subject_of(const LinearOperator<S>& A) {
    Subject<S> sub;
    sub.op = &A;
    if (auto p = dynamic_cast<const SparseOperator<S, Eigen::RowMajor, int>*>(&A))
        sub.matrix = [p] { return p->is_transposed() ? SparseD(p->matrix().transpose().template cast<double>()) : SparseD(p->matrix().template cast<double>()); };
    else if (auto p2 = dynamic_cast<const SparseOperator<S, Eigen::RowMajor, std::int64_t>*>(&A))
        sub.matrix = [p2] { return p2->is_transposed() ? SparseD(p2->matrix().transpose().template cast<double>()) : SparseD(p2->matrix().template cast<double>()); };
    else if (auto p3 = dynamic_cast<const SparseOperator<S, Eigen::ColMajor, int>*>(&A))
        sub.matrix = [p3] { return p3->is_transposed() ? SparseD(p3->matrix().transpose().template cast<double>()) : SparseD(p3->matrix().template cast<double>()); };
    else if (auto p4 = dynamic_cast<const SparseOperator<S, Eigen::ColMajor, std::int64_t>*>(&A))
        sub.matrix = [p4] { return p4->is_transposed() ? SparseD(p4->matrix().transpose().template cast<double>()) : SparseD(p4->matrix().template cast<double>()); };
    else if (auto c = dynamic_cast<const ConvOperator<S>*>(&A))
        sub.matrix = [c] { return c->is_adjoint() ? SparseD(c->matrix().transpose().template cast<double>()) : SparseD(c->matrix().template cast<double>()); };
    return sub;
}

/// The configuration's operator in double: the conv's direct kernel, or the transposed conv's scatter.
std::shared_ptr<ConvOperator<double>> conv_operator(const ConvSpec& spec, std::vector<double> w, const SpectrumOptions& o) {
    BuildOptions b;
    b.memory_limit = memory_limit_of(o);
    return std::make_shared<ConvOperator<double>>(spec, std::move(w), spec.transposed ? ApplyMethod::scatter : ApplyMethod::direct,
                                                  std::vector<double>{}, b);
}

// ---- scaling: the singular values of c W are |c| times those of W ----
// The weights are divided by a power of two near their largest magnitude (exact: only the exponent
// changes), so that W^T W neither overflows (|w| up to the largest double) nor underflows; the
// results are multiplied back. A result that does not fit a double is refused.

void check_rescaled(double v, const char* what, double wmax) {
    if (std::isfinite(v)) return;
    std::ostringstream os;
    os << "weights: the largest |weight| is " << wmax << ", so " << what
       << " is larger than the largest double (1.8e308) and cannot be given; the singular values of c*W are |c| "
          "times those of W: divide the weights by a constant";
    throw config_error(os.str());
}

void rescale(Spectrum& s, double c, double wmax) {
    for (double& v : s.values) check_rescaled(v *= c, "sigma_max", wmax);
    for (double& v : s.residuals) v *= c;
    for (double& v : s.frequency_max) check_rescaled(v *= c, "a frequency's sigma_max", wmax);
    s.zero_threshold *= c;
}

void rescale(OperatorNorm& r, double c, double wmax) {
    check_rescaled(r.value *= c, "sigma_max", wmax);
    r.residual *= c;
    if (!std::isnan(r.upper_bound)) check_rescaled(r.upper_bound *= c, "the bound on sigma_max", wmax);
}

void rescale(Conditioning& r, double c, double wmax) {
    check_rescaled(r.sigma_max *= c, "sigma_max", wmax);
    r.sigma_min *= c;
    r.residual_max *= c;
    r.residual_min *= c;
}

template <class Scalar, class F>
auto with_conv(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& o, F&& f) {
    check_options(o);
    spec.validate();
    check_size(weight, spec.weight_numel(), "weight", "prod(" + to_string(spec.weight_shape(), "x") + ")");
    std::vector<double> w = finite_weight(weight);
    double wmax = 0;
    for (double v : w) wmax = std::max(wmax, std::abs(v));
    int e = 0;
    if (wmax > 0) {
        std::frexp(wmax, &e);  // wmax = m 2^e, m in [0.5, 1)
        for (double& v : w) v = std::ldexp(v, -e);
    }
    const auto op = conv_operator(spec, w, o);
    Subject<double> sub = subject_of<double>(*op);
    sub.spec = &op->spec();
    sub.weight = &w;
    sub.certifiable = true;
    sub.zero = wmax == 0;
    auto r = f(sub);
    if (e != 0) rescale(r, std::ldexp(1.0, e), wmax);
    return r;
}

template <class Scalar, class F>
auto with_operator(const LinearOperator<Scalar>& A, const SpectrumOptions& o, F&& f) {
    check_options(o);
    Subject<Scalar> sub = subject_of(A);
    std::vector<double> w;
    if (auto c = dynamic_cast<const ConvOperator<Scalar>*>(&A)) {
        w = finite_weight(span<const Scalar>(c->weight()));
        sub.zero = std::all_of(w.begin(), w.end(), [](double v) { return v == 0; });
        sub.spec = &c->spec();
        sub.weight = &w;
        sub.certifiable = true;
    }
    return f(sub);
}

}  // namespace

std::string to_string(SpectrumMethod method) {
    switch (method) {
        case SpectrumMethod::automatic: return "auto";
        case SpectrumMethod::fft: return "fft";
        case SpectrumMethod::lanczos: return "lanczos";
        case SpectrumMethod::dense: return "dense";
    }
    return "?";
}

std::string to_string(SpectrumSide side) { return side == SpectrumSide::largest ? "largest" : "smallest"; }
std::ostream& operator<<(std::ostream& os, SpectrumMethod method) { return os << to_string(method); }
std::ostream& operator<<(std::ostream& os, SpectrumSide side) { return os << to_string(side); }

SpectrumMethod parse_spectrum_method(const std::string& name) {
    if (name == "auto") return SpectrumMethod::automatic;
    if (name == "fft") return SpectrumMethod::fft;
    if (name == "lanczos") return SpectrumMethod::lanczos;
    if (name == "dense") return SpectrumMethod::dense;
    throw config_error("method='" + name + "' must be one of 'auto', 'fft', 'lanczos', 'dense'");
}

SpectrumSide parse_spectrum_side(const std::string& name) {
    if (name == "largest") return SpectrumSide::largest;
    if (name == "smallest") return SpectrumSide::smallest;
    throw config_error("which='" + name + "' must be 'largest' or 'smallest'");
}

index_t Spectrum::zeros() const {
    return static_cast<index_t>(std::count_if(values.begin(), values.end(), [&](double v) { return v <= zero_threshold; }));
}

std::optional<FftCost> fft_spectrum_cost(const ConvSpec& spec, bool all_values, bool frequency_map) {
    spec.validate();
    const ConvGeometry G(spec);
    if (!detail::circulant_obstacle(G).empty()) return std::nullopt;
    return detail::fft_cost(detail::circulant_of(G), all_values, frequency_map);
}

template <class Scalar>
Spectrum singular_values(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& options) {
    return with_conv(spec, weight, options, [&](const Subject<double>& sub) { return run_spectrum(sub, options); });
}

template <class Scalar>
Spectrum singular_values(const LinearOperator<Scalar>& A, const SpectrumOptions& options) {
    return with_operator(A, options, [&](const Subject<Scalar>& sub) { return run_spectrum(sub, options); });
}

template <class Scalar, int Order, class StorageIndex>
Spectrum singular_values(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& M, const SpectrumOptions& options) {
    check_options(options);
    for (StorageIndex j = 0; j < M.outerSize(); ++j)
        for (typename Eigen::SparseMatrix<Scalar, Order, StorageIndex>::InnerIterator it(M, j); it; ++it)
            if (!std::isfinite(static_cast<double>(it.value())))
                throw config_error("matrix entry (" + std::to_string(it.row()) + ", " + std::to_string(it.col()) +
                                   ") is not finite: the spectrum needs finite entries");
    const SparseOperator<double, Eigen::ColMajor, std::int64_t> op(SparseD(M.template cast<double>()), Shape{M.cols()},
                                                                    Shape{M.rows()}, "matrix");
    return singular_values<double>(op, options);
}

template <class Scalar>
OperatorNorm operator_norm(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& options, bool certify,
                           index_t max_embedding_frequencies) {
    return with_conv(spec, weight, options,
                     [&](const Subject<double>& sub) { return run_norm(sub, options, certify, max_embedding_frequencies); });
}

template <class Scalar>
OperatorNorm operator_norm(const LinearOperator<Scalar>& A, const SpectrumOptions& options, bool certify) {
    return with_operator(A, options, [&](const Subject<Scalar>& sub) { return run_norm(sub, options, certify, index_t{1} << 16); });
}

template <class Scalar>
Conditioning condition_number(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& options) {
    return with_conv(spec, weight, options, [&](const Subject<double>& sub) { return run_condition(sub, options); });
}

template <class Scalar>
Conditioning condition_number(const LinearOperator<Scalar>& A, const SpectrumOptions& options) {
    return with_operator(A, options, [&](const Subject<Scalar>& sub) { return run_condition(sub, options); });
}

template <class Scalar>
double reshaped_weight_norm(span<const Scalar> weight, const Shape& shape, int dim) {
    if (shape.empty()) throw shape_error("weight_shape is empty; a weight has at least one axis");
    index_t numel = 1;
    for (auto v : shape) {
        if (v < 0) throw shape_error("weight_shape (" + to_string(shape) + ") has a negative size");
        numel *= v;
    }
    check_size(weight, numel, "weight", "prod(" + to_string(shape, "x") + ")");
    if (dim < 0 || dim >= static_cast<int>(shape.size()))
        throw config_error("dim=" + std::to_string(dim) + " must be an axis of the weight, 0 <= dim < " +
                           std::to_string(shape.size()));
    std::vector<double> w = finite_weight(weight);
    double wmax = 0;
    for (double v : w) wmax = std::max(wmax, std::abs(v));
    int e = 0;
    if (wmax > 0) std::frexp(wmax, &e);
    for (double& v : w) v = std::ldexp(v, -e);  // exact; the norm is scaled back below
    const index_t rows = shape[static_cast<size_t>(dim)];
    if (numel == 0) return 0;
    const index_t cols = numel / rows;
    // Axis `dim` first, the others in order: the weight's index splits into (before, dim, after).
    index_t after = 1;
    for (size_t j = static_cast<size_t>(dim) + 1; j < shape.size(); ++j) after *= shape[j];
    Eigen::MatrixXd M(rows, cols);
    for (index_t i = 0; i < numel; ++i) {
        const index_t a = i % after, r = (i / after) % rows, b = i / (after * rows);
        M(r, b * after + a) = w[static_cast<size_t>(i)];
    }
    const std::vector<double> v = dense_values(M);
    const double norm = v.empty() ? 0 : std::ldexp(v.front(), e);
    check_rescaled(norm, "the reshaped-weight norm", wmax);
    return norm;
}

#define CONVMTX_SPECTRUM(S)                                                                                         \
    template Spectrum singular_values<S>(const ConvSpec&, span<const S>, const SpectrumOptions&);                   \
    template Spectrum singular_values<S>(const LinearOperator<S>&, const SpectrumOptions&);                         \
    template Spectrum singular_values<S, Eigen::RowMajor, int>(const Eigen::SparseMatrix<S, Eigen::RowMajor, int>&, \
                                                               const SpectrumOptions&);                             \
    template Spectrum singular_values<S, Eigen::RowMajor, std::int64_t>(                                             \
        const Eigen::SparseMatrix<S, Eigen::RowMajor, std::int64_t>&, const SpectrumOptions&);                       \
    template Spectrum singular_values<S, Eigen::ColMajor, int>(const Eigen::SparseMatrix<S, Eigen::ColMajor, int>&, \
                                                               const SpectrumOptions&);                             \
    template Spectrum singular_values<S, Eigen::ColMajor, std::int64_t>(                                             \
        const Eigen::SparseMatrix<S, Eigen::ColMajor, std::int64_t>&, const SpectrumOptions&);                       \
    template OperatorNorm operator_norm<S>(const ConvSpec&, span<const S>, const SpectrumOptions&, bool, index_t);  \
    template OperatorNorm operator_norm<S>(const LinearOperator<S>&, const SpectrumOptions&, bool);                 \
    template Conditioning condition_number<S>(const ConvSpec&, span<const S>, const SpectrumOptions&);              \
    template Conditioning condition_number<S>(const LinearOperator<S>&, const SpectrumOptions&);                    \
    template double reshaped_weight_norm<S>(span<const S>, const Shape&, int);
CONVMTX_SPECTRUM(float)
CONVMTX_SPECTRUM(double)
#undef CONVMTX_SPECTRUM

}  // namespace convmtx
