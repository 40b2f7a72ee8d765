// Bindings of ConvOperator (operator.hpp): one convolution or transposed convolution with its weights,
// applied to a batch by the library's parallel C++ kernels with the GIL released. The public class is
// convmtx.LinearOperator (src/python/convmtx/operator.py), a scipy.sparse.linalg.LinearOperator.
#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convmtx/operator.hpp"

namespace py = pybind11;

namespace convmtx::python {

namespace {

template <class Scalar>
std::vector<Scalar> values(const py::array& a, const char* name) {
    auto c = py::array_t<Scalar, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!c) throw py::type_error(std::string(name) + " cannot be converted to floating point");
    return std::vector<Scalar>(c.data(), c.data() + c.size());
}

// y = A x (adjoint: A^T x) for x of shape (N, size) C-contiguous, y of shape (N, other size).
template <class Scalar>
py::array run(const ConvOperator<Scalar>& op, const py::array& x, bool adjoint) {
    const index_t in = adjoint ? op.data_size() : op.model_size();
    const index_t out = adjoint ? op.model_size() : op.data_size();
    if (!x.dtype().is(py::dtype::of<Scalar>()))
        throw py::type_error("operand has dtype " + std::string(py::str(x.dtype())) + "; expected " +
                             std::string(py::str(py::dtype::of<Scalar>())) + " (internal call)");
    if (x.ndim() != 2 || !(x.flags() & py::array::c_style) || static_cast<index_t>(x.shape(1)) != in)
        throw shape_error("operand must be a C-contiguous (N, " + std::to_string(in) + ") array (internal call)");
    const auto n = static_cast<Eigen::Index>(x.shape(0));
    if (n == 0)  // a block of no samples (a zero-column matmat): the empty product, the kernels never see it
        return py::array_t<Scalar>(std::vector<py::ssize_t>{0, static_cast<py::ssize_t>(out)});
    auto* y = new Batch<Scalar>(static_cast<Eigen::Index>(out), n);
    py::capsule owner(y, [](void* p) { delete static_cast<Batch<Scalar>*>(p); });
    {
        py::gil_scoped_release release;
        const Eigen::Map<const Batch<Scalar>> X(static_cast<const Scalar*>(x.data()), static_cast<Eigen::Index>(in), n);
        if (adjoint) op.apply_adjoint(X, *y);
        else op.apply(X, *y);
    }
    const auto s = static_cast<py::ssize_t>(sizeof(Scalar));
    return py::array_t<Scalar>({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(out)},
                               {s * static_cast<py::ssize_t>(out), s}, y->data(), owner);
}

template <class Scalar>
void bind_one(py::module_& m, const char* name) {
    using Op = ConvOperator<Scalar>;
    py::class_<Op, std::shared_ptr<Op>>(m, name, "A ConvSpec with its weight as an operator (internal)")
        .def(py::init([](const ConvSpec& spec, const py::array& weight, const std::string& method) {
                 return std::make_shared<Op>(spec, values<Scalar>(weight, "weight"), parse_apply_method(method));
             }),
             py::arg("spec"), py::arg("weight"), py::arg("method"))
        .def("apply", [](const Op& op, const py::array& x) { return run(op, x, false); }, py::arg("x"),
             "A X for X of shape (N, model_size): (N, data_size)")
        .def("apply_adjoint", [](const Op& op, const py::array& y) { return run(op, y, true); }, py::arg("y"),
             "A^T Y for Y of shape (N, data_size): (N, model_size)")
        .def_property_readonly("model_shape", [](const Op& op) { return op.model_shape(); })
        .def_property_readonly("data_shape", [](const Op& op) { return op.data_shape(); })
        .def_property_readonly("method", [](const Op& op) { return to_string(op.method()); })
        .def_property_readonly("spec", [](const Op& op) { return op.spec(); });
}

}  // namespace

void bind_operator(py::module_& m) {
    bind_one<float>(m, "ConvOperator32");
    bind_one<double>(m, "ConvOperator64");
}

}  // namespace convmtx::python
