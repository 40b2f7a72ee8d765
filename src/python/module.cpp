// The extension module convmtx._core: a thin list of bind_<part>() calls, one per
// binding source file (declared in bindings.hpp). The public API is the Python
// package convmtx (src/python/convmtx/), which wraps these functions.
#include "bindings.hpp"

#ifndef CONVMTX_VERSION
#error "CONVMTX_VERSION (the project version) is defined by CMakeLists.txt"
#endif

PYBIND11_MODULE(_core, m) {
    m.doc() = "convmtx C++ core (internal; use the convmtx package)";
    m.attr("__version__") = CONVMTX_VERSION;
    convmtx::python::bind_core(m);
    convmtx::python::bind_operator(m);
    convmtx::python::bind_validate(m);
    convmtx::python::bind_solvers(m);
    convmtx::python::bind_spmv(m);
    convmtx::python::bind_spectrum(m);
    convmtx::python::bind_deconvolve(m);
}
