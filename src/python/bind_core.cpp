// Bindings of the core: ConvSpec and its factories, the three ways of applying a
// conv / transposed conv to a batch, and the sparse matrices W and T handed to
// numpy without copying (the Eigen matrix is moved to the heap and owned by a
// capsule that is the base of the data, indices and indptr arrays).
//
// These functions are internal (convmtx._core); the package convmtx checks and
// normalises the user's arguments, but everything here still validates its
// arrays so that a direct call cannot crash the interpreter.
#include <cstdint>
#include <new>
#include <stdexcept>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convmtx/builder.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/file.hpp"
#include "convmtx/kernels.hpp"
#include "convmtx/spec.hpp"
#include "convmtx/terms.hpp"

namespace py = pybind11;

namespace convmtx::python {

namespace {

Padding make_padding(const std::string& kind, const Dims& lo, const Dims& hi) {
    if (kind == "same") return Padding::same();
    if (kind == "valid") return Padding::valid();
    if (kind == "explicit") return Padding::sides(lo, hi);
    throw config_error("padding='" + kind + "' must be 'same', 'valid', an int, a tuple of ints or of (lo, hi) pairs");
}

// Pointer to a C-contiguous array of Scalar with exactly `size` elements.
template <class Scalar>
const Scalar* checked_data(const py::array& a, const char* name, index_t size) {
    if (!a.dtype().is(py::dtype::of<Scalar>()))
        throw py::type_error(std::string(name) + " has dtype " + std::string(py::str(a.dtype())) + "; expected " +
                             std::string(py::str(py::dtype::of<Scalar>())) + " like the weight");
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) + " must be C-contiguous (internal call)");
    if (static_cast<index_t>(a.size()) != size)
        throw shape_error(std::string(name) + " has " + std::to_string(a.size()) + " values; expected " +
                          std::to_string(size));
    return static_cast<const Scalar*>(a.data());
}

template <class T>
py::capsule owner(T* p) {
    return py::capsule(p, [](void* q) { delete static_cast<T*>(q); });
}

template <class Scalar>
py::array apply_typed(const ConvSpec& spec, const py::array& weight, const py::array& x,
                      const std::optional<py::array>& bias, const std::string& method) {
    const span<const Scalar> w(checked_data<Scalar>(weight, "weight", spec.weight_numel()),
                               static_cast<size_t>(spec.weight_numel()));
    if (x.ndim() != 2) throw shape_error("x must be 2-D (N, C_in*prod(input)) (internal call)");
    const index_t in = spec.input_numel(), out = spec.output_numel();
    const index_t n = static_cast<index_t>(x.shape(0));
    if (static_cast<index_t>(x.shape(1)) != in)
        throw shape_error("input has " + std::to_string(x.shape(1)) + " values per sample; the configuration needs " +
                          std::to_string(in) + " = prod(" + to_string(spec.input_shape(), "x") + ")");
    const Scalar* xd = checked_data<Scalar>(x, "input", in * n);
    span<const Scalar> b;
    if (bias) b = span<const Scalar>(checked_data<Scalar>(*bias, "bias", spec.out_channels), static_cast<size_t>(spec.out_channels));

    enum class M { matrix, direct, scatter, gather } m;
    if (method == "matrix") m = M::matrix;
    else if (!spec.transposed && method == "direct") m = M::direct;
    else if (spec.transposed && method == "scatter") m = M::scatter;
    else if (spec.transposed && method == "gather") m = M::gather;
    else if (spec.transposed)
        throw config_error("method='" + method + "' must be one of 'matrix', 'scatter', 'gather' for conv_transpose");
    else
        throw config_error("method='" + method + "' must be one of 'matrix', 'direct' for conv");

    auto* y = new Batch<Scalar>();
    py::capsule cap = owner(y);
    {
        py::gil_scoped_release release;
        const Eigen::Map<const Batch<Scalar>> xmap(xd, static_cast<Eigen::Index>(in), static_cast<Eigen::Index>(n));
        const Eigen::Ref<const Batch<Scalar>> X(xmap);  // no copy: a Map of a plain matrix
        switch (m) {
            case M::direct: *y = conv_direct<Scalar>(spec, w, X, b); break;
            case M::scatter: *y = conv_transpose_scatter<Scalar>(spec, w, X, b); break;
            case M::gather: *y = conv_transpose_gather<Scalar>(spec, w, X, b); break;
            case M::matrix: {
                constexpr index_t max32 = std::numeric_limits<std::int32_t>::max();
                const bool fits32 = in <= max32 && out <= max32 && structural_nnz(spec) <= max32;
                if (fits32) *y = apply_matrix(spec, operator_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w), X, b);
                else *y = apply_matrix(spec, operator_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, w), X, b);
                break;
            }
        }
    }
    // Column-major (out x N) is the C-order (N, out) array: hand it over as is.
    const auto s = static_cast<py::ssize_t>(sizeof(Scalar));
    return py::array_t<Scalar>({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(out)},
                               {s * static_cast<py::ssize_t>(out), s}, y->data(), cap);
}

py::array apply(const ConvSpec& spec, const py::array& weight, const py::array& x, const std::optional<py::array>& bias,
                const std::string& method) {
    return scalar_kind(weight, "weight") == 'f' ? apply_typed<float>(spec, weight, x, bias, method)
                                                : apply_typed<double>(spec, weight, x, bias, method);
}

// (data, indices, indptr, (rows, cols)) of W (transpose=false) or T, in CSR (row-major) or CSC form.
template <class Scalar, int Order, class Index>
py::tuple build_typed(const ConvSpec& spec, const py::array& weight, bool transpose, const BuildOptions& opt) {
    using Sparse = Eigen::SparseMatrix<Scalar, Order, Index>;
    const span<const Scalar> w(checked_data<Scalar>(weight, "weight", spec.weight_numel()),
                               static_cast<size_t>(spec.weight_numel()));
    auto* M = new Sparse();
    py::capsule cap = owner(M);
    {
        py::gil_scoped_release release;
        // Eigen 3.4's SparseMatrix has no move assignment (operator= copies): swap instead.
        Sparse built = transpose ? conv_transpose_matrix<Scalar, Order, Index>(spec, w, opt)
                                 : conv_matrix<Scalar, Order, Index>(spec, w, opt);
        M->swap(built);
        M->makeCompressed();
    }
    const auto nnz = static_cast<py::ssize_t>(M->nonZeros());
    const auto outer = static_cast<py::ssize_t>(M->outerSize()) + 1;
    py::array_t<Scalar> data(nnz, M->valuePtr(), cap);
    py::array_t<Index> indices(nnz, M->innerIndexPtr(), cap);
    py::array_t<Index> indptr(outer, M->outerIndexPtr(), cap);
    return py::make_tuple(data, indices, indptr, py::make_tuple(M->rows(), M->cols()));
}

template <class Scalar>
py::tuple build_scalar(const ConvSpec& spec, const py::array& weight, bool transpose, bool index64, bool csc,
                       const BuildOptions& opt) {
    if (csc) {
        return index64 ? build_typed<Scalar, Eigen::ColMajor, std::int64_t>(spec, weight, transpose, opt)
                       : build_typed<Scalar, Eigen::ColMajor, std::int32_t>(spec, weight, transpose, opt);
    }
    return index64 ? build_typed<Scalar, Eigen::RowMajor, std::int64_t>(spec, weight, transpose, opt)
                   : build_typed<Scalar, Eigen::RowMajor, std::int32_t>(spec, weight, transpose, opt);
}

py::tuple build_matrix(const ConvSpec& spec, const py::array& weight, bool transpose, bool index64, bool csc,
                       bool drop_zeros, double memory_limit) {
    if (!(memory_limit >= 0))
        throw config_error("memory_limit=" + std::to_string(memory_limit) + " must be a non-negative number of bytes");
    BuildOptions opt;
    opt.drop_zeros = drop_zeros;
    opt.memory_limit = memory_limit;
    return scalar_kind(weight, "weight") == 'f' ? build_scalar<float>(spec, weight, transpose, index64, csc, opt)
                                                : build_scalar<double>(spec, weight, transpose, index64, csc, opt);
}

// ---- the tap map of W and T and the terms of one element (builder.hpp, terms.hpp) ----

/// A vector of indices as an int64 numpy array owning it (no copy).
py::array_t<std::int64_t> index_array(std::vector<index_t>&& v) {
    auto* p = new std::vector<index_t>(std::move(v));
    py::capsule cap = owner(p);
    return py::array_t<std::int64_t>(static_cast<py::ssize_t>(p->size()), p->data(), cap);
}

void bind_taps(py::module_& m) {
    py::class_<Term>(m, "Term",
                     "One product weight[weight_index] * x[input_index] of the sum that gives y[output_index].")
        .def_property_readonly("weight_index", [](const Term& t) { return py::tuple(py::cast(t.weight_index)); },
                               "(C_conv_out, C_conv_in/groups, *kernel) index into the weight")
        .def_readonly("weight_flat", &Term::weight_flat, "flat (C-order) index into the weight")
        .def_property_readonly("input_index", [](const Term& t) { return py::tuple(py::cast(t.input_index)); },
                               "(channel, *spatial) index into the operation's input sample")
        .def_readonly("input_flat", &Term::input_flat, "column of the operation's matrix (W, or T transposed)")
        .def_property_readonly("output_index", [](const Term& t) { return py::tuple(py::cast(t.output_index)); },
                               "(channel, *spatial) index into the operation's output sample")
        .def_readonly("output_flat", &Term::output_flat, "row of the operation's matrix")
        .def_property_readonly("padded_position", [](const Term& t) { return py::tuple(py::cast(t.padded_position)); },
                               "per spatial dimension, the conv's padded position q*s - p_lo + t*d read")
        .def_readonly("folded", &Term::folded, "the position lies in the padding and the padding mode mapped it")
        .def("__repr__", [](const Term& t) {
            return "<convmtx.Term " + index_text("y", t.output_index) + " += " + index_text("w", t.weight_index) +
                   " * " + index_text("x", t.input_index) + (t.folded ? " (folded)>" : ">");
        });

    m.def(
        "tap_map",
        [](const ConvSpec& spec, bool transpose) {
            std::vector<index_t> taps;
            {
                py::gil_scoped_release release;
                taps = tap_map(spec, transpose);
            }
            return index_array(std::move(taps));
        },
        py::arg("spec"), py::arg("transpose") = false,
        "For each stored entry of the CSR matrix W (transpose=False: rows = the conv's output) or T = W^T\n"
        "(transpose=True), in storage order (data/indices order of conv_matrix / conv_transpose_matrix with\n"
        "drop_zeros=False), the flat index into the weight of the tap that produced it, or -1 where a padding\n"
        "mode folds several taps into the entry (tap_lists lists them). int64 array of shape (nnz,).\n"
        "spec: a ConvSpec (convmtx.conv_spec / conv_transpose_spec); for a transposed conv T is the operation's\n"
        "own matrix (transpose=True).");
    m.def(
        "tap_lists",
        [](const ConvSpec& spec, bool transpose) {
            TapLists lists;
            {
                py::gil_scoped_release release;
                lists = tap_lists(spec, transpose);
            }
            return py::make_tuple(index_array(std::move(lists.offsets)), index_array(std::move(lists.taps)));
        },
        py::arg("spec"), py::arg("transpose") = false,
        "(offsets, taps): for each stored entry e of the CSR matrix W (transpose=False) or T = W^T, in storage\n"
        "order, every flat weight index whose tap adds into it: taps[offsets[e]:offsets[e+1]] (one tap, or\n"
        "several where a padding mode folds them). offsets: int64 array of shape (nnz + 1,); taps: int64 array\n"
        "of shape (offsets[-1],). The entry's value is weight.ravel()[taps[offsets[e]:offsets[e+1]]].sum().");
    const struct {
        const char* name;
        std::vector<Term> (*fn)(const ConvSpec&, index_t);
        const char* arg;
        const char* doc;
    } terms[] = {
        {"output_terms", &output_terms, "output_flat",
         "The products weight * x that sum to output element output_flat (flat C-order index into the\n"
         "operation's output sample (C_out, *output_size)): a list of Term. Summing wf[term.weight_flat] per\n"
         "term.input_flat (wf = weight.ravel()) gives row output_flat of W, or of T for a transposed conv.\n"
         "ValueError when output_flat is not an int (a bool is refused) or is outside [0, output_numel)."},
        {"input_terms", &input_terms, "input_flat",
         "Every product weight * x[input_flat] the input element input_flat (flat C-order index into the\n"
         "operation's input sample (C_in, *input_size)) contributes to: a column of the operation's matrix, as a\n"
         "list of Term. ValueError when input_flat is not an int (a bool is refused) or is outside\n"
         "[0, input_numel)."}};
    for (const auto& t : terms) {
        const auto fn = t.fn;
        const std::string arg = t.arg;
        m.def(
            t.name,
            [fn, arg](const ConvSpec& spec, const py::object& flat_obj) {
                // Strictly an int (not a bool or float), and a Python int beyond 64 bits is a ValueError
                // naming the argument, not pybind's "incompatible function arguments".
                if (!PyLong_Check(flat_obj.ptr()) || PyBool_Check(flat_obj.ptr()))
                    throw py::value_error(arg + "=" + std::string(py::repr(flat_obj)) + " must be an int");
                index_t flat = 0;
                try {
                    flat = flat_obj.cast<index_t>();
                } catch (const py::cast_error&) {
                    throw py::value_error(arg + "=" + std::string(py::str(flat_obj)) +
                                          " does not fit in a 64-bit index; it must be a flat index of the sample");
                }
                try {
                    return fn(spec, flat);
                } catch (const std::out_of_range& e) {  // like numpy's unravel_index: a ValueError
                    throw py::value_error(e.what());
                }
            },
            py::arg("spec"), py::arg(t.arg), t.doc);
    }
}

}  // namespace

char scalar_kind(const py::array& a, const char* name) {
    if (a.dtype().is(py::dtype::of<float>())) return 'f';
    if (a.dtype().is(py::dtype::of<double>())) return 'd';
    throw py::type_error(std::string(name) + " has dtype " + std::string(py::str(a.dtype())) +
                         "; expected float32 or float64");
}

void bind_core(py::module_& m) {
    // Every validation error of the core is a ValueError carrying the C++ message.
    py::register_exception<config_error>(m, "ConfigError", PyExc_ValueError).attr("__doc__") =
        "A configuration breaks a rule (a ValueError): the message names the parameter, its value and the rule.";
    py::register_exception<shape_error>(m, "ShapeError", PyExc_ValueError).attr("__doc__") =
        "An array's shape or size does not match the configuration (a ValueError); the message gives both.";
    py::register_exception<index_overflow_error>(m, "IndexOverflowError", PyExc_ValueError).attr("__doc__") =
        "A matrix has more entries or a larger side than its index type holds (a ValueError): use int64 indices.";
    // Files: one that cannot be opened, read or written is an OSError; one whose contents break its
    // format's rules a ValueError (registered after io_error, its base, so that it is tried first).
    py::register_exception<io_error>(m, "FileError", PyExc_OSError).attr("__doc__") =
        "A file cannot be opened, read or written (an OSError); the message names the file and the reason.";
    py::register_exception<format_error>(m, "FormatError", PyExc_ValueError).attr("__doc__") =
        "A file's contents break its format's rules (a ValueError); the message names the file and the rule.";
    // Allocations no estimate foresaw: a MemoryError saying so, not the C++ library's "std::bad_alloc"
    // or "cannot create std::vector larger than max_size()".
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const std::bad_alloc&) {
            PyErr_SetString(PyExc_MemoryError, "out of memory: the machine could not provide the memory this call "
                                               "needs; use a smaller configuration");
        } catch (const std::length_error&) {
            PyErr_SetString(PyExc_MemoryError, "out of memory: a size is larger than this machine can allocate; "
                                               "use a smaller configuration");
        }
    });

    py::class_<ConvSpec>(m, "ConvSpec",
                         "Geometry of one convolution (transposed=False) or transposed convolution, validated.")
        .def_readonly("transposed", &ConvSpec::transposed, "True for a transposed convolution, False for a convolution")
        .def_readonly("in_channels", &ConvSpec::in_channels, "channels of the operation's input")
        .def_readonly("out_channels", &ConvSpec::out_channels, "channels of the operation's output")
        .def_readonly("groups", &ConvSpec::groups, "channel groups G: both channel counts are multiples of G")
        .def_readonly("input_size", &ConvSpec::input_size, "spatial size of the operation's input")
        .def_readonly("kernel_size", &ConvSpec::kernel_size, "kernel size k per spatial dimension")
        .def_readonly("stride", &ConvSpec::stride, "stride s per spatial dimension")
        .def_readonly("dilation", &ConvSpec::dilation, "dilation d per spatial dimension")
        .def_readonly("padding_lo", &ConvSpec::padding_lo, "padding before the data per spatial dimension")
        .def_readonly("padding_hi", &ConvSpec::padding_hi, "padding after the data per spatial dimension")
        .def_readonly("output_padding", &ConvSpec::output_padding, "transposed only: positions added at the high end per dimension")
        .def_property_readonly("padding_mode", [](const ConvSpec& s) { return to_string(s.padding_mode); },
                               "'zeros', 'circular', 'reflect' or 'replicate' (conv only; F.pad then an unpadded conv)")
        .def_property_readonly("rank", &ConvSpec::rank, "number of spatial dimensions (1, 2 or 3)")
        .def_property_readonly("output_size", &ConvSpec::output_size, "spatial size of the operation's output")
        .def_property_readonly("input_shape", &ConvSpec::input_shape, "(in_channels, input_size...)")
        .def_property_readonly("output_shape", &ConvSpec::output_shape, "(out_channels, output_size...)")
        .def_property_readonly("weight_shape", &ConvSpec::weight_shape,
                               "(conv_out_channels, conv_in_channels/groups, kernel_size...): PyTorch's layout")
        .def_property_readonly("conv_input_size", &ConvSpec::conv_input_size, "spatial size of W's columns (the conv's input)")
        .def_property_readonly("conv_output_size", &ConvSpec::conv_output_size, "spatial size of W's rows (the conv's output)")
        .def_property_readonly("input_numel", &ConvSpec::input_numel, "elements of one input sample: prod(input_shape)")
        .def_property_readonly("output_numel", &ConvSpec::output_numel, "elements of one output sample: prod(output_shape)")
        .def("adjoint", &ConvSpec::adjoint, "the adjoint operation as a spec")
        .def("structural_nnz", [](const ConvSpec& s) { return structural_nnz(s); },
             "number of entries of W (exact unless zero entries are dropped)")
        .def("describe", &ConvSpec::describe, "one line with every parameter, e.g. for messages and reports")
        .def("__repr__", [](const ConvSpec& s) { return "<convmtx.ConvSpec " + s.describe() + ">"; });

    m.def(
        "make_conv",
        [](const Shape& input_shape, const Shape& weight_shape, const Dims& stride, const std::string& padding_kind,
           const Dims& padding_lo, const Dims& padding_hi, const Dims& dilation, index_t groups,
           const std::string& padding_mode, const std::string& convention) {
            ConvOptions o;
            o.stride = stride;
            o.padding = make_padding(padding_kind, padding_lo, padding_hi);
            o.dilation = dilation;
            o.groups = groups;
            o.padding_mode = parse_padding_mode(padding_mode);
            o.convention = parse_convention(convention);
            return make_conv(input_shape, weight_shape, o);
        },
        py::arg("input_shape"), py::arg("weight_shape"), py::arg("stride"), py::arg("padding_kind"),
        py::arg("padding_lo"), py::arg("padding_hi"), py::arg("dilation"), py::arg("groups"), py::arg("padding_mode"),
        py::arg("convention"));

    m.def(
        "make_conv_transpose",
        [](const Shape& input_shape, const Shape& weight_shape, const Dims& stride, const std::string& padding_kind,
           const Dims& padding_lo, const Dims& padding_hi, const std::optional<Dims>& output_padding, index_t groups,
           const Dims& dilation, const std::optional<Dims>& output_size, const std::string& convention,
           const std::optional<Dims>& target_shape) {
            ConvTransposeOptions o;
            o.stride = stride;
            o.padding = make_padding(padding_kind, padding_lo, padding_hi);
            o.output_padding = output_padding;
            o.groups = groups;
            o.dilation = dilation;
            o.output_size = output_size;
            o.convention = parse_convention(convention);
            o.target_shape = target_shape;
            return make_conv_transpose(input_shape, weight_shape, o);
        },
        py::arg("input_shape"), py::arg("weight_shape"), py::arg("stride"), py::arg("padding_kind"),
        py::arg("padding_lo"), py::arg("padding_hi"), py::arg("output_padding"), py::arg("groups"), py::arg("dilation"),
        py::arg("output_size"), py::arg("convention"), py::arg("target_shape") = std::nullopt);

    m.def("apply", &apply, py::arg("spec"), py::arg("weight"), py::arg("x"), py::arg("bias"), py::arg("method"),
          "The operation of spec on x (N, input_numel) C-contiguous, same dtype as weight: (N, output_numel).\n"
          "method: 'matrix' (y = M x with M built in C++), 'direct' (conv), 'scatter' or 'gather' (transposed).");
    m.def("build_matrix", &build_matrix, py::arg("spec"), py::arg("weight"), py::arg("transpose"),
          py::arg("index64"), py::arg("csc"), py::arg("drop_zeros"), py::arg("memory_limit") = 0.0,
          "(data, indices, indptr, shape) of W (transpose=False: rows = the conv's output) or T = W^T, sharing the\n"
          "memory of the C++ matrix (no copy). memory_limit: bytes (0 = the physical memory); a larger\n"
          "matrix raises MemoryLimitError before anything is allocated.");
    m.def(
        "write_file_atomic",
        [](const std::string& path, const py::bytes& data) {
            const std::string bytes = data;
            py::gil_scoped_release release;
            write_file_atomic(path, bytes);
        },
        py::arg("path"), py::arg("data"),
        "Writes data to path atomically (file.hpp: a new temporary file, fsync, rename; FIFOs and devices\n"
        "directly; the old file is kept when anything fails). OSError naming the path and the reason.");
    bind_taps(m);
}

}  // namespace convmtx::python
