// Internal: one bind_<part>(module) function per binding source file of the
// extension convmtx._core; src/python/module.cpp calls each of them.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace convmtx::python {

/// The dtype of a floating-point array: 'f' (float32) or 'd' (float64); TypeError naming `name` otherwise.
char scalar_kind(const pybind11::array& a, const char* name);

/// ConvSpec, the spec factories, conv/transposed-conv application and the
/// zero-copy sparse matrix builders (bind_core.cpp).
void bind_core(pybind11::module_& m);

/// check_kernel, to_sparse and the probe bounds of the kernel validation (bind_validate.cpp).
void bind_validate(pybind11::module_& m);

/// lsqr/cgls/landweber, SPQR/CHOLMOD, choose_lambda and the image helpers (bind_solvers.cpp).
void bind_solvers(pybind11::module_& m);

/// deconvolve, blur, parse_psf, ssim and estimate_noise_sigma (bind_deconvolve.cpp).
void bind_deconvolve(pybind11::module_& m);

}  // namespace convmtx::python
