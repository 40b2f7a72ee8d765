// Internal: text taken from files, made safe to print in an error message. Not part of the public API.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace convmtx::detail {

/// `bytes` with every byte outside printable ASCII written as \xNN (and a backslash as \\),
/// cut after `max_bytes` input bytes with "..." appended.
inline std::string printable(std::string_view bytes, size_t max_bytes = 60) {
    std::string out;
    const size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
    for (size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (n < bytes.size()) out += "...";
    return out;
}

/// A file name for messages: printable(path) in single quotes, never cut.
inline std::string quoted(std::string_view path) { return "'" + printable(path, path.size()) + "'"; }

}  // namespace convmtx::detail
