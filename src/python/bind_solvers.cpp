// Bindings of the inverse-problem solvers (solvers.hpp, suitesparse.hpp) and the image
// helpers (image.hpp). Internal: the package convmtx.solvers normalises A (scipy matrix,
// LinearOperator or a pair of callables) into a CSR triple or two callables and calls these.
// Everything runs in float64 with the GIL held (callables and callbacks are Python).
#include <cstdint>
#include <string>

#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "convmtx/image.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/solvers.hpp"
#include "convmtx/suitesparse.hpp"

namespace py = pybind11;

namespace convmtx::python {

namespace {

using Op = LinearOperator<double>;
using CsrMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;
using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

CsrMatrix csr_matrix(index_t rows, index_t cols, const I64& indptr, const I64& indices, const F64& data) {
    if (rows < 0 || cols < 0) throw shape_error("matrix shape must be non-negative");
    if (indptr.size() != rows + 1)
        throw shape_error("indptr has " + std::to_string(indptr.size()) + " entries; expected rows + 1 = " +
                          std::to_string(rows + 1));
    const std::int64_t* p = indptr.data();
    const index_t nnz = p[rows];
    if (p[0] != 0 || nnz != static_cast<index_t>(indices.size()) || nnz != static_cast<index_t>(data.size()))
        throw shape_error("indptr[-1]=" + std::to_string(nnz) + " must equal len(indices)=" +
                          std::to_string(indices.size()) + " and len(data)=" + std::to_string(data.size()));
    std::vector<Eigen::Triplet<double, std::int64_t>> t;
    t.reserve(static_cast<size_t>(nnz));
    for (index_t r = 0; r < rows; ++r) {
        if (p[r + 1] < p[r]) throw shape_error("indptr must be non-decreasing (row " + std::to_string(r) + ")");
        for (index_t k = p[r]; k < p[r + 1]; ++k) {
            const std::int64_t c = indices.data()[k];
            if (c < 0 || c >= cols)
                throw shape_error("column index " + std::to_string(c) + " in row " + std::to_string(r) +
                                  " is outside [0, " + std::to_string(cols) + ")");
            t.emplace_back(r, c, data.data()[k]);
        }
    }
    CsrMatrix M(rows, cols);
    M.setFromTriplets(t.begin(), t.end());
    return M;
}

}  // namespace

std::shared_ptr<const LinearOperator<double>> make_op(py::object matrix, py::object matvec, py::object rmatvec,
                                                      index_t rows, index_t cols) {
    if (!matrix.is_none()) {
        auto tup = matrix.cast<py::tuple>();
        CsrMatrix M = csr_matrix(rows, cols, tup[0].cast<I64>(), tup[1].cast<I64>(), tup[2].cast<F64>());
        return std::make_shared<SparseOperator<double, Eigen::RowMajor, std::int64_t>>(std::move(M), Shape{cols},
                                                                                      Shape{rows}, "A");
    }
    auto wrap = [](py::object f, index_t out, const char* what) {
        return [f, out, what](const Eigen::Ref<const Batch<double>>& X) {
            Batch<double> Y(out, X.cols());
            for (index_t j = 0; j < X.cols(); ++j) {
                F64 in(X.rows());
                std::copy(X.col(j).data(), X.col(j).data() + X.rows(), in.mutable_data());
                F64 r = F64::ensure(f(in));
                if (!r) throw py::type_error(std::string(what) + " returned something that is not a float array");
                if (static_cast<index_t>(r.size()) != out)
                    throw shape_error(std::string(what) + " returned " + std::to_string(r.size()) + " values; expected " +
                                      std::to_string(out));
                std::copy(r.data(), r.data() + out, Y.col(j).data());
            }
            return Y;
        };
    };
    return std::make_shared<FunctionOperator<double>>(Shape{cols}, Shape{rows}, wrap(matvec, rows, "matvec"),
                                                      wrap(rmatvec, cols, "rmatvec"), "A");
}

namespace {

/// A Python callable (or None) as a ProgressCallback; its return value is ignored.
ProgressCallback progress_callback(py::object f) {
    if (f.is_none()) return {};
    return [f](const ProgressInfo& info) { f(ProgressInfo(info)); };  // a copy: Python may keep it
}

py::array_t<double> to_numpy(const Eigen::VectorXd& v) {
    py::array_t<double> a(v.size());
    std::copy(v.data(), v.data() + v.size(), a.mutable_data());
    return a;
}

Eigen::VectorXd from_numpy(const F64& a, const char* name) {
    if (a.ndim() != 1) throw shape_error(std::string(name) + " must be 1-D, got " + std::to_string(a.ndim()) + "-D");
    return Eigen::Map<const Eigen::VectorXd>(a.data(), a.size());
}

py::dict result_dict(const SolveResult<double>& r) {
    py::dict d;
    d["x"] = to_numpy(r.x);
    d["method"] = r.method;
    d["istop"] = r.istop;
    d["itn"] = r.iterations;
    d["r1norm"] = r.r1norm;
    d["r2norm"] = r.r2norm;
    d["anorm"] = r.anorm;
    d["acond"] = r.acond;
    d["arnorm"] = r.arnorm;
    d["xnorm"] = r.xnorm;
    d["residual_norm"] = r.residual_norm;
    d["penalty_norm"] = r.penalty_norm;
    d["damp"] = r.damp;
    d["gradient_weight"] = r.gradient_weight;
    d["residual_history"] = py::array_t<double>(r.residual_history.size(), r.residual_history.data());
    d["normal_residual_history"] =
        py::array_t<double>(r.normal_residual_history.size(), r.normal_residual_history.data());
    d["seconds"] = r.seconds;
    d["reason"] = r.reason();
    d["estimated_bytes"] = r.estimated_bytes;
    d["note"] = r.note;
    if (r.lambda_choice) d["lambda_choice"] = py::cast(*r.lambda_choice);
    else d["lambda_choice"] = py::none();
    if (r.step_norm) d["step_norm"] = py::cast(*r.step_norm);
    else d["step_norm"] = py::none();
    return d;
}

Image image_from(const py::array_t<float, py::array::c_style | py::array::forcecast>& a) {
    if (a.ndim() != 2) throw shape_error("image must be a 2-D array, got " + std::to_string(a.ndim()) + "-D");
    Image im(a.shape(0), a.shape(1));
    std::copy(a.data(), a.data() + a.size(), im.pixels.begin());
    return im;
}

py::array_t<float> image_to(const Image& im) {
    py::array_t<float> a({im.height, im.width});
    std::copy(im.pixels.begin(), im.pixels.end(), a.mutable_data());
    return a;
}

}  // namespace

void bind_solvers(py::module_& m) {
    static py::exception<memory_limit_error> mem_exc(m, "MemoryLimitError", PyExc_MemoryError);
    mem_exc.attr("__doc__") =
        "A problem whose estimated memory exceeds the limit (a MemoryError), refused before anything is allocated;\n"
        "estimated_bytes and limit_bytes give the numbers.";
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const memory_limit_error& e) {
            py::object exc = py::reinterpret_borrow<py::object>(mem_exc.ptr())(e.what());
            exc.attr("estimated_bytes") = e.estimated_bytes;
            exc.attr("limit_bytes") = e.limit_bytes;
            PyErr_SetObject(mem_exc.ptr(), exc.ptr());
        }
    });

    py::class_<IterationInfo>(m, "IterationInfo", "The state after one iteration, passed to callbacks.")
        .def_readonly("method", &IterationInfo::method)
        .def_readonly("iteration", &IterationInfo::iteration)
        .def_readonly("residual_norm", &IterationInfo::residual_norm)
        .def_readonly("normal_residual", &IterationInfo::normal_residual)
        .def_readonly("solution_norm", &IterationInfo::solution_norm)
        .def_readonly("iteration_limit", &IterationInfo::iteration_limit)
        .def_readonly("seconds", &IterationInfo::seconds)
        .def("__repr__", [](const IterationInfo& i) {
            return "<IterationInfo " + i.method + " " + std::to_string(i.iteration) +
                   " |r|=" + std::to_string(i.residual_norm) + ">";
        });

    py::class_<ProgressInfo>(m, "ProgressInfo",
                             "A step of the lambda search or a phase of a direct solver, passed to callbacks.")
        .def_readonly("task", &ProgressInfo::task)
        .def_readonly("phase", &ProgressInfo::phase)
        .def_readonly("step", &ProgressInfo::step)
        .def_readonly("steps", &ProgressInfo::steps)
        .def_readonly("value", &ProgressInfo::value)
        .def_readonly("seconds", &ProgressInfo::seconds)
        .def("__repr__", [](const ProgressInfo& p) {
            return "<ProgressInfo " + p.task + ": " + p.phase + " " + std::to_string(p.step) + "/" +
                   std::to_string(p.steps) + ">";
        });

    py::class_<NormBound>(m, "NormBound",
                          "sigma_max = ||A||_2 behind a step size or a lambda range, and how it was obtained:\n"
                          "sigma_max (as computed), upper (the value the steps use, >= sigma_max), sigma_min (NaN\n"
                          "unless the FFT gave every value), method, certified (upper >= ||A||_2 guaranteed), detail.")
        .def_readonly("sigma_max", &NormBound::sigma_max)
        .def_readonly("upper", &NormBound::upper)
        .def_readonly("sigma_min", &NormBound::sigma_min)
        .def_readonly("method", &NormBound::method)
        .def_readonly("certified", &NormBound::certified)
        .def_readonly("detail", &NormBound::detail)
        .def("__str__", &NormBound::str)
        .def("__repr__", [](const NormBound& b) { return "<NormBound " + b.str() + ">"; });

    py::class_<LambdaChoice>(m, "LambdaChoice", "The chosen regularization weight and the curve it came from.")
        .def_readonly("lam", &LambdaChoice::lambda)
        .def_property_readonly("regularizer", [](const LambdaChoice& c) { return to_string(c.regularizer); })
        .def_property_readonly("rule", [](const LambdaChoice& c) { return to_string(c.rule); })
        .def_readonly("target", &LambdaChoice::target)
        .def_readonly("lambdas", &LambdaChoice::lambdas)
        .def_readonly("residual_norms", &LambdaChoice::residual_norms)
        .def_readonly("penalty_norms", &LambdaChoice::penalty_norms)
        .def_readonly("criterion", &LambdaChoice::criterion)
        .def_readonly("note", &LambdaChoice::note)
        .def_readonly("norm", &LambdaChoice::norm)
        .def("__str__", &LambdaChoice::str)
        .def("__repr__", [](const LambdaChoice& c) { return "<LambdaChoice " + c.str() + ">"; });

    m.def(
        "solve_iterative",
        [](const std::string& method, py::object matrix, py::object matvec, py::object rmatvec, index_t rows,
           index_t cols, const F64& b, double damp, double gradient_weight, const Shape& gradient_shape,
           bool auto_lambda, const std::string& regularizer, const std::string& rule, double noise, double tau,
           double atol, double btol, double conlim, index_t iter_lim, double step, double lower, double upper,
           bool accelerate, py::object callback, py::object lambda_callback) {
            auto A = make_op(matrix, matvec, rmatvec, rows, cols);
            SolverOptions o;
            o.damp = damp;
            o.gradient_weight = gradient_weight;
            o.gradient_shape = gradient_shape;
            o.auto_lambda = auto_lambda;
            o.regularizer = parse_regularizer(regularizer);
            o.lambda.rule = parse_lambda_rule(rule);
            o.lambda.noise_sigma = noise;
            o.lambda.tau = tau;
            o.atol = atol;
            o.btol = btol;
            o.conlim = conlim;
            o.iter_lim = iter_lim;
            o.step = step;
            o.lower = lower;
            o.upper = upper;
            o.accelerate = accelerate;
            if (!callback.is_none())
                o.callback = [callback](const IterationInfo& info) {
                    py::object r = callback(IterationInfo(info));  // a copy: Python may keep it
                    return r.is_none() || r.cast<bool>();
                };
            o.lambda.callback = progress_callback(lambda_callback);
            const Eigen::VectorXd bv = from_numpy(b, "b");
            SolveResult<double> r;
            if (method == "lsqr") r = lsqr<double>(*A, bv, o);
            else if (method == "lsmr") r = lsmr<double>(*A, bv, o);
            else if (method == "cgls") r = cgls<double>(*A, bv, o);
            else if (method == "landweber") r = landweber<double>(*A, bv, o);
            else throw config_error("method='" + method + "' must be 'lsqr', 'lsmr', 'cgls' or 'landweber'");
            return result_dict(r);
        },
        py::arg("method"), py::arg("matrix"), py::arg("matvec"), py::arg("rmatvec"), py::arg("rows"), py::arg("cols"),
        py::arg("b"), py::arg("damp"), py::arg("gradient_weight"), py::arg("gradient_shape"), py::arg("auto_lambda"),
        py::arg("regularizer"), py::arg("rule"), py::arg("noise"), py::arg("tau"), py::arg("atol"), py::arg("btol"),
        py::arg("conlim"), py::arg("iter_lim"), py::arg("step"), py::arg("lower"), py::arg("upper"),
        py::arg("accelerate"), py::arg("callback"), py::arg("lambda_callback") = py::none());

    m.def(
        "choose_lambda",
        [](py::object matrix, py::object matvec, py::object rmatvec, index_t rows, index_t cols, const F64& b,
           const std::string& regularizer, const std::string& rule, double noise, double tau,
           const Shape& gradient_shape, py::object callback) {
            auto A = make_op(matrix, matvec, rmatvec, rows, cols);
            LambdaOptions lo;
            lo.rule = parse_lambda_rule(rule);
            lo.noise_sigma = noise;
            lo.tau = tau;
            lo.callback = progress_callback(callback);
            return choose_lambda<double>(*A, from_numpy(b, "b"), parse_regularizer(regularizer), lo, gradient_shape);
        },
        py::arg("matrix"), py::arg("matvec"), py::arg("rmatvec"), py::arg("rows"), py::arg("cols"), py::arg("b"),
        py::arg("regularizer"), py::arg("rule"), py::arg("noise"), py::arg("tau"), py::arg("gradient_shape"),
        py::arg("callback") = py::none());

    m.def(
        "solve_direct",
        [](const std::string& method, py::tuple csr, index_t rows, index_t cols, const F64& b, double damp,
           double gradient_weight, const Shape& gradient_shape, double memory_limit, bool estimate_only,
           py::object callback) -> py::object {
#if CONVMTX_WITH_SUITESPARSE
            Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t> M =
                csr_matrix(rows, cols, csr[0].cast<I64>(), csr[1].cast<I64>(), csr[2].cast<F64>());
            DirectOptions o;
            o.damp = damp;
            o.gradient_weight = gradient_weight;
            o.gradient_shape = gradient_shape.empty() ? Shape{1, cols} : gradient_shape;
            if (memory_limit > 0) o.memory_limit = memory_limit;
            o.callback = progress_callback(callback);
            if (estimate_only) {
                const DirectCost c = method == "spqr" ? estimate_spqr(M, o) : estimate_cholmod(M, o);
                py::dict d;
                d["bytes"] = c.bytes;
                d["flops"] = c.flops;
                d["factor_nnz"] = c.factor_nnz;
                d["detail"] = c.detail;
                return std::move(d);
            }
            const Eigen::VectorXd bv = from_numpy(b, "b");
            if (method == "spqr") return result_dict(solve_spqr(M, bv, o));
            if (method == "cholmod") return result_dict(solve_cholmod(M, bv, o));
            throw config_error("method='" + method + "' must be 'spqr' or 'cholmod'");
#else
            (void)csr, (void)rows, (void)cols, (void)b, (void)damp, (void)gradient_weight, (void)gradient_shape,
                (void)memory_limit, (void)estimate_only, (void)callback;
            throw config_error("method='" + method + "' needs the SuiteSparse component: this convmtx was built "
                               "with CONVMTX_WITH_SUITESPARSE=OFF");
#endif
        },
        py::arg("method"), py::arg("csr"), py::arg("rows"), py::arg("cols"), py::arg("b"), py::arg("damp"),
        py::arg("gradient_weight"), py::arg("gradient_shape"), py::arg("memory_limit"), py::arg("estimate_only"),
        py::arg("callback") = py::none());

    m.def("default_memory_limit", &default_memory_limit);
    m.def("parse_memory_size", &parse_memory_size, py::arg("text"));
    m.def(
        "gradient_matrix",
        [](const Shape& shape) {
            const auto D = gradient_matrix<double>(shape);
            py::array_t<std::int64_t> indptr(D.rows() + 1), indices(D.nonZeros());
            py::array_t<double> data(D.nonZeros());
            for (index_t i = 0; i <= D.rows(); ++i) indptr.mutable_data()[i] = D.outerIndexPtr()[i];
            for (index_t k = 0; k < D.nonZeros(); ++k) {
                indices.mutable_data()[k] = D.innerIndexPtr()[k];
                data.mutable_data()[k] = D.valuePtr()[k];
            }
            return py::make_tuple(data, indices, indptr, py::make_tuple(D.rows(), D.cols()));
        },
        py::arg("shape"));

    // Images: float32 2-D arrays in [0, 1].
    m.def(
        "read_image", [](const std::string& path) { return image_to(read_image(path)); }, py::arg("path"));
    m.def(
        "write_image",
        [](const std::string& path, const py::array_t<float, py::array::c_style | py::array::forcecast>& a, int bits) {
            write_image(path, image_from(a), bits);
        },
        py::arg("path"), py::arg("image"), py::arg("bits") = 8);
    m.def(
        "shepp_logan", [](index_t n, index_t ss) { return image_to(shepp_logan(n, ss)); }, py::arg("n") = 128,
        py::arg("supersample") = 4);
    m.def(
        "gaussian_kernel",
        [](index_t size, double sigma) {
            const auto g = gaussian_kernel(size, sigma);
            py::array_t<double> a({size, size});
            std::copy(g.begin(), g.end(), a.mutable_data());
            return a;
        },
        py::arg("size"), py::arg("sigma"));
}

}  // namespace convmtx::python
