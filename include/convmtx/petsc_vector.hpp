// Vectors between one process and a distributed matrix's layout: an image (or any vector of
// one side of W) held on the root in convmtx's C-order numbering is cut into each process's
// slab (slab_layout.hpp), and gathered back. For rank-0 input and output of convmtx-mpi.
#pragma once

#include <petscvec.h>

#include <vector>

#include "convmtx/petsc_handle.hpp"
#include "convmtx/slab_layout.hpp"
#include "convmtx/span.hpp"

namespace convmtx::petsc {

/// Writes `natural` (C order, side.total() values; read on `root` only, shape_error there when
/// its size differs) into the distributed `out`, whose local sizes must be side's (shape_error).
/// Collective.
void scatter_from_root(span<const double> natural, const SideLayout& side, Vec out, int root = 0);

/// The distributed `v` (laid out by `side`) in C order on `root`; empty on the other processes.
/// Collective.
std::vector<double> gather_to_root(Vec v, const SideLayout& side, int root = 0);

}  // namespace convmtx::petsc
