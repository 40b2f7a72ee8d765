// convmtx::petsc under MPI (run by ctest as mpirun -np 1, 2 and 3): the distributed W and T,
// gathered, equal the serial builder's exactly; every process's share (rows, entries, ghost
// columns) equals slab_model's prediction from the geometry; MatMult and MatMultTranspose equal
// the serial products; the distributed dot test passes; KSPLSQR and KSPCGLS with damping equal
// the serial convmtx::lsqr and convmtx::cgls to 1e-8. Boost.Test inside PETSc's MPI job: every
// process runs every case, each check on its own process; the job fails when any process does.
#define BOOST_TEST_MODULE petsc
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_ALTERNATIVE_INIT_API
#include <boost/test/unit_test.hpp>

#include <petscsys.h>

#include <cmath>
#include <random>

#include "convmtx/convmtx.hpp"
#include "convmtx/petsc_matrix.hpp"
#include "convmtx/petsc_solve.hpp"
#include "convmtx/petsc_vector.hpp"
#include "convmtx/random_spec.hpp"
#include "convmtx/slab_layout.hpp"
#include "convmtx/solvers.hpp"

using namespace convmtx;
using SerialMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t>;

namespace {

int rank_of_world() {
    int r = 0;
    MPI_Comm_rank(PETSC_COMM_WORLD, &r);
    return r;
}
int size_of_world() {
    int s = 0;
    MPI_Comm_size(PETSC_COMM_WORLD, &s);
    return s;
}

std::vector<double> random_values(std::mt19937_64& rng, index_t n) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = u(rng);
    return v;
}

/// Exact equality of pattern and values, with the first difference in the message.
void check_equal(SerialMatrix a, SerialMatrix b, const std::string& what) {
    a.makeCompressed();
    b.makeCompressed();
    BOOST_TEST_CONTEXT(what) {
        BOOST_TEST(a.rows() == b.rows());
        BOOST_TEST(a.cols() == b.cols());
        BOOST_TEST(a.nonZeros() == b.nonZeros());
        if (a.rows() != b.rows() || a.nonZeros() != b.nonZeros()) return;
        for (Eigen::Index r = 0; r <= a.rows(); ++r)
            if (a.outerIndexPtr()[r] != b.outerIndexPtr()[r]) {
                BOOST_TEST(a.outerIndexPtr()[r] == b.outerIndexPtr()[r], "row offset " << r);
                return;
            }
        for (Eigen::Index e = 0; e < a.nonZeros(); ++e)
            if (a.innerIndexPtr()[e] != b.innerIndexPtr()[e] || a.valuePtr()[e] != b.valuePtr()[e]) {
                BOOST_TEST(false, "entry " << e << ": column " << a.innerIndexPtr()[e] << " value " << a.valuePtr()[e]
                                           << " vs column " << b.innerIndexPtr()[e] << " value " << b.valuePtr()[e]);
                return;
            }
    }
}

double relative_difference(const std::vector<double>& a, const Eigen::VectorXd& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (a[i] - b(static_cast<Eigen::Index>(i))) * (a[i] - b(static_cast<Eigen::Index>(i)));
        den += b(static_cast<Eigen::Index>(i)) * b(static_cast<Eigen::Index>(i));
    }
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace

BOOST_AUTO_TEST_CASE(side_layout_is_a_permutation_by_slabs) {
    for (int parts : {1, 2, 3, 5}) {
        const SideLayout s(3, {7, 2, 3}, parts);
        BOOST_TEST(s.total() == 3 * 7 * 6);
        BOOST_TEST(s.offset(parts) == s.total());
        std::vector<int> seen(static_cast<size_t>(s.total()), 0);
        for (index_t f = 0; f < s.total(); ++f) {
            const index_t d = s.to_distributed(f);
            BOOST_TEST(s.to_flat(d) == f);
            ++seen[static_cast<size_t>(d)];
            // The owner of the distributed index holds the slab of f's slowest spatial coordinate.
            const index_t i0 = (f % (7 * 6)) / 6;
            const int p = s.part_of_slab_position(i0);
            BOOST_TEST((d >= s.offset(p) && d < s.offset(p + 1)));
        }
        BOOST_TEST(std::count(seen.begin(), seen.end(), 1) == s.total());
    }
    BOOST_CHECK_THROW(SideLayout(1, {4}, 0), config_error);
}

BOOST_AUTO_TEST_CASE(gathered_matrices_equal_serial_and_shares_equal_the_model) {
    const int rank = rank_of_world(), size = size_of_world();
    std::mt19937_64 rng(20261130);  // the same draws on every process
    RandomSpecOptions opt;
    int counted_modes[4] = {0, 0, 0, 0}, counted_ranks[3] = {0, 0, 0}, grouped = 0, transposed = 0;
    for (int trial = 0; trial < 48; ++trial) {
        const ConvSpec spec = random_spec(rng, opt);
        const std::vector<double> w = random_values(rng, spec.weight_numel());
        ++counted_modes[static_cast<int>(spec.padding_mode)];
        ++counted_ranks[spec.rank() - 1];
        grouped += spec.groups > 1;
        transposed += spec.transposed;
        const ConvGeometry G(spec);
        for (bool T : {false, true}) {
            BOOST_TEST_CONTEXT("trial " << trial << ": " << spec.describe() << (T ? ", T" : ", W")) {
                const petsc::DistributedMatrix M = petsc::build_matrix(PETSC_COMM_WORLD, G, w, T);
                const SerialMatrix gathered = petsc::gather_matrix(M, 0);
                if (rank == 0)
                    check_equal(gathered,
                                T ? conv_transpose_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w)
                                  : conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w),
                                "gathered vs serial");
                const petsc::MeasuredPart measured = petsc::measure_part(M.A);
                const PartModel model = slab_model(G, T, size)[static_cast<size_t>(rank)];
                BOOST_TEST(measured.rows == model.rows);
                BOOST_TEST(measured.cols == model.cols);
                BOOST_TEST(measured.entries == model.entries);
                BOOST_TEST(measured.diagonal_entries == model.diagonal_entries);
                BOOST_TEST(measured.ghosts == model.halo);

                // Products against the serial matrix, vectors through the root.
                const SerialMatrix S = T ? conv_transpose_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w)
                                         : conv_matrix<double, Eigen::RowMajor, std::int64_t>(spec, w);
                std::mt19937_64 vrng(static_cast<std::uint64_t>(trial));
                const std::vector<double> xv = random_values(vrng, S.cols()), yv = random_values(vrng, S.rows());
                petsc::OwnedVec x, y, ax, aty;
                petsc::check(MatCreateVecs(M.A, x.out(), y.out()), "MatCreateVecs");
                petsc::check(VecDuplicate(y, ax.out()), "VecDuplicate");
                petsc::check(VecDuplicate(x, aty.out()), "VecDuplicate");
                petsc::scatter_from_root(xv, M.col_layout(), x);
                petsc::scatter_from_root(yv, M.row_layout(), y);
                petsc::check(MatMult(M.A, x, ax), "MatMult");
                petsc::check(MatMultTranspose(M.A, y, aty), "MatMultTranspose");
                const std::vector<double> got_ax = petsc::gather_to_root(ax, M.row_layout());
                const std::vector<double> got_aty = petsc::gather_to_root(aty, M.col_layout());
                if (rank == 0) {
                    const Eigen::VectorXd ex = S * Eigen::Map<const Eigen::VectorXd>(xv.data(), S.cols());
                    const Eigen::VectorXd ey = S.transpose() * Eigen::Map<const Eigen::VectorXd>(yv.data(), S.rows());
                    BOOST_TEST(relative_difference(got_ax, ex) <= 1e-13);
                    BOOST_TEST(relative_difference(got_aty, ey) <= 1e-13);
                }
                const DotTestReport dot = petsc::dot_test(M.A, 2, static_cast<std::uint64_t>(trial));
                BOOST_TEST(dot.passed, dot.str());
            }
        }
    }
    // The draws covered what the issue names (the same on every process).
    for (int m = 0; m < 4; ++m) BOOST_TEST(counted_modes[m] > 0, "padding mode " << m);
    for (int r = 0; r < 3; ++r) BOOST_TEST(counted_ranks[r] > 0, "rank " << r + 1);
    BOOST_TEST(grouped > 0);
    BOOST_TEST(transposed > 0);
}

BOOST_AUTO_TEST_CASE(channels_stay_together_and_the_halo_is_the_kernel_reach) {
    // 2 channels in, 3 out, 12 x 5 input, kernel 3 x 3, padding 1: a process's rows reach one plane
    // of each neighbouring slab, in every channel: halo = C_in * planes * 5.
    const int rank = rank_of_world(), size = size_of_world();
    ConvOptions o;
    o.padding = Padding::symmetric({1, 1});
    const ConvSpec spec = make_conv({2, 12, 5}, {3, 2, 3, 3}, o);
    const ConvGeometry G(spec);
    const std::vector<double> w(static_cast<size_t>(spec.weight_numel()), 1.0);
    const petsc::DistributedMatrix M = petsc::build_matrix(PETSC_COMM_WORLD, G, w, false);
    const index_t planes = (rank > 0) + (rank < size - 1);
    BOOST_TEST(petsc::ghost_count(M.A) == 2 * planes * 5);
    BOOST_TEST(M.row_layout().local_size(rank) == 3 * M.row_layout().slab_length(rank) * 5);
}

BOOST_AUTO_TEST_CASE(model_of_the_1024_cube_is_the_closed_form) {
    // 3-d 1024^3, kernel 3^3, padding 1, one channel, P = 64: slabs of 16 planes; an interior
    // process's entries are 16 planes x 3 taps x (3*1024 - 2)^2 (the edge positions meet 2 taps),
    // its halo 2 planes of 1024^2, the first and last 1 plane.
    ConvOptions o;
    o.padding = Padding::symmetric({1, 1, 1});
    const ConvGeometry G(make_conv({1, 1024, 1024, 1024}, {1, 1, 3, 3, 3}, o));
    const std::vector<PartModel> m = slab_model(G, false, 64);
    const index_t line = 3 * 1024 - 2;
    BOOST_TEST(m[5].rows == 16 * 1024 * 1024);
    BOOST_TEST(m[5].entries == 16 * 3 * line * line);
    BOOST_TEST(m[0].entries == (16 * 3 - 1) * line * line);
    BOOST_TEST(m[5].halo == 2 * 1024 * 1024);
    BOOST_TEST(m[0].halo == 1024 * 1024);
    BOOST_TEST(m[63].halo == 1024 * 1024);
    BOOST_TEST(m[5].neighbours == 2);
    index_t total = 0;
    for (const PartModel& p : m) total += p.entries;
    BOOST_TEST(total == G.structural_nnz());
}

BOOST_AUTO_TEST_CASE(damped_least_squares_equal_the_serial_solvers) {
    const int rank = rank_of_world();
    struct Case {
        ConvSpec spec;
        double damp;
    };
    ConvOptions same;
    same.padding = Padding::sides({2, 2}, {2, 2});
    ConvOptions strided = same;
    strided.stride = {2, 2};
    ConvOptions grouped;
    grouped.padding = Padding::symmetric({1});
    grouped.groups = 2;
    grouped.padding_mode = PaddingMode::reflect;
    const Case cases[] = {{make_conv({1, 20, 18}, {1, 1, 5, 5}, same), 0.05},
                          {make_conv({1, 20, 18}, {1, 1, 5, 5}, strided), 0.1},
                          {make_conv({2, 15}, {4, 1, 3}, grouped), 0.02},
                          {make_conv_transpose({1, 6, 7}, {1, 1, 3, 3}, ConvTransposeOptions{{2}, Padding::symmetric({1})}), 0.1}};
    int n = 0;
    for (const Case& c : cases) {
        for (const char* method : {"lsqr", "cgls"}) {
            BOOST_TEST_CONTEXT("case " << n << " " << method << ": " << c.spec.describe()) {
                std::mt19937_64 rng(static_cast<std::uint64_t>(7 + n));
                const std::vector<double> w = random_values(rng, c.spec.weight_numel());
                const auto A = make_matrix_operator<double>(c.spec, w);
                const std::vector<double> bv = random_values(rng, A->data_size());
                const Eigen::VectorXd b = Eigen::Map<const Eigen::VectorXd>(bv.data(), A->data_size());
                SolverOptions so;
                so.damp = c.damp;
                so.atol = so.btol = 1e-15;
                so.conlim = 0;
                so.iter_lim = 2000;
                const SolveResult<double> serial = std::string(method) == "lsqr" ? lsqr<double>(*A, b, so)
                                                                                 : cgls<double>(*A, b, so);

                const ConvGeometry G(c.spec);
                const petsc::DistributedMatrix M = petsc::build_matrix(PETSC_COMM_WORLD, G, w, c.spec.transposed);
                petsc::OwnedVec x, y;
                petsc::check(MatCreateVecs(M.A, x.out(), y.out()), "MatCreateVecs");
                petsc::scatter_from_root(bv, M.row_layout(), y);
                petsc::LeastSquaresOptions lo;
                lo.method = method;
                lo.damp = c.damp;
                lo.rtol = 1e-14;
                lo.atol = 0;
                lo.max_iterations = 2000;
                index_t monitored = 0;
                lo.monitor = [&](index_t, double) { ++monitored; };
                const petsc::LeastSquaresResult r = petsc::solve_least_squares(M.A, y, x, lo);
                BOOST_TEST(r.method == method);
                BOOST_TEST(r.iterations > 0);
                BOOST_TEST(monitored >= r.iterations);
                const std::vector<double> got = petsc::gather_to_root(x, M.col_layout());
                if (rank == 0) {
                    BOOST_TEST(relative_difference(got, serial.x) <= 1e-8);
                    BOOST_TEST(std::abs(r.residual_norm - serial.residual_norm) <= 1e-8 * (1 + serial.residual_norm));
                }
            }
            ++n;
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_on_every_process) {
    const ConvGeometry G(make_conv({1, 8}, {1, 1, 3}));
    const std::vector<double> short_weight(2, 1.0);
    BOOST_CHECK_THROW(petsc::build_matrix(PETSC_COMM_WORLD, G, short_weight, false), shape_error);
    const std::vector<double> w(3, 1.0);
    const petsc::DistributedMatrix M = petsc::build_matrix(PETSC_COMM_WORLD, G, w, false);
    petsc::OwnedVec x, y;
    petsc::check(MatCreateVecs(M.A, x.out(), y.out()), "MatCreateVecs");
    petsc::LeastSquaresOptions bad;
    bad.method = "gmres";
    BOOST_CHECK_THROW(petsc::solve_least_squares(M.A, y, x, bad), config_error);
    bad.method = "lsqr";
    bad.damp = std::nan("");
    BOOST_CHECK_THROW(petsc::solve_least_squares(M.A, y, x, bad), config_error);
    // A NaN in b on the last process only: every process refuses.
    std::vector<double> b(6, 1.0);  // W's rows: 8 - 3 + 1
    if (rank_of_world() == 0) b[5] = std::nan("");
    petsc::scatter_from_root(b, M.row_layout(), y);
    BOOST_CHECK_THROW(petsc::solve_least_squares(M.A, y, x, petsc::LeastSquaresOptions{}), config_error);
    const std::vector<double> wrong(rank_of_world() == 0 ? 5 : 0, 0.0);  // the root's size decides for all
    BOOST_CHECK_THROW(petsc::scatter_from_root(wrong, M.row_layout(), y), shape_error);
    BOOST_CHECK_THROW(petsc::dot_test(M.A, 0), config_error);
}

int main(int argc, char** argv) {
    if (PetscInitialize(&argc, &argv, nullptr, nullptr) != 0) return 2;
    PetscPushErrorHandler(PetscReturnErrorHandler, nullptr);
    const int status = boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
    PetscFinalize();
    return status;
}
