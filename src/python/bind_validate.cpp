// Bindings of the kernel validation (validate.hpp, jacobian.hpp): check_kernel and to_sparse on Python
// callables. The callables run with the GIL held; their exceptions propagate unchanged.
// The public API is convmtx.validate (check_kernel, to_sparse, dot_test).
#include <cstdint>
#include <optional>
#include <string>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convmtx/validate.hpp"

namespace py = pybind11;

namespace convmtx::python {

namespace {

std::string shape_text(const Shape& s) {
    std::string t = "(";
    for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + (s.size() == 1 ? ",)" : ")");
}

index_t numel(const Shape& s) {
    index_t n = 1;
    for (auto v : s) n *= v;
    return n;
}

// A Python callable as a KernelFn: batched (N, *in_shape) -> (N, *out_shape), or one sample at a time.
template <class Scalar>
KernelFn<Scalar> wrap(py::function f, Shape in_shape, Shape out_shape, bool batched, std::string what,
                      std::function<std::string(const Shape&)> hint = {}) {
    return [f, in_shape, out_shape, batched, what, hint](const Eigen::Ref<const Batch<Scalar>>& X) {
        const index_t in = numel(in_shape), out = numel(out_shape), n = X.cols();
        Batch<Scalar> Y(out, n);
        auto to_batch = [&](py::handle result, index_t first, index_t count) {
            py::array r = py::module_::import("numpy").attr("asarray")(result);
            if (static_cast<index_t>(r.size()) != count * out || (batched && (r.ndim() < 1 || r.shape(0) != count))) {
                Shape got(r.shape(), r.shape() + r.ndim());
                Shape want = out_shape;
                if (batched) want.insert(want.begin(), count);
                throw shape_error(what + " returned an array of shape " + shape_text(got) + " for " +
                                  (batched ? "a batch of shape " + shape_text([&] {
                                      Shape s = in_shape;
                                      s.insert(s.begin(), count);
                                      return s;
                                  }())
                                           : "an input of shape " + shape_text(in_shape)) +
                                  "; expected " + shape_text(want) + [&]() -> std::string {
                                      if (!hint || r.ndim() < 1) return "";
                                      const Shape sample(got.begin() + (batched ? 1 : 0), got.end());
                                      const std::string h = hint(sample);
                                      return h.empty() ? "" : ". " + h;
                                  }());
            }
            auto c = py::array_t<Scalar, py::array::c_style | py::array::forcecast>::ensure(r);
            if (!c) throw py::type_error(what + " returned an array that cannot be converted to floating point");
            std::copy(c.data(), c.data() + count * out, Y.data() + first * out);
        };
        if (batched) {
            Shape s = in_shape;
            s.insert(s.begin(), n);
            py::array_t<Scalar> x(s);
            std::copy(X.data(), X.data() + n * in, x.mutable_data());  // column-major block = C-order (N, in)
            to_batch(f(x), 0, n);
        } else {
            for (index_t b = 0; b < n; ++b) {
                py::array_t<Scalar> x(in_shape);
                std::copy(X.data() + b * in, X.data() + (b + 1) * in, x.mutable_data());
                to_batch(f(x), b, 1);
            }
        }
        return Y;
    };
}

template <class Scalar>
KernelReport check_typed(py::function kernel, const ConvSpec& spec, const py::array& weight,
                         std::optional<py::function> adjoint, const CheckOptions& opt) {
    if (!(weight.flags() & py::array::c_style) || static_cast<index_t>(weight.size()) != spec.weight_numel())
        throw shape_error("weight has " + std::to_string(weight.size()) + " values; the configuration needs " +
                          std::to_string(spec.weight_numel()) + " = prod" + shape_text(spec.weight_shape()) +
                          " in C order");
    const span<const Scalar> w(static_cast<const Scalar*>(weight.data()), static_cast<size_t>(weight.size()));
    const KernelFn<Scalar> f = wrap<Scalar>(kernel, spec.input_shape(), spec.output_shape(), true, "kernel",
                                            [spec](const Shape& got) { return explain_output_shape(spec, got); });
    KernelFn<Scalar> a;
    if (adjoint) a = wrap<Scalar>(*adjoint, spec.output_shape(), spec.input_shape(), true, "adjoint");
    return check_kernel<Scalar>(spec, w, f, a, opt);
}

template <class Scalar>
py::tuple sparse_typed(py::function forward, const Shape& in_shape, const Shape& out_shape, py::object pattern,
                       bool batched, const ProbeOptions& opt) {
    const KernelFn<Scalar> f = wrap<Scalar>(forward, in_shape, out_shape, batched, "forward");
    FunctionOperator<Scalar> op(in_shape, out_shape, f, nullptr, "forward");
    Materialized<Scalar> M;
    if (pattern.is_none()) {
        M = to_sparse<Scalar>(op, opt);
    } else if (py::isinstance<ConvSpec>(pattern)) {
        const ConvSpec spec = pattern.cast<ConvSpec>();
        const bool adjoint = spec.input_shape() != in_shape && spec.output_shape() == in_shape &&
                             spec.input_shape() == out_shape;
        if (!adjoint && (spec.input_shape() != in_shape || spec.output_shape() != out_shape))
            throw shape_error("pattern " + spec.describe() + " maps " + shape_text(spec.input_shape()) + " -> " +
                              shape_text(spec.output_shape()) + " but the operator maps " + shape_text(in_shape) +
                              " -> " + shape_text(out_shape));
        M = to_sparse<Scalar>(op, spec, opt, adjoint);
    } else {
        // (indptr, indices, rows, cols) of a CSR pattern, prepared by the Python layer.
        auto t = pattern.cast<py::tuple>();
        SparsityPattern<std::int64_t> P;
        P.outer = t[0].cast<std::vector<std::int64_t>>();
        P.inner = t[1].cast<std::vector<std::int64_t>>();
        P.rows = t[2].cast<index_t>();
        P.cols = t[3].cast<index_t>();
        M = to_sparse<Scalar>(op, P, opt);
    }
    auto* J = new ProbeMatrix<Scalar>();
    J->swap(M.matrix);
    J->makeCompressed();
    py::capsule cap(J, [](void* p) { delete static_cast<ProbeMatrix<Scalar>*>(p); });
    const auto nnz = static_cast<py::ssize_t>(J->nonZeros());
    py::array_t<Scalar> data(nnz, J->valuePtr(), cap);
    py::array_t<std::int64_t> indices(nnz, J->innerIndexPtr(), cap);
    py::array_t<std::int64_t> indptr(static_cast<py::ssize_t>(J->rows()) + 1, J->outerIndexPtr(), cap);
    return py::make_tuple(data, indices, indptr, py::make_tuple(J->rows(), J->cols()), M.stats);
}

ProbeOptions probe_options(index_t margin, index_t batch, int verify_samples, double rtol, std::uint64_t seed) {
    ProbeOptions o;
    o.margin = margin;
    o.batch = batch;
    o.verify_samples = verify_samples;
    o.rtol = rtol;
    o.seed = seed;
    return o;
}

}  // namespace

void bind_validate(py::module_& m) {
    py::class_<ProbeStats>(m, "ProbeStats", "How a Jacobian was recovered by colored probing.")
        .def_readonly("probes", &ProbeStats::probes, "probe inputs evaluated (all levels)")
        .def_readonly("calls", &ProbeStats::calls, "kernel calls for them (probes go in batches)")
        .def_readonly("first_colors", &ProbeStats::first_colors, "size of the first coloring")
        .def_readonly("verify_samples", &ProbeStats::verify_samples)
        .def_readonly("levels", &ProbeStats::levels, "colorings used (1: the first one was exact)")
        .def_readonly("verified", &ProbeStats::verified, "kernel(X) = J X on random inputs")
        .def_readonly("verify_error", &ProbeStats::verify_error)
        .def_readonly("nonfinite", &ProbeStats::nonfinite,
                      "the first NaN or infinite result (probing stopped there), '' when every result was finite")
        .def_readonly("log", &ProbeStats::log)
        .def("__str__", &ProbeStats::str)
        .def("__repr__", [](const ProbeStats& s) { return "<convmtx.ProbeStats " + s.str() + ">"; });

    py::class_<BugFinding>(m, "BugFinding", "A typical bug whose matrix equals (or nearly equals) the kernel's.")
        .def_readonly("name", &BugFinding::name)
        .def_readonly("message", &BugFinding::message)
        .def_readonly("remaining", &BugFinding::remaining, "entries the bug model still gets wrong (0: exact)")
        .def("__repr__", [](const BugFinding& f) { return "<convmtx.BugFinding " + f.name + ": " + f.message + ">"; });

    py::class_<DotTestReport>(m, "CoreDotTestReport")
        .def_readonly("error", &DotTestReport::error)
        .def_readonly("rtol", &DotTestReport::rtol)
        .def_readonly("passed", &DotTestReport::passed)
        .def_readonly("failure", &DotTestReport::failure, "'trial t: ...' for the first NaN or infinite value, or ''")
        .def("__str__", &DotTestReport::str);

    py::class_<KernelReport>(m, "KernelReport",
                             "Result of check_kernel: passed, probes, the differing entries and the diagnosis.")
        .def_readonly("passed", &KernelReport::passed)
        .def_property_readonly("probes", &KernelReport::probes, "kernel evaluations (probe inputs) the Jacobian took")
        .def_property_readonly("calls", [](const KernelReport& r) { return r.probe.calls; },
                               "kernel calls for the probes (they are passed in batches)")
        .def_readonly("probe", &KernelReport::probe)
        .def_readonly("spec", &KernelReport::spec)
        .def_readonly("random_error", &KernelReport::random_error)
        .def_readonly("zero_response", &KernelReport::zero_response)
        .def_readonly("nnz_reference", &KernelReport::nnz_reference)
        .def_readonly("nnz_kernel", &KernelReport::nnz_kernel)
        .def_readonly("missing", &KernelReport::missing)
        .def_readonly("extra", &KernelReport::extra)
        .def_readonly("wrong_weight", &KernelReport::wrong_weight)
        .def_readonly("max_entry_error", &KernelReport::max_entry_error)
        .def_readonly("wrong_rows", &KernelReport::wrong_rows, "flat output indices with a differing entry")
        .def_readonly("wrong_cols", &KernelReport::wrong_cols, "flat input indices with a differing entry")
        .def_readonly("wrong_taps", &KernelReport::wrong_taps, "flat weight indices missing or with a wrong weight")
        .def_readonly("findings", &KernelReport::findings, "typical bugs that explain the differences, best first")
        .def_property_readonly("diffs",
                               [](const KernelReport& r) {
                                   py::list out;
                                   for (const auto& d : r.diffs) {
                                       const char* k = d.kind == EntryDiff::Kind::missing ? "missing"
                                                       : d.kind == EntryDiff::Kind::extra ? "extra"
                                                                                          : "wrong_weight";
                                       out.append(py::make_tuple(k, d.row, d.col, d.actual, d.expected, d.tap));
                                   }
                                   return out;
                               },
                               "(kind, output index, input index, kernel value, expected value, tap) per entry")
        .def_readonly("lines", &KernelReport::lines)
        .def_readonly("has_adjoint", &KernelReport::has_adjoint)
        .def_readonly("adjoint_passed", &KernelReport::adjoint_passed)
        .def_readonly("adjoint_mismatches", &KernelReport::adjoint_mismatches)
        .def_readonly("dot", &KernelReport::dot)
        .def("__str__", &KernelReport::str)
        .def("__repr__", [](const KernelReport& r) {
            return std::string("<convmtx.KernelReport ") + (r.passed ? "PASSED" : "FAILED") + ", " +
                   std::to_string(r.probes()) + " probes>";
        });

    m.def(
        "check_kernel",
        [](py::function kernel, const ConvSpec& spec, const py::array& weight, std::optional<py::function> adjoint,
           index_t margin, index_t batch, int random_inputs, double rtol, std::uint64_t seed, index_t max_listed) {
            CheckOptions opt;
            opt.probe = probe_options(margin, batch, 2, 0, seed);
            opt.random_inputs = random_inputs;
            opt.rtol = rtol;
            opt.max_listed = max_listed;
            return scalar_kind(weight, "weight") == 'f' ? check_typed<float>(kernel, spec, weight, adjoint, opt)
                                                    : check_typed<double>(kernel, spec, weight, adjoint, opt);
        },
        py::arg("kernel"), py::arg("spec"), py::arg("weight"), py::arg("adjoint"), py::arg("margin"),
        py::arg("batch"), py::arg("random_inputs"), py::arg("rtol"), py::arg("seed"), py::arg("max_listed"));

    m.def(
        "to_sparse",
        [](py::function forward, const Shape& in_shape, const Shape& out_shape, py::object pattern, bool batched,
           const std::string& dtype, index_t margin, index_t batch, double rtol, std::uint64_t seed) {
            const ProbeOptions opt = probe_options(margin, batch, 2, rtol, seed);
            if (dtype == "float32") return sparse_typed<float>(forward, in_shape, out_shape, pattern, batched, opt);
            if (dtype == "float64") return sparse_typed<double>(forward, in_shape, out_shape, pattern, batched, opt);
            throw py::type_error("dtype='" + dtype + "' must be float32 or float64");
        },
        py::arg("forward"), py::arg("in_shape"), py::arg("out_shape"), py::arg("pattern"), py::arg("batched"),
        py::arg("dtype"), py::arg("margin"), py::arg("batch"), py::arg("rtol"), py::arg("seed"),
        "(data, indices, indptr, shape, stats) of the operator's matrix (CSR, int64 indices).");

    m.def("probe_bound", &probe_bound, py::arg("spec"), py::arg("margin") = 1, py::arg("adjoint") = false);
    m.def("probe_colors", &probe_colors, py::arg("spec"), py::arg("margin") = 1, py::arg("adjoint") = false);
}

}  // namespace convmtx::python
