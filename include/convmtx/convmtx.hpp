// convmtx: convolutions as explicit sparse matrices. Include this header.
#pragma once

#include "convmtx/builder.hpp"
#include "convmtx/dot_test.hpp"
#include "convmtx/errors.hpp"
#include "convmtx/geometry.hpp"
#include "convmtx/image.hpp"
#include "convmtx/inspect.hpp"
#include "convmtx/io.hpp"
#include "convmtx/kernels.hpp"
#include "convmtx/layout.hpp"
#include "convmtx/operator.hpp"
#include "convmtx/png.hpp"
#include "convmtx/solvers.hpp"
#include "convmtx/span.hpp"
#include "convmtx/spec.hpp"
#include "convmtx/suitesparse.hpp"
#include "convmtx/validate.hpp"
