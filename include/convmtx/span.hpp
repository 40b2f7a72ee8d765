// A sized, non-owning view of contiguous values (C++20's std::span, reduced to what
// convmtx needs): weights, biases and raw buffers cross the API with their size, so a
// wrong-sized array is a shape_error naming both sizes, never a read past its end.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "convmtx/errors.hpp"

namespace convmtx {

/// A view of `size` contiguous values of type T starting at `data`; it does not own them.
template <class T>
class span {
public:
    using element_type = T;                   ///< the viewed type (const for read-only views)
    using value_type = std::remove_cv_t<T>;   ///< T without const

    constexpr span() noexcept = default;
    /// The `size` values starting at `data`.
    constexpr span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
    /// Any contiguous container with data() and size() (std::vector, std::array), viewed for the
    /// duration of the call it is passed to. Eigen objects convert explicitly, span(v.data(), v.size()),
    /// so that a dense block is never taken for a weight vector by accident.
    template <class C, class = std::enable_if_t<
                           !std::is_same_v<std::decay_t<C>, span> &&
                           !std::is_base_of_v<Eigen::EigenBase<std::decay_t<C>>, std::decay_t<C>> &&
                           std::is_convertible_v<decltype(std::declval<C&>().data()), T*> &&
                           std::is_integral_v<decltype(std::declval<C&>().size())>>>
    constexpr span(C&& c) noexcept : data_(c.data()), size_(static_cast<std::size_t>(c.size())) {}
    /// A span of U as a span of T (e.g. span<double> as span<const double>).
    template <class U, class = std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]>>>
    constexpr span(const span<U>& other) noexcept : data_(other.data()), size_(other.size()) {}

    /// The first value.
    constexpr T* data() const noexcept { return data_; }
    /// Number of values.
    constexpr std::size_t size() const noexcept { return size_; }
    /// True when size() is 0.
    constexpr bool empty() const noexcept { return size_ == 0; }
    /// Value i (not checked; i < size()).
    constexpr T& operator[](std::size_t i) const { return data_[i]; }
    /// Iterator to the first value.
    constexpr T* begin() const noexcept { return data_; }
    /// Iterator past the last value.
    constexpr T* end() const noexcept { return data_ + size_; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

/// Throws shape_error "<what> has <size> values; the configuration needs <expected> (<detail>)" unless they agree.
template <class T>
void check_size(const span<T>& s, long long expected, const std::string& what, const std::string& detail = "") {
    if (s.data() == nullptr && s.size() > 0)
        throw shape_error(what + " is a null pointer with " + std::to_string(s.size()) + " values");
    if (static_cast<long long>(s.size()) != expected)
        throw shape_error(what + " has " + std::to_string(s.size()) + " values; the configuration needs " +
                          std::to_string(expected) + (detail.empty() ? "" : " = " + detail));
}

}  // namespace convmtx
