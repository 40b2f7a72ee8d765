#include "convmtx/petsc_matrix.hpp"

#include <limits>
#include <string>

#include "convmtx/detail/builder_impl.hpp"
#include "convmtx/detail/mpi_gather.hpp"

namespace convmtx::petsc {

namespace {

void check_fits_petsc_int(index_t value, const std::string& what) {
    constexpr index_t max = static_cast<index_t>(std::numeric_limits<PetscInt>::max());
    if (value > max)
        throw index_overflow_error(what + "=" + std::to_string(value) + " exceeds PETSc's " +
                                   std::to_string(8 * sizeof(PetscInt)) + "-bit PetscInt (max " + std::to_string(max) +
                                   "); use a PETSc configured with --with-64-bit-indices, or more processes");
}

}  // namespace

DistributedMatrix build_matrix(MPI_Comm comm, const ConvGeometry& G, span<const PetscScalar> weight, bool transpose) {
    check_size(weight, G.spec().weight_numel(), "weight", "prod of weight_shape (" + to_string(G.spec().weight_shape()) + ")");
    int rank = 0, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    DistributedMatrix M{OwnedMat(), slab_layout(G, size), transpose};
    const SideLayout& rows = M.row_layout();
    const SideLayout& cols = M.col_layout();
    const char* name = transpose ? "T" : "W";
    check_fits_petsc_int(rows.total(), std::string(name) + " rows");
    check_fits_petsc_int(cols.total(), std::string(name) + " columns");
    const index_t r0 = rows.offset(rank), n_local = rows.local_size(rank);
    const index_t c0 = cols.offset(rank), c1 = cols.offset(rank + 1);
    const bool w_rows = !transpose;

    // Count pass: exact entries of every local row in the diagonal (own columns) and off-diagonal block.
    std::vector<PetscInt> d_nnz(static_cast<size_t>(n_local)), o_nnz(static_cast<size_t>(n_local));
    index_t entries = 0;
    for (index_t l = 0; l < n_local; ++l) {
        PetscInt d = 0, o = 0;
        detail::visit_line_taps(G, w_rows, rows.to_flat(r0 + l), [&](index_t idx, bool, index_t, const detail::EntryTaps&) {
            const index_t c = cols.to_distributed(idx);
            if (c >= c0 && c < c1) ++d;
            else ++o;
        });
        d_nnz[static_cast<size_t>(l)] = d;
        o_nnz[static_cast<size_t>(l)] = o;
        entries += d + o;
    }
    check_fits_petsc_int(entries, std::string(name) + " entries of process " + std::to_string(rank));

    check(MatCreate(comm, M.A.out()), "MatCreate");
    check(MatSetSizes(M.A, static_cast<PetscInt>(n_local), static_cast<PetscInt>(c1 - c0),
                      static_cast<PetscInt>(rows.total()), static_cast<PetscInt>(cols.total())),
          "MatSetSizes");
    check(MatSetType(M.A, MATMPIAIJ), "MatSetType");
    check(MatMPIAIJSetPreallocation(M.A, 0, d_nnz.data(), 0, o_nnz.data()), "MatMPIAIJSetPreallocation");
    check(MatSetOption(M.A, MAT_NEW_NONZERO_ALLOCATION_ERR, PETSC_TRUE), "MatSetOption");
    check(MatSetOption(M.A, MAT_NO_OFF_PROC_ENTRIES, PETSC_TRUE), "MatSetOption");

    // Fill pass: one row at a time, the serial builder's values (folded taps summed).
    std::vector<PetscInt> col_buf;
    std::vector<PetscScalar> val_buf;
    const PetscScalar* w = weight.data();
    for (index_t l = 0; l < n_local; ++l) {
        col_buf.clear();
        val_buf.clear();
        detail::visit_line(G, w_rows, rows.to_flat(r0 + l), w, [&](index_t idx, PetscScalar v, index_t) {
            col_buf.push_back(static_cast<PetscInt>(cols.to_distributed(idx)));
            val_buf.push_back(v);
        });
        const PetscInt row = static_cast<PetscInt>(r0 + l);
        check(MatSetValues(M.A, 1, &row, static_cast<PetscInt>(col_buf.size()), col_buf.data(), val_buf.data(),
                           INSERT_VALUES),
              "MatSetValues");
    }
    check(MatAssemblyBegin(M.A, MAT_FINAL_ASSEMBLY), "MatAssemblyBegin");
    check(MatAssemblyEnd(M.A, MAT_FINAL_ASSEMBLY), "MatAssemblyEnd");
    return M;
}

index_t ghost_count(Mat A) {
    Mat Ad = nullptr, Ao = nullptr;
    const PetscInt* colmap = nullptr;
    check(MatMPIAIJGetSeqAIJ(A, &Ad, &Ao, &colmap), "MatMPIAIJGetSeqAIJ");
    PetscInt rows = 0, ghosts = 0;
    check(MatGetSize(Ao, &rows, &ghosts), "MatGetSize");
    return ghosts;
}

MeasuredPart measure_part(Mat A) {
    MeasuredPart m;
    PetscInt r0 = 0, r1 = 0, c0 = 0, c1 = 0;
    check(MatGetOwnershipRange(A, &r0, &r1), "MatGetOwnershipRange");
    check(MatGetOwnershipRangeColumn(A, &c0, &c1), "MatGetOwnershipRangeColumn");
    m.rows = r1 - r0;
    m.cols = c1 - c0;
    MatInfo info;
    check(MatGetInfo(A, MAT_LOCAL, &info), "MatGetInfo");
    m.entries = static_cast<index_t>(info.nz_used);
    Mat Ad = nullptr, Ao = nullptr;
    const PetscInt* colmap = nullptr;
    check(MatMPIAIJGetSeqAIJ(A, &Ad, &Ao, &colmap), "MatMPIAIJGetSeqAIJ");
    MatInfo dinfo;
    check(MatGetInfo(Ad, MAT_LOCAL, &dinfo), "MatGetInfo");
    m.diagonal_entries = static_cast<index_t>(dinfo.nz_used);
    m.ghosts = ghost_count(A);
    return m;
}

Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t> gather_matrix(const DistributedMatrix& M, int root) {
    int rank = 0;
    MPI_Comm comm = PetscObjectComm(reinterpret_cast<PetscObject>(M.A.get()));
    MPI_Comm_rank(comm, &rank);
    const SideLayout& rows = M.row_layout();
    const SideLayout& cols = M.col_layout();
    PetscInt r0 = 0, r1 = 0;
    check(MatGetOwnershipRange(M.A, &r0, &r1), "MatGetOwnershipRange");
    std::vector<std::int64_t> row_of_entry, col_of_entry;
    std::vector<double> values;
    for (PetscInt r = r0; r < r1; ++r) {
        PetscInt n = 0;
        const PetscInt* c = nullptr;
        const PetscScalar* v = nullptr;
        check(MatGetRow(M.A, r, &n, &c, &v), "MatGetRow");
        const std::int64_t flat_row = rows.to_flat(r);
        for (PetscInt e = 0; e < n; ++e) {
            row_of_entry.push_back(flat_row);
            col_of_entry.push_back(cols.to_flat(c[e]));
            values.push_back(PetscRealPart(v[e]));
        }
        check(MatRestoreRow(M.A, r, &n, &c, &v), "MatRestoreRow");
    }
    const auto all_rows = detail::gatherv(comm, root, row_of_entry, MPI_INT64_T);
    const auto all_cols = detail::gatherv(comm, root, col_of_entry, MPI_INT64_T);
    const auto all_values = detail::gatherv(comm, root, values, MPI_DOUBLE);
    Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t> out;
    if (rank != root) return out;
    out.resize(static_cast<Eigen::Index>(rows.total()), static_cast<Eigen::Index>(cols.total()));
    std::vector<Eigen::Triplet<double, std::int64_t>> triplets;
    triplets.reserve(all_values.size());
    for (size_t e = 0; e < all_values.size(); ++e) triplets.emplace_back(all_rows[e], all_cols[e], all_values[e]);
    // Distinct (row, column) pairs by construction (PETSc holds each entry once): nothing is summed.
    out.setFromTriplets(triplets.begin(), triplets.end());
    return out;
}

}  // namespace convmtx::petsc
