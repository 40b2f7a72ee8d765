// The spectrum of W: its singular values sigma_1 >= ... >= sigma_p, p = min(rows, cols), the
// operator norm ||W||_2 = sigma_1 (with a certified upper bound) and the condition number
// sigma_1 / sigma_p, for any convolution configuration, linear operator or sparse matrix.
// A transposed convolution T = W^T has the same singular values as W. Three methods
// (docs/spectrum.md):
//
//   fft      exact, every value, when W is block-circulant: circular padding (or no tap in the
//            padding) with output size * stride = input size in every dimension. The DFT turns W
//            into one C_out x (C_in * prod(s)) matrix per frequency f of the output grid
//                A(f)[o, (c', phase)] = sum over taps t in that phase of w[o, c', t] exp(2 pi i f . a(t) / m),
//            with (t d - p_lo) = a(t) s + phase(t) per dimension: Sedghi, Gupta & Long, "The Singular
//            Values of Convolutional Layers", ICLR 2019, for stride 1, and the polyphase decomposition
//            (the strided circular conv is block-circulant over the prod(s) phases) for stride s;
//            groups make A(f) block-diagonal. The singular values of W are those of all A(f).
//            The per-frequency sums come from Eigen's FFT module (kissfft, MPL2) when the kernel is
//            large and from direct sums when it is small; no FFTW (whose GPL would bind every binary).
//   lanczos  the k largest or smallest, by a Krylov eigensolver (Spectra's SymEigsSolver, MPL2) on the
//            normal operator W^T W or W W^T, whichever is smaller, applied matrix-free through
//            LinearOperator::apply / apply_adjoint. The smallest go through shift-invert on the
//            explicit matrix when SpectrumOptions::shift_invert is set (CHOLMOD's factorization of the
//            normal matrix plus a tiny shift: spectrum_cholmod.hpp, convmtx::suitesparse) and the
//            factor fits the memory limit, else through Lanczos on the shifted normal operator. Every value comes with
//            a bound of its error from its residual (Spectrum::residuals).
//   dense    every value, by LAPACK's dgesdd of the dense matrix: the reference, for small W.
//
// Errors: config_error for a bad option (unknown method or side, k out of range, a method the
// configuration does not allow) or a non-finite weight; memory_limit_error before allocating more
// than SpectrumOptions::memory_limit; convergence_error when Lanczos stops before converging.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "convmtx/operator.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// Lanczos stopped after its restart limit with fewer converged values than asked for.
class convergence_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// How singular values are computed: fft, lanczos or dense (see the top of this header);
/// automatic lets SpectrumOptions::method pick one.
enum class SpectrumMethod { automatic, fft, lanczos, dense };
/// Which end of the spectrum k values are taken from.
enum class SpectrumSide { largest, smallest };

std::string to_string(SpectrumMethod method);  ///< "auto", "fft", "lanczos", "dense"
std::string to_string(SpectrumSide side);      ///< "largest", "smallest"
/// Writes to_string(method).
std::ostream& operator<<(std::ostream& os, SpectrumMethod method);
/// Writes to_string(side).
std::ostream& operator<<(std::ostream& os, SpectrumSide side);
/// Parses "auto", "fft", "lanczos" or "dense"; config_error naming the value otherwise.
SpectrumMethod parse_spectrum_method(const std::string& name);
/// Parses "largest" or "smallest"; config_error naming the value otherwise.
SpectrumSide parse_spectrum_side(const std::string& name);

/// Progress of a long computation, for a caller that draws it: `done` of `total` units of `stage`
/// ("frequencies", "operator products"; total 0 when unknown). Called from the calling thread.
struct SpectrumProgress {
    /// What is counted: "frequencies" (fft) or "operator products" (lanczos).
    std::string stage;
    /// Units done so far.
    index_t done = 0;
    /// Units in all; 0 when unknown (Lanczos' operator products).
    index_t total = 0;
};
/// Receives SpectrumProgress reports (SpectrumOptions::progress).
using SpectrumCallback = std::function<void(const SpectrumProgress&)>;

/// What a shift-invert solver returns: the k smallest eigenvalues of A A^T with their vectors.
struct ShiftInvertResult {
    std::vector<double> eigenvalues;  ///< of A A^T, the k smallest, converged only
    /// Per eigenvalue, a bound of its error (the solver's residual bound plus its rounding).
    std::vector<double> errors;
    Eigen::MatrixXd vectors;          ///< A.rows() x eigenvalues.size(), orthonormal
    /// \var restarts
    /// Spectra's restarts of the Lanczos runs on the inverse.
    /// \var solves
    /// Solves with the factorization (products with the inverse of A A^T + beta I).
    /// \var runs
    /// Spectra runs: 1 plus the deflated ones.
    index_t restarts = 0, solves = 0, runs = 0;
    std::string detail;               ///< the factorization, e.g. "CHOLMOD supernodal Cholesky factor ..."
};
/// The k smallest eigenvalues of A A^T (A: rows x cols, rows the smaller side) by Lanczos on the
/// inverse of a factorization of A A^T + beta I, beta a tiny multiple of lambda_max (the largest
/// eigenvalue of A A^T or an estimate); arguments: A, k, lambda_max, tol, ncv, max_restarts, start
/// (A.rows() values), memory_limit in bytes. Throws memory_limit_error before factorizing when the
/// factor would not fit.
using ShiftInvertSolver = std::function<ShiftInvertResult(const Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t>& A,
                                                          index_t k, double lambda_max, double tol, index_t ncv,
                                                          index_t max_restarts, const Eigen::VectorXd& start,
                                                          double memory_limit)>;

/// How singular_values, operator_norm and condition_number work: the method, how many values and
/// from which end, Lanczos' accuracy and limits, the memory limit and a progress callback.
struct SpectrumOptions {
    /// automatic: fft when W is block-circulant; otherwise dense when W has at most dense_limit
    /// entries or every value is asked for (k = 0); otherwise lanczos.
    SpectrumMethod method = SpectrumMethod::automatic;
    /// 0: every singular value (fft, dense); otherwise the k largest or smallest, 1 <= k <= p.
    index_t k = 0;
    /// With k > 0: the k largest or the k smallest values.
    SpectrumSide which = SpectrumSide::largest;
    /// lanczos: relative accuracy of each value (Spectra's residual test on sigma^2); 0 picks
    /// 1e-10 for double and 1e-5 for float operators. Must be 0 or in (0, 0.1].
    double tol = 0;
    index_t ncv = 0;             ///< lanczos Krylov subspace size; 0: max(2k + 1, 20), at most p
    index_t max_restarts = 1000; ///< lanczos restarts before convergence_error
    std::uint64_t seed = 0;      ///< lanczos start vector (normal random numbers)
    /// lanczos, smallest values: a shift-invert solver run on the explicit matrix when the operator
    /// has one (cholmod_shift_invert of convmtx::suitesparse, spectrum_cholmod.hpp); when it is empty,
    /// or refuses with memory_limit_error, Lanczos on the shifted normal operator instead.
    ShiftInvertSolver shift_invert;
    /// automatic: dense when rows * cols is at most this (and fft does not apply).
    index_t dense_limit = 1 << 18;
    /// Bytes that dense matrices, the explicit W, the FFT's values and the CHOLMOD factor may take;
    /// 0: half the physical memory. Larger problems are refused (memory_limit_error) or, for the
    /// CHOLMOD factor, go to Lanczos on the normal operator instead.
    double memory_limit = 0;
    /// fft: also return every frequency's largest singular value (Spectrum::frequency_max).
    bool frequency_map = false;
    /// Called with the progress of the fft's frequencies (every 64 and at the end) and of
    /// Lanczos' operator products (every 20); empty: no reports.
    SpectrumCallback progress;
};

/// Singular values of W or T = W^T as singular_values returns them, with how they were computed,
/// their error bounds (lanczos) and their zero threshold.
struct Spectrum {
    std::vector<double> values;     ///< descending (the k smallest too)
    /// lanczos: per value, a bound of its error from the residual of its eigenpair of the normal operator
    /// N = W^T W (or W W^T): some eigenvalue of N lies within rho = ||N v - sigma^2 v|| of sigma^2, so some
    /// singular value within min(rho / sigma, sqrt(rho)) of sigma (for the largest, rho / sigma is the
    /// triplet residual ||W^T u - sigma v||). Empty for fft and dense (exact up to rounding).
    std::vector<double> residuals;
    SpectrumMethod method = SpectrumMethod::automatic;  ///< the method used, never automatic
    std::string detail;             ///< how, e.g. "per-frequency 64 x 64 SVD at 4096 frequencies ..."
    /// Rows of the operator (W for a conv, T = W^T for a transposed conv); cols: its columns.
    index_t rows = 0, cols = 0;     ///< of the operator: W for a conv, T = W^T for a transposed conv
    index_t count = 0;              ///< p = min(rows, cols): W's number of singular values
    bool complete = false;          ///< values holds all p values
    /// Values at or below this are zero at the method's accuracy: max(rows, cols) eps sigma_1 for fft
    /// and dense (numpy's matrix_rank), sqrt(max(rows, cols) eps) sigma_1 for lanczos through W^T W.
    double zero_threshold = 0;
    /// lanczos: Spectra's restarts (0 for fft and dense); products: the products with W or W^T.
    index_t restarts = 0, products = 0;  ///< lanczos: Spectra's restarts, products with W or W^T
    Dims frequency_shape;                ///< fft with frequency_map: the frequency grid (m_j per dimension)
    std::vector<double> frequency_max;   ///< largest singular value of each frequency's block, C order

    /// Values at or below zero_threshold.
    index_t zeros() const;
};

/// What the fft method costs on a configuration: work units (about 6e7 a second on one core) and
/// bytes (the frequency list, the values, the frequency map), known before anything is computed.
struct FftCost {
    double work = 0;   ///< work units of the per-frequency blocks and their SVDs
    double bytes = 0;  ///< bytes allocated: the frequency list, the values, the frequency map
};
/// The cost of the fft method on `spec` (every value when all_values, the frequency map when
/// frequency_map), or nothing when W of `spec` is not block-circulant (fft does not apply).
std::optional<FftCost> fft_spectrum_cost(const ConvSpec& spec, bool all_values, bool frequency_map);

/// Singular values of W (a conv) or W^T (a transposed conv) of `spec` with `weight`
/// (spec.weight_numel() values, PyTorch's layout; computed in double).
template <class Scalar>
Spectrum singular_values(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& options = {});
/// Singular values of any operator: a ConvOperator goes through its configuration (fft applies),
/// a SparseOperator through its matrix (dense, shift-invert), any other through apply and apply_adjoint
/// (dense applies it to the columns of the identity).
template <class Scalar>
Spectrum singular_values(const LinearOperator<Scalar>& A, const SpectrumOptions& options = {});
/// Singular values of an explicit sparse matrix.
template <class Scalar, int Order, class StorageIndex>
Spectrum singular_values(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& M, const SpectrumOptions& options = {});

/// ||W||_2 = sigma_1, and optionally a certified upper bound.
struct OperatorNorm {
    double value = 0;     ///< sigma_1: exact (fft, dense), or Lanczos' ||W v|| <= sigma_1 within tol
    double residual = 0;  ///< lanczos: of the top singular triplet; 0 otherwise
    /// With certify: sigma_1 <= upper_bound, guaranteed (a floating-point margin included); NaN otherwise.
    double upper_bound = std::numeric_limits<double>::quiet_NaN();
    std::string bound_detail;  ///< which bound gave upper_bound
    /// The method used for value, never automatic.
    SpectrumMethod method = SpectrumMethod::automatic;
    std::string detail;  ///< how value was found (method, sizes, restarts), one line
};

/// sigma_1 of W. certify adds the smallest of the available guaranteed bounds: the exact FFT value
/// plus its rounding margin (block-circulant W); the norm of the circular convolution on a grid
/// large enough to contain the zero-padded W as a sub-block (zeros padding, at most
/// max_embedding_frequencies frequencies); the Schur test sqrt(||W||_1 ||W||_inf) (always).
template <class Scalar>
OperatorNorm operator_norm(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& options = {},
                           bool certify = false, index_t max_embedding_frequencies = 1 << 16);
/// The same for an operator; certify needs a ConvOperator or SparseOperator (config_error otherwise:
/// no guaranteed bound exists for a black box).
template <class Scalar>
OperatorNorm operator_norm(const LinearOperator<Scalar>& A, const SpectrumOptions& options = {}, bool certify = false);

/// sigma_1, sigma_p and their ratio.
struct Conditioning {
    /// \var sigma_max
    /// sigma_1 (0 when p = 0).
    /// \var sigma_min
    /// sigma_p; 0 when it is at or below the method's zero threshold (Spectrum::zero_threshold).
    double sigma_max = 0, sigma_min = 0;
    double condition = 0;   ///< sigma_max / sigma_min; infinity when sigma_min is zero (at zero_threshold)
    index_t count = 0;      ///< p = min(rows, cols)
    /// \var rows
    /// Rows of the operator: W for a conv, T = W^T for a transposed conv.
    /// \var cols
    /// Columns of the operator.
    index_t rows = 0, cols = 0;
    /// Zero singular values found: all of them for fft and dense; for lanczos among the k smallest
    /// computed (zeros_exact false when all k were zero: there may be more).
    index_t zeros = 0;
    /// False when lanczos found sigma_p zero: only the smallest value is computed, so zeros = 1 is
    /// a lower bound.
    bool zeros_exact = true;
    /// lanczos: the residual of the sigma_max triplet (0 for fft and dense); residual_min: of sigma_min's.
    double residual_max = 0, residual_min = 0;  ///< lanczos residuals of the two triplets
    /// The method used, never automatic (dense when p = 0).
    SpectrumMethod method = SpectrumMethod::automatic;
    std::string detail;  ///< how both values were found, one line
    /// At least one zero singular value (zeros > 0).
    bool rank_deficient() const { return zeros > 0; }
    /// Rank = p - zeros (a lower bound of the deficiency when !zeros_exact); nullity = cols - rank.
    index_t rank() const { return count - zeros; }
    /// cols - rank(): the dimension of the operator's null space (a lower bound when !zeros_exact).
    index_t nullity() const { return cols - rank(); }
};

/// sigma_1 and sigma_p of W (options.k and options.which are ignored).
template <class Scalar>
Conditioning condition_number(const ConvSpec& spec, span<const Scalar> weight, const SpectrumOptions& options = {});
/// The same for an operator, taken as singular_values takes it (a ConvOperator through its configuration).
template <class Scalar>
Conditioning condition_number(const LinearOperator<Scalar>& A, const SpectrumOptions& options = {});

/// sigma_1 of the weight as a matrix with axis `dim` first: shape (shape[dim], numel / shape[dim]),
/// which torch.nn.utils.spectral_norm estimates by power iteration and divides the weight by (dim 0
/// for a conv weight (C_out, C_in/G, k...), dim 1 for a transposed conv's (C_in, C_out/G, k...): its
/// defaults). Exact (SVD). It ignores the input size, stride, padding and how the taps add up, so it
/// is not ||W||_2: with zeros or circular padding ||W||_2 <= sqrt(prod(k)) times it (Tsuzuku, Sato &
/// Sugiyama, NeurIPS 2018), and a circular stride-1 W with every tap on its own offset is at least it.
template <class Scalar>
double reshaped_weight_norm(span<const Scalar> weight, const Shape& weight_shape, int dim = 0);

}  // namespace convmtx
