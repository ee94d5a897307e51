// A type-erased callable for the plain-thread bridge (weft/threadsafe.hpp):
// Runtime::call_soon_threadsafe, call_later and call_at keep the user's
// callable in one heap block that knows how to run and destroy it, and how to
// sit in an intrusive list (the runtime's call queue).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <ratio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace weft::detail {

struct CallbackNode {
  CallbackNode* next = nullptr;
  void (*invoke)(CallbackNode*) = nullptr;  ///< runs the callable (may throw)
  void (*destroy)(CallbackNode*) noexcept = nullptr;
};

template <class F>
struct CallbackOf final : CallbackNode {
  F fn;
  explicit CallbackOf(F f) : fn(std::move(f)) {
    invoke = [](CallbackNode* n) { static_cast<CallbackOf*>(n)->fn(); };
    destroy = [](CallbackNode* n) noexcept { delete static_cast<CallbackOf*>(n); };
  }
};

struct CallbackDeleter {
  void operator()(CallbackNode* n) const noexcept { n->destroy(n); }
};
using CallbackPtr = std::unique_ptr<CallbackNode, CallbackDeleter>;

/// One allocation holding a decayed copy of `fn`, which must be callable with
/// no arguments.
template <class F>
CallbackPtr make_callback(F&& fn) {
  using D = std::decay_t<F>;
  static_assert(std::is_invocable_v<D&>, "weft: the callback must be callable with no arguments");
  return CallbackPtr(new CallbackOf<D>(D(std::forward<F>(fn))));
}

/// A delay in nanoseconds for call_later and the bridge's timed waits:
/// negative delays are 0 (asyncio: "as soon as possible"), delays beyond
/// INT64_MAX ns (292 years) are clamped to it, and a NaN delay throws
/// std::invalid_argument naming `what`. Units finer than a nanosecond are
/// not accepted.
template <class Rep, class Period>
std::int64_t delay_ns(std::chrono::duration<Rep, Period> d, const char* what) {
  using Ns = std::chrono::nanoseconds;
  static_assert(std::ratio_greater_equal_v<Period, std::nano> || std::is_floating_point_v<Rep>,
                "weft: durations finer than a nanosecond are not supported");
  if constexpr (std::is_floating_point_v<Rep>) {
    if (std::isnan(d.count()))
      throw std::invalid_argument(std::string(what) + ": the duration is NaN");
    const long double ns = static_cast<long double>(d.count()) * Period::num * std::nano::den /
                           (static_cast<long double>(Period::den) * std::nano::num);
    if (ns <= 0) return 0;
    if (ns >= static_cast<long double>(INT64_MAX)) return INT64_MAX;
    return static_cast<std::int64_t>(ns);
  } else {
    using D = std::chrono::duration<Rep, Period>;
    if (d <= D::zero()) return 0;
    // Compared in D's unit: casting Ns::max() down to a coarser unit cannot overflow.
    if (std::chrono::duration_cast<D>(Ns::max()) < d) return INT64_MAX;
    return std::chrono::duration_cast<Ns>(d).count();
  }
}

}  // namespace weft::detail
