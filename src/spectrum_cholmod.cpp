// Shift-invert Lanczos for the smallest singular values (spectrum_cholmod.hpp): Spectra's
// SymEigsSolver on x -> (A A^T + beta I)^{-1} x, the inverse applied by CHOLMOD's sparse Cholesky factor.
#include "convmtx/spectrum_cholmod.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <cholmod.h>

#include "convmtx/detail/cholmod_common.hpp"
#include "convmtx/detail/lanczos.hpp"

#include "convmtx/errors.hpp"
#include "convmtx/spectrum.hpp"

namespace convmtx {

using detail::EigenRun;
using detail::largest_eigenpairs;

namespace {

using Common = detail::CholmodCommon;

struct Factor {
    cholmod_factor* L = nullptr;
    Common* cc = nullptr;
    ~Factor() {
        if (L) cholmod_l_free_factor(&L, &cc->c);
    }
};

struct Dense {
    cholmod_dense* d = nullptr;
    Common* cc = nullptr;
    ~Dense() {
        if (d) cholmod_l_free_dense(&d, &cc->c);
    }
};

/// Spectra's operator: y = (A A^T + beta I)^{-1} x through the factor, reusing CHOLMOD's workspace.
class InverseOp {
public:
    using Scalar = double;
    InverseOp(cholmod_factor* L, Common& cc, index_t n) : L_(L), cc_(&cc), n_(n) {
        X_.cc = Y_.cc = E_.cc = &cc;
    }
    Eigen::Index rows() const { return n_; }
    Eigen::Index cols() const { return n_; }
    void perform_op(const double* x, double* y) const {
        cholmod_dense b{};
        b.nrow = static_cast<size_t>(n_);
        b.ncol = 1;
        b.nzmax = static_cast<size_t>(n_);
        b.d = static_cast<size_t>(n_);
        b.x = const_cast<double*>(x);
        b.xtype = CHOLMOD_REAL;
        b.dtype = CHOLMOD_DOUBLE;
        if (!cholmod_l_solve2(CHOLMOD_A, L_, &b, nullptr, &X_.d, nullptr, &Y_.d, &E_.d, &cc_->c))
            throw std::runtime_error("CHOLMOD solve failed (status " + std::to_string(cc_->c.status) + ")");
        std::copy_n(static_cast<const double*>(X_.d->x), n_, y);
        ++solves;
    }
    mutable index_t solves = 0;

private:
    cholmod_factor* L_;
    Common* cc_;
    index_t n_;
    mutable Dense X_, Y_, E_;
};

}  // namespace

ShiftInvertResult cholmod_shift_invert(const Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t>& A_in,
                                           index_t k, double lambda_max, double tol, index_t ncv, index_t max_restarts,
                                           const Eigen::VectorXd& start, double memory_limit) {
    Eigen::SparseMatrix<double, Eigen::ColMajor, std::int64_t> A = A_in;
    A.makeCompressed();
    const index_t n = A.rows();
    cholmod_sparse s{};
    s.nrow = static_cast<size_t>(A.rows());
    s.ncol = static_cast<size_t>(A.cols());
    s.nzmax = static_cast<size_t>(A.nonZeros());
    s.p = A.outerIndexPtr();
    s.i = A.innerIndexPtr();
    s.x = A.valuePtr();
    s.stype = 0;  // unsymmetric: CHOLMOD analyzes and factorizes A A^T (+ beta I)
    s.itype = CHOLMOD_LONG;
    s.xtype = CHOLMOD_REAL;
    s.dtype = CHOLMOD_DOUBLE;
    s.sorted = 1;
    s.packed = 1;

    Common cc;
    Factor F;
    F.cc = &cc;
    F.L = cholmod_l_analyze(&s, &cc.c);
    if (!F.L) throw std::runtime_error("CHOLMOD analysis failed (status " + std::to_string(cc.c.status) + ")");
    const double input = 16.0 * static_cast<double>(A.nonZeros()) + 8.0 * static_cast<double>(A.rows() + A.cols());
    const double factor = F.L->is_super
                              ? 8.0 * static_cast<double>(F.L->xsize) + 8.0 * static_cast<double>(F.L->ssize)
                              : 16.0 * cc.c.lnz;
    const double need = 2 * input + factor + 8.0 * 6 * static_cast<double>(n) * static_cast<double>(std::max<index_t>(ncv, 1));
    if (need > memory_limit) {
        std::ostringstream os;
        os << "shift-invert needs an estimated " << format_bytes(need) << " (the Cholesky factor of the "
           << n << " x " << n << " normal matrix: " << format_bytes(factor) << "), over the memory limit of "
           << format_bytes(memory_limit);
        throw memory_limit_error(os.str(), need, memory_limit);
    }
    double b[2] = {1e-11 * lambda_max, 0};
    // A rank-deficient A A^T plus a shift that rounding still leaves singular: raise the shift.
    for (int attempt = 0;; ++attempt) {
        const int ok = cholmod_l_factorize_p(&s, b, nullptr, 0, F.L, &cc.c);
        if (ok && cc.c.status == CHOLMOD_OK) break;
        if (cc.c.status != CHOLMOD_NOT_POSDEF || attempt == 4)
            throw std::runtime_error("CHOLMOD factorization of the normal matrix failed (status " +
                                     std::to_string(cc.c.status) + ")");
        b[0] = b[0] > 0 ? b[0] * 1000 : 1e-300;
    }

    InverseOp op(F.L, cc, n);
    // The solves carry cond(A A^T + beta I) eps ~ 1e11 eps of rounding relative to their result.
    const EigenRun run = largest_eigenpairs(op, k, ncv, max_restarts, tol, start, 10 * 1e11 * 2.2e-16);
    ShiftInvertResult r;
    r.vectors = run.vectors;
    Eigen::VectorXd y(n);
    for (size_t i = 0; i < run.theta.size(); ++i) {
        const double theta = run.theta[i];
        r.eigenvalues.push_back(std::max(0.0, 1.0 / theta - b[0]));
        op.perform_op(run.vectors.col(static_cast<Eigen::Index>(i)).data(), y.data());
        const double rho = (y - theta * run.vectors.col(static_cast<Eigen::Index>(i))).norm();
        r.errors.push_back((rho < theta ? rho / (theta * (theta - rho)) : lambda_max) + 64 * 2.2e-16 * lambda_max);
    }
    r.restarts = run.restarts;
    r.runs = run.runs;
    r.solves = op.solves;
    std::ostringstream os;
    os << "CHOLMOD " << (F.L->is_super ? "supernodal" : "simplicial") << " Cholesky factor of the " << n << " x " << n
       << " normal matrix + " << b[0] << " I (" << format_bytes(factor) << ")";
    r.detail = os.str();
    return r;
}

}  // namespace convmtx
