// Singular values through LAPACK's dgesdd / zgesdd (detail/lapack_svd.hpp).
#include "convmtx/detail/lapack_svd.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "convmtx/errors.hpp"

extern "C" {
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s, double* u,
             const int* ldu, double* vt, const int* ldvt, double* work, const int* lwork, int* iwork, int* info);
void zgesdd_(const char* jobz, const int* m, const int* n, std::complex<double>* a, const int* lda, double* s,
             std::complex<double>* u, const int* ldu, std::complex<double>* vt, const int* ldvt,
             std::complex<double>* work, const int* lwork, double* rwork, int* iwork, int* info);
}

namespace convmtx::detail {

namespace {

int lapack_int(Eigen::Index v) {
    if (v > std::numeric_limits<int>::max())
        throw shape_error("a dense SVD of a matrix with a side of " + std::to_string(v) + " exceeds LAPACK's 32-bit sizes");
    return static_cast<int>(v);
}

void check_info(int info, const char* routine) {
    if (info > 0) throw std::runtime_error(std::string(routine) + ": the bidiagonal SVD did not converge (info " + std::to_string(info) + ")");
    if (info < 0) throw std::logic_error(std::string(routine) + ": argument " + std::to_string(-info) + " is invalid");
}

}  // namespace

const Eigen::VectorXd& LapackSvd::values(Eigen::MatrixXd& A) {
    const int m = lapack_int(A.rows()), n = lapack_int(A.cols()), mn = std::min(m, n), lda = std::max(1, m), one = 1;
    s_.resize(mn);
    if (mn == 0) return s_;
    iwork_.resize(static_cast<size_t>(8 * mn));
    int info = 0, lwork = -1;
    double query = 0;
    dgesdd_("N", &m, &n, A.data(), &lda, s_.data(), nullptr, &one, nullptr, &one, &query, &lwork, iwork_.data(), &info);
    check_info(info, "dgesdd");
    lwork = static_cast<int>(query) + 1;
    if (work_.size() < static_cast<size_t>(lwork)) work_.resize(static_cast<size_t>(lwork));
    dgesdd_("N", &m, &n, A.data(), &lda, s_.data(), nullptr, &one, nullptr, &one, work_.data(), &lwork, iwork_.data(), &info);
    check_info(info, "dgesdd");
    return s_;
}

const Eigen::VectorXd& LapackSvd::values(Eigen::MatrixXcd& A) {
    const int m = lapack_int(A.rows()), n = lapack_int(A.cols()), mn = std::min(m, n), lda = std::max(1, m), one = 1;
    s_.resize(mn);
    if (mn == 0) return s_;
    iwork_.resize(static_cast<size_t>(8 * mn));
    rwork_.resize(static_cast<size_t>(7 * mn + 16));
    int info = 0, lwork = -1;
    std::complex<double> query = 0;
    zgesdd_("N", &m, &n, A.data(), &lda, s_.data(), nullptr, &one, nullptr, &one, &query, &lwork, rwork_.data(),
            iwork_.data(), &info);
    check_info(info, "zgesdd");
    lwork = static_cast<int>(query.real()) + 1;
    if (cwork_.size() < static_cast<size_t>(lwork)) cwork_.resize(static_cast<size_t>(lwork));
    zgesdd_("N", &m, &n, A.data(), &lda, s_.data(), nullptr, &one, nullptr, &one, cwork_.data(), &lwork, rwork_.data(),
            iwork_.data(), &info);
    check_info(info, "zgesdd");
    return s_;
}

}  // namespace convmtx::detail
