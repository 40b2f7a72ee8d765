#include "convmtx/petsc_vector.hpp"

#include <string>

#include "convmtx/detail/mpi_gather.hpp"

namespace convmtx::petsc {

namespace {

MPI_Comm comm_of(Vec v) { return PetscObjectComm(reinterpret_cast<PetscObject>(v)); }

void check_local_size(Vec v, const SideLayout& side, int rank) {
    PetscInt n = 0;
    check(VecGetLocalSize(v, &n), "VecGetLocalSize");
    if (n != side.local_size(rank))
        throw shape_error("the distributed vector holds " + std::to_string(n) + " values on process " +
                          std::to_string(rank) + "; the layout gives it " + std::to_string(side.local_size(rank)));
}

}  // namespace

void scatter_from_root(span<const double> natural, const SideLayout& side, Vec out, int root) {
    MPI_Comm comm = comm_of(out);
    int rank = 0, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    check_local_size(out, side, rank);
    std::vector<double> ordered;
    std::vector<int> counts, displs;
    // The root's size check decides for every process, so that a wrong size never leaves them waiting.
    int ok = rank != root || static_cast<index_t>(natural.size()) == side.total();
    check(MPI_Bcast(&ok, 1, MPI_INT, root, comm) == MPI_SUCCESS ? 0 : PETSC_ERR_MPI, "MPI_Bcast");
    if (!ok) {
        if (rank == root) check_size(natural, side.total(), "the vector", "the layout's length");
        throw shape_error("the vector given on process " + std::to_string(root) + " has the wrong size");
    }
    if (rank == root) {
        ordered.resize(static_cast<size_t>(side.total()));
        for (index_t f = 0; f < side.total(); ++f) ordered[static_cast<size_t>(side.to_distributed(f))] = natural[static_cast<size_t>(f)];
        for (int p = 0; p < size; ++p) {
            counts.push_back(static_cast<int>(side.local_size(p)));
            displs.push_back(static_cast<int>(side.offset(p)));
        }
    }
    PetscScalar* local = nullptr;
    check(VecGetArray(out, &local), "VecGetArray");
    const int err = MPI_Scatterv(ordered.data(), counts.data(), displs.data(), MPI_DOUBLE, local,
                                 static_cast<int>(side.local_size(rank)), MPI_DOUBLE, root, comm);
    check(VecRestoreArray(out, &local), "VecRestoreArray");
    check(err == MPI_SUCCESS ? 0 : PETSC_ERR_MPI, "MPI_Scatterv");
}

std::vector<double> gather_to_root(Vec v, const SideLayout& side, int root) {
    MPI_Comm comm = comm_of(v);
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    check_local_size(v, side, rank);
    const PetscScalar* local = nullptr;
    check(VecGetArrayRead(v, &local), "VecGetArrayRead");
    const std::vector<double> mine(local, local + side.local_size(rank));
    check(VecRestoreArrayRead(v, &local), "VecRestoreArrayRead");
    const std::vector<double> ordered = detail::gatherv(comm, root, mine, MPI_DOUBLE);
    std::vector<double> natural;
    if (rank != root) return natural;
    natural.resize(ordered.size());
    for (index_t f = 0; f < side.total(); ++f) natural[static_cast<size_t>(f)] = ordered[static_cast<size_t>(side.to_distributed(f))];
    return natural;
}

}  // namespace convmtx::petsc
