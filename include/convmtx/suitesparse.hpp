// Direct least-squares solvers through SuiteSparse (double precision internally):
//   SPQR:    x = argmin ||[A; damp I; mu D] x - [b; 0; 0]||  by sparse QR,
//   CHOLMOD: (A^T A + damp^2 I + mu^2 D^T D) x = A^T b      by sparse Cholesky,
// with D the forward differences of gradient_operator.hpp. Before factorizing, the memory of the
// factorization is estimated from SuiteSparse's symbolic analysis; a problem over the
// limit is refused with memory_limit_error, whose message names the limit and suggests LSQR.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <Eigen/SparseCore>

#include "convmtx/gradient_operator.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/solver_types.hpp"

namespace convmtx {

/// A direct factorization whose estimated memory exceeds the limit the user set.
/// min(4 GiB, half the physical memory).
double default_memory_limit();
/// Parses "512M", "2G", "1.5GiB", "100000" (bytes; K/M/G/T are powers of 1024); config_error otherwise.
double parse_memory_size(const std::string& text);

/// Options of solve_spqr and solve_cholmod: regularization and the memory limit.
struct DirectOptions {
    double damp = 0;             ///< Tikhonov weight: adds damp^2 ||x||^2
    double gradient_weight = 0;  ///< mu: adds mu^2 ||D x||^2
    Shape gradient_shape;        ///< grid of D as (channels, spatial...); required when mu > 0
    double memory_limit = default_memory_limit();  ///< bytes; refuse estimates above it
    /// Called when each phase begins: task "spqr" ("analysis", "factorization and solve") or
    /// "cholmod" ("analysis", "factorization", "solve").
    ProgressCallback callback{};
};

/// What the symbolic analysis predicts for a factorization.
struct DirectCost {
    double bytes = 0;       ///< estimated peak memory of the factorization and solve
    double flops = 0;       ///< SuiteSparse's flop count (CHOLMOD) or upper bound (SPQR)
    double factor_nnz = 0;  ///< entries of R (SPQR) or L (CHOLMOD)
    std::string detail;     ///< the terms of the estimate
};

namespace detail {
using SparseD = Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t>;
DirectCost estimate_spqr_d(const SparseD& A, const DirectOptions& o);
DirectCost estimate_cholmod_d(const SparseD& A, const DirectOptions& o);
SolveResult<double> solve_spqr_d(const SparseD& A, const Eigen::VectorXd& b, const DirectOptions& o);
SolveResult<double> solve_cholmod_d(const SparseD& A, const Eigen::VectorXd& b, const DirectOptions& o);

template <class Scalar>
SolveResult<Scalar> cast_result(SolveResult<double>&& r) {
    SolveResult<Scalar> out;
    out.x = r.x.cast<Scalar>();
    out.method = std::move(r.method);
    out.istop = r.istop;
    out.iterations = r.iterations;
    out.r1norm = r.r1norm;
    out.r2norm = r.r2norm;
    out.anorm = r.anorm;
    out.acond = r.acond;
    out.arnorm = r.arnorm;
    out.xnorm = r.xnorm;
    out.residual_norm = r.residual_norm;
    out.penalty_norm = r.penalty_norm;
    out.damp = r.damp;
    out.gradient_weight = r.gradient_weight;
    out.residual_history = std::move(r.residual_history);
    out.normal_residual_history = std::move(r.normal_residual_history);
    out.seconds = r.seconds;
    out.estimated_bytes = r.estimated_bytes;
    out.note = std::move(r.note);
    return out;
}

/// The explicit matrix behind an operator, or config_error suggesting LSQR.
template <class Scalar>
SparseD explicit_matrix(const LinearOperator<Scalar>& A, const char* method) {
    if (auto p = dynamic_cast<const SparseOperator<Scalar, Eigen::RowMajor, int>*>(&A)) return p->matrix().template cast<double>();
    if (auto p = dynamic_cast<const SparseOperator<Scalar, Eigen::RowMajor, std::int64_t>*>(&A))
        return p->matrix().template cast<double>();
    if (auto p = dynamic_cast<const SparseOperator<Scalar, Eigen::ColMajor, int>*>(&A)) return p->matrix().template cast<double>();
    if (auto p = dynamic_cast<const SparseOperator<Scalar, Eigen::ColMajor, std::int64_t>*>(&A))
        return p->matrix().template cast<double>();
    throw config_error(std::string(method) + " needs an explicit sparse matrix, but operator '" + A.name() +
                       "' is matrix-free: build W with make_matrix_operator, or use lsqr/cgls");
}

inline DirectOptions with_shape(DirectOptions o, const Shape& model_shape) {
    if (o.gradient_shape.empty()) o.gradient_shape = default_gradient_shape(model_shape);
    return o;
}
}  // namespace detail

/// Estimated cost of solve_spqr: SPQR's symbolic analysis of the stacked matrix gives
/// bounds on nnz(R) and the frontal stack; bytes = 16 nnz(R) + 8 stack + 8 rows + the input copy.
template <class Scalar, int Order, class StorageIndex>
DirectCost estimate_spqr(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& A, const DirectOptions& o = {}) {
    return detail::estimate_spqr_d(A.template cast<double>(), o);
}
/// Estimated cost of solve_cholmod: nnz(A^T A + ...) counted symbolically, then CHOLMOD's
/// analysis gives nnz(L) and the flops; bytes = 12 nnz(N) + 8 (supernodal x + s) or 16 nnz(L).
template <class Scalar, int Order, class StorageIndex>
DirectCost estimate_cholmod(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& A, const DirectOptions& o = {}) {
    return detail::estimate_cholmod_d(A.template cast<double>(), o);
}

/// Least squares by SuiteSparseQR: x = argmin ||A x - b||^2 + damp^2 ||x||^2 + mu^2 ||D x||^2.
/// Throws memory_limit_error before factorizing when estimate_spqr exceeds o.memory_limit, and
/// config_error naming the first NaN or Inf in b or A.
/// Without regularization a rank-deficient A gives SPQR's basic solution (LSQR: minimum norm).
template <class Scalar, int Order, class StorageIndex>
SolveResult<Scalar> solve_spqr(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& A, const Vector<Scalar>& b,
                               const DirectOptions& o = {}) {
    return detail::cast_result<Scalar>(detail::solve_spqr_d(A.template cast<double>(), b.template cast<double>(), o));
}
/// The normal equations (A^T A + damp^2 I + mu^2 D^T D) x = A^T b by CHOLMOD (supernodal or
/// simplicial LL^T, CHOLMOD's choice). Throws memory_limit_error when estimate_cholmod exceeds
/// o.memory_limit, config_error naming the first NaN or Inf in b or A, and std::runtime_error
/// when the matrix is not positive definite.
template <class Scalar, int Order, class StorageIndex>
SolveResult<Scalar> solve_cholmod(const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& A, const Vector<Scalar>& b,
                                  const DirectOptions& o = {}) {
    return detail::cast_result<Scalar>(detail::solve_cholmod_d(A.template cast<double>(), b.template cast<double>(), o));
}
/// The same on an operator holding an explicit matrix (SparseOperator); the gradient grid
/// defaults to A.model_shape(). Matrix-free operators: config_error suggesting LSQR.
template <class Scalar>
SolveResult<Scalar> solve_spqr(const LinearOperator<Scalar>& A, const Vector<Scalar>& b, const DirectOptions& o = {}) {
    return detail::cast_result<Scalar>(detail::solve_spqr_d(detail::explicit_matrix(A, "solve_spqr"),
                                                            b.template cast<double>(),
                                                            detail::with_shape(o, A.model_shape())));
}
/// solve_cholmod on an operator holding an explicit matrix (SparseOperator); the gradient grid
/// defaults to A.model_shape(). Matrix-free operators: config_error suggesting LSQR.
template <class Scalar>
SolveResult<Scalar> solve_cholmod(const LinearOperator<Scalar>& A, const Vector<Scalar>& b,
                                  const DirectOptions& o = {}) {
    return detail::cast_result<Scalar>(detail::solve_cholmod_d(detail::explicit_matrix(A, "solve_cholmod"),
                                                               b.template cast<double>(),
                                                               detail::with_shape(o, A.model_shape())));
}

}  // namespace convmtx
