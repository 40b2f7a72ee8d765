// Linear operators y = A x between a model space (shape model_shape()) and a
// data space (shape data_shape()), with the adjoint x = A^T y, in the style of
// Ginkgo's LinOp: apply(x, y) writes into caller-owned y after checking both
// shapes and calls the protected apply_impl; transpose() returns a new operator.
// The explicit W and T, the direct kernels (ConvOperator), sparse matrices and
// user callables all fit this interface.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/SparseCore>

#include "convmtx/builder.hpp"
#include "convmtx/dot_test.hpp"
#include "convmtx/kernels.hpp"
#include "convmtx/spmv.hpp"

namespace convmtx {

/// A linear operator A from the model space (model_shape(), A's columns) to the data space
/// (data_shape(), A's rows) with its adjoint A^T; subclasses implement apply_impl and apply_adjoint_impl.
template <class Scalar>
class LinearOperator : public std::enable_shared_from_this<LinearOperator<Scalar>> {
public:
    using Block = Batch<Scalar>;  ///< one flattened sample per column
    virtual ~LinearOperator() = default;

    /// Shape of one sample of the model space (x).
    const Shape& model_shape() const { return model_; }
    /// Shape of one sample of the data space (y).
    const Shape& data_shape() const { return data_; }
    index_t model_size() const { return model_size_; }  ///< columns of A
    index_t data_size() const { return data_size_; }    ///< rows of A
    /// The name used in messages ("W", "matrix", "function", ...; "^T" appended by transpose()).
    const std::string& name() const { return name_; }

    /// y = A x for every column of x: x is model_size() x N, y data_size() x N (caller-owned, not
    /// overlapping x). shape_error naming both operands' shapes and the operator's spaces otherwise.
    void apply(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const {
        check(x, y, model_size_, data_size_, "apply", "model", "data");
        apply_impl(x, y);
    }
    /// x = A^T y for every column of y: y is data_size() x N, x model_size() x N (caller-owned).
    void apply_adjoint(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const {
        check(y, x, data_size_, model_size_, "apply_adjoint", "data", "model");
        apply_adjoint_impl(y, x);
    }
    /// Allocating forms: A x and A^T y as new blocks.
    Block apply(const Eigen::Ref<const Block>& x) const {
        Block y(data_size_, x.cols());
        apply(x, y);
        return y;
    }
    /// Allocating form of the adjoint: A^T y as a new block.
    Block apply_adjoint(const Eigen::Ref<const Block>& y) const {
        Block x(model_size_, y.cols());
        apply_adjoint(y, x);
        return x;
    }
    /// The operator A^T: model and data shapes swapped, apply and apply_adjoint swapped. The
    /// library's operators return a self-contained operator; for any other one the result shares
    /// it when it is owned by a shared_ptr and refers to it (which must then outlive it) otherwise.
    virtual std::shared_ptr<const LinearOperator> transpose() const;

protected:
    /// An operator between the given spaces; shape_error when a shape has a negative size or its
    /// product does not fit 64 bits.
    LinearOperator(Shape model_shape, Shape data_shape, std::string name)
        : model_(std::move(model_shape)), data_(std::move(data_shape)), name_(std::move(name)) {
        model_size_ = numel(model_, "model_shape");
        data_size_ = numel(data_, "data_shape");
    }
    /// y has data_size() rows and x.cols() columns; fill it.
    virtual void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const = 0;
    /// x has model_size() rows and y.cols() columns; fill it.
    virtual void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const = 0;

private:
    static index_t numel(const Shape& s, const char* what) {
        index_t n = 1;
        for (auto v : s) {
            if (v < 0 || __builtin_mul_overflow(n, v, &n))
                throw shape_error(std::string(what) + " (" + to_string(s) + ") must have non-negative sizes whose "
                                  "product fits 64 bits");
        }
        return n;
    }
    void check(const Eigen::Ref<const Block>& in, const Eigen::Ref<Block>& out, index_t in_rows, index_t out_rows,
               const char* fn, const char* in_space, const char* out_space) const {
        if (in.rows() != in_rows || out.rows() != out_rows || out.cols() != in.cols())
            throw shape_error(name_ + "." + fn + ": operand is " + std::to_string(in.rows()) + " x " +
                              std::to_string(in.cols()) + " and result " + std::to_string(out.rows()) + " x " +
                              std::to_string(out.cols()) + ", but the " + std::string(in_space) + " space has " +
                              std::to_string(in_rows) + " rows and the " + out_space + " space " +
                              std::to_string(out_rows) + " (same columns); operator maps model (" +
                              to_string(model_, "x") + ") -> data (" + to_string(data_, "x") + ")");
        if (in.size() > 0 && out.size() > 0) {
            const auto* a0 = reinterpret_cast<const char*>(in.data());
            const auto* a1 = reinterpret_cast<const char*>(in.data() + (in.cols() - 1) * in.outerStride() + in.rows());
            const auto* b0 = reinterpret_cast<const char*>(out.data());
            const auto* b1 = reinterpret_cast<const char*>(out.data() + (out.cols() - 1) * out.outerStride() + out.rows());
            if (a0 < b1 && b0 < a1)
                throw shape_error(name_ + "." + fn + ": the operand and the result overlap in memory; A x cannot be "
                                  "computed in place, pass a separate result block");
        }
    }
    Shape model_, data_;
    std::string name_;
    index_t model_size_ = 0, data_size_ = 0;
};

/// A^T of another operator, sharing it (or referring to it, see LinearOperator::transpose).
template <class Scalar>
class TransposedOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;  ///< one flattened sample per column
    /// Owning: A^T of a shared operator, which it keeps alive.
    explicit TransposedOperator(std::shared_ptr<const LinearOperator<Scalar>> op)
        : LinearOperator<Scalar>(op->data_shape(), op->model_shape(), op->name() + "^T"), owner_(op), op_(op.get()) {}
    /// Non-owning: `op` must outlive this operator.
    explicit TransposedOperator(const LinearOperator<Scalar>& op)
        : LinearOperator<Scalar>(op.data_shape(), op.model_shape(), op.name() + "^T"), op_(&op) {}
    std::shared_ptr<const LinearOperator<Scalar>> transpose() const override {
        if (owner_) return owner_;
        return LinearOperator<Scalar>::transpose();
    }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override { op_->apply_adjoint(x, y); }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override { op_->apply(y, x); }

private:
    std::shared_ptr<const LinearOperator<Scalar>> owner_;
    const LinearOperator<Scalar>* op_;
};

template <class Scalar>
std::shared_ptr<const LinearOperator<Scalar>> LinearOperator<Scalar>::transpose() const {
    if (auto self = this->weak_from_this().lock()) return std::make_shared<TransposedOperator<Scalar>>(std::move(self));
    return std::make_shared<TransposedOperator<Scalar>>(*this);
}

/// An explicit sparse matrix M as an operator: apply = M x, adjoint = M^T y, by the parallel
/// products of spmv.hpp (Eigen's where a shared M is not compressed). The matrix is shared (not copied) by transpose().
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
class SparseOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;              ///< one flattened sample per column
    using Matrix = Eigen::SparseMatrix<Scalar, Order, StorageIndex>;  ///< the stored matrix type
    /// M as an operator from model_shape (M's columns) to data_shape (M's rows); shape_error when
    /// the sizes differ from M's.
    SparseOperator(Matrix M, Shape model_shape, Shape data_shape, std::string name = "matrix")
        : SparseOperator(std::make_shared<const Matrix>(compressed(std::move(M))), false, std::move(model_shape),
                         std::move(data_shape), std::move(name)) {}
    /// M (transposed = false) or M^T (true) of a shared matrix.
    SparseOperator(std::shared_ptr<const Matrix> M, bool transposed, Shape model_shape, Shape data_shape,
                   std::string name)
        : LinearOperator<Scalar>(std::move(model_shape), std::move(data_shape), std::move(name)), M_(std::move(M)),
          transposed_(transposed) {
        const index_t r = transposed_ ? M_->cols() : M_->rows(), c = transposed_ ? M_->rows() : M_->cols();
        if (r != this->data_size() || c != this->model_size())
            throw shape_error(this->name() + ": matrix is " + std::to_string(r) + "x" + std::to_string(c) +
                              " but the shapes need " + std::to_string(this->data_size()) + "x" +
                              std::to_string(this->model_size()));
    }
    /// The stored matrix (this operator is its transpose when is_transposed()).
    const Matrix& matrix() const { return *M_; }
    /// True when this operator applies M^T.
    bool is_transposed() const { return transposed_; }
    std::shared_ptr<const LinearOperator<Scalar>> transpose() const override {
        return std::make_shared<SparseOperator>(M_, !transposed_, this->data_shape(), this->model_shape(),
                                                this->name() + "^T");
    }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override { product(transposed_, x, y); }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override {
        product(!transposed_, y, x);
    }

private:
    static Matrix compressed(Matrix M) {
        M.makeCompressed();
        return M;
    }
    void product(bool transpose, const Eigen::Ref<const Block>& in, Eigen::Ref<Block> out) const {
        if (M_->isCompressed()) spmv(*M_, transpose, in, out);
        else if (transpose) out.noalias() = M_->transpose() * in;
        else out.noalias() = *M_ * in;
    }
    std::shared_ptr<const Matrix> M_;
    bool transposed_ = false;
};

/// Forward and adjoint given as callables on blocks (one sample per column): either writing into
/// the caller's block, f(x, y), or returning the result, y = f(x) (its shape is checked). An absent
/// adjoint (nullptr) makes apply_adjoint and transpose a config_error.
namespace detail {
/// Callables that may be empty: std::function and function pointers (a lambda never is).
template <class F> struct is_nullable : std::is_pointer<F> {};
template <class R, class... A> struct is_nullable<std::function<R(A...)>> : std::true_type {};
}  // namespace detail

/// A user's pair of callables as an operator: forward(x, y) writes y = A x, adjoint(y, x) writes
/// x = A^T y (it may be null/empty: then transpose() and apply_adjoint throw config_error).
template <class Scalar>
class FunctionOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;  ///< one flattened sample per column
    /// The stored form of forward and adjoint: (input block, output block to fill).
    using Fn = std::function<void(const Eigen::Ref<const Block>&, Eigen::Ref<Block>)>;
    /// The operator from model_shape to data_shape computed by `forward`, with `adjoint`.
    template <class F, class A>
    FunctionOperator(Shape model_shape, Shape data_shape, F forward, A adjoint, std::string name = "function")
        : LinearOperator<Scalar>(std::move(model_shape), std::move(data_shape), std::move(name)),
          forward_(wrap(std::move(forward), "forward")), adjoint_(wrap(std::move(adjoint), "adjoint")) {}
    std::shared_ptr<const LinearOperator<Scalar>> transpose() const override {
        if (!adjoint_) throw config_error(this->name() + ".transpose(): no adjoint was given");
        return std::make_shared<FunctionOperator>(this->data_shape(), this->model_shape(), adjoint_, forward_,
                                                  this->name() + "^T");
    }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override { forward_(x, y); }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override {
        if (!adjoint_) throw config_error(this->name() + ": no adjoint was given");
        adjoint_(y, x);
    }

private:
    template <class F>
    Fn wrap(F f, const char* which) const {
        if constexpr (std::is_same_v<F, std::nullptr_t>) {
            return Fn();
        } else if constexpr (std::is_invocable_v<F&, const Eigen::Ref<const Block>&, Eigen::Ref<Block>>) {
            return Fn(std::move(f));
        } else {
            static_assert(std::is_invocable_r_v<Block, F&, const Eigen::Ref<const Block>&>,
                          "a FunctionOperator callable is f(x, y) writing y, or y = f(x)");
            const std::string name = this->name();
            if constexpr (detail::is_nullable<F>::value) {
                if (!f) return Fn();
            }
            return [f = std::move(f), name, which](const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) {
                Block r = f(x);
                if (r.rows() != y.rows() || r.cols() != y.cols())
                    throw shape_error(name + ": " + which + " returned " + std::to_string(r.rows()) + "x" +
                                      std::to_string(r.cols()) + ", expected " + std::to_string(y.rows()) + "x" +
                                      std::to_string(y.cols()));
                y = r;
            };
        }
    }
    Fn forward_, adjoint_;
};

/// How a ConvOperator applies its operation.
///   matrix:  the explicit sparse matrix (W of a conv, T of a transposed conv), built once
///   direct:  conv_direct (conv only)
///   scatter: conv_transpose_scatter (transposed only)
///   gather:  conv_transpose_gather (transposed only)
enum class ApplyMethod { matrix, direct, scatter, gather };
/// "matrix", "direct", "scatter" or "gather".
std::string to_string(ApplyMethod m);
/// Parses "matrix", "direct", "scatter", "gather"; config_error otherwise.
ApplyMethod parse_apply_method(const std::string& name);

/// One convolution or transposed convolution with its weights, as an operator from the
/// operation's input (model, spec.input_shape()) to its output (data, spec.output_shape()).
/// The adjoint is exact for every configuration: matrix: M^T; direct conv: the transposed conv
/// by scattering (zeros padding) or W^T (other padding modes); scatter/gather: the conv of the
/// adjoint spec, restricted to the rows q < m of the input. transpose() returns the adjoint as a
/// new ConvOperator sharing the weights and the matrix.
template <class Scalar>
class ConvOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;                     ///< one flattened sample per column
    using Matrix = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, std::int64_t>;  ///< the type of matrix()

    /// `weight` holds spec.weight_numel() values (shape_error otherwise); `bias` none or out_channels
    /// (added by apply only, so the operator is affine: the adjoint ignores it). Throws config_error
    /// for a method the operation does not have (direct for a transposed conv, scatter/gather for a conv).
    ConvOperator(const ConvSpec& spec, std::vector<Scalar> weight, ApplyMethod method = ApplyMethod::matrix,
                 std::vector<Scalar> bias = {}, const BuildOptions& build = {});
    /// The same from sized views (copied): a std::vector, std::array or span(pointer, size).
    ConvOperator(const ConvSpec& spec, span<const Scalar> weight, ApplyMethod method = ApplyMethod::matrix,
                 span<const Scalar> bias = {}, const BuildOptions& build = {})
        : ConvOperator(spec, copy_checked(weight, spec.weight_numel(), "weight"), method,
                       copy_checked(bias, bias.empty() ? 0 : spec.out_channels, "bias"), build) {}

    const ConvSpec& spec() const { return state_->spec; }                 ///< the operation
    const std::vector<Scalar>& weight() const { return state_->weight; }  ///< its weights
    const std::vector<Scalar>& bias() const { return state_->bias; }      ///< its bias (empty: none)
    ApplyMethod method() const { return state_->method; }                 ///< how apply computes
    bool is_adjoint() const { return adjoint_; }                          ///< this operator is M^T
    /// The operation's own matrix M (W of a conv, T of a transposed conv), built on first use and
    /// shared with transposes; this operator is M^T when is_adjoint().
    const Matrix& matrix() const;
    std::shared_ptr<const LinearOperator<Scalar>> transpose() const override;

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override;
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override;

private:
    struct State {
        ConvSpec spec;
        std::vector<Scalar> weight, bias;
        ApplyMethod method;
        BuildOptions build;
        mutable std::once_flag once;
        mutable std::shared_ptr<const Matrix> matrix;
    };
    ConvOperator(std::shared_ptr<const State> state, bool adjoint);
    static std::vector<Scalar> copy_checked(span<const Scalar> s, index_t expected, const char* what) {
        check_size(s, expected, what);
        return std::vector<Scalar>(s.begin(), s.end());
    }
    void forward(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const;   // the operation
    void backward(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const;  // its adjoint
    std::shared_ptr<const State> state_;
    bool adjoint_ = false;
};

extern template class ConvOperator<float>;
extern template class ConvOperator<double>;

/// The explicit operator of a configuration: W (conv) or T (transposed conv) as a SparseOperator.
template <class Scalar, int Order = Eigen::RowMajor, class StorageIndex = int>
std::shared_ptr<SparseOperator<Scalar, Order, StorageIndex>> make_matrix_operator(const ConvSpec& spec,
                                                                                 span<const Scalar> weight) {
    return std::make_shared<SparseOperator<Scalar, Order, StorageIndex>>(
        operator_matrix<Scalar, Order, StorageIndex>(spec, weight), spec.input_shape(), spec.output_shape(),
        spec.transposed ? "T" : "W");
}

/// Dot test of an operator: |<A x, y> - <x, A^T y>| / max(||A x|| ||y||, ||x|| ||A^T y||) over `trials`
/// random pairs (see dot_test.hpp); rtol <= 0 picks default_dot_rtol<Scalar>(model_size, data_size).
template <class Scalar>
DotTestReport dot_test(const LinearOperator<Scalar>& op, int trials = 10, double rtol = 0, std::uint64_t seed = 0) {
    using Vec = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    return dot_test<Scalar>(
        op.model_size(), op.data_size(), [&](const Vec& x) { return Vec(op.apply(x)); },
        [&](const Vec& y) { return Vec(op.apply_adjoint(y)); }, trials, rtol, seed);
}

}  // namespace convmtx
