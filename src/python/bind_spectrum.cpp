// Bindings of the spectrum (spectrum.hpp) and the checkerboard levels (checkerboard.hpp).
// Internal: the package convmtx.spectrum turns its arguments into a ConvSpec with a float64
// weight, or an operator (CSR triple or two callables, as the solvers do), and calls these.
// With convmtx::suitesparse built, the smallest values use CHOLMOD's shift-invert.
#include <cstdint>
#include <limits>
#include <string>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convmtx/checkerboard.hpp"
#include "convmtx/spectrum.hpp"
#if CONVMTX_WITH_SUITESPARSE
#include "convmtx/spectrum_cholmod.hpp"
#endif

namespace py = pybind11;

namespace convmtx::python {

namespace {

using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;

py::array_t<double> to_numpy(const std::vector<double>& v) {
    py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
    std::copy(v.begin(), v.end(), a.mutable_data());
    return a;
}

span<const double> weight_span(const F64& w) { return {w.data(), static_cast<size_t>(w.size())}; }

SpectrumOptions options(index_t k, const std::string& which, const std::string& method, double tol, double memory_limit,
                        bool frequency_map, py::object callback) {
    SpectrumOptions o;
    o.k = k;
    o.which = parse_spectrum_side(which);
    o.method = parse_spectrum_method(method);
    o.tol = tol;
    o.memory_limit = memory_limit;
    o.frequency_map = frequency_map;
#if CONVMTX_WITH_SUITESPARSE
    o.shift_invert = cholmod_shift_invert;
#endif
    if (!callback.is_none())
        o.progress = [callback](const SpectrumProgress& p) { callback(p.stage, p.done, p.total); };
    return o;
}

py::dict spectrum_dict(const Spectrum& s) {
    py::dict d;
    d["values"] = to_numpy(s.values);
    d["residuals"] = to_numpy(s.residuals);
    d["method"] = to_string(s.method);
    d["detail"] = s.detail;
    d["rows"] = s.rows;
    d["cols"] = s.cols;
    d["count"] = s.count;
    d["complete"] = s.complete;
    d["zero_threshold"] = s.zero_threshold;
    d["zeros"] = s.zeros();
    d["restarts"] = s.restarts;
    d["products"] = s.products;
    d["frequency_shape"] = s.frequency_shape;
    d["frequency_max"] = to_numpy(s.frequency_max);
    return d;
}

py::dict norm_dict(const OperatorNorm& n) {
    py::dict d;
    d["value"] = n.value;
    d["residual"] = n.residual;
    d["upper_bound"] = n.upper_bound;
    d["bound_detail"] = n.bound_detail;
    d["method"] = to_string(n.method);
    d["detail"] = n.detail;
    return d;
}

py::dict cond_dict(const Conditioning& c) {
    py::dict d;
    d["sigma_max"] = c.sigma_max;
    d["sigma_min"] = c.sigma_min;
    d["condition"] = c.condition;
    d["count"] = c.count;
    d["rows"] = c.rows;
    d["cols"] = c.cols;
    d["zeros"] = c.zeros;
    d["zeros_exact"] = c.zeros_exact;
    d["rank"] = c.rank();
    d["nullity"] = c.nullity();
    d["residual_max"] = c.residual_max;
    d["residual_min"] = c.residual_min;
    d["method"] = to_string(c.method);
    d["detail"] = c.detail;
    return d;
}

py::dict checkerboard_dict(const CheckerboardReport& r) {
    py::dict d;
    d["stride"] = r.stride;
    d["channels"] = r.channels;
    d["levels"] = to_numpy(r.levels);
    d["channel_spread"] = to_numpy(r.channel_spread);
    d["spread"] = r.spread;
    d["worst_channel"] = r.worst_channel;
    d["free"] = r.free;
    d["verdict"] = r.verdict;
    return d;
}

}  // namespace

void bind_spectrum(py::module_& m) {
    // (spec, weight) or (matrix triple / matvec, rmatvec, rows, cols): the subject of every call.
    m.def(
        "spectrum",
        [](std::optional<ConvSpec> spec, F64 weight, py::object matrix, py::object matvec, py::object rmatvec,
           index_t rows, index_t cols, index_t k, const std::string& which, const std::string& method, double tol,
           double memory_limit, bool frequency_map, py::object callback) {
            const SpectrumOptions o = options(k, which, method, tol, memory_limit, frequency_map, callback);
            if (spec) return spectrum_dict(singular_values<double>(*spec, weight_span(weight), o));
            return spectrum_dict(singular_values<double>(*make_op(matrix, matvec, rmatvec, rows, cols), o));
        },
        py::arg("spec"), py::arg("weight"), py::arg("matrix"), py::arg("matvec"), py::arg("rmatvec"), py::arg("rows"),
        py::arg("cols"), py::arg("k"), py::arg("which"), py::arg("method"), py::arg("tol"), py::arg("memory_limit"),
        py::arg("frequency_map"), py::arg("callback"),
        "Singular values of W (spec and weight) or of an operator, as a dict (spectrum.hpp's Spectrum).");
    m.def(
        "opnorm",
        [](std::optional<ConvSpec> spec, F64 weight, py::object matrix, py::object matvec, py::object rmatvec,
           index_t rows, index_t cols, const std::string& method, double tol, double memory_limit, bool certify,
           py::object callback) {
            const SpectrumOptions o = options(0, "largest", method, tol, memory_limit, false, callback);
            if (spec) return norm_dict(operator_norm<double>(*spec, weight_span(weight), o, certify));
            return norm_dict(operator_norm<double>(*make_op(matrix, matvec, rmatvec, rows, cols), o, certify));
        },
        py::arg("spec"), py::arg("weight"), py::arg("matrix"), py::arg("matvec"), py::arg("rmatvec"), py::arg("rows"),
        py::arg("cols"), py::arg("method"), py::arg("tol"), py::arg("memory_limit"), py::arg("certify"),
        py::arg("callback"), "sigma_1 of W or of an operator, with a certified upper bound when asked (a dict).");
    m.def(
        "cond",
        [](std::optional<ConvSpec> spec, F64 weight, py::object matrix, py::object matvec, py::object rmatvec,
           index_t rows, index_t cols, const std::string& method, double tol, double memory_limit, py::object callback) {
            const SpectrumOptions o = options(0, "largest", method, tol, memory_limit, false, callback);
            if (spec) return cond_dict(condition_number<double>(*spec, weight_span(weight), o));
            return cond_dict(condition_number<double>(*make_op(matrix, matvec, rmatvec, rows, cols), o));
        },
        py::arg("spec"), py::arg("weight"), py::arg("matrix"), py::arg("matvec"), py::arg("rmatvec"), py::arg("rows"),
        py::arg("cols"), py::arg("method"), py::arg("tol"), py::arg("memory_limit"), py::arg("callback"),
        "sigma_1, sigma_p and their ratio for W or an operator (a dict).");
    m.def(
        "reshaped_weight_norm",
        [](F64 weight, const Shape& shape, int dim) { return reshaped_weight_norm<double>(weight_span(weight), shape, dim); },
        py::arg("weight"), py::arg("shape"), py::arg("dim"),
        "sigma_1 of the weight reshaped to (shape[dim], numel / shape[dim]).");
    m.def(
        "checkerboard",
        [](F64 weight, const Shape& shape, const Dims& stride, const Dims& dilation, const Dims& padding, index_t groups) {
            return checkerboard_dict(checkerboard<double>(weight_span(weight), shape, stride, dilation, padding, groups));
        },
        py::arg("weight"), py::arg("shape"), py::arg("stride"), py::arg("dilation"), py::arg("padding"), py::arg("groups"),
        "Levels of a transposed conv's all-ones response per output channel and phase (a dict).");
    m.def(
        "checkerboard_spec",
        [](const ConvSpec& spec, F64 weight) { return checkerboard_dict(checkerboard<double>(spec, weight_span(weight))); },
        py::arg("spec"), py::arg("weight"), "Checkerboard levels of a configuration (a dict).");
}

}  // namespace convmtx::python
