// PGM files: binary (P5) and plain (P2) grayscale, maxval 1..65535.
//
// Written: P5, "P5\n<width> <height>\n<maxval>\n" then the samples (2 bytes, most significant
// first, when maxval > 255), atomically and streamed (file.hpp).
//
// Reading refuses, with format_error naming the file, the value and the rule: a magic other than
// P2 or P5; a header token that is not a decimal integer ('#' comments may separate tokens);
// a width or height below 1 or above 2^20, or more than 2^30 pixels (raster.hpp), checked before
// allocating; maxval outside 1..65535; P5: a raster size other than exactly the bytes after the
// header; P2: fewer bytes than the samples need (at least 2 per sample), a sample that is not an
// integer in 0..maxval, anything but whitespace and comments after the last sample.
#pragma once

#include <string>

#include "convmtx/file.hpp"
#include "convmtx/raster.hpp"

namespace convmtx {

/// Encodes a gray Raster (channels 1; maxval from the raster, 8 bits up to 255, 16 bits above) as P5 into `out`.
void encode_pgm(const Raster& raster, ByteSink& out);
/// Writes a gray Raster as a P5 file (atomically).
void write_pgm_file(const std::string& path, const Raster& raster);
/// Decodes a P2 or P5 file (or any ByteSource) into a gray Raster (bits 8 when maxval <= 255, else 16).
Raster read_pgm_file(const ByteSource& file);
/// Decodes the PGM file at `path` (see InputFile).
Raster read_pgm_file(const std::string& path);
/// Decodes the bytes of a PGM file, with the same rules; `what` names the source in errors.
Raster parse_pgm(const std::string& bytes, const std::string& what = "PGM data");

}  // namespace convmtx
