// weft::Lock: asyncio.Lock for tasks on any number of worker threads.
//
//   weft::Lock lock;
//   {
//     auto guard = co_await lock.scoped();   // asyncio: async with lock:
//     shared.push_back(x);
//   }                                        // unlocked here
//   co_await lock.lock(); ...; lock.unlock();  // the explicit form
//   if (lock.try_lock()) { ...; lock.unlock(); }
//
// Semantics (asyncio's, made thread-safe)
//  - Mutual exclusion between tasks on all workers and plain threads (which may
//    use try_lock()/unlock()). Like asyncio's, the lock is not owned for the
//    purpose of unlock(): any task or thread may release it; unlocking an
//    unlocked lock throws weft::RuntimeError. The holder is recorded anyway
//    (the task, or the plain thread) so that weft::Condition can check it.
//  - Fair: FIFO, in the order waiters' requests reach the combiner. A lock
//    released while tasks wait is handed directly to the first of them
//    (try_lock() keeps failing across the hand-off: the waiters are counted;
//    locked() may read false for that moment), so a newcomer never barges past
//    a waiter; try_lock() fails while any waiter is counted, including one that
//    has counted itself but not yet published its request (a later waiter can
//    still overtake that one).
//  - lock() is a suspension point only when it waits (or when the task's
//    cooperative budget is spent, when it takes the lock and then yields once).
//    Cancelling a waiting lock() (task.cancel(), weft::wait_for, weft::timeout)
//    withdraws it and leaves no trace; if the lock was handed to the task but
//    the task had not resumed yet, it passes the lock on to the next waiter
//    and lock() throws CancelledError (asyncio). Nothing is lost either way.
//  - A waiter is resumed by scheduling its task (on the worker that hands the
//    lock over, or through the inject queue from a plain thread), never inline
//    on the unlocking thread's stack.
//  - Lifetime: unlock() changes the lock word and then, if waiters are
//    counted, signals the combiner; the next holder may run and finish in
//    between. Do not destroy the Lock because its new holder is done while
//    the unlocking task may still be inside unlock(): wait for that task too.
//
// Progress and cost
//   try_lock(), uncontended lock()   wait-free: one CAS on the state word (which
//                                    also records the holder)
//   unlock() without waiters         one CAS; lock-free (it retries only if a
//                                    waiter counts itself in or out at that
//                                    instant). With waiters it then signals
//                                    the combiner (lock-free), plus the
//                                    hand-off if it becomes the combiner
//                                    (O(pending requests))
//   lock() that waits, cancel        one CAS push on the mailbox (lock-free);
//                                    the hand-off itself is delegated to the
//                                    combiner thread and waits for it to run
//                                    (detail/combiner.hpp, "Progress")
//   locked()                         wait-free: one load
// No mutex or spin lock on any path. Memory: 8 words per Lock; 7 words per
// waiting lock() in the waiter's frame.
//
// Destroying a Lock while tasks wait on it is undefined behaviour (like
// destroying a std::mutex that is in use).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/combiner.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft {

class Condition;

namespace detail {
/// Identifies who is running: the current task's header, or this plain thread
/// (8-aligned, so that the id leaves the low bits of a word free for flags).
inline thread_local std::uint64_t tls_thread_identity = 0;
inline std::uintptr_t current_owner_id() noexcept {
  if (TaskHeader* t = tls_context.current) return reinterpret_cast<std::uintptr_t>(t);
  return reinterpret_cast<std::uintptr_t>(&tls_thread_identity);
}
}  // namespace detail

class Lock : private detail::Combiner {
 public:
  class Guard;
  class LockAwaiter;
  class ScopedAwaiter;

  Lock() = default;

  /// Awaits the lock (asyncio's `await lock.acquire()`). Throws CancelledError if
  /// cancelled while waiting; RuntimeError outside a weft task.
  [[nodiscard]] LockAwaiter lock() noexcept;
  /// Awaits the lock and returns a Guard that unlocks it (asyncio's `async with`).
  [[nodiscard]] ScopedAwaiter scoped() noexcept;
  /// Takes the lock if it is free and nobody waits. Any thread; wait-free.
  bool try_lock() noexcept;
  /// Releases the lock, handing it to the first waiter if any. Any thread.
  /// Throws weft::RuntimeError if the lock is not locked.
  void unlock();
  /// asyncio's locked(). During a hand-off to a waiter it may briefly read false
  /// while try_lock() still fails (as in asyncio, where the woken waiter has not
  /// run yet). Wait-free.
  bool locked() const noexcept { return state_.load(std::memory_order_acquire) & kLocked; }
  /// True if the lock is held by the calling task (or plain thread).
  bool held_by_current() const noexcept {
    // relaxed: only the holder's own question has a stable answer, and the
    // holder wrote (or the hand-off that woke it wrote) `holder_` itself.
    return locked() && holder_.load(std::memory_order_relaxed) == detail::current_owner_id();
  }

 private:
  friend class Condition;
  // state_: [ waiters | LOCKED ]. A waiter counts itself in before its request
  // reaches the combiner (on_enqueue) and is counted out when the lock is
  // handed to it (in the same RMW that keeps it locked) or when it is
  // cancelled: try_lock(), which needs the word to be 0, never takes the lock
  // while anyone waits (R6). The holder is recorded beside it (Condition's
  // check), written by whoever takes the lock for the new holder.
  static constexpr std::uintptr_t kLocked = 1;
  static constexpr std::uintptr_t kWaiter = 2;

  bool try_fast() noexcept;
  /// unlock() that reports instead of throwing.
  bool release() noexcept;
  void on_enqueue(detail::WaitNode* n) noexcept override;
  void accept(detail::WaitNode* n) noexcept override;
  void match() noexcept override;
  void on_cancelled(detail::WaitNode* n) noexcept override;

  detail::Atomic<std::uintptr_t> state_{0};
  /// The holder's identity (current_owner_id()), 0 when unlocked.
  detail::Atomic<std::uintptr_t> holder_{0};
  detail::WaitList waiters_;
};

class Lock::LockAwaiter : public detail::WaitAwaiter {
 public:
  explicit LockAwaiter(Lock* l) noexcept : WaitAwaiter(l) {}
  bool await_ready() noexcept { return lock()->try_fast() && ready_now(); }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h, "Lock.lock"); }
  void await_resume() {
    // relaxed: kWaiting here means await_ready took the lock and the node was
    // never published (owner-only); any other state was decided by a combiner
    // or the yield path, and resume_after_wait() reads it with acquire.
    if (state.load(std::memory_order_relaxed) != detail::WaitNode::kWaiting) resume_after_wait();
  }

 protected:
  void resume_after_wait();
  Lock* lock() const noexcept { return static_cast<Lock*>(owner()); }
};

/// Holds a Lock taken by `co_await lock.scoped()`; unlocks it when destroyed.
class Lock::Guard {
 public:
  explicit Guard(Lock& l) noexcept : lock_(&l) {}
  Guard(Guard&& o) noexcept : lock_(std::exchange(o.lock_, nullptr)) {}
  Guard& operator=(Guard&& o) noexcept {
    if (this != &o) {
      reset();
      lock_ = std::exchange(o.lock_, nullptr);
    }
    return *this;
  }
  ~Guard() { reset(); }
  /// Unlocks early (idempotent).
  void unlock() noexcept { reset(); }
  bool owns_lock() const noexcept { return lock_ != nullptr; }

 private:
  void reset() noexcept {
    if (lock_) std::exchange(lock_, nullptr)->release();
  }
  Lock* lock_;
};

class Lock::ScopedAwaiter : public LockAwaiter {
 public:
  using LockAwaiter::LockAwaiter;
  Guard await_resume() {
    LockAwaiter::await_resume();
    return Guard(*lock());
  }
};

inline Lock::LockAwaiter Lock::lock() noexcept {
  return LockAwaiter(this);
}
inline Lock::ScopedAwaiter Lock::scoped() noexcept {
  return ScopedAwaiter(this);
}

inline bool Lock::try_fast() noexcept {
  std::uintptr_t expected = 0;
  // acquire: the previous holder's writes happen-before ours. A single CAS that
  // fails whenever anything is set (locked, or waiters counted): wait-free.
  if (!state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed))
    return false;
  holder_.store(detail::current_owner_id(), std::memory_order_relaxed);  // see held_by_current
  return true;
}

inline bool Lock::try_lock() noexcept {
  return try_fast();
}

}  // namespace weft
