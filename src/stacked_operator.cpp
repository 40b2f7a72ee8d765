// The stacked operator [A; w B], applied without allocating.
#include "convmtx/stacked_operator.hpp"

#include <mutex>

#include "convmtx/errors.hpp"

namespace convmtx {

namespace {

template <class Scalar>
class StackedOperator final : public LinearOperator<Scalar> {
public:
    using Block = typename LinearOperator<Scalar>::Block;
    StackedOperator(std::shared_ptr<const LinearOperator<Scalar>> a, std::shared_ptr<const LinearOperator<Scalar>> b,
                    double w)
        : LinearOperator<Scalar>(a->model_shape(), Shape{a->data_size() + b->data_size()},
                                 "[" + a->name() + "; w*" + b->name() + "]"),
          a_(std::move(a)), b_(std::move(b)), w_(static_cast<Scalar>(w)) {
        if (a_->model_size() != b_->model_size())
            throw shape_error("stack_operators: " + a_->name() + " has " + std::to_string(a_->model_size()) +
                              " columns but " + b_->name() + " has " + std::to_string(b_->model_size()));
    }

protected:
    void apply_impl(const Eigen::Ref<const Block>& x, Eigen::Ref<Block> y) const override {
        const index_t ma = a_->data_size(), mb = b_->data_size();
        a_->apply(x, y.topRows(ma));
        b_->apply(x, y.bottomRows(mb));
        y.bottomRows(mb) *= w_;
    }
    void apply_adjoint_impl(const Eigen::Ref<const Block>& y, Eigen::Ref<Block> x) const override {
        const index_t ma = a_->data_size(), mb = b_->data_size();
        // B^T y_B goes to the work block, held by one call at a time; a concurrent (or nested)
        // call takes a temporary instead of waiting.
        std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
        Block temporary;
        Block& work = lock.owns_lock() ? work_ : temporary;
        if (work.rows() != x.rows() || work.cols() != x.cols()) work.resize(x.rows(), x.cols());
        b_->apply_adjoint(y.bottomRows(mb), work);
        a_->apply_adjoint(y.topRows(ma), x);
        x += w_ * work;
    }

private:
    std::shared_ptr<const LinearOperator<Scalar>> a_, b_;
    Scalar w_;
    mutable std::mutex mutex_;
    mutable Block work_;
};

}  // namespace

template <class Scalar>
std::shared_ptr<LinearOperator<Scalar>> stack_operators(std::shared_ptr<const LinearOperator<Scalar>> A,
                                                        std::shared_ptr<const LinearOperator<Scalar>> B,
                                                        double weight) {
    if (!A || !B) throw config_error("stack_operators: both operators must be given (got a null pointer)");
    return std::make_shared<StackedOperator<Scalar>>(std::move(A), std::move(B), weight);
}

template std::shared_ptr<LinearOperator<float>> stack_operators<float>(std::shared_ptr<const LinearOperator<float>>,
                                                                       std::shared_ptr<const LinearOperator<float>>,
                                                                       double);
template std::shared_ptr<LinearOperator<double>> stack_operators<double>(
    std::shared_ptr<const LinearOperator<double>>, std::shared_ptr<const LinearOperator<double>>, double);

}  // namespace convmtx
