// SPQR and CHOLMOD least-squares solvers with a memory estimate before factorizing.
#include "convmtx/suitesparse.hpp"

#include <unistd.h>

#include <SuiteSparseQR.hpp>
#include <cholmod.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

#include "convmtx/detail/cholmod_common.hpp"
#include "convmtx/detail/solver_common.hpp"

namespace convmtx {

double default_memory_limit() {
    const double four = 4.0 * 1024 * 1024 * 1024;
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) return std::min(four, 0.5 * static_cast<double>(pages) * static_cast<double>(page));
    return four;
}

double parse_memory_size(const std::string& text) {
    size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(text, &pos);
    } catch (const std::exception&) {
        pos = 0;
    }
    std::string unit = text.substr(pos);
    for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();
    if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();
    double mul = 0;
    if (unit.empty() || unit == "B") mul = 1;
    else if (unit == "K") mul = 1024.0;
    else if (unit == "M") mul = 1024.0 * 1024;
    else if (unit == "G") mul = 1024.0 * 1024 * 1024;
    else if (unit == "T") mul = 1024.0 * 1024 * 1024 * 1024;
    if (pos == 0 || mul == 0 || !(v > 0) || std::isinf(v))
        throw config_error("memory limit '" + text + "' must be a positive size such as 512M, 2G or 1000000 (bytes)");
    return v * mul;
}

namespace detail {
namespace {

using Clock = SolverClock;

using Common = detail::CholmodCommon;

cholmod_sparse view(SparseD& M, int stype) {
    M.makeCompressed();
    cholmod_sparse s{};
    s.nrow = static_cast<size_t>(M.rows());
    s.ncol = static_cast<size_t>(M.cols());
    s.nzmax = static_cast<size_t>(M.nonZeros());
    s.p = M.outerIndexPtr();
    s.i = M.innerIndexPtr();
    s.nz = nullptr;
    s.x = M.valuePtr();
    s.z = nullptr;
    s.stype = stype;
    s.itype = CHOLMOD_LONG;
    s.xtype = CHOLMOD_REAL;
    s.dtype = CHOLMOD_DOUBLE;
    s.sorted = 1;
    s.packed = 1;
    return s;
}

cholmod_dense view(Eigen::VectorXd& v) {
    cholmod_dense d{};
    d.nrow = static_cast<size_t>(v.size());
    d.ncol = 1;
    d.nzmax = static_cast<size_t>(v.size());
    d.d = static_cast<size_t>(v.size());
    d.x = v.data();
    d.z = nullptr;
    d.xtype = CHOLMOD_REAL;
    d.dtype = CHOLMOD_DOUBLE;
    return d;
}

void check_options(const SparseD& A, const DirectOptions& o, const char* method) {
    auto bad = [&](const std::string& name, double v, const char* rule) {
        throw config_error(std::string(method) + ": " + name + "=" + std::to_string(v) + " " + rule);
    };
    if (!(o.damp >= 0) || std::isinf(o.damp)) bad("damp", o.damp, "must be finite and >= 0");
    if (!(o.gradient_weight >= 0) || std::isinf(o.gradient_weight))
        bad("gradient_weight", o.gradient_weight, "must be finite and >= 0");
    if (!(o.memory_limit > 0)) bad("memory_limit", o.memory_limit, "must be > 0 bytes");
    if (o.gradient_weight > 0) {
        const Shape& s = o.gradient_shape;
        index_t n = s.empty() ? 0 : 1;
        for (auto v : s) n *= v;
        if (n != A.cols())
            throw shape_error(std::string(method) + ": gradient_shape (" + to_string(s, "x") + ") has " +
                              std::to_string(n) + " entries but A has " + std::to_string(A.cols()) + " columns");
    }
}

/// [A; damp I; mu D] as one column-major matrix.
SparseD stacked(const SparseD& A, const DirectOptions& o) {
    if (o.damp == 0 && o.gradient_weight == 0) return A;
    const index_t m = A.rows(), n = A.cols();
    std::vector<Eigen::Triplet<double, std::int64_t>> t;
    t.reserve(static_cast<size_t>(A.nonZeros() + n));
    for (index_t j = 0; j < A.outerSize(); ++j)
        for (SparseD::InnerIterator it(A, j); it; ++it) t.emplace_back(it.row(), it.col(), it.value());
    index_t rows = m;
    if (o.damp > 0) {
        for (index_t j = 0; j < n; ++j) t.emplace_back(rows + j, j, o.damp);
        rows += n;
    }
    if (o.gradient_weight > 0) {
        const auto D = gradient_matrix<double>(o.gradient_shape);
        for (index_t i = 0; i < D.outerSize(); ++i)
            for (Eigen::SparseMatrix<double, Eigen::RowMajor, int>::InnerIterator it(D, i); it; ++it)
                t.emplace_back(rows + it.row(), it.col(), o.gradient_weight * it.value());
        rows += D.rows();
    }
    SparseD M(rows, n);
    M.setFromTriplets(t.begin(), t.end());
    return M;
}

[[noreturn]] void refuse(const char* method, const DirectCost& cost, double limit) {
    std::ostringstream os;
    os << method << ": the factorization needs an estimated " << format_bytes(cost.bytes) << " (" << cost.detail
       << "), over the memory limit of " << format_bytes(limit)
       << " (memory_limit / --memory-limit); raise the limit or use the iterative LSQR (--method lsqr), "
          "which needs only A and a few vectors";
    throw memory_limit_error(os.str(), cost.bytes, limit);
}

DirectCost spqr_cost(SparseD& M, Common& cc) {
    cholmod_sparse Ms = view(M, 0);
    SuiteSparseQR_factorization<double>* QR =
        SuiteSparseQR_symbolic<double>(SPQR_ORDERING_DEFAULT, true, &Ms, &cc.c);
    if (!QR || !QR->QRsym)
        throw std::runtime_error("SPQR symbolic analysis failed (CHOLMOD status " + std::to_string(cc.c.status) + ")");
    const spqr_symbolic* S = QR->QRsym;
    // Entries of R: front f holds an upper trapezoid of fp pivot rows and fn columns.
    double rnz = 0;
    for (SuiteSparse_long f = 0; f < S->nf; ++f) {
        const double fp = static_cast<double>(S->Super[f + 1] - S->Super[f]);
        const double fn = static_cast<double>(S->Rp[f + 1] - S->Rp[f]);
        rnz += fp * fn - fp * (fp - 1) / 2;
    }
    DirectCost cost;
    cost.factor_nnz = rnz;
    cost.flops = cc.c.SPQR_flopcount_bound;
    const double stack = 8.0 * static_cast<double>(S->maxstack);
    const double input = 16.0 * static_cast<double>(M.nonZeros()) + 8.0 * static_cast<double>(M.cols() + M.rows());
    const double symbolic = 8.0 * static_cast<double>(S->rjsize + 2 * M.rows() + 2 * M.cols() + 5 * S->nf);
    cost.bytes = stack + 2 * input + symbolic;
    SuiteSparseQR_free<double>(&QR, &cc.c);
    std::ostringstream os;
    os << "SPQR frontal stack " << format_bytes(stack) << " holding R with " << static_cast<long long>(rnz)
       << " entries, a copy of the " << M.rows() << "x" << M.cols() << " matrix with " << M.nonZeros()
       << " entries, symbolic " << format_bytes(symbolic);
    cost.detail = os.str();
    return cost;
}

/// Entries of the lower triangle of M^T M, counted without forming it.
double count_normal_lower(const SparseD& M) {
    const Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t> R = M;
    std::vector<std::int64_t> mark(static_cast<size_t>(M.cols()), -1);
    double count = 0;
    for (index_t j = 0; j < M.cols(); ++j)
        for (SparseD::InnerIterator it(M, j); it; ++it)
            for (decltype(R)::InnerIterator jt(R, it.row()); jt; ++jt)
                if (jt.col() >= j && mark[static_cast<size_t>(jt.col())] != j) {
                    mark[static_cast<size_t>(jt.col())] = j;
                    ++count;
                }
    return count;
}

struct CholmodState {
    SparseD N;  // lower triangle of M^T M
    cholmod_factor* L = nullptr;
    DirectCost cost;
};

/// Counts, forms N and analyzes it; refuses over the limit (before forming N when N alone is too big).
void cholmod_analyze(const SparseD& M, const DirectOptions& o, Common& cc, CholmodState& st, bool enforce) {
    const double nnz_lower = count_normal_lower(M);
    const double n = static_cast<double>(M.cols());
    const double input = 16.0 * static_cast<double>(M.nonZeros()) + 8.0 * (n + static_cast<double>(M.rows()));
    // M^T M is formed in full (2 nnz_lower - n entries) and then its lower triangle is kept.
    const double normal_bytes = 16.0 * (2 * nnz_lower - n) + 16.0 * nnz_lower + 16.0 * n;
    st.cost.bytes = 2 * input + normal_bytes;
    {
        std::ostringstream os;
        os << "A^T A + ... with " << static_cast<long long>(2 * nnz_lower - n) << " entries: "
           << format_bytes(normal_bytes);
        st.cost.detail = os.str();
    }
    if (enforce && st.cost.bytes > o.memory_limit) refuse("solve_cholmod", st.cost, o.memory_limit);
    const SparseD full = M.transpose() * M;
    st.N = full.triangularView<Eigen::Lower>();
    cholmod_sparse Ns = view(st.N, -1);
    st.L = cholmod_l_analyze(&Ns, &cc.c);
    if (!st.L) throw std::runtime_error("CHOLMOD analysis failed (status " + std::to_string(cc.c.status) + ")");
    double fbytes, fnnz;
    if (st.L->is_super) {
        fnnz = static_cast<double>(st.L->xsize);
        fbytes = 8.0 * static_cast<double>(st.L->xsize) + 8.0 * static_cast<double>(st.L->ssize) + 8.0 * 4 * n;
    } else {
        fnnz = cc.c.lnz;
        fbytes = 16.0 * cc.c.lnz + 8.0 * 4 * n;
    }
    st.cost.factor_nnz = fnnz;
    st.cost.flops = cc.c.fl;
    st.cost.bytes = 2 * input + 16.0 * static_cast<double>(st.N.nonZeros()) + std::max(fbytes, normal_bytes);
    std::ostringstream os;
    os << (st.L->is_super ? "supernodal" : "simplicial") << " Cholesky factor L with "
       << static_cast<long long>(fnnz) << " entries: " << format_bytes(fbytes) << "; " << st.cost.detail;
    st.cost.detail = os.str();
    if (enforce && st.cost.bytes > o.memory_limit) {
        cholmod_l_free_factor(&st.L, &cc.c);
        refuse("solve_cholmod", st.cost, o.memory_limit);
    }
}

SolveResult<double> finish(const SparseD& A, const SparseD& M, const Eigen::VectorXd& b, const Eigen::VectorXd& baug,
                           Eigen::VectorXd x, const DirectOptions& o, const DirectCost& cost, const char* method,
                           Clock::time_point t0) {
    SolveResult<double> r;
    r.method = method;
    r.istop = 2;
    r.iterations = 0;
    r.residual_norm = (b - A * x).norm();
    r.r1norm = r.residual_norm;
    const Eigen::VectorXd raug = baug - M * x;
    r.r2norm = raug.norm();
    r.arnorm = (M.transpose() * raug).norm();
    r.xnorm = x.norm();
    r.damp = o.damp;
    r.gradient_weight = o.gradient_weight;
    if (o.gradient_weight > 0) r.penalty_norm = (gradient_matrix<double>(o.gradient_shape) * x).norm();
    else r.penalty_norm = r.xnorm;
    r.estimated_bytes = cost.bytes;
    r.note = cost.detail;
    r.x = std::move(x);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
}

Eigen::VectorXd augmented_rhs(const Eigen::VectorXd& b, index_t rows) {
    Eigen::VectorXd baug = Eigen::VectorXd::Zero(rows);
    baug.head(b.size()) = b;
    return baug;
}

/// b has A's rows and finite entries, and A's entries are finite; shape_error / config_error otherwise.
void check_inputs(const SparseD& A, const Eigen::VectorXd& b, const char* method) {
    if (b.size() != A.rows())
        throw shape_error(std::string(method) + ": b has " + std::to_string(b.size()) + " entries but A has " +
                          std::to_string(A.rows()) + " rows");
    check_finite(b, "b", "the right-hand side", method);
    for (index_t j = 0; j < A.outerSize(); ++j)
        for (SparseD::InnerIterator it(A, j); it; ++it)
            if (!std::isfinite(it.value()))
                throw config_error(std::string(method) + ": A(" + std::to_string(it.row()) + ", " +
                                   std::to_string(it.col()) + ") = " + std::to_string(it.value()) +
                                   "; the matrix must be finite (no NaN or Inf)");
}

}  // namespace

DirectCost estimate_spqr_d(const SparseD& A, const DirectOptions& o) {
    check_options(A, o, "estimate_spqr");
    SparseD M = stacked(A, o);
    Common cc;
    return spqr_cost(M, cc);
}

DirectCost estimate_cholmod_d(const SparseD& A, const DirectOptions& o) {
    check_options(A, o, "estimate_cholmod");
    const SparseD M = stacked(A, o);
    Common cc;
    CholmodState st;
    cholmod_analyze(M, o, cc, st, false);
    cholmod_l_free_factor(&st.L, &cc.c);
    return st.cost;
}

SolveResult<double> solve_spqr_d(const SparseD& A, const Eigen::VectorXd& b, const DirectOptions& o) {
    const auto t0 = Clock::now();
    check_options(A, o, "solve_spqr");
    check_inputs(A, b, "solve_spqr");
    report_progress(o.callback, "spqr", "analysis", 1, 2, t0);
    SparseD M = stacked(A, o);
    Common cc;
    const DirectCost cost = spqr_cost(M, cc);
    if (cost.bytes > o.memory_limit) refuse("solve_spqr", cost, o.memory_limit);
    // SuiteSparseQR applies Q^T to b while it factorizes (Q is not kept): one phase.
    report_progress(o.callback, "spqr", "factorization and solve", 2, 2, t0);
    Eigen::VectorXd baug = augmented_rhs(b, M.rows());
    cholmod_sparse Ms = view(M, 0);
    cholmod_dense Bd = view(baug);
    cholmod_dense* X = SuiteSparseQR<double>(SPQR_ORDERING_DEFAULT, SPQR_DEFAULT_TOL, &Ms, &Bd, &cc.c);
    if (!X) {
        if (cc.c.status == CHOLMOD_OUT_OF_MEMORY)
            throw memory_limit_error("solve_spqr: SuiteSparseQR ran out of memory (estimate " + format_bytes(cost.bytes) +
                                         "); use the iterative LSQR (--method lsqr)",
                                     cost.bytes, o.memory_limit);
        throw std::runtime_error("SuiteSparseQR failed (CHOLMOD status " + std::to_string(cc.c.status) + ")");
    }
    Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(static_cast<const double*>(X->x), A.cols());
    cholmod_l_free_dense(&X, &cc.c);
    return finish(A, M, b, baug, std::move(x), o, cost, "spqr", t0);
}

SolveResult<double> solve_cholmod_d(const SparseD& A, const Eigen::VectorXd& b, const DirectOptions& o) {
    const auto t0 = Clock::now();
    check_options(A, o, "solve_cholmod");
    check_inputs(A, b, "solve_cholmod");
    report_progress(o.callback, "cholmod", "analysis", 1, 3, t0);
    const SparseD M = stacked(A, o);
    Common cc;
    CholmodState st;
    cholmod_analyze(M, o, cc, st, true);
    report_progress(o.callback, "cholmod", "factorization", 2, 3, t0);
    cholmod_sparse Ns = view(st.N, -1);
    const int ok = cholmod_l_factorize(&Ns, st.L, &cc.c);
    if (!ok || cc.c.status == CHOLMOD_NOT_POSDEF || cc.c.status < 0) {
        const int status = cc.c.status;
        const auto minor = st.L->minor;
        cholmod_l_free_factor(&st.L, &cc.c);
        if (status == CHOLMOD_NOT_POSDEF)
            throw std::runtime_error("solve_cholmod: A^T A + damp^2 I is not positive definite (pivot " +
                                     std::to_string(minor) + "): A is rank deficient; set damp > 0 or use LSQR/SPQR");
        throw std::runtime_error("CHOLMOD factorization failed (status " + std::to_string(status) + ")");
    }
    report_progress(o.callback, "cholmod", "solve", 3, 3, t0);
    Eigen::VectorXd baug = augmented_rhs(b, M.rows());
    Eigen::VectorXd rhs = M.transpose() * baug;
    cholmod_dense Bd = view(rhs);
    cholmod_dense* X = cholmod_l_solve(CHOLMOD_A, st.L, &Bd, &cc.c);
    cholmod_l_free_factor(&st.L, &cc.c);
    if (!X) throw std::runtime_error("CHOLMOD solve failed (status " + std::to_string(cc.c.status) + ")");
    Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(static_cast<const double*>(X->x), A.cols());
    cholmod_l_free_dense(&X, &cc.c);
    return finish(A, M, b, baug, std::move(x), o, st.cost, "cholmod", t0);
}

}  // namespace detail
}  // namespace convmtx
