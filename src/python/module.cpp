// The extension module convmtx._core: a thin list of bind_<part>() calls, one per
// binding source file (declared in bindings.hpp). The public API is the Python
// package convmtx (src/python/convmtx/), which wraps these functions.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "convmtx C++ core (internal; use the convmtx package)";
    convmtx::python::bind_core(m);
    convmtx::python::bind_validate(m);
    convmtx::python::bind_solvers(m);
    convmtx::python::bind_deconvolve(m);
}
