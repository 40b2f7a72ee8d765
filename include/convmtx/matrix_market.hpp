// Matrix Market files (.mtx): writing, reading and parsing.
//
// Written: "%%MatrixMarket matrix coordinate real general", comment lines "% ...", the size line
// "rows cols nnz", then one "i j value" line per stored entry, 1-based, row-major order, values
// printed like %.17g (double) or %.9g (float) in the C locale: exactly enough digits to read back
// the same number. Files are written atomically (file.hpp).
//
// Read: coordinate (real, double, integer or pattern; general, symmetric or skew-symmetric;
// duplicates summed, as scipy does) or array (real/integer, general; zeros are not stored).
// Refused with format_error naming the source, the value and the rule:
//   - a first line that is not "%%MatrixMarket matrix <format> <field> <symmetry>" with supported words;
//   - a size line that is not 3 (coordinate) or 2 (array) decimal integers without sign, a symmetric
//     or skew-symmetric matrix that is not square, an array whose rows x cols overflows;
//   - rows or cols above max_matrix_dim(entries) (csr.hpp);
//   - more declared entries than the bytes after the size line can hold (an entry line takes at
//     least 4 bytes for pattern, 6 with a value, 2 for an array value): checked before allocating;
//   - an entry line that is not exactly "i j" (pattern) or "i j v" (one value for arrays), an index
//     outside 1..rows or 1..cols, an integer field value that is not an integer, a missing entry;
//   - anything but comment and blank lines after the declared entries; a line longer than 1 MiB.
// The row index is allocated only after every entry has been read (detail/entries.hpp).
#pragma once

#include <string>

#include "convmtx/csr.hpp"
#include "convmtx/file.hpp"

namespace convmtx {

/// Writes `a` as Matrix Market text into `out` (comment lines may contain newlines: each becomes "% line").
void encode_matrix_market(const CsrArrays& a, const std::string& comment, ByteSink& out);
/// The text of a Matrix Market file holding `a`.
std::string matrix_market_text(const CsrArrays& a, const std::string& comment = "");
/// Writes `a` as Matrix Market to `path` (atomically, streamed).
void write_matrix_market(const std::string& path, const CsrArrays& a, const std::string& comment = "");

/// Parses Matrix Market text; `what` names the source in errors.
CsrMatrix parse_matrix_market(const std::string& text, const std::string& what = "Matrix Market text");
/// Reads a Matrix Market file (a regular file, streamed in 1 MiB blocks).
CsrMatrix read_matrix_market(const std::string& path);

}  // namespace convmtx
