// Sparse matrix files, chosen by extension: Matrix Market (.mtx, matrix_market.hpp) and scipy's
// .npz (npz.hpp). This header gathers them with the CSR types (csr.hpp) and the file rules
// (file.hpp): only regular files are read, every declared size is checked against the bytes
// present before allocating, and every file is written atomically (never a partial file).
#pragma once

#include <string>

#include "convmtx/csr.hpp"
#include "convmtx/file.hpp"
#include "convmtx/matrix_market.hpp"
#include "convmtx/npz.hpp"

namespace convmtx {

/// write_npz for a name ending in ".npz", write_matrix_market for ".mtx" (any case); anything
/// else throws std::invalid_argument naming the path and the two extensions.
void write_matrix_file(const std::string& path, const CsrArrays& a, const std::string& comment = "");
/// read_npz / read_matrix_market by extension (".npz" or ".mtx"; any case).
CsrMatrix read_matrix_file(const std::string& path);

/// Writes an Eigen sparse matrix by extension (see write_matrix_file).
template <class Scalar, int Order, class StorageIndex>
void write_matrix_file(const std::string& path, const Eigen::SparseMatrix<Scalar, Order, StorageIndex>& M,
                       const std::string& comment = "") {
    write_matrix_file(path, to_csr_arrays(M), comment);
}

}  // namespace convmtx
