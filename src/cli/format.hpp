// Text rendering of dense matrices and grids for the CLI (numpy-like).
#pragma once

#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace convmtx::cli {

/// A number as numpy prints it: "3." for integers, "%.6g" otherwise.
inline std::string format_number(double v) {
    char buf[64];
    if (v == std::floor(v) && std::abs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f.", v);
    else std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// [[a, b], [c, d]] with columns right-aligned, one row per line, each line indented.
template <class Derived>
std::string format_matrix(const Eigen::DenseBase<Derived>& M, const std::string& indent = "") {
    std::vector<std::string> cells;
    size_t width = 0;
    for (Eigen::Index i = 0; i < M.rows(); ++i)
        for (Eigen::Index j = 0; j < M.cols(); ++j) {
            cells.push_back(format_number(static_cast<double>(M(i, j))));
            width = std::max(width, cells.back().size());
        }
    std::ostringstream os;
    for (Eigen::Index i = 0; i < M.rows(); ++i) {
        os << indent << (i == 0 ? "[[" : " [");
        for (Eigen::Index j = 0; j < M.cols(); ++j) {
            const std::string& c = cells[static_cast<size_t>(i * M.cols() + j)];
            os << std::string(width - c.size(), ' ') << c << (j + 1 < M.cols() ? ", " : "");
        }
        os << (i + 1 < M.rows() ? "],\n" : "]]\n");
    }
    return os.str();
}

}  // namespace convmtx::cli
