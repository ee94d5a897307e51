// TimeoutScope: the state behind asyncio.timeout(), shared by weft::Timeout,
// weft::timeout() and weft::wait_for().
//
// A scope is entered on the running task and pushed on the task's chain of
// active scopes (TaskInfo::timeouts). Its timer is armed lazily: only when the
// task suspends inside the scope (Worker::run_task calls arm_timeouts), so a
// block that completes without suspending costs a few stores and no timer.
// When the timer fires it cancels the task (asyncio's Timeout._on_timeout); at
// the scope's end the CancelledError this caused becomes TimeoutError, unless
// another cancellation is also pending (asyncio 3.12+ rule, compared against
// cancelling() at entry).
//
// Owner-only: a scope is entered, rescheduled and left by the task it belongs
// to; only its timer entry is shared, and the entry's state CAS decides between
// "fired" and "closed".
#pragma once

#include <cstdint>
#include <exception>
#include <optional>

#include "weft/detail/task_header.hpp"
#include "weft/detail/timer_entry.hpp"

namespace weft::detail {

struct TimeoutScope {
  enum class State : std::uint8_t { created, active, expired, left };

  std::optional<std::int64_t> deadline_ns;  ///< steady clock; nullopt: no deadline
  TaskHeader* task = nullptr;
  TimeoutScope* parent = nullptr;
  TimerEntry* entry = nullptr;
  std::int32_t cancelling_at_entry = 0;
  bool armed = false;
  State state = State::created;

  TimeoutScope() = default;
  explicit TimeoutScope(std::optional<std::int64_t> deadline) : deadline_ns(deadline) {}
  TimeoutScope(const TimeoutScope&) = delete;
  TimeoutScope& operator=(const TimeoutScope&) = delete;
  ~TimeoutScope();

  /// Enters on the calling task. Throws InvalidStateError if entered before,
  /// RuntimeError outside a task.
  void enter();
  /// Leaves after the body ended normally (nothing is thrown), or with
  /// `cancelled` (a CancelledError): throws TimeoutError if this scope's
  /// deadline caused it, else rethrows it.
  void leave(std::exception_ptr cancelled);
  /// Leaves while another exception propagates (never throws).
  void leave_quietly() noexcept;
  /// Moves the deadline (asyncio's Timeout.reschedule()).
  void reschedule(std::optional<std::int64_t> deadline);
  /// The deadline passed while the scope was active.
  bool expired() const noexcept;
  /// Arms the timer (called on the task's worker when the task suspends).
  void arm();

 private:
  bool close_timer() noexcept;  ///< true if the timer fired
  void pop() noexcept;
};

/// Arms every not-yet-armed scope of `task` (owner, on the task's worker).
void arm_timeouts(TaskHeader* task);

}  // namespace weft::detail
