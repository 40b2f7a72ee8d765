// Linear operators y = A x between a model space (shape model_shape()) and a
// data space (shape data_shape()), with the adjoint x = A^T y. The explicit W
// and T, the direct kernels and user callables all fit this interface.
// apply() and apply_adjoint() check shapes and call the protected *_impl().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <Eigen/SparseCore>

#include "convmtx/builder.hpp"
#include "convmtx/dot_test.hpp"
#include "convmtx/kernels.hpp"

namespace convmtx {

template <class Scalar>
class LinearOperator : public std::enable_shared_from_this<LinearOperator<Scalar>> {
public:
    using Block = Batch<Scalar>;  ///< one flattened sample per column
    virtual ~LinearOperator() = default;

    const Shape& model_shape() const { return model_; }
    const Shape& data_shape() const { return data_; }
    index_t model_size() const { return model_size_; }  ///< columns of A
    index_t data_size() const { return data_size_; }    ///< rows of A
    const std::string& name() const { return name_; }

    /// y = A x for every column of x (x has model_size() rows).
    Block apply(const Eigen::Ref<const Block>& x) const {
        check(x, model_size_, "apply", "model", model_);
        Block y(data_size_, x.cols());
        apply_impl(x, y);
        return y;
    }
    /// x = A^T y for every column of y (y has data_size() rows).
    Block apply_adjoint(const Eigen::Ref<const Block>& y) const {
        check(y, data_size_, "apply_adjoint", "data", data_);
        Block x(model_size_, y.cols());
        apply_adjoint_impl(y, x);
        return x;
    }
    /// The operator A^T: model and data shapes swapped, apply and apply_adjoint swapped.
    std::shared_ptr<const LinearOperator> transpose() const;

protected:
    LinearOperator(Shape model_shape, Shape data_shape, std::string name)
        : model_(std::move(model_shape)), data_(std::move(data_shape)), name_(std::move(name)) {
        model_size_ = numel(model_);
        data_size_ = numel(data_);
    }
    /// y has data_size() rows and x.cols() columns on entry; fill it.
    virtual void apply_impl(const Eigen::Ref<const Block>& x, Block& y) const = 0;
    /// x has model_size() rows and y.cols() columns on entry; fill it.
    virtual void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Block& x) const = 0;

private:
    static index_t numel(const Shape& s) {
        index_t n = 1;
        for (auto v : s) n *= v;
        return n;
    }
    void check(const Eigen::Ref<const Block>& v, index_t want, const char* fn, const char* space,
               const Shape& shape) const {
        if (v.rows() != want)
            throw shape_error(name_ + "." + fn + ": operand has " + std::to_string(v.rows()) + " rows but the " +
                              space + " space has " + std::to_string(want) + " = prod(" + to_string(shape, "x") +
                              "); operator maps model (" + to_string(model_, "x") + ") -> data (" +
                              to_string(data_, "x") + ")");
    }
    Shape model_, data_;
    std::string name_;
    index_t model_size_ = 0, data_size_ = 0;
};

/// A^T of another operator (shares it).
template <class Scalar>
class TransposedOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    explicit TransposedOperator(std::shared_ptr<const LinearOperator<Scalar>> op)
        : LinearOperator<Scalar>(op->data_shape(), op->model_shape(), op->name() + "^T"), op_(std::move(op)) {}

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Block& y) const override { y = op_->apply_adjoint(x); }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Block& x) const override { x = op_->apply(y); }

private:
    std::shared_ptr<const LinearOperator<Scalar>> op_;
};

template <class Scalar>
std::shared_ptr<const LinearOperator<Scalar>> LinearOperator<Scalar>::transpose() const {
    return std::make_shared<TransposedOperator<Scalar>>(this->shared_from_this());
}

/// An explicit sparse matrix M as an operator: apply = M x, adjoint = M^T y.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
class SparseOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    using Matrix = Eigen::SparseMatrix<Scalar, Order, StorageIndex>;
    SparseOperator(Matrix M, Shape model_shape, Shape data_shape, std::string name = "matrix")
        : LinearOperator<Scalar>(std::move(model_shape), std::move(data_shape), std::move(name)), M_(std::move(M)) {
        if (M_.rows() != this->data_size() || M_.cols() != this->model_size())
            throw shape_error(this->name() + ": matrix is " + std::to_string(M_.rows()) + "x" +
                              std::to_string(M_.cols()) + " but the shapes need " + std::to_string(this->data_size()) +
                              "x" + std::to_string(this->model_size()));
    }
    const Matrix& matrix() const { return M_; }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Block& y) const override { y = M_ * x; }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Block& x) const override { x = M_.transpose() * y; }

private:
    Matrix M_;
};

/// Forward and adjoint given as callables on blocks (one sample per column).
template <class Scalar>
class FunctionOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    using Fn = std::function<Block(const Eigen::Ref<const Block>&)>;
    FunctionOperator(Shape model_shape, Shape data_shape, Fn forward, Fn adjoint, std::string name = "function")
        : LinearOperator<Scalar>(std::move(model_shape), std::move(data_shape), std::move(name)),
          forward_(std::move(forward)), adjoint_(std::move(adjoint)) {}

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Block& y) const override {
        y = forward_(x);
        expect(y, this->data_size(), x.cols(), "forward");
    }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Block& x) const override {
        if (!adjoint_) throw config_error(this->name() + ": no adjoint was given");
        x = adjoint_(y);
        expect(x, this->model_size(), y.cols(), "adjoint");
    }

private:
    void expect(const Block& b, index_t rows, index_t cols, const char* which) const {
        if (b.rows() != rows || b.cols() != cols)
            throw shape_error(this->name() + ": " + which + " returned " + std::to_string(b.rows()) + "x" +
                              std::to_string(b.cols()) + ", expected " + std::to_string(rows) + "x" +
                              std::to_string(cols));
    }
    Fn forward_, adjoint_;
};

/// The explicit operator of a configuration: W (conv) or T (transposed conv) as a SparseOperator.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
std::shared_ptr<SparseOperator<Scalar, Order, StorageIndex>> make_matrix_operator(const ConvSpec& spec,
                                                                                 const Scalar* weight) {
    return std::make_shared<SparseOperator<Scalar, Order, StorageIndex>>(
        operator_matrix<Scalar, Order, StorageIndex>(spec, weight), spec.input_shape(), spec.output_shape(),
        spec.transposed ? "T" : "W");
}

/// Rows of a block of samples of shape (C, full...) restricted to (C, kept...), kept <= full per dimension.
template <class Scalar>
Batch<Scalar> crop_samples(const Batch<Scalar>& in, index_t channels, const Dims& full, const Dims& kept) {
    index_t fv = 1, kv = 1;
    for (size_t j = 0; j < full.size(); ++j) {
        fv *= full[j];
        kv *= kept[j];
    }
    Batch<Scalar> out(channels * kv, in.cols());
    std::vector<index_t> idx(kept.size(), 0);
    for (index_t c = 0; c < channels; ++c)
        for (index_t lin = 0; lin < kv; ++lin) {
            index_t rem = lin, src = 0, mul = 1;
            for (int j = static_cast<int>(kept.size()) - 1; j >= 0; --j) {
                src += (rem % kept[j]) * mul;
                rem /= kept[j];
                mul *= full[j];
            }
            out.row(c * kv + lin) = in.row(c * fv + src);
        }
    return out;
}

/// The direct kernels of a configuration as an operator. Conv: forward = conv_direct,
/// adjoint = the transposed conv by scattering (zeros padding) or W^T (other modes).
/// Transposed conv: forward = scatter or gather (`gather`), adjoint = conv_direct.
template <class Scalar>
std::shared_ptr<FunctionOperator<Scalar>> make_direct_operator(const ConvSpec& spec, std::vector<Scalar> weight,
                                                               bool gather = false) {
    using Block = Batch<Scalar>;
    auto w = std::make_shared<const std::vector<Scalar>>(std::move(weight));
    if (static_cast<index_t>(w->size()) != spec.weight_numel())
        throw shape_error("weight has " + std::to_string(w->size()) + " values; the configuration needs " +
                          std::to_string(spec.weight_numel()) + " = prod(" + to_string(spec.weight_shape(), "x") + ")");
    typename FunctionOperator<Scalar>::Fn fwd, adj;
    if (!spec.transposed) {
        fwd = [spec, w](const Eigen::Ref<const Block>& x) { return conv_direct<Scalar>(spec, w->data(), x); };
        if (spec.padding_mode == PaddingMode::zeros) {
            const ConvSpec a = spec.adjoint();
            adj = [a, w](const Eigen::Ref<const Block>& y) { return conv_transpose_scatter<Scalar>(a, w->data(), y); };
        } else {
            auto W = std::make_shared<const Eigen::SparseMatrix<Scalar, Eigen::RowMajor>>(
                conv_matrix<Scalar>(spec, w->data()));
            adj = [W](const Eigen::Ref<const Block>& y) { return Block(W->transpose() * y); };
        }
        return std::make_shared<FunctionOperator<Scalar>>(spec.input_shape(), spec.output_shape(), fwd, adj,
                                                          "conv_direct");
    }
    if (gather)
        fwd = [spec, w](const Eigen::Ref<const Block>& y) { return conv_transpose_gather<Scalar>(spec, w->data(), y); };
    else
        fwd = [spec, w](const Eigen::Ref<const Block>& y) { return conv_transpose_scatter<Scalar>(spec, w->data(), y); };
    // Adjoint of T = W restricted to rows q < m: conv_direct on the output, cropped to the input's m.
    const ConvSpec a = spec.adjoint();
    adj = [spec, a, w](const Eigen::Ref<const Block>& x) {
        const Block full = conv_direct<Scalar>(a, w->data(), x);
        if (full.rows() == spec.input_numel()) return full;
        return crop_samples<Scalar>(full, spec.in_channels, a.output(), spec.input);
    };
    return std::make_shared<FunctionOperator<Scalar>>(spec.input_shape(), spec.output_shape(), fwd, adj,
                                                      gather ? "conv_transpose_gather" : "conv_transpose_scatter");
}

/// Dot test of an operator: |<A x, y> - <x, A^T y>| / (||A x|| ||y||) over `trials` random pairs
/// (see dot_test.hpp); rtol <= 0 picks default_dot_rtol<Scalar>(model_size, data_size).
template <class Scalar>
DotTestReport dot_test(const LinearOperator<Scalar>& op, int trials = 10, double rtol = 0, std::uint64_t seed = 0) {
    using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    return dot_test<Scalar>(
        op.model_size(), op.data_size(), [&](const Vec& x) { return Vec(op.apply(x)); },
        [&](const Vec& y) { return Vec(op.apply_adjoint(y)); }, trials, rtol, seed);
}

}  // namespace convmtx
