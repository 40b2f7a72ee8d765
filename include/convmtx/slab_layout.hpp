// How W (or T) is cut among P processes: slabs along the slowest spatial axis, every channel
// of a slab on the same process, so that a process's rows reach the columns of other
// processes only through the kernel's halo. Pure geometry (no MPI): the PETSc component
// (petsc_matrix.hpp) lays its matrices and vectors out with it, and the scaling model
// (slab_model) predicts entries, bytes and halo per process from it without building anything.
//
// A side of W (its rows: the conv's output (C_out, m_0, ..., m_{r-1}); its columns: the
// conv's input (C_in, n_0, ...)) of length L_0 along the slowest spatial axis is cut at
//   begin[p] = floor(p L_0 / P),  p = 0..P,
// process p owns every position (c, i_0, i_rest) with begin[p] <= i_0 < begin[p+1], numbered
// contiguously after the positions of processes 0..p-1 in C order (c, i_0 - begin[p], i_rest):
// the distributed numbering is a permutation of convmtx's C-order numbering (the identity for
// one channel or one process).
#pragma once

#include <vector>

#include "convmtx/geometry.hpp"

namespace convmtx {

/// One side of W cut into P slabs along its slowest spatial axis.
class SideLayout {
public:
    /// `channels` x `size` (spatial, slowest first) cut into `parts` slabs; config_error when parts < 1.
    SideLayout(index_t channels, const Dims& size, int parts);

    /// P, the number of parts.
    int parts() const { return static_cast<int>(begin_.size()) - 1; }
    /// C, the channels of the side.
    index_t channels() const { return channels_; }
    /// The length of the side: C times every spatial size.
    index_t total() const { return offset_.back(); }
    /// Positions of the slowest spatial axis owned by part p: [slab_begin(p), slab_begin(p + 1)).
    index_t slab_begin(int p) const { return begin_[static_cast<size_t>(p)]; }
    /// L_p, the positions of the slowest spatial axis owned by part p (0 when P > L_0 leaves it none).
    index_t slab_length(int p) const { return slab_begin(p + 1) - slab_begin(p); }
    /// Positions of the other spatial axes together (1 for a 1-d signal).
    index_t plane() const { return plane_; }
    /// The distributed indices of part p: [offset(p), offset(p + 1)); offset(p+1)-offset(p) = C L_p plane.
    index_t offset(int p) const { return offset_[static_cast<size_t>(p)]; }
    /// The indices owned by part p: C L_p plane().
    index_t local_size(int p) const { return offset(p + 1) - offset(p); }
    /// The part owning position i_0 of the slowest spatial axis.
    int part_of_slab_position(index_t i0) const;
    /// convmtx's C-order index (c, i_0, i_rest) -> the distributed index.
    index_t to_distributed(index_t flat) const;
    /// The distributed index -> convmtx's C-order index.
    index_t to_flat(index_t distributed) const;

private:
    index_t channels_ = 1, length0_ = 1, plane_ = 1;
    std::vector<index_t> begin_;   ///< parts + 1 cuts of the slowest axis
    std::vector<index_t> offset_;  ///< parts + 1 distributed offsets
};

/// The layouts of W's rows (the conv's output side) and columns (its input side) for P parts;
/// for T = W^T the roles swap: T's rows are `cols`, its columns `rows`.
struct SlabLayout {
    SideLayout rows;  ///< W's rows: (C_out, m...)
    SideLayout cols;  ///< W's columns: (C_in, n...)
    /// The layout of the matrix's own rows / columns: W's (transpose = false) or T's.
    const SideLayout& matrix_rows(bool transpose) const { return transpose ? cols : rows; }
    /// The layout of the matrix's own columns: W's (transpose = false) or T's.
    const SideLayout& matrix_cols(bool transpose) const { return transpose ? rows : cols; }
};
/// The layouts of W's rows (C_out, m...) and columns (C_in, n...) of `geometry` cut into `parts`
/// slabs; config_error when parts < 1.
SlabLayout slab_layout(const ConvGeometry& geometry, int parts);

/// What one part holds of W or T under slab_layout, derived from the geometry's tap tables alone.
/// Every row set of a part is a product (channels) x (slab) x (whole other axes), and an entry of
/// W exists iff the channels pair up and every axis's tap table connects the positions, so
///   entries = C_rows (C_cols/G) S_0 prod_{j>0} S_j,  S_j = sum over the part's positions of the
///                                                     axis-j table's groups (line_count summed),
///   halo    = C_cols |R_0 \ own slab| prod_{j>0} |R_j|, R_j = the positions of the other side that
///                                                     the part's axis-j positions meet.
/// The halo is the number of ghost columns (off-process columns with an entry) of the part, and
/// the number of scalars it receives in a product A x (and sends in A^T y).
struct PartModel {
    index_t rows = 0;          ///< rows owned (= the part's share of the row side)
    index_t cols = 0;          ///< columns owned (vector entries of the column side)
    index_t entries = 0;       ///< stored entries of the part's rows (every tap structural)
    index_t diagonal_entries = 0;  ///< of those, in columns the part owns
    index_t halo = 0;          ///< distinct columns owned by other parts that the part's rows reach
    int neighbours = 0;        ///< other parts owning at least one of those columns
    /// Bytes of the part's share of a PETSc MPIAIJ matrix with 8-byte scalars and `index_bytes`-byte
    /// indices: entries (value + column index), the row offsets of its diagonal and off-diagonal
    /// blocks, and the ghost column map and ghost vector (value + index per halo column).
    double matrix_bytes(int index_bytes) const;
};

/// PartModel of every part of W (transpose = false) or T under slab_layout(geometry, parts).
/// O(parts + sum_j (m_j + n_j) k_j) work: usable for a 1024^3 volume at thousands of parts.
std::vector<PartModel> slab_model(const ConvGeometry& geometry, bool transpose, int parts);

}  // namespace convmtx
