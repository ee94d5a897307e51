// weft::Semaphore and weft::BoundedSemaphore: asyncio's, for tasks on any
// number of worker threads.
//
//   weft::Semaphore sem(3);                  // at most 3 holders at a time
//   {
//     auto permit = co_await sem.scoped();   // asyncio: async with sem:
//     co_await fetch(url);
//   }                                        // released here
//   co_await sem.acquire(); ...; sem.release();
//
// Semantics
//  - A counter of permits: acquire() takes one, waiting while there is none;
//    release() returns one. A negative initial value throws weft::ValueError.
//  - BoundedSemaphore(n): release() beyond the initial value throws ValueError
//    (the check and the increment are one atomic decision).
//  - Fair: FIFO, in the order waiters' requests reach the combiner. A permit
//    released while tasks wait goes to the first of them; acquire() and
//    try_acquire() never take a permit while any waiter is counted (including
//    one that has counted itself but not yet published its request, which a
//    later waiter can still overtake).
//  - acquire() is a suspension point only when it waits (or, with the task's
//    cooperative budget spent, it takes the permit and yields once). Cancelling
//    a waiting acquire() (cancel(), weft::wait_for, weft::timeout) withdraws it
//    without a trace: if the permit was granted but the task had not resumed
//    yet, it passes the permit on and acquire() throws CancelledError (asyncio).
//  - Waiters are resumed by scheduling their task, never inline in release().
//  - release() and try_acquire() may be called from plain threads.
//  - Lifetime: release() reads the state word once and then, if waiters
//    are counted, signals the combiner: a waiter can be granted in between
//    (by its own enqueue, say) and return. So a task must not destroy the
//    Semaphore merely because its acquire() returned while the release() may
//    still be running: wait for the releasing task (or thread) too. (An
//    Event, by contrast, may be destroyed by the waiter it woke.)
//
// Progress and cost (state word = permits and the number of waiters)
//   release(), no waiters          wait-free: one fetch_add
//   release(), with waiters        + a signal to the combiner (lock-free), plus
//                                  the hand-off if this thread becomes the
//                                  combiner
//   BoundedSemaphore::release()    lock-free: one CAS when uncontended (the
//                                  bound check and the increment must be one
//                                  atomic decision, hence a CAS loop that
//                                  retries only when another thread changed the
//                                  count)
//   try_acquire(), fast acquire()  lock-free: one CAS when uncontended (retries
//                                  only when another thread changed the count)
//   acquire() that waits, cancel   one CAS push (lock-free); the grant itself
//                                  is delegated to the combiner thread and
//                                  waits for it to run (detail/combiner.hpp,
//                                  "Progress")
//   locked(), value()              wait-free: one load
// The primitive's own code takes no mutex or spin lock; a cancellation also
// runs TaskHeader::cancel() (its progress note, detail/task_header.hpp: a
// few instructions on the cancel-message slot once the task has an info block).
//
// Destroying a semaphore while tasks wait on it is undefined behaviour.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/combiner.hpp"
#include "weft/sync_errors.hpp"

namespace weft {

class Semaphore : private detail::Combiner {
 public:
  class Guard;
  class AcquireAwaiter;
  class ScopedAwaiter;

  /// `value` permits; throws ValueError if negative (or absurdly large).
  explicit Semaphore(std::int64_t value = 1) : Semaphore(value, -1) {}

  /// Awaits a permit. Throws CancelledError if cancelled while waiting,
  /// RuntimeError outside a weft task.
  [[nodiscard]] AcquireAwaiter acquire() noexcept;
  /// Awaits a permit and returns a Guard that releases it (asyncio's `async with`).
  [[nodiscard]] ScopedAwaiter scoped() noexcept;
  /// Takes a permit if one is free and nobody waits. Any thread.
  bool try_acquire() noexcept;
  /// Returns a permit, handing it to the first waiter if any. Any thread.
  /// BoundedSemaphore: throws ValueError when released too many times.
  void release();
  /// asyncio's locked(): no permit can be taken right now (none free, or
  /// waiters queued ahead).
  bool locked() const noexcept {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    return s < kOne || (s & kWaiterMask);
  }
  /// Permits free right now (asyncio's internal _value).
  std::int64_t value() const noexcept {
    return static_cast<std::int64_t>(state_.load(std::memory_order_acquire) >> kPermitShift);
  }

 protected:
  Semaphore(std::int64_t value, std::int64_t bound);

 private:
  // state_: [ permits:32 | waiters:32 ]. A waiter counts itself in before its
  // request reaches the combiner (on_enqueue) and is counted out when it is
  // granted (with its permit, in one RMW) or cancelled: the fast paths, which
  // need zero waiters, never take a permit while anyone waits.
  static constexpr unsigned kPermitShift = 32;
  static constexpr std::uint64_t kOne = std::uint64_t{1} << kPermitShift;  ///< one permit
  static constexpr std::uint64_t kWaiter = 1;                              ///< one waiter
  static constexpr std::uint64_t kWaiterMask = kOne - 1;

  bool try_fast() noexcept;
  /// release() that reports a bound violation instead of throwing.
  bool give_back() noexcept;
  void on_enqueue(detail::WaitNode* n) noexcept override;
  void accept(detail::WaitNode* n) noexcept override;
  void match() noexcept override;
  void on_cancelled(detail::WaitNode* n) noexcept override;

  detail::Atomic<std::uint64_t> state_;
  const std::int64_t bound_;  ///< < 0: unbounded
  detail::WaitList waiters_;
};

/// asyncio.BoundedSemaphore: release() beyond the initial value throws ValueError.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::int64_t value = 1) : Semaphore(value, value) {}
};

class Semaphore::AcquireAwaiter : public detail::WaitAwaiter {
 public:
  explicit AcquireAwaiter(Semaphore* s) noexcept : WaitAwaiter(s) {}
  bool await_ready() noexcept { return sem()->try_fast() && ready_now(); }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Semaphore.acquire"); }
  void await_resume();

 protected:
  Semaphore* sem() const noexcept { return static_cast<Semaphore*>(owner()); }
};

/// Holds one permit taken by `co_await sem.scoped()`; releases it when destroyed.
class Semaphore::Guard {
 public:
  explicit Guard(Semaphore& s) noexcept : sem_(&s) {}
  Guard(Guard&& o) noexcept : sem_(std::exchange(o.sem_, nullptr)) {}
  Guard& operator=(Guard&& o) noexcept {
    if (this != &o) {
      reset();
      sem_ = std::exchange(o.sem_, nullptr);
    }
    return *this;
  }
  ~Guard() { reset(); }
  /// Releases early (idempotent).
  void release() noexcept { reset(); }

 private:
  void reset() noexcept {
    // A guard's permit was acquired, so the bound holds unless other code
    // released too often; a destructor cannot report that, so it is ignored.
    if (sem_) (void)std::exchange(sem_, nullptr)->give_back();
  }
  Semaphore* sem_;
};

class Semaphore::ScopedAwaiter : public AcquireAwaiter {
 public:
  using AcquireAwaiter::AcquireAwaiter;
  Guard await_resume() {
    AcquireAwaiter::await_resume();
    return Guard(*sem());
  }
};

inline Semaphore::AcquireAwaiter Semaphore::acquire() noexcept {
  return AcquireAwaiter(this);
}
inline Semaphore::ScopedAwaiter Semaphore::scoped() noexcept {
  return ScopedAwaiter(this);
}

inline bool Semaphore::try_fast() noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  while (!(s & kWaiterMask) && s >= kOne) {
    // acquire: the releaser's writes happen-before the new holder's.
    if (state_.compare_exchange_weak(s, s - kOne, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  }
  return false;
}

inline bool Semaphore::try_acquire() noexcept {
  return try_fast();
}

}  // namespace weft
