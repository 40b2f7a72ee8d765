// convmtx: convolutions as explicit sparse matrices. Include this header.
#pragma once

/// \namespace convmtx
/// Convolutions and transposed convolutions as explicit sparse matrices: the configuration
/// (ConvSpec) and its geometry, W and T = W^T, operators and direct kernels, kernel validation,
/// solvers, files and pictures.
/// \namespace convmtx::figure
/// Figures with labelled axes, ticks, legends and colour bars, written as PNG or SVG.

#include "convmtx/builder.hpp"
#include "convmtx/checkerboard.hpp"
#include "convmtx/csr.hpp"
#include "convmtx/dot_test.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/figure.hpp"
#include "convmtx/file.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/image.hpp"
#include "convmtx/inspect.hpp"
#include "convmtx/io.hpp"
#include "convmtx/jacobian.hpp"
#include "convmtx/kernels.hpp"
#include "convmtx/layout.hpp"
#include "convmtx/matrix_market.hpp"
#include "convmtx/npy.hpp"
#include "convmtx/npz.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/pgm.hpp"
#include "convmtx/png.hpp"
#include "convmtx/random_spec.hpp"
#include "convmtx/raster.hpp"
#include "convmtx/solvers.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"
#include "convmtx/spectrum.hpp"
#include "convmtx/spectrum_cholmod.hpp"
#include "convmtx/spy.hpp"
#include "convmtx/suitesparse.hpp"
#include "convmtx/validate.hpp"
