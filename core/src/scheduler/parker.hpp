// Parker: puts one worker thread to sleep until it is unparked, with no lost
// wake-up: an unpark() that comes before park() makes the next park() return at
// once.
//
// A parked worker sleeps either on its own futex or, when it holds the runtime's
// driver, inside epoll_wait; unpark() uses whichever the worker chose (the state
// word says which), so the waker never needs to know.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class Driver;

class Parker {
 public:
  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kParked = 1;        ///< asleep on the futex
  static constexpr std::uint32_t kParkedDriver = 2;  ///< asleep in the driver
  static constexpr std::uint32_t kNotified = 3;

  explicit Parker(Driver& driver) : driver_(driver) {}

  /// Sleeps until unpark() or `timeout_ns` (< 0: none). Spurious returns are
  /// possible; callers re-check their condition. Owner thread only.
  void park(std::int64_t timeout_ns);
  /// Like park(), but sleeps in the driver (the caller holds it), which also
  /// dispatches I/O readiness. Owner thread only.
  void park_on_driver(std::int64_t timeout_ns);
  /// Wakes the owner, or makes its next park() return at once. Any thread; wait-free.
  void unpark() noexcept;

 private:
  alignas(64) detail::Atomic<std::uint32_t> state_{kEmpty};
  Driver& driver_;
};

}  // namespace weft::detail
