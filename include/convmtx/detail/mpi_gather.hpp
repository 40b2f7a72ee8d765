// Internal (PETSc component): MPI_Gatherv of a vector of each process's values onto the root.
#pragma once

#include <mpi.h>

#include <limits>
#include <string>
#include <vector>

#include "convmtx/errors.hpp"
#include "convmtx/petsc_handle.hpp"

namespace convmtx::detail {

/// The processes' `local` values concatenated in rank order on `root` (empty elsewhere). Collective.
template <class T>
std::vector<T> gatherv(MPI_Comm comm, int root, const std::vector<T>& local, MPI_Datatype type) {
    int rank = 0, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (local.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
        throw index_overflow_error("gather: " + std::to_string(local.size()) +
                                   " values on one process exceed MPI's int count");
    const int n = static_cast<int>(local.size());
    std::vector<int> counts(rank == root ? static_cast<size_t>(size) : 0), displs(counts.size());
    petsc::check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm) == MPI_SUCCESS ? 0 : PETSC_ERR_MPI,
                 "MPI_Gather");
    std::vector<T> all;
    if (rank == root) {
        long long total = 0;
        for (int p = 0; p < size; ++p) {
            if (total > std::numeric_limits<int>::max())
                throw index_overflow_error("gather: " + std::to_string(total) + " values exceed MPI's int displacement");
            displs[static_cast<size_t>(p)] = static_cast<int>(total);
            total += counts[static_cast<size_t>(p)];
        }
        all.resize(static_cast<size_t>(total));
    }
    petsc::check(MPI_Gatherv(local.data(), n, type, all.data(), counts.data(), displs.data(), type, root, comm) ==
                         MPI_SUCCESS
                     ? 0
                     : PETSC_ERR_MPI,
                 "MPI_Gatherv");
    return all;
}

}  // namespace convmtx::detail
