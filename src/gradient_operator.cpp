// The forward-difference operator D: applied block-column by block-column without allocating.
#include "convmtx/gradient_operator.hpp"

#include <limits>
#include <vector>

#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

template <class Scalar>
class GradientOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    explicit GradientOperator(const Shape& shape) : LinearOperator<Scalar>(shape, data_shape_of(shape), "gradient") {
        // Dimension j has length n_j = shape[j + 1] and stride (in a flattened sample) the
        // product of the later sizes; a run of n_j * stride entries repeats over the earlier ones.
        const size_t r = shape.size() - 1;
        dims_.resize(r);
        index_t stride = 1;
        for (size_t j = r; j-- > 0;) {
            dims_[j] = {shape[j + 1], stride};
            stride *= shape[j + 1];
        }
    }

protected:
    // y_j[i] = x[i + s] - x[i] for the positions i whose index along j is below n_j - 1, else 0.
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override {
        const index_t n = this->model_size();
        for (index_t c = 0; c < x.cols(); ++c) {
            const Scalar* xp = x.data() + c * x.outerStride();
            Scalar* yp = y.data() + c * y.outerStride();
            for (size_t j = 0; j < dims_.size(); ++j) {
                Scalar* yj = yp + static_cast<index_t>(j) * n;
                const index_t s = dims_[j].stride, run = dims_[j].length * s, inner = run - s;
                for (index_t a = 0; a < n; a += run) {
                    for (index_t i = a; i < a + inner; ++i) yj[i] = xp[i + s] - xp[i];
                    for (index_t i = a + inner; i < a + run; ++i) yj[i] = Scalar(0);
                }
            }
        }
    }
    // x[i] = sum over j of y_j[i - s] (when i - s is a difference) - y_j[i] (when i is one).
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override {
        const index_t n = this->model_size();
        x.setZero();
        for (index_t c = 0; c < x.cols(); ++c) {
            Scalar* xp = x.data() + c * x.outerStride();
            const Scalar* yp = y.data() + c * y.outerStride();
            for (size_t j = 0; j < dims_.size(); ++j) {
                const Scalar* yj = yp + static_cast<index_t>(j) * n;
                const index_t s = dims_[j].stride, run = dims_[j].length * s, inner = run - s;
                for (index_t a = 0; a < n; a += run) {
                    for (index_t i = a; i < a + inner; ++i) xp[i] -= yj[i];
                    for (index_t i = a; i < a + inner; ++i) xp[i + s] += yj[i];
                }
            }
        }
    }

private:
    struct Dim {
        index_t length = 0, stride = 0;
    };
    static Shape data_shape_of(const Shape& shape) {
        if (shape.size() < 2)
            throw shape_error("gradient shape " + to_string(shape, "x") +
                              " must be (channels, n_1, ..., n_r) with at least one spatial dimension");
        for (auto v : shape)
            if (v < 1) throw shape_error("gradient shape " + to_string(shape, "x") + " must have positive sizes");
        Shape d{static_cast<index_t>(shape.size() - 1)};
        d.insert(d.end(), shape.begin(), shape.end());
        return d;
    }
    std::vector<Dim> dims_;
};

}  // namespace

Shape default_gradient_shape(const Shape& model_shape) {
    if (model_shape.size() == 1) return {1, model_shape[0]};
    return model_shape;
}

template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> gradient_operator(const Shape& shape) {
    return std::make_shared<GradientOperator<Scalar>>(shape);
}

template <class Scalar>
Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> gradient_matrix(const Shape& shape) {
    GradientOperator<Scalar> D(shape);  // validates
    const index_t n = D.model_size(), r = static_cast<index_t>(shape.size() - 1);
    if (r * n > static_cast<index_t>(std::numeric_limits<int>::max()))
        throw index_overflow_error("gradient_matrix: " + std::to_string(r * n) + " rows (shape " +
                                   to_string(shape, "x") + ") do not fit int32 indices");
    std::vector<Eigen::Triplet<Scalar, int>> t;
    t.reserve(static_cast<size_t>(2 * r * n));
    index_t stride = n / shape[0];
    for (index_t j = 0; j < r; ++j) {
        const index_t len = shape[static_cast<size_t>(j) + 1];
        stride /= len;
        for (index_t i = 0; i < n; ++i)
            if ((i / stride) % len < len - 1) {
                t.emplace_back(static_cast<int>(j * n + i), static_cast<int>(i + stride), Scalar(1));
                t.emplace_back(static_cast<int>(j * n + i), static_cast<int>(i), Scalar(-1));
            }
    }
    Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int> M(r * n, n);
    M.setFromTriplets(t.begin(), t.end());
    return M;
}

template std::shared_ptr<LinearOperator<float>> gradient_operator<float>(const Shape&);
template std::shared_ptr<LinearOperator<double>> gradient_operator<double>(const Shape&);
template Eigen::SparseMatrix<float, Eigen::RowMajor, int> gradient_matrix<float>(const Shape&);
template Eigen::SparseMatrix<double, Eigen::RowMajor, int> gradient_matrix<double>(const Shape&);

}  // namespace convmtx
