// weft::Event: asyncio.Event for tasks on any number of worker threads, and for
// plain threads.
//
//   weft::Event ready;
//   co_await ready.wait();        // in any number of tasks
//   ready.set();                  // from any task or thread: wakes them all
//   ready.wait_blocking();        // a plain thread may wait too
//
// Semantics
//  - A flag, initially clear. wait() returns at once while it is set and
//    otherwise waits until set() is called. clear() resets it.
//  - A set() wakes every task that was waiting at that moment, exactly once,
//    even if clear() follows at once; a task that starts waiting after that
//    clear() is not woken by it (a generation count in the state word tells
//    the two apart).
//  - wait() is a suspension point only when it waits (or yields once when the
//    task's cooperative budget is spent). Cancelling a waiting wait() (cancel(),
//    weft::wait_for, weft::timeout) withdraws it without a trace; if the set()
//    reached it first but the task had not resumed yet, wait() throws
//    CancelledError at that resumption (asyncio).
//  - Waiters are resumed by scheduling their tasks (never inline in set()), in
//    the order their requests reached the combiner (a waiter whose request
//    arrives after a set() is woken at once, possibly before older waiters of
//    that set()). Generations compare modulo 2^32: a waiter misses a set()
//    only if a multiple of 2^32 set/clear pairs pass before the combiner
//    looks at it.
//  - Lifetime: the task whose wait() returned may destroy the Event at once,
//    even while the set() that ended the wait is still running on another
//    thread: set() decides from its one RMW and issues wake-ups only after its
//    last access to the Event. Destroying it while any other operation on it
//    is in progress (another wait, a clear(), a cancellation) is undefined,
//    as for any object.
//
// Progress and cost (state word = set bit, waiters flag, generation)
//   set()                   one fetch_or whose old value decides (a cmpxchg
//                           loop on x86: lock-free). With waiters, + a signal
//                           to the combiner (lock-free), and the
//                           wake-ups, O(waiters), if this thread becomes the
//                           combiner (lock-free, detail/combiner.hpp)
//   is_set(), wait() on a   wait-free: one load
//   set event
//   clear()                 lock-free: one CAS when uncontended (clearing must
//                           also advance the generation, one atomic decision
//                           that races with set())
//   wait() that waits,      one CAS push on the mailbox (lock-free); the wake-up
//   cancel                  is delegated to the combiner thread and waits for
//                           it to run (detail/combiner.hpp, "Progress")
// The primitive's own code takes no mutex or spin lock; a cancellation also
// runs TaskHeader::cancel() (its progress note, detail/task_header.hpp: a
// few instructions on the cancel-message slot once the task has an info block).
//
// Memory (W10: a million tasks parked on one Event). A waiting wait() is 56
// bytes in the waiter's frame: core's Suspension (16: withdraw function,
// label) + the WaitNode (40: two mailbox links, the list's back link, the
// task, state and generation); the Event pointer rides in the CANCEL link.
// A minimal task `Task<void> f(State* s) { co_await s->event.wait(); ... }`
// has a frame of 176 bytes with g++ 12 (16 resume/destroy pointers, 72 task
// header, 8 parameter, 56 awaiter, 24 of g++'s own: frame index and flags,
// self handle, padding) and 160 with clang 14; the frame cache rounds frames
// up to 64-byte classes carved from slabs (no per-frame malloc header,
// detail/frame_allocator.hpp): 192 bytes of RSS per parked task with either
// compiler.
//
// Destroying an Event while tasks wait on it is undefined behaviour.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/combiner.hpp"

namespace weft {

class Event : private detail::Combiner {
 public:
  class WaitAwaiter;

  Event() = default;

  /// Awaits the event; the co_await yields true (asyncio's wait() returns
  /// True). Throws CancelledError if cancelled while waiting, RuntimeError
  /// outside a weft task.
  [[nodiscard]] WaitAwaiter wait() noexcept;
  /// Sets the flag and wakes every waiter. Any thread.
  void set() noexcept;
  /// Clears the flag. Any thread.
  void clear() noexcept;
  bool is_set() const noexcept { return state_.load(std::memory_order_acquire) & kSet; }

  /// A plain thread's wait (must not be called on a weft worker: it would block
  /// the worker). Returns true once the event is set; false if `timeout`
  /// passed first. Throws InvalidStateError on a worker thread.
  bool wait_blocking(std::chrono::nanoseconds timeout = std::chrono::nanoseconds::max());

 private:
  static constexpr std::uint64_t kSet = 1;
  static constexpr std::uint64_t kWaiters = 2;
  static constexpr std::uint64_t kGeneration = 4;  ///< one clear() of a set event

  static std::uint32_t generation(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s >> 2);
  }
  void accept(detail::WaitNode* n) noexcept override;
  void match() noexcept override;

  detail::Atomic<std::uint64_t> state_{0};
  detail::WaitList waiters_;
};

class Event::WaitAwaiter : public detail::WaitAwaiter {
 public:
  explicit WaitAwaiter(Event* e) noexcept : detail::WaitAwaiter(e) {}
  bool await_ready() noexcept {
    // acquire: what the setter wrote before set() is visible after wait().
    std::uint64_t s = event()->state_.load(std::memory_order_acquire);
    if (s & kSet) return ready_now();
    tag = generation(s);  // woken by the first set() after this generation
    return false;
  }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Event.wait"); }
  /// true, as asyncio's `await event.wait()`.
  bool await_resume();

 private:
  Event* event() const noexcept { return static_cast<Event*>(owner()); }
};

inline Event::WaitAwaiter Event::wait() noexcept {
  return WaitAwaiter(this);
}

}  // namespace weft
