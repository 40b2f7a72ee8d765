// Inspection of W (and T = W^T): statistics, the structure check, the formula of one
// element and the overlap counts of a transposed conv.
#pragma once

#include "convmtx/matrix_stats.hpp"
#include "convmtx/overlap.hpp"
#include "convmtx/structure.hpp"
#include "convmtx/terms.hpp"
