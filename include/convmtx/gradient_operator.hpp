// The forward-difference operator D on a grid of C channels with r spatial dimensions, the
// gradient penalty ||D x||^2 of the solvers (the discrete H^1 seminorm squared): for each
// dimension j, (D x)[j, c, p] = x[c, p + e_j] - x[c, p] when
// p_j < n_j - 1, else 0. As an operator (applied without allocating) or an explicit matrix.
#pragma once

#include <memory>

#include <Eigen/SparseCore>

#include "convmtx/operator.hpp"

namespace convmtx {

/// D on samples of shape (C, n_1, ..., n_r): model shape (C, n_1, ..., n_r), data shape
/// (r, C, n_1, ..., n_r); ||D||^2 <= 4 r. shape_error when the shape has no spatial dimension
/// or a size below 1.
template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> gradient_operator(const Shape& shape);

/// D as an explicit sparse matrix (r * numel rows, numel columns).
template <class Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> gradient_matrix(const Shape& shape);

/// The grid of D for an operator whose model has this shape: the shape itself, or (1, n) when
/// it has a single entry (one channel, one spatial dimension).
Shape default_gradient_shape(const Shape& model_shape);

}  // namespace convmtx
