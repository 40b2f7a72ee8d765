// Internal: one bind_<part>(module) function per binding source file of the
// extension convmtx._core; src/python/module.cpp calls each of them.
#pragma once

#include <memory>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "convmtx/operator.hpp"

namespace convmtx::python {

/// The dtype of a floating-point array: 'f' (float32) or 'd' (float64); TypeError naming `name` otherwise.
char scalar_kind(const pybind11::array& a, const char* name);

/// ConvSpec, the spec factories, conv/transposed-conv application and the
/// zero-copy sparse matrix builders (bind_core.cpp).
void bind_core(pybind11::module_& m);

/// ConvOperator32/64: a conv or transposed conv with its weight, applied with the GIL released (bind_operator.cpp).
void bind_operator(pybind11::module_& m);

/// check_kernel, to_sparse and the probe bounds of the kernel validation (bind_validate.cpp).
void bind_validate(pybind11::module_& m);

/// lsqr/lsmr/cgls/landweber, SPQR/CHOLMOD, choose_lambda and the image helpers (bind_solvers.cpp).
void bind_solvers(pybind11::module_& m);

/// spmv: sparse products on scipy CSR/CSC arrays into an output array, GIL released (bind_spmv.cpp).
void bind_spmv(pybind11::module_& m);

/// A rows x cols operator from Python: a CSR triple (indptr, indices, data) when `matrix` is not
/// None (a SparseOperator), else the callables matvec and rmatvec on 1-D float64 arrays
/// (bind_solvers.cpp). shape_error for a malformed triple or a callable returning the wrong size.
std::shared_ptr<const LinearOperator<double>> make_op(pybind11::object matrix, pybind11::object matvec,
                                                      pybind11::object rmatvec, index_t rows, index_t cols);

/// singular values, operator norm, condition number, reshaped-weight norm, checkerboard levels
/// (bind_spectrum.cpp).
void bind_spectrum(pybind11::module_& m);

/// deconvolve, blur, parse_psf, ssim and estimate_noise_sigma (bind_deconvolve.cpp).
void bind_deconvolve(pybind11::module_& m);

}  // namespace convmtx::python
