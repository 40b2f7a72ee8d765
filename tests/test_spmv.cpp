// The parallel sparse products (spmv.hpp) against Eigen's own products, for CSR and CSC,
// int32 and int64 indices, A x and A^T x, vectors and blocks of up to 19 columns, strided
// operands, unsorted and empty lines; the structure check; and the build's huge-page arrays.
#define BOOST_TEST_MODULE spmv
#include <fstream>
#include <sstream>

#include "convmtx/detail/huge_pages.hpp"
#include "convmtx/spmv.hpp"
#include "test_common.hpp"

namespace convmtx::test {
namespace {

/// A random sparse matrix with empty rows and columns, duplicates merged by Eigen.
template <class Scalar, int Order, class Index>
Eigen::SparseMatrix<Scalar, Order, Index> random_sparse(std::mt19937_64& rng, index_t rows, index_t cols, index_t nnz) {
    std::uniform_int_distribution<index_t> r(0, rows - 1), c(0, cols - 1);
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<Eigen::Triplet<Scalar, Index>> t;
    for (index_t e = 0; e < nnz; ++e) {
        const index_t i = r(rng) % std::max<index_t>(1, rows - rows / 4);  // the last rows stay empty
        t.emplace_back(static_cast<Index>(i), static_cast<Index>(c(rng)), static_cast<Scalar>(u(rng)));
    }
    Eigen::SparseMatrix<Scalar, Order, Index> A(rows, cols);
    A.setFromTriplets(t.begin(), t.end());
    A.makeCompressed();
    return A;
}

template <class Scalar, int Order, class Index>
void compare_with_eigen(index_t rows, index_t cols, index_t nnz) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(rows * 7919 + cols * 31 + nnz + Order));
    const auto A = random_sparse<Scalar, Order, Index>(rng, rows, cols, nnz);
    for (bool transpose : {false, true}) {
        const index_t in = transpose ? rows : cols, out = transpose ? cols : rows;
        for (index_t k : {index_t(1), index_t(2), index_t(7), index_t(8), index_t(19)}) {
            const Batch<Scalar> x = random_batch<Scalar>(rng, in, k);
            const Batch<Scalar> ref = transpose ? Batch<Scalar>(A.transpose() * x) : Batch<Scalar>(A * x);
            Batch<Scalar> y = Batch<Scalar>::Constant(out, k, Scalar(7));  // overwritten, not added to
            spmv(A, transpose, x, y);
            BOOST_TEST_CONTEXT((Order == Eigen::RowMajor ? "CSR" : "CSC")
                               << " int" << 8 * sizeof(Index) << (transpose ? " A^T x" : " A x") << " " << rows
                               << "x" << cols << " nnz " << A.nonZeros() << " columns " << k) {
                BOOST_TEST(rel_diff(y, ref) < 50 * tol<Scalar>());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(products_equal_eigens_for_every_order_index_and_direction, Scalar, Scalars) {
    // Small (one thread) and large enough for the parallel paths (>= 32768 entries).
    for (auto [rows, cols, nnz] : {std::array<index_t, 3>{5, 3, 7}, {1, 40, 30}, {300, 200, 40000},
                                    {4000, 3000, 120000}, {1000, 50000, 60000}}) {
        compare_with_eigen<Scalar, Eigen::RowMajor, std::int32_t>(rows, cols, nnz);
        compare_with_eigen<Scalar, Eigen::RowMajor, std::int64_t>(rows, cols, nnz);
        compare_with_eigen<Scalar, Eigen::ColMajor, std::int32_t>(rows, cols, nnz);
        compare_with_eigen<Scalar, Eigen::ColMajor, std::int64_t>(rows, cols, nnz);
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(conv_matrices_equal_eigens_product, Scalar, Scalars) {
    std::mt19937_64 rng(5);
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    const ConvSpec spec = make_conv({3, 70, 90}, {4, 3, 3, 3}, o);
    const auto w = random_values<Scalar>(rng, spec.weight_numel());
    const auto W = conv_matrix<Scalar, Eigen::RowMajor, std::int64_t>(spec, w);
    const auto Wc = conv_matrix<Scalar, Eigen::ColMajor, std::int32_t>(spec, w);
    const Batch<Scalar> x = random_batch<Scalar>(rng, W.cols(), 3), y = random_batch<Scalar>(rng, W.rows(), 3);
    Batch<Scalar> a(W.rows(), 3), b(W.cols(), 3);
    spmv(W, false, x, a);
    BOOST_TEST(rel_diff(a, Batch<Scalar>(W * x)) < 50 * tol<Scalar>());
    spmv(Wc, false, x, a);
    BOOST_TEST(rel_diff(a, Batch<Scalar>(W * x)) < 50 * tol<Scalar>());
    spmv(W, true, y, b);
    BOOST_TEST(rel_diff(b, Batch<Scalar>(W.transpose() * y)) < 50 * tol<Scalar>());
    spmv(Wc, true, y, b);
    BOOST_TEST(rel_diff(b, Batch<Scalar>(W.transpose() * y)) < 50 * tol<Scalar>());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(strided_operands_and_unsorted_lines, Scalar, Scalars) {
    // A row-major (C-order) x and y, as numpy hands them over, and a CSR matrix with unsorted rows
    // and a repeated index (scipy keeps duplicates until sum_duplicates): D(0, 2) = 1 + 6.
    const std::vector<std::int32_t> outer{0, 4, 4, 6};
    const std::vector<std::int32_t> inner{2, 0, 1, 2, 1, 0};
    const std::vector<Scalar> val{1, 2, 3, 6, 4, 5};
    CompressedView<Scalar, std::int32_t> A;
    A.rows = 3;
    A.cols = 3;
    A.outer = outer.data();
    A.inner = inner.data();
    A.values = val.data();
    check_structure(A);
    Eigen::Matrix<Scalar, 3, 3> D;
    D << 2, 3, 7, 0, 0, 0, 5, 4, 0;
    const Eigen::Matrix<Scalar, 3, 2, Eigen::RowMajor> x = (Eigen::Matrix<Scalar, 3, 2>() << 1, -1, 2, Scalar(0.5), 3, 4).finished();
    Eigen::Matrix<Scalar, 3, 2, Eigen::RowMajor> y;
    for (bool transpose : {false, true}) {
        spmv(A, transpose, DenseView<const Scalar>{x.data(), 3, 2, 2, 1}, DenseView<Scalar>{y.data(), 3, 2, 2, 1});
        const Eigen::Matrix<Scalar, 3, 2> ref = transpose ? Eigen::Matrix<Scalar, 3, 2>(D.transpose() * x)
                                                          : Eigen::Matrix<Scalar, 3, 2>(D * x);
        BOOST_TEST(rel_diff(y, ref) < tol<Scalar>());
    }
    // One contiguous vector: the scatter adds straight into y.
    const Vec<Scalar> v = x.col(0);
    Vec<Scalar> r(3);
    for (bool transpose : {false, true}) {
        spmv(A, transpose, DenseView<const Scalar>{v.data(), 3, 1, 1, 0}, DenseView<Scalar>{r.data(), 3, 1, 1, 0});
        const Vec<Scalar> ref = transpose ? Vec<Scalar>(D.transpose() * v) : Vec<Scalar>(D * v);
        BOOST_TEST(rel_diff(r, ref) < tol<Scalar>());
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_shapes_overlap_and_structure_are_refused, Scalar, Scalars) {
    std::mt19937_64 rng(1);
    const auto A = random_sparse<Scalar, Eigen::RowMajor, std::int32_t>(rng, 6, 4, 10);
    Batch<Scalar> x = random_batch<Scalar>(rng, 4, 1), y(5, 1), z(6, 1);
    BOOST_CHECK_THROW(spmv(A, false, x, y), shape_error);
    BOOST_CHECK_THROW(spmv(A, true, x, z), shape_error);
    Batch<Scalar> both = random_batch<Scalar>(rng, 6, 2);
    BOOST_CHECK_THROW(spmv(A, false, both.topRows(4).leftCols(1), both.col(0)), shape_error);

    const std::vector<std::int32_t> outer{0, 2, 1}, inner{0, 5};
    const std::vector<Scalar> val{1, 1};
    CompressedView<Scalar, std::int32_t> B;
    B.rows = 2;
    B.cols = 3;
    B.outer = outer.data();
    B.inner = inner.data();
    B.values = val.data();
    try {
        check_structure(B);
        BOOST_FAIL("a decreasing indptr was accepted");
    } catch (const config_error& e) {
        BOOST_TEST(std::string(e.what()).find("indptr[2]=1") != std::string::npos);
    }
    const std::vector<std::int32_t> outer2{0, 1, 2};
    B.outer = outer2.data();
    try {
        check_structure(B);
        BOOST_FAIL("an index past the columns was accepted");
    } catch (const config_error& e) {
        BOOST_TEST(std::string(e.what()).find("indices[1]=5") != std::string::npos);
    }
}

/// The VmFlags line of the mapping of /proc/self/smaps that contains address p.
std::string vm_flags_of(const void* p) {
    std::ifstream in("/proc/self/smaps");
    std::string line;
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    bool inside = false;
    while (std::getline(in, line)) {
        unsigned long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return "";
}

BOOST_AUTO_TEST_CASE_TEMPLATE(build_arrays_are_advised_for_huge_pages, Scalar, Scalars) {
    // 8 -> 8 channels, 3x3 on 128^2: 9.4 M entries, arrays of 38-75 MB (above huge_page_min_bytes).
    std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string mode;
    std::getline(thp, mode);
    ConvOptions o;
    o.padding = Padding::symmetric({1});
    const ConvSpec spec = make_conv({8, 128, 128}, {8, 8, 3, 3}, o);
    std::mt19937_64 rng(3);
    const auto w = random_values<Scalar>(rng, spec.weight_numel());
    const auto W = conv_matrix<Scalar, Eigen::RowMajor, std::int32_t>(spec, w);
    BOOST_TEST(static_cast<double>(W.nonZeros()) * sizeof(Scalar) >= double(detail::huge_page_min_bytes));
    // The middle of the values array lies in a whole 2 MiB page, which was advised before the fill.
    const Scalar* mid = W.valuePtr() + W.nonZeros() / 2;
    const std::string flags = vm_flags_of(mid);
    BOOST_TEST_MESSAGE("THP mode: " << mode << "; " << flags);
    if (mode.empty() || mode.find("[never]") != std::string::npos) {
        BOOST_TEST(detail::advise_huge_pages(nullptr, 0) == 0u);
        return;
    }
    BOOST_TEST(flags.find(" hg") != std::string::npos, "no huge-page advice (hg) on the values: " << flags);
    // The matrix filled into the advised arrays is the conv: W x equals the direct kernel.
    const Batch<Scalar> x = random_batch<Scalar>(rng, W.cols(), 1);
    Batch<Scalar> y(W.rows(), 1);
    spmv(W, false, x, y);
    BOOST_TEST(rel_diff(y, conv_direct<Scalar>(spec, w, x)) < 50 * tol<Scalar>());
    // advise_huge_pages skips small arrays and reports the whole pages it advised.
    std::vector<char> buf(size_t(16) << 20);
    const std::size_t advised = detail::advise_huge_pages(buf.data(), buf.size());
    BOOST_TEST(advised % (size_t(2) << 20) == 0u);
    BOOST_TEST(advised >= (size_t(14) << 20));
    BOOST_TEST(detail::advise_huge_pages(buf.data(), size_t(1) << 20) == 0u);
}

}  // namespace
}  // namespace convmtx::test
