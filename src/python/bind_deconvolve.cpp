// Bindings of the deconvolution of observed images (deconvolve.hpp), the PSFs (psf.hpp), SSIM
// (metrics.hpp) and the noise estimate. Internal: the package convmtx.deconvolve wraps them.
// Float32 images run in float, everything else in float64; callbacks run with the GIL held.
#include <cmath>
#include <string>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convmtx/deconvolve.hpp"
#include "convmtx/metrics.hpp"
#include "convmtx/noise_estimate.hpp"
#include "convmtx/psf.hpp"

namespace py = pybind11;

namespace convmtx::python {

namespace {

using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;

template <class Scalar>
using Arr = py::array_t<Scalar, py::array::c_style | py::array::forcecast>;

void check_2d(const py::array& a, const char* name) {
    if (a.ndim() != 2)
        throw shape_error(std::string(name) + " must be a 2-D array (height, width), got " + std::to_string(a.ndim()) + "-D");
}

Psf psf_from(const F64& a) {
    check_2d(a, "psf");
    return make_psf(a.shape(0), a.shape(1), std::vector<double>(a.data(), a.data() + a.size()),
                    "psf array " + std::to_string(a.shape(0)) + "x" + std::to_string(a.shape(1)));
}

F64 psf_to(const Psf& p) {
    F64 a({p.height, p.width});
    std::copy(p.values.begin(), p.values.end(), a.mutable_data());
    return a;
}

template <class Scalar>
py::dict run(const py::array& b_in, const F64& psf_in, const std::string& boundary, const std::string& regularizer,
             double lam, double noise, double lower, double upper, const std::string& method, index_t iter_lim,
             double tol, py::object callback, py::object progress) {
    Arr<Scalar> b = Arr<Scalar>::ensure(b_in);
    check_2d(b, "b");
    const Psf psf = psf_from(psf_in);
    DeconvolveOptions o;
    o.boundary = boundary == "periodic" ? PaddingMode::circular : parse_padding_mode(boundary);
    o.regularizer = parse_prior(regularizer);
    o.lambda = lam;
    o.noise = noise;
    o.lower = lower;
    o.upper = upper;
    o.method = method;
    o.iter_lim = iter_lim;
    o.tol = tol;
    if (!callback.is_none())
        o.callback = [callback](const IterationInfo& info) {
            py::object r = callback(IterationInfo(info));  // a copy: Python may keep it
            return r.is_none() || r.cast<bool>();
        };
    if (!progress.is_none()) o.progress = [progress](const ProgressInfo& p) { progress(ProgressInfo(p)); };
    const index_t h = b.shape(0), w = b.shape(1);
    const Vector<Scalar> bv = Eigen::Map<const Vector<Scalar>>(b.data(), h * w);
    const DeconvolveResult<Scalar> r = deconvolve<Scalar>(bv, h, w, psf, o);
    Arr<Scalar> x({h, w});
    std::copy(r.x.data(), r.x.data() + r.x.size(), x.mutable_data());
    py::dict d;
    d["x"] = x;
    d["lam"] = r.lambda;
    d["lambda_rule"] = r.lambda_rule;
    d["noise"] = r.noise;
    d["target"] = r.target;
    d["degrees_of_freedom"] = r.degrees_of_freedom;
    d["lambda_trials"] = r.lambda_trials;
    d["lambda_note"] = r.lambda_note;
    d["method"] = r.method;
    d["iterations"] = r.iterations;
    d["converged"] = r.converged;
    d["stop_reason"] = r.stop_reason;
    d["history"] = py::array_t<double>(r.residual_history.size(), r.residual_history.data());
    d["residual_norm"] = r.residual_norm;
    d["seconds"] = r.seconds;
    if (r.step_norm) d["step_norm"] = py::cast(*r.step_norm);
    else d["step_norm"] = py::none();
    return d;
}

template <class Scalar>
py::array_t<Scalar> blur(const py::array& x_in, const F64& psf_in, const std::string& boundary, bool adjoint) {
    Arr<Scalar> x = Arr<Scalar>::ensure(x_in);
    check_2d(x, "x");
    const index_t h = x.shape(0), w = x.shape(1);
    const auto A = blur_operator<Scalar>(psf_from(psf_in), h, w,
                                         boundary == "periodic" ? PaddingMode::circular : parse_padding_mode(boundary));
    const Vector<Scalar> v = Eigen::Map<const Vector<Scalar>>(x.data(), h * w);
    const Vector<Scalar> y = adjoint ? Vector<Scalar>(A->apply_adjoint(v)) : Vector<Scalar>(A->apply(v));
    Arr<Scalar> out({h, w});
    std::copy(y.data(), y.data() + y.size(), out.mutable_data());
    return out;
}

}  // namespace

void bind_deconvolve(py::module_& m) {
    m.def(
        "deconvolve",
        [](const py::array& b, const F64& psf, const std::string& boundary, const std::string& regularizer, double lam,
           double noise, double lower, double upper, const std::string& method, index_t iter_lim, double tol,
           py::object callback, py::object progress) {
            return scalar_kind(b, "b") == 'f'
                       ? run<float>(b, psf, boundary, regularizer, lam, noise, lower, upper, method, iter_lim, tol,
                                    callback, progress)
                       : run<double>(b, psf, boundary, regularizer, lam, noise, lower, upper, method, iter_lim, tol,
                                     callback, progress);
        },
        py::arg("b"), py::arg("psf"), py::arg("boundary"), py::arg("regularizer"), py::arg("lam"), py::arg("noise"),
        py::arg("lower"), py::arg("upper"), py::arg("method"), py::arg("iter_lim"), py::arg("tol"),
        py::arg("callback"), py::arg("progress"));
    m.def(
        "blur",
        [](const py::array& x, const F64& psf, const std::string& boundary, bool adjoint) -> py::array {
            if (scalar_kind(x, "x") == 'f') return blur<float>(x, psf, boundary, adjoint);
            return blur<double>(x, psf, boundary, adjoint);
        },
        py::arg("x"), py::arg("psf"), py::arg("boundary"), py::arg("adjoint") = false);
    m.def("parse_psf", [](const std::string& text) { return psf_to(parse_psf(text)); }, py::arg("text"));
    m.def(
        "ssim",
        [](const F64& a, const F64& b, double data_range) {
            check_2d(a, "a");
            if (a.ndim() != b.ndim() || a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1))
                throw shape_error("ssim: the images must have the same shape");
            return ssim(a.data(), b.data(), a.shape(0), a.shape(1), data_range);
        },
        py::arg("a"), py::arg("b"), py::arg("data_range"));
    m.def(
        "estimate_noise_sigma",
        [](const F64& a) {
            check_2d(a, "image");
            return estimate_noise_sigma(a.data(), a.shape(0), a.shape(1));
        },
        py::arg("image"));
}

}  // namespace convmtx::python
