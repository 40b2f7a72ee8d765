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

}  // namespace convmtx
