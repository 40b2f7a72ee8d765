// Internal: the k largest eigenpairs of a symmetric operator by Spectra's SymEigsSolver (implicitly
// restarted Lanczos), completed for repeated eigenvalues. A single-vector Krylov method sees one
// copy of each distinct eigenvalue (conv matrices have many repeated singular values: zeros, and
// symmetric frequencies), so after the first run it runs again on the operator deflated by the
// vectors found, x -> P op(P x) with P = I - Q Q^T, until no new eigenvalue enters the top k.
// Needs Spectra (src/spectrum*.cpp only); not part of the public API.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <Eigen/Dense>
#include <Spectra/SymEigsSolver.h>

#include "convmtx/spec.hpp"

namespace convmtx::detail {

struct EigenRun {
    std::vector<double> theta;  ///< descending, converged only
    Eigen::MatrixXd vectors;    ///< n x theta.size(), orthonormal
    index_t restarts = 0;
    index_t runs = 0;           ///< Spectra runs (1 + the deflated ones)
    bool failed = false;        ///< Spectra threw (a breakdown it could not recover from)
};

/// Spectra's operator interface around `op` with the directions of Q (orthonormal columns) removed.
template <class Op>
class Deflated {
public:
    using Scalar = double;
    Deflated(Op& op, const Eigen::MatrixXd& Q) : op_(op), Q_(Q), tmp_(op.rows()) {}
    Eigen::Index rows() const { return op_.rows(); }
    Eigen::Index cols() const { return op_.rows(); }
    void perform_op(const double* x, double* y) const {
        const Eigen::Map<const Eigen::VectorXd> X(x, rows());
        Eigen::Map<Eigen::VectorXd> Y(y, rows());
        if (Q_.cols() == 0) {
            op_.perform_op(x, y);
            return;
        }
        tmp_ = X - Q_ * (Q_.transpose() * X);
        op_.perform_op(tmp_.data(), y);
        Y -= Q_ * (Q_.transpose() * Y);
    }

private:
    Op& op_;
    const Eigen::MatrixXd& Q_;
    mutable Eigen::VectorXd tmp_;
};

/// One Spectra run for the k largest eigenvalues of op deflated by Q; fewer than k when it did not
/// converge. Every pair is checked against op itself, ||op v - theta v|| <= (1e3 tol + noise) max(|theta|,
/// scale) with v orthogonal to Q (noise: the relative rounding error of one application of op): Spectra's breakdown test is absolute (eps sqrt(n)), and on an operator with
/// few distinct eigenvalues a numerical breakdown it misses can leave spurious Ritz pairs.
template <class Op>
EigenRun spectra_run(Op& op, const Eigen::MatrixXd& Q, index_t k, index_t ncv, index_t max_restarts, double tol,
                     const Eigen::VectorXd& start, double scale, double noise) {
    EigenRun r;
    const index_t n = op.rows();
    k = std::min<index_t>(k, n - Q.cols() - 1);
    if (k < 1) return r;
    ncv = std::min<index_t>(std::max<index_t>(ncv, k + 1), n);
    Deflated<Op> dop(op, Q);
    Spectra::SymEigsSolver<Deflated<Op>> solver(dop, k, ncv);
    Eigen::VectorXd v0 = start;
    if (Q.cols()) v0 -= Q * (Q.transpose() * v0);
    solver.init(v0.data());
    try {
        solver.compute(Spectra::SortRule::LargestAlge, max_restarts, tol, Spectra::SortRule::LargestAlge);
    } catch (const std::runtime_error&) {
        // Spectra's tridiagonal eigensolver can fail after a numerical breakdown of the Krylov space
        // (an operator with fewer distinct eigenvalues than ncv): counted as a run that found nothing.
        r.runs = 1;
        r.failed = true;
        return r;
    }
    const Eigen::VectorXd theta = solver.eigenvalues();
    const Eigen::MatrixXd V = solver.eigenvectors();
    r.restarts = solver.num_iterations();
    r.runs = 1;
    Eigen::VectorXd y(n);
    std::vector<Eigen::Index> good;
    for (Eigen::Index i = 0; i < theta.size(); ++i) {
        op.perform_op(V.col(i).data(), y.data());
        const double bound = (1e3 * tol + noise) * std::max(std::abs(theta(i)), scale);
        const double off = Q.cols() ? (Q.transpose() * V.col(i)).norm() : 0.0;
        if ((y - theta(i) * V.col(i)).norm() <= bound && off <= 1e-6) good.push_back(i);
    }
    r.vectors.resize(n, static_cast<Eigen::Index>(good.size()));
    for (size_t j = 0; j < good.size(); ++j) {
        r.theta.push_back(theta(good[j]));
        r.vectors.col(static_cast<Eigen::Index>(j)) = V.col(good[j]);
    }
    return r;
}

/// The k largest eigenpairs of op from its dense n x n matrix, formed from n products.
template <class Op>
EigenRun dense_eigenpairs(Op& op, index_t k) {
    const index_t n = op.rows();
    Eigen::MatrixXd M(n, n);
    Eigen::VectorXd e = Eigen::VectorXd::Zero(n);
    for (index_t j = 0; j < n; ++j) {
        e(j) = 1;
        op.perform_op(e.data(), M.col(j).data());
        e(j) = 0;
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (M + M.transpose()));
    EigenRun r;
    r.runs = 1;
    const index_t kk = std::min(k, n);
    r.vectors.resize(n, kk);
    for (index_t i = 0; i < kk; ++i) {
        r.theta.push_back(eig.eigenvalues()(n - 1 - i));
        r.vectors.col(i) = eig.eigenvectors().col(n - 1 - i);
    }
    return r;
}

/// Below this order a failed Krylov run falls back to the dense eigenpairs (at most 128 MiB per copy):
/// e.g. the smallest singular values of a rank-deficient single-channel conv on 64 x 64, whose
/// cluster of zeros Lanczos on sigma_1^2 I - W^T W cannot resolve to its tolerance.
constexpr index_t dense_fallback_order = 4096;

/// The k largest eigenpairs of the symmetric operator op (n = op.rows(), 1 <= k < n), repeated
/// eigenvalues included; `noise` as in spectra_run. Fewer than k values means neither first run
/// converged and n exceeds dense_fallback_order. When ncv >= n, or when both runs fail on n <=
/// dense_fallback_order, the pairs come from the dense n x n matrix of op (n products) instead.
template <class Op>
EigenRun largest_eigenpairs(Op& op, index_t k, index_t ncv, index_t max_restarts, double tol, const Eigen::VectorXd& start,
                            double noise) {
    const index_t n = op.rows();
    // The Krylov space would be the whole space (where Spectra's restarts can stall on few distinct
    // eigenvalues): the exact eigenpairs of op's matrix.
    if (ncv >= n) return dense_eigenpairs(op, k);
    const Eigen::MatrixXd none(n, 0);
    // The scale of op for the checks: |theta| of a short first look at the top.
    double scale = 0;
    {
        Eigen::VectorXd y(n), x = start.normalized();
        for (int i = 0; i < 3; ++i) {
            op.perform_op(x.data(), y.data());
            scale = std::max(scale, y.norm());
            if (y.norm() == 0) break;
            x = y.normalized();
        }
    }
    EigenRun found = spectra_run(op, none, k, ncv, max_restarts, tol, start, scale, noise);
    if (static_cast<index_t>(found.theta.size()) < k) {
        // Once more from another start with a larger subspace before giving up.
        Eigen::VectorXd other = start.reverse();
        const EigenRun again = spectra_run(op, none, k, std::min<index_t>(2 * ncv, n), max_restarts, tol, other, scale, noise);
        found.restarts += again.restarts;
        found.runs += again.runs;
        if (static_cast<index_t>(again.theta.size()) < k) {
            if (n <= dense_fallback_order) {
                EigenRun dense = dense_eigenpairs(op, k);
                dense.restarts += found.restarts;
                dense.runs += found.runs;
                return dense;
            }
            found.theta = again.theta.size() > found.theta.size() ? again.theta : found.theta;
            return found;
        }
        found.theta = again.theta;
        found.vectors = again.vectors;
    }
    if (!std::isfinite(scale) || scale == 0) scale = std::abs(found.theta.front());
    if (k == 1) return found;
    for (index_t round = 0; round < k; ++round) {
        const Eigen::HouseholderQR<Eigen::MatrixXd> qr(found.vectors);
        const Eigen::MatrixXd Q = qr.householderQ() * Eigen::MatrixXd::Identity(op.rows(), found.vectors.cols());
        const EigenRun next = spectra_run(op, Q, k, ncv, max_restarts, tol, start, scale, noise);
        found.restarts += next.restarts;
        found.runs += next.runs;
        if (next.failed && n <= dense_fallback_order) {
            // Copies of a repeated value may still be missing: the dense pairs are the answer.
            EigenRun dense = dense_eigenpairs(op, k);
            dense.restarts += found.restarts;
            dense.runs += found.runs;
            return dense;
        }
        if (next.theta.empty()) break;
        const double kth = found.theta[static_cast<size_t>(k - 1)];
        const double margin = tol * std::max(std::abs(kth), 1e-300);
        if (next.theta.front() <= kth + margin) break;
        // Merge: every pair found so far, descending; the top k are the answer, all of them deflate.
        std::vector<std::pair<double, Eigen::VectorXd>> all;
        for (size_t i = 0; i < found.theta.size(); ++i) all.emplace_back(found.theta[i], found.vectors.col(static_cast<Eigen::Index>(i)));
        for (size_t i = 0; i < next.theta.size(); ++i) all.emplace_back(next.theta[i], next.vectors.col(static_cast<Eigen::Index>(i)));
        std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        found.theta.clear();
        found.vectors.resize(op.rows(), static_cast<Eigen::Index>(all.size()));
        for (size_t i = 0; i < all.size(); ++i) {
            found.theta.push_back(all[i].first);
            found.vectors.col(static_cast<Eigen::Index>(i)) = all[i].second;
        }
        if (found.vectors.cols() >= op.rows() - 1) break;
    }
    found.theta.resize(static_cast<size_t>(k));
    found.vectors.conservativeResize(Eigen::NoChange, k);
    return found;
}

}  // namespace convmtx::detail
