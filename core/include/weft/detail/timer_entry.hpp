// TimerEntry: one registered deadline in a worker's timer wheel.
//
// Life cycle. An entry is armed by a task on the worker it runs on and lives in
// that worker's wheel (its *owner*). Exactly one of two things ends it, decided
// by one CAS on `state`:
//   - it fires: the owner sees the deadline pass and calls on_fire();
//   - it is cancelled: cancel_timer() from any thread. On the owner the entry is
//     unlinked at once (O(1)); from another thread it goes on the owner's inbox
//     (a lock-free stack, O(1)) and the owner unlinks it at its next look.
// The entry is reference counted (the user, the wheel while linked, the inbox
// while queued), so none of them can free it under another, and it returns to
// the per-thread small-block cache when the last one lets go.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class TaskHeader;
class Worker;

struct TimerEntry {
  static constexpr std::uint32_t kPending = 0;
  static constexpr std::uint32_t kFired = 1;
  static constexpr std::uint32_t kCancelled = 2;

  // Owner-only wheel links.
  TimerEntry* prev = nullptr;
  TimerEntry* next = nullptr;
  std::uint64_t deadline_ms = 0;  ///< wheel tick (ms since the runtime started), rounded up
  std::uint8_t level = 0;
  std::uint8_t slot = 0;
  bool linked = false;
  /// The entry holds a reference on `task` (timeout scopes: the callback uses
  /// the task after the scope may have ended).
  bool holds_task_ref = false;

  detail::Atomic<std::uint32_t> state{kPending};
  detail::Atomic<std::uint32_t> refs{2};  ///< the user and the wheel
  TimerEntry* inbox_next = nullptr;
  Worker* owner = nullptr;
  void (*on_fire)(TimerEntry*) noexcept = nullptr;
  TaskHeader* task = nullptr;
  std::int64_t deadline_ns = 0;  ///< exact deadline (steady clock), for "never early" checks
};

/// Arms a timer on the calling worker's wheel (must be called on a weft worker,
/// inside a task). The caller holds one reference and must drop it with
/// release_timer(). If the deadline has already passed, on_fire is called
/// before arm_timer returns.
TimerEntry* arm_timer(std::int64_t deadline_ns, void (*on_fire)(TimerEntry*) noexcept,
                      TaskHeader* task, bool hold_task_ref);

/// Cancels a pending timer. Returns false if it already fired (or was
/// cancelled). Any thread; O(1); lock-free.
bool cancel_timer(TimerEntry* e) noexcept;

/// Drops the caller's reference.
void release_timer(TimerEntry* e) noexcept;

}  // namespace weft::detail
