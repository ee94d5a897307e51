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
//    Two unlock() calls racing each other for one acquisition are a data race
//    (at most one of them can be right), as for std::mutex.
//  - Fair: FIFO, in the order waiters' enqueue CASes reach the lock word. A
//    lock released while tasks wait is handed directly to the first of them:
//    it stays locked across the hand-off (locked() reads true, try_lock()
//    fails), so a newcomer never barges past a waiter; try_lock() and an
//    uncontended lock() fail while anyone waits.
//  - lock() is a suspension point only when it waits, or when the task's
//    cooperative budget is spent: it then yields *before* it tries to take the
//    lock (so no task ever yields holding it, which would make every later
//    acquisition a hand-off) and, back from the yield, takes it or waits.
//    Cancelling a waiting lock() (task.cancel(), weft::wait_for, weft::timeout)
//    withdraws it at once and leaves no trace (the holder drops its node at its
//    next unlock); if the lock was handed to the task but the task had not
//    resumed yet, it passes the lock on to the next waiter and lock() throws
//    CancelledError (asyncio). Nothing is lost either way.
//  - A waiter is resumed by scheduling its task (on the unlocking worker: its
//    LIFO slot when that slot and its run queue are empty, else the back of
//    its run queue; through the inject queue from a plain thread), never inline
//    on the unlocking thread's stack. unlock() touches nothing of the Lock
//    after that wake: the new holder may destroy the Lock as soon as it runs.
//
// Design: the lock word is [ newest waiter | LOCKED ]: waiters push themselves
// onto a stack in the word with one CAS, and only the holder consumes it, at
// unlock(): it takes the whole stack with one exchange (keeping LOCKED),
// reverses it into a FIFO list only the holder touches, and grants the oldest
// waiter with one CAS on that waiter's node -- the one decision against a
// canceller's CAS. A withdrawn waiter leaves its node behind, so nodes live on
// the heap (a per-thread cache of them), not in the frame: the granted waiter
// frees its own node, the holder frees a withdrawn one when it meets it.
//
// Progress and cost
//   try_lock(), uncontended lock()   wait-free: one CAS on the lock word
//   unlock() without waiters         one CAS; lock-free (it retries only when
//                                    a waiter pushed itself at that instant)
//   unlock() with waiters            lock-free: one exchange per batch of
//                                    waiters, one CAS on the oldest waiter's
//                                    node, one wake; O(1) amortised (each
//                                    withdrawn node is dropped once)
//   lock() that waits                lock-free: one CAS push (retried only when
//                                    the word changed); then it waits for the
//                                    holder, as any lock waiter must
//   cancelling a waiting lock()      the Lock's part is wait-free: one CAS on
//                                    the node (the cancel() around it is
//                                    TaskHeader::cancel()'s, detail/task_header.hpp)
//   locked()                         wait-free: one load
// The Lock's own code takes no mutex or spin lock. Memory: 3 words per Lock; a waiting
// lock() holds a 3-word node (heap, cached per thread) and 7 words in the frame.
//
// Destroying a Lock while tasks wait on it is undefined behaviour (like
// destroying a std::mutex that is in use). The frame of a task waiting on a
// Lock may be destroyed without resuming (the runtime does that only at
// shutdown, to tasks that refuse to finish): the wait is then withdrawn, as
// by a cancel(); but if the lock had just been handed to that task, it stays
// held (nobody is left to pass it on).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/task_header.hpp"
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

/// A waiting lock() (see "Design" in weft/lock.hpp).
struct alignas(8) LockWaiter {
  static constexpr std::uint32_t kWaiting = 0;
  static constexpr std::uint32_t kGranted = 1;
  static constexpr std::uint32_t kCancelled = 2;
  LockWaiter* next = nullptr;  ///< older waiter (stack), then next in FIFO order (holder-only)
  TaskHeader* task = nullptr;
  detail::Atomic<std::uint32_t> state{kWaiting};  ///< the one decision: grant vs withdraw
};
/// A node from this thread's cache (or new); throws std::bad_alloc.
LockWaiter* new_lock_waiter();
/// Back to this thread's cache (or deleted).
void free_lock_waiter(LockWaiter* n) noexcept;
}  // namespace detail

class Lock {
 public:
  class Guard;
  class LockAwaiter;
  class ScopedAwaiter;

  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;
  /// Frees the nodes withdrawn waiters left behind.
  ~Lock();

  /// Awaits the lock (asyncio's `await lock.acquire()`). Throws CancelledError if
  /// cancelled while waiting; RuntimeError outside a weft task; std::bad_alloc
  /// if it must wait and no node can be allocated.
  [[nodiscard]] LockAwaiter lock() noexcept;
  /// Awaits the lock and returns a Guard that unlocks it (asyncio's `async with`).
  [[nodiscard]] ScopedAwaiter scoped() noexcept;
  /// Takes the lock if it is free and nobody waits. Any thread; wait-free.
  bool try_lock() noexcept;
  /// Releases the lock, handing it to the first waiter if any. Any thread.
  /// Throws weft::RuntimeError if the lock is not locked.
  void unlock();
  /// asyncio's locked(): true while held, hand-offs included. Wait-free.
  bool locked() const noexcept { return state_.load(std::memory_order_acquire) & kLocked; }
  /// True if the lock is held by the calling task (or plain thread).
  bool held_by_current() const noexcept {
    // relaxed: only the holder's own question has a stable answer, and the
    // holder wrote (or the hand-off that woke it wrote) `holder_` itself.
    return locked() && holder_.load(std::memory_order_relaxed) == detail::current_owner_id();
  }

 private:
  friend class Condition;
  // state_: 0 (free), or kLocked | the newest waiter not yet taken by the
  // holder. The word is never a stack without kLocked: waiters push only onto
  // a held lock, and unlock() clears the word only when the stack is empty.
  static constexpr std::uintptr_t kLocked = 1;

  bool try_fast() noexcept;
  /// unlock() that reports instead of throwing.
  bool release() noexcept;
  void unlock_slow();
  /// release()'s first step, inline: nobody waits (one CAS).
  bool release_uncontended() noexcept;

  detail::Atomic<std::uintptr_t> state_{0};
  /// The holder's identity (current_owner_id()), 0 when unlocked.
  detail::Atomic<std::uintptr_t> holder_{0};
  /// Waiters taken from the word, oldest first: the holder's alone (the one
  /// unlocking, or the one it granted, who learns of it through the wake).
  detail::LockWaiter* queue_ = nullptr;
};

class Lock::LockAwaiter : public detail::HookedSuspension {
 public:
  explicit LockAwaiter(Lock* l) noexcept : lock_(l) {}
  LockAwaiter(LockAwaiter&& o) noexcept : HookedSuspension(o), lock_(o.lock_) {}
  /// A frame destroyed without resuming (runtime shutdown) gives back a node
  /// that is its own (one never published, the yield, or one granted) and
  /// withdraws one that still waits (the Lock frees it).
  ~LockAwaiter() {
    if (node_) drop_unresumed_node();
  }
  bool await_ready() noexcept {
    // The budget first: a task whose budget is spent yields before it takes
    // the lock, never while holding it.
    if (!detail::consume_budget()) {
      mode_ = kYield;
      return false;
    }
    return lock_->try_fast();
  }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() {
    if (mode_ != kTaken) resume_after_wait();
  }

 protected:
  Lock* lock() const noexcept { return lock_; }

 private:
  // mode_: what the awaiter is doing; written by the task itself, and by a
  // canceller that owns the suspended task (withdraw), read at the resumption.
  static constexpr std::uint8_t kTaken = 0;           ///< holds the lock, no node
  static constexpr std::uint8_t kYield = 1;           ///< yielding its budget (node_ ready)
  static constexpr std::uint8_t kWaiting = 2;         ///< node_ published; granted unless cancelled
  static constexpr std::uint8_t kCancelled = 3;       ///< node_ withdrawn: the lock's now
  static constexpr std::uint8_t kYieldCancelled = 4;  ///< cancelled during the yield

  /// Publishes node_ (or takes the lock if it is free): true if the task waits.
  bool wait(detail::TaskHeader* t) noexcept;
  void drop_unresumed_node() noexcept;
  void resume_after_wait();
  static detail::Withdraw withdraw_lock(detail::Suspension* self,
                                        detail::TaskHeader* task) noexcept;
  static bool retry_after_yield(detail::HookedSuspension* self, detail::TaskHeader* task) noexcept;

  Lock* lock_;
  detail::LockWaiter* node_ = nullptr;
  std::coroutine_handle<> cont_;  ///< the resume point, kept during the yield
  std::uint8_t mode_ = kTaken;
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
    if (lock_) {
      Lock* l = std::exchange(lock_, nullptr);
      if (!l->release_uncontended()) (void)l->release();
    }
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
  // fails whenever anything is set (locked, or waiters pushed): wait-free.
  if (!state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                      std::memory_order_relaxed))
    return false;
  holder_.store(detail::current_owner_id(), std::memory_order_relaxed);  // see held_by_current
  return true;
}

inline bool Lock::try_lock() noexcept {
  return try_fast();
}

inline bool Lock::release_uncontended() noexcept {
  if (queue_) return false;                     // the holder's own list: waiters were taken
  holder_.store(0, std::memory_order_relaxed);  // before the word says unlocked
  std::uintptr_t expected = kLocked;
  // release: our critical section happens-before the next holder's (its
  // acquire CAS). Fails if waiters pushed themselves, or if not locked.
  return state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                        std::memory_order_relaxed);
}

inline void Lock::unlock() {
  if (!release_uncontended()) unlock_slow();
}

}  // namespace weft
