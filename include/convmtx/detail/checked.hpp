// Internal: overflow-checked integer arithmetic. Not part of the public API.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "convmtx/errors.hpp"

namespace convmtx::detail {

inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        throw index_overflow_error(std::string(what) + " overflows a 64-bit integer (" + std::to_string(a) +
                                   " * " + std::to_string(b) + ")");
    return r;
}

inline std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        throw index_overflow_error(std::string(what) + " overflows a 64-bit integer (" + std::to_string(a) +
                                   " + " + std::to_string(b) + ")");
    return r;
}

inline std::int64_t checked_product(const std::vector<std::int64_t>& v, const char* what) {
    std::int64_t p = 1;
    for (auto x : v) p = checked_mul(p, x, what);
    return p;
}

}  // namespace convmtx::detail
