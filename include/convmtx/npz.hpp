// scipy's sparse .npz files (scipy.sparse.save_npz / load_npz), through libzip.
//
// Written: what scipy.sparse.save_npz(path, csr, compressed=False) writes: a zip archive (every
// member "stored", with its CRC-32; zip64 records only where a size or offset needs them, i.e.
// past 4 GiB) holding, in this order, indices.npy and indptr.npy (int32 while the entry count and
// the column count fit, int64 otherwise, as scipy chooses), format.npy (the bytes scalar b'csr',
// dtype |S3), shape.npy (int64, (2,)) and data.npy (float64, or float32 when CsrArrays::single).
// Members carry the fixed time 1980-01-01 00:00, so equal matrices give equal files. Written
// atomically and streamed (file.hpp); to a FIFO or device the archive is first assembled in an
// anonymous spool file, because a zip writer seeks back to fill in each member's sizes.
//
// Read: csr, csc and coo matrices as scipy writes them, members stored or deflated (zip64 too, as
// numpy writes every member; archives over 4 GiB). Refused with format_error naming the file (and
// member), the value and the rule:
//   - not a zip archive, or one libzip finds inconsistent (ZIP_CHECKCONS), an encrypted member, a
//     compression other than stored or deflate, a member name that appears twice;
//   - a member whose declared size is impossible: larger than the archive (stored), or more than
//     1032 times its compressed size (deflate cannot expand further), or whose data ends early,
//     runs long, or fails its CRC-32;
//   - a missing member, or one that is not a .npy array meeting npy.hpp's rules;
//   - format.npy other than b'csr', b'csc' or b'coo'; shape.npy not two finite non-negative integers;
//     rows or cols above max_matrix_dim(entries) (csr.hpp);
//   - indptr not of length outer + 1, not starting at 0, decreasing, or not ending at the entry
//     count; indices, row or col not of an integer dtype or outside the shape; lengths that differ;
//   - data of an unknown dtype (complex, strings, ...).
#pragma once

#include <string>

#include "convmtx/csr.hpp"
#include "convmtx/file.hpp"

namespace convmtx {

/// Writes `a` as an .npz archive into `out` (seekable sinks are written in place; others through a SpoolFile).
void encode_npz(const CsrArrays& a, ByteSink& out);
/// The bytes of an .npz file as scipy.sparse.save_npz(path, csr, compressed=False) writes it.
std::string npz_bytes(const CsrArrays& a);
/// Writes `a` to `path` as .npz (atomically, streamed).
void write_npz(const std::string& path, const CsrArrays& a);

/// Reads .npz bytes written by scipy.sparse.save_npz; `what` names the source in errors.
CsrMatrix parse_npz(const std::string& bytes, const std::string& what = "npz data");
/// Reads an .npz file (a regular file, read through libzip without loading the whole archive).
CsrMatrix read_npz(const std::string& path);

}  // namespace convmtx
