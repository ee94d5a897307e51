// weft::TimerHandle: what Runtime::call_later / call_at return (asyncio's
// TimerHandle).
//
//   weft::TimerHandle h = rt.call_later(500ms, [] { std::puts("late"); });
//   if (h.cancel()) ...          // true: the callback will never run
//
// Semantics
//  - A timer runs its callback once, on a worker of its runtime, no earlier
//    than when() (1 ms timer resolution: up to about 1 ms late, plus
//    scheduling delay). It sleeps on the timer wheel of the worker that
//    starts it (a small task per timer: weft::sleep_until underneath).
//  - cancel() and the firing are decided by one CAS on the handle's state
//    word: exactly one of "the callback runs" and "cancel() returns true"
//    happens. cancel() returns false if the callback has started (or ran),
//    or the timer was cancelled already. A successful cancel also cancels
//    the sleeping task, so its wheel entry and the callback (with what it
//    captured) are freed soon, on a worker -- or, if the task had not
//    started yet, when the last TimerHandle of it goes.
//  - A timer still pending when its runtime shuts down never runs (asyncio
//    drops the timers of a closed loop); it then reads cancelled() == true
//    and cancel() returns false.
//  - Dropping every TimerHandle does not cancel the timer.
//  - An exception thrown by the callback is reported on stderr ("weft:
//    exception in callback (call_later): ...", asyncio's default exception
//    handler) and does not disturb the worker.
//
// Thread-safety: every member may be called from any thread (plain or
// worker) at any time; copies share one timer. One TimerHandle object must
// not be assigned while another thread uses it.
//
// Progress and cost
//   call_later / call_at   three allocations (the callable, the shared
//                          state, the timer task's frame) and a spawn (as
//                          Runtime::spawn); the wheel entry is armed by the
//                          task on its worker: O(1)
//   cancel()               two loads and one CAS (wait-free) and, if it won,
//                          the task's cancel() (lock-free; never waits for
//                          its worker)
//   cancelled()            two loads (wait-free)
//   when()                 no shared access
#pragma once

#include <cstdint>
#include <memory>

#include "weft/detail/atomic.hpp"
#include "weft/detail/callback.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft {

class Runtime;

namespace detail {

/// Shared by a TimerHandle (and its copies) and the timer's task.
struct TimerState {
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kFired = 1;      ///< the task won: the callback runs
  static constexpr std::uint32_t kCancelled = 2;  ///< cancel() (or shutdown) won

  /// The one decision between the firing task and cancel().
  detail::Atomic<std::uint32_t> phase{kPending};
  std::int64_t when_ns = 0;
  const char* what = "call_later";  ///< names the call in error reports
  /// Owned by the task while it lives (it runs and resets it); destroyed with
  /// the state if the task never ran.
  CallbackPtr fn;
};

/// The timer's task: sleeps until when_ns, then runs fn if it wins the phase
/// CAS (core/src/bridge/timer_handle.cpp).
Task<void> run_timer(std::shared_ptr<TimerState> state);

}  // namespace detail

class TimerHandle {
 public:
  /// An empty handle: cancel(), cancelled() and when() throw InvalidStateError.
  TimerHandle() = default;

  /// Prevents the callback from running; true if this call did (see the file
  /// comment: exactly one of "it runs" and "cancel() returns true").
  bool cancel();
  /// The timer was cancelled (by cancel(), or by its runtime's shutdown).
  bool cancelled() const;
  /// The deadline (asyncio's TimerHandle.when()): call_at's time point, or
  /// the time of the call_later call plus its delay (clamped, see call_later).
  Clock::time_point when() const;

  explicit operator bool() const noexcept { return state_ != nullptr; }

 private:
  friend class Runtime;
  const detail::TimerState& state(const char* what) const;

  std::shared_ptr<detail::TimerState> state_;
  JoinHandle<void> task_;
};

}  // namespace weft
