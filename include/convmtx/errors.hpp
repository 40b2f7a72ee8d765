// Exception types thrown by convmtx. Every message names the parameter, the
// spatial dimension where one applies, the offending value and the rule.
#pragma once

#include <stdexcept>
#include <string>

namespace convmtx {

/// A convolution configuration that violates a rule (stride, padding, groups, ...).
class config_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// An array (weight, input, operand) whose shape does not match the configuration.
class shape_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A matrix whose size or number of entries does not fit the requested index type.
class index_overflow_error : public std::overflow_error {
public:
    using std::overflow_error::overflow_error;
};

/// A file that cannot be opened, read or written: missing, not a regular file where one is
/// read, a full disk, no permission. The message names the path and the system's reason.
class io_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// File contents (or bytes) that break their format's rules: a declared size that the bytes
/// present cannot hold, an index out of range, an unknown dtype. The message names the file
/// or member, the value and the rule; bytes taken from the file are escaped (`\\xNN`).
class format_error : public io_error {
public:
    using io_error::io_error;
};

/// "1.50 GiB": bytes in binary units, for messages.
std::string format_bytes(double bytes);

/// A problem whose estimated memory exceeds a limit: refused before allocating.
/// The message names the estimate, the limit and what to do instead.
class memory_limit_error : public std::runtime_error {
public:
    /// The error with its message and the two numbers it compares.
    memory_limit_error(const std::string& message, double estimated, double limit)
        : std::runtime_error(message), estimated_bytes(estimated), limit_bytes(limit) {}
    double estimated_bytes;  ///< the memory the problem would take, in bytes
    double limit_bytes;      ///< the limit it exceeds, in bytes
};

}  // namespace convmtx
