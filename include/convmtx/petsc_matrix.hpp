// W or T of a convolution as a distributed PETSc matrix (MATMPIAIJ), each process building its
// own rows straight from the geometry (detail/builder_impl.hpp's visit_line, the serial
// builder's row visitor) with exact preallocation of the diagonal and off-diagonal blocks and
// no communication before assembly. Rows and columns follow slab_layout (slab_layout.hpp):
// matrix row/column k of the PETSc matrix is row/column SideLayout::to_flat(k) of convmtx's W
// or T, so the gathered matrix equals the serial conv_matrix / conv_transpose_matrix exactly.
#pragma once

#include <petscmat.h>

#include <vector>

#include <Eigen/SparseCore>

#include "convmtx/geometry.hpp"
#include "convmtx/petsc_handle.hpp"
#include "convmtx/slab_layout.hpp"
#include "convmtx/span.hpp"

namespace convmtx::petsc {

/// A distributed W or T with its layout.
struct DistributedMatrix {
    /// The MATMPIAIJ matrix, rows and columns numbered by layout.
    OwnedMat A;
    /// slab_layout(geometry, size of the communicator): W's rows and columns.
    SlabLayout layout;
    bool transpose = false;  ///< A is T = W^T
    /// The layout of A's rows (W's rows, or its columns when transpose).
    const SideLayout& row_layout() const { return layout.matrix_rows(transpose); }
    /// The layout of A's columns (W's columns, or its rows when transpose).
    const SideLayout& col_layout() const { return layout.matrix_cols(transpose); }
};

/// W (transpose = false) or T of `geometry` on `comm`, cut by slab_layout(geometry, size of comm).
/// `weight` holds the configuration's weight_numel() values, layout (C_conv_out, C_conv_in/G, k...)
/// (shape_error otherwise), on every process. Every tap is a structural entry, as in the serial
/// build with drop_zeros = false. Collective. Throws index_overflow_error when the matrix's size or
/// a process's entry count does not fit PetscInt, petsc_error when PETSc fails.
DistributedMatrix build_matrix(MPI_Comm comm, const ConvGeometry& geometry, span<const PetscScalar> weight,
                               bool transpose);

/// The number of ghost columns of this process's rows: columns owned by other processes that
/// hold an entry (the size of the off-diagonal block's column map). Local, not collective.
index_t ghost_count(Mat A);

/// This process's share as PETSc reports it (ownership ranges, MatGetInfo's nonzeros used of the
/// whole local part and of its diagonal block) with its ghost count. Local, not collective.
struct MeasuredPart {
    /// Owned rows (MatGetOwnershipRange); cols: owned columns.
    index_t rows = 0, cols = 0;       ///< owned rows and columns
    index_t entries = 0;              ///< nonzeros used, both blocks
    index_t diagonal_entries = 0;     ///< nonzeros of the diagonal block
    /// ghost_count(A).
    index_t ghosts = 0;
};
MeasuredPart measure_part(Mat A);

/// The whole matrix on process `root` in convmtx's numbering (rows and columns by
/// SideLayout::to_flat), row-major with sorted columns; an empty matrix on the other processes.
/// Collective.
Eigen::SparseMatrix<double, Eigen::RowMajor, std::int64_t> gather_matrix(const DistributedMatrix& M, int root = 0);

}  // namespace convmtx::petsc
