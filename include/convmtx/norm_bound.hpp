// sigma_max = ||A||_2 for the solvers' step sizes and lambda ranges, from convmtx::spectrum
// (spectrum.hpp) instead of a power-method estimate, which approaches sigma_max from below and,
// after a few dozen steps on an operator with close top singular values, can stay percents under
// it: a step 1/L with L < ||A|| can make Landweber with momentum and the primal-dual method
// (tau sigma ||K||^2 < 1, Chambolle & Pock 2011) diverge. docs/solvers.md, "Operator norms".
#pragma once

#include <optional>

#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"

namespace convmtx {

/// ||A||_2 of an operator, sigma_max and an upper bound `upper` for step sizes.
/// ConvOperator, SparseOperator: spectrum's operator_norm with certify; upper = the smallest
/// guaranteed bound (the FFT value plus its rounding margin for a block-circulant W, the dense
/// value plus its margin, the circular embedding of a zeros-padded W, the Schur test
/// sqrt(||A||_1 ||A||_inf)), unless it exceeds the Lanczos bound below by more than 10%: then
/// that one, not certified. Any other operator: the dense SVD of its products when A has at most
/// 2^18 entries (certified), else the Lanczos bound sigma_1 + 2 r + 10 tol sigma_1 (r its residual
/// bound, tol its accuracy; not certified: Lanczos could in principle miss the top value).
/// want_sigma_min adds sigma_p when the FFT gives every value (block-circulant W).
/// A non-finite value from A gives sigma_max = upper = NaN (detail says so), never an exception.
template <class Scalar>
NormBound norm_bound(const LinearOperator<Scalar>& A, bool want_sigma_min = false);

/// sigma_max (upper: the exact FFT value plus its rounding margin, certified) and sigma_min of a
/// ConvOperator whose W is block-circulant (circular padding; spectrum.hpp's fft method, every
/// value); nullopt for any other operator, for which sigma_min is not cheap.
template <class Scalar>
std::optional<NormBound> fft_norm_bound(const LinearOperator<Scalar>& A);

/// The same for a configuration and its weights (spec.weight_numel() values): W of a conv, T = W^T
/// of a transposed conv; certified.
template <class Scalar>
NormBound norm_bound(const ConvSpec& spec, span<const Scalar> weight, bool want_sigma_min = false);

/// ||D||_2 <= 2 sqrt(r) for the forward differences on a grid of r spatial dimensions
/// (gradient_operator.hpp, and the periodic differences of deconvolve.hpp): D^T D is the
/// Laplacian, whose Gershgorin discs lie in [0, 4 r]. Certified; exact for periodic even sizes.
NormBound gradient_norm_bound(index_t rank);

/// ||[A; w B]||_2 <= sqrt(||A||^2 + w^2 ||B||^2) (the normal operator is A^T A + w^2 B^T B):
/// certified when both are.
NormBound stacked_norm_bound(const NormBound& a, const NormBound& b, double weight);

/// A norm the caller gave (e.g. for PrimalDualOptions::a_norm): sigma_max = upper = value, not certified.
NormBound given_norm(double value);

}  // namespace convmtx
