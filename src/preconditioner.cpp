// Strang's circulant preconditioner through PeriodicDeconvolver.
#include "convmtx/preconditioner.hpp"

#include <cmath>

#include "convmtx/errors.hpp"

namespace convmtx {

template <class Scalar>
Preconditioner<Scalar> strang_preconditioner(const Psf& psf, index_t height, index_t width, Regularizer regularizer,
                                             double lambda) {
    if (!(lambda >= 0) || !std::isfinite(lambda))
        throw config_error("strang_preconditioner: lambda=" + std::to_string(lambda) + " must be finite and >= 0");
    auto P = std::make_shared<const PeriodicDeconvolver>(psf, height, width, regularizer);
    return [P, lambda](const Vector<Scalar>& s, Vector<Scalar>& z) {
        if (s.size() != P->height() * P->width())
            throw shape_error("strang_preconditioner: the vector has " + std::to_string(s.size()) +
                              " entries; the image has " + std::to_string(P->height() * P->width()));
        const Eigen::VectorXd sd = s.template cast<double>();
        Eigen::VectorXd zd(sd.size());
        P->apply_inverse(sd.data(), lambda, zd.data());
        z = zd.cast<Scalar>();
    };
}

template Preconditioner<float> strang_preconditioner<float>(const Psf&, index_t, index_t, Regularizer, double);
template Preconditioner<double> strang_preconditioner<double>(const Psf&, index_t, index_t, Regularizer, double);

}  // namespace convmtx
