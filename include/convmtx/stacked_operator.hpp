// The stacked operator [A; w B] of two operators on the same model space: y = (A x, w B x),
// adjoint A^T y_A + w B^T y_B. The solvers minimize ||A x - b||^2 + mu^2 ||D x||^2 as the
// least-squares problem of [A; mu D] with right-hand side [b; 0].
#pragma once

#include <memory>

#include "convmtx/operator.hpp"

namespace convmtx {

/// [A; weight * B]: model shape A's, data shape (A.data_size() + B.data_size()) (A's data
/// followed by B's). shape_error when A and B have different model sizes. apply and
/// apply_adjoint allocate nothing (the adjoint keeps one model-sized work block, used by one
/// call at a time; a concurrent call uses a temporary).
template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> stack_operators(std::shared_ptr<const LinearOperator<Scalar>> A,
                                                        std::shared_ptr<const LinearOperator<Scalar>> B,
                                                        double weight);

}  // namespace convmtx
