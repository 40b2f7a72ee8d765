// Internal: overflow-checked integer arithmetic. Not part of the public API.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
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

/// a * b in *r, or false when the product does not fit T (nothing is thrown: the caller words the error).
template <class T>
inline bool mul_fits(T a, T b, T* r) {
    return !__builtin_mul_overflow(a, b, r);
}

/// a + b in *r, or false when the sum does not fit T.
template <class T>
inline bool add_fits(T a, T b, T* r) {
    return !__builtin_add_overflow(a, b, r);
}

/// The decimal integer `text` ("123" or "+123": digits only, no sign, no spaces) in *out when
/// it is at most `max`; false for anything else (empty, a minus sign, another character,
/// larger than max). Never overflows.
inline bool parse_decimal(std::string_view text, std::int64_t max, std::int64_t* out) {
    if (!text.empty() && text[0] == '+') text.remove_prefix(1);
    if (text.empty()) return false;
    std::int64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        const std::int64_t d = c - '0';
        if (v > max / 10 || (v == max / 10 && d > max % 10)) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

}  // namespace convmtx::detail
