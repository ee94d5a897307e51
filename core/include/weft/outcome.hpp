// weft::Outcome<T>: a finished task's result or its exception, and weft::Void,
// the value of a task that returns nothing.
//
//   auto [a, b] = co_await weft::gather(weft::return_exceptions, fa(), fb());
//   if (a.has_value()) use(a.value()); else log(weft::exception_message(a.error()));
//
// Outcome is what gather(return_exceptions, ...) puts in each slot (asyncio's
// gather(..., return_exceptions=True) puts the exception object itself in the
// list). A cancelled task's slot holds its CancelledError (cancelled() says so).
// Void stands in for `void` wherever a result must be a value (a tuple or vector
// slot for a Task<void>).
//
// Not synchronised: an Outcome is a plain value owned by whoever holds it.
#pragma once

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/errors.hpp"

namespace weft {

/// The result of a Task<void> where a value is needed (asyncio's None).
struct Void {
  friend constexpr bool operator==(Void, Void) noexcept { return true; }
};

template <class T>
class Outcome {
  static_assert(!std::is_same_v<std::decay_t<T>, std::exception_ptr>,
                "weft::Outcome<std::exception_ptr> is ambiguous");
  static_assert(!std::is_void_v<T>, "use weft::Outcome<weft::Void>");

 public:
  using value_type = T;

  Outcome(T value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : v_(std::in_place_index<0>, std::move(value)) {}
  /// Throws std::invalid_argument for a null exception_ptr.
  explicit Outcome(std::exception_ptr error) : v_(std::in_place_index<1>, std::move(error)) {
    if (!std::get<1>(v_)) throw std::invalid_argument("weft::Outcome: null exception_ptr");
  }

  bool has_value() const noexcept { return v_.index() == 0; }
  bool has_error() const noexcept { return v_.index() == 1; }
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; rethrows the exception if there is one.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }

  /// The exception (null when there is a value).
  std::exception_ptr error() const noexcept { return has_error() ? std::get<1>(v_) : nullptr; }

  /// The exception is a weft::CancelledError (the task was cancelled).
  bool cancelled() const noexcept {
    if (!has_error()) return false;
    try {
      std::rethrow_exception(std::get<1>(v_));
    } catch (const CancelledError&) {
      return true;
    } catch (...) {
    }
    return false;
  }

 private:
  void check() const {
    if (has_error()) std::rethrow_exception(std::get<1>(v_));
  }
  std::variant<T, std::exception_ptr> v_;
};

}  // namespace weft
