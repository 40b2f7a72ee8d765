// Binding of the parallel sparse products (spmv.hpp): y = A x or A^T x on the three arrays of a
// scipy CSR or CSC matrix, without copying them, into a caller-owned output array, with the GIL
// released. Called by convmtx.spmv (src/python/convmtx/spmv.py), the products of the Python operators.
#include <cstdint>
#include <string>
#include <type_traits>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "convmtx/spmv.hpp"

namespace py = pybind11;

namespace convmtx::python {

namespace {

/// rows x cols view of a 1-D (n,) or 2-D (n, k) array, strides in elements (ValueError if negative
/// or not whole elements; for the output also if zero along a dimension longer than 1).
template <class T, class A>
DenseView<T> dense_view(A& a, const char* name, bool output) {
    if (a.ndim() != 1 && a.ndim() != 2)
        throw py::value_error(std::string(name) + " must be 1-D (n,) or 2-D (n, k); it has " +
                              std::to_string(a.ndim()) + " dimensions");
    DenseView<T> v;
    v.rows = static_cast<index_t>(a.shape(0));
    v.cols = a.ndim() == 2 ? static_cast<index_t>(a.shape(1)) : 1;
    const auto item = static_cast<py::ssize_t>(sizeof(T));
    for (py::ssize_t d = 0; d < a.ndim(); ++d) {
        const py::ssize_t st = a.strides(d);
        const bool long_dim = a.shape(d) > 1;
        if (st < 0 || st % item != 0 || (output && long_dim && st == 0))
            throw py::value_error(std::string(name) + " has stride " + std::to_string(st) + " bytes along axis " +
                                  std::to_string(d) + "; strides must be non-negative multiples of " +
                                  std::to_string(item) + " bytes" + (output ? ", and non-zero for the output" : ""));
    }
    v.row_stride = static_cast<index_t>(a.strides(0) / item);
    v.col_stride = a.ndim() == 2 ? static_cast<index_t>(a.strides(1) / item) : 0;
    if constexpr (std::is_const_v<T>) v.data = static_cast<T*>(a.data());
    else v.data = static_cast<T*>(a.mutable_data());
    return v;
}

template <class Scalar, class Index>
void spmv_typed(const py::array& data, const py::array& indices, const py::array& indptr, index_t rows, index_t cols,
                bool csr, bool transpose, const py::array& x, py::array& out, bool check) {
    auto flat = [](const py::array& a, const char* name) {
        if (a.ndim() != 1 || !(a.flags() & py::array::c_style))
            throw py::value_error(std::string(name) + " must be a contiguous 1-D array");
    };
    flat(data, "data");
    flat(indices, "indices");
    flat(indptr, "indptr");
    if (!indices.dtype().is(py::dtype::of<Index>()))
        throw py::value_error("indices has dtype " + std::string(py::str(indices.dtype())) + " but indptr " +
                             std::string(py::str(indptr.dtype())) + "; both must be int32 or both int64");
    if (!x.dtype().is(py::dtype::of<Scalar>()) || !out.dtype().is(py::dtype::of<Scalar>()))
        throw py::value_error("x has dtype " + std::string(py::str(x.dtype())) + " and out " +
                             std::string(py::str(out.dtype())) + "; both must be " +
                             std::string(py::str(py::dtype::of<Scalar>())) + " like data");
    if (!out.writeable()) throw py::value_error("out must be writeable");
    CompressedView<Scalar, Index> A;
    A.rows = rows;
    A.cols = cols;
    A.row_major = csr;
    A.outer = static_cast<const Index*>(indptr.data());
    A.inner = static_cast<const Index*>(indices.data());
    A.values = static_cast<const Scalar*>(data.data());
    if (static_cast<index_t>(indptr.size()) != A.outer_size() + 1)
        throw shape_error("indptr has " + std::to_string(indptr.size()) + " entries; a " +
                          std::string(csr ? "CSR" : "CSC") + " matrix of shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + ") needs " + std::to_string(A.outer_size() + 1));
    const index_t nnz = A.nnz();
    if (nnz < 0 || static_cast<index_t>(indices.size()) < nnz || static_cast<index_t>(data.size()) < nnz)
        throw shape_error("indptr[-1]=" + std::to_string(nnz) + " entries, but indices has " +
                          std::to_string(indices.size()) + " and data " + std::to_string(data.size()));
    const DenseView<const Scalar> xv = dense_view<const Scalar>(x, "x", false);
    const DenseView<Scalar> yv = dense_view<Scalar>(out, "out", true);
    if (x.ndim() != out.ndim())
        throw shape_error("x is " + std::to_string(x.ndim()) + "-D and out " + std::to_string(out.ndim()) +
                          "-D; they must agree");
    py::gil_scoped_release release;
    if (check) check_structure(A);
    spmv(A, transpose, xv, yv);
}

void spmv_entry(const py::array& data, const py::array& indices, const py::array& indptr, py::tuple shape, bool csr,
                bool transpose, const py::array& x, py::array out, bool check) {
    if (shape.size() != 2) throw py::value_error("shape must be (rows, cols)");
    const auto rows = shape[0].cast<index_t>(), cols = shape[1].cast<index_t>();
    if (rows < 0 || cols < 0) throw py::value_error("shape=(" + std::to_string(rows) + ", " + std::to_string(cols) +
                                                    ") must be non-negative");
    const char kind = scalar_kind(data, "data");
    const bool i64 = indptr.dtype().is(py::dtype::of<std::int64_t>());
    if (!i64 && !indptr.dtype().is(py::dtype::of<std::int32_t>()))
        throw py::value_error("indptr has dtype " + std::string(py::str(indptr.dtype())) + "; expected int32 or int64");
    if (kind == 'f') {
        if (i64) spmv_typed<float, std::int64_t>(data, indices, indptr, rows, cols, csr, transpose, x, out, check);
        else spmv_typed<float, std::int32_t>(data, indices, indptr, rows, cols, csr, transpose, x, out, check);
    } else {
        if (i64) spmv_typed<double, std::int64_t>(data, indices, indptr, rows, cols, csr, transpose, x, out, check);
        else spmv_typed<double, std::int32_t>(data, indices, indptr, rows, cols, csr, transpose, x, out, check);
    }
}

}  // namespace

void bind_spmv(py::module_& m) {
    m.def("spmv", &spmv_entry, py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("shape"),
          py::arg("csr"), py::arg("transpose"), py::arg("x"), py::arg("out"), py::arg("check") = true,
          "out = A @ x (transpose=False) or A.T @ x (transpose=True) for the CSR (csr=True) or CSC matrix A given\n"
          "by its arrays (data float32/float64, indices and indptr both int32 or both int64) and shape; x and out\n"
          "are 1-D (n,) or 2-D (n, k) arrays of data's dtype with any non-negative strides, out written in place.\n"
          "Runs on the OpenMP threads with the GIL released; nothing is copied. check=True first verifies indptr\n"
          "and indices (an O(nnz) pass); check=False trusts arrays verified once before (ValueError otherwise).");
}

}  // namespace convmtx::python
