// weft::Condition: asyncio.Condition for tasks on any number of worker threads.
//
//   weft::Condition cond;                    // with its own Lock, or Condition(lock)
//   // consumer
//   {
//     auto guard = co_await cond.scoped();   // asyncio: async with cond:
//     while (items.empty()) co_await cond.wait();
//     use(items.front());
//   }
//   // producer
//   { auto guard = co_await cond.scoped(); items.push_back(x); cond.notify(); }
//   // or: co_await cond.wait_for([&] { return !items.empty(); });
//
// Semantics (asyncio's, Python 3.13)
//  - wait() and notify() require the calling task to hold the condition's lock
//    (the Lock records its holder); otherwise they throw weft::RuntimeError.
//  - wait() releases the lock, waits for a notify(), and re-acquires the lock
//    before it returns, also when it is cancelled: the CancelledError (or the
//    TimeoutError of weft::wait_for / weft::timeout) comes out with the lock
//    held again. A waiter that was notified and then cancelled (while it
//    re-acquired the lock) passes the notification on with notify(1).
//  - notify(n) wakes up to n of the tasks waiting when it is called, in the
//    order they started waiting; notify_all() wakes them all. Waiters that
//    were cancelled are skipped. As in Python 3.13, wait() may return
//    spuriously (e.g. a notification passed on by a cancelled waiter, or one
//    aimed at a waiter cancelled in the same instant that then falls to a later
//    waiter): wait in a loop, or use wait_for(predicate).
//  - Notified waiters are resumed by scheduling their tasks; each then queues
//    for the lock (FIFO) like any lock() call.
//
// Progress and cost
//   notify(n), notify_all()   lock-free: one CAS on the notification word when
//                             uncontended (it races only with the combiner
//                             consuming credits), + one fetch_or to signal the
//                             combiner when tasks wait
//   wait()                    a nested Task (one frame from the frame cache):
//                             one CAS push to wait, the lock's unlock, and
//                             the lock's lock() to come back; each step is
//                             lock-free apart from the frame allocation, the
//                             hand-offs are delegated to the combiner threads
//                             (detail/combiner.hpp, "Progress")
// The primitive's own code takes no mutex or spin lock; a cancellation also
// runs TaskHeader::cancel() (its progress note, detail/task_header.hpp: a
// few instructions on the cancel-message slot once the task has an info block).
//
// Destroying a Condition while tasks wait on it is undefined behaviour.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "weft/detail/atomic.hpp"
#include "weft/detail/combiner.hpp"
#include "weft/lock.hpp"
#include "weft/task.hpp"

namespace weft {

class Condition : private detail::Combiner {
 public:
  /// A condition with its own Lock (asyncio.Condition()).
  Condition();
  /// A condition over `lock`, which must outlive it (asyncio.Condition(lock)).
  explicit Condition(Lock& lock) noexcept : lock_(&lock) {}
  ~Condition();

  // ---- the lock (asyncio: a Condition is also the lock's context manager) ----
  [[nodiscard]] Lock::LockAwaiter lock() noexcept { return lock_->lock(); }
  [[nodiscard]] Lock::ScopedAwaiter scoped() noexcept { return lock_->scoped(); }
  bool try_lock() noexcept { return lock_->try_lock(); }
  void unlock() { lock_->unlock(); }
  bool locked() const noexcept { return lock_->locked(); }
  Lock& underlying_lock() noexcept { return *lock_; }

  /// Releases the lock, waits to be notified, re-acquires the lock. Throws
  /// RuntimeError if the calling task does not hold the lock; CancelledError
  /// (after re-acquiring) if cancelled.
  Task<void> wait();

  /// Waits until `pred()` is true (asyncio's wait_for); returns its last value.
  /// `pred` is called with the lock held.
  template <class Pred>
  Task<std::invoke_result_t<Pred&>> wait_for(Pred pred) {
    auto result = pred();
    while (!result) {
      co_await wait();
      result = pred();
    }
    co_return result;
  }

  /// Wakes up to `n` waiting tasks. Throws RuntimeError if the calling task (or
  /// plain thread) does not hold the lock.
  void notify(std::uint32_t n = 1);
  /// Wakes every waiting task (same lock rule).
  void notify_all() { notify(kMaxCredits); }

 private:
  class NotifyAwaiter;
  // notify_ word: [ upto : 32 | credits : 31 | waiters flag : 1 ]. Waiters with
  // a ticket before `upto` (the tickets handed out when notify() ran) may take
  // a credit; the combiner spends them in FIFO order.
  static constexpr std::uint64_t kWaiters = 1;
  static constexpr std::uint32_t kMaxCredits = (1u << 31) - 1;

  static std::uint32_t credits(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w >> 1) & kMaxCredits;
  }
  static std::uint32_t upto(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w >> 32);
  }
  static std::uint64_t pack(std::uint32_t up, std::uint32_t cr, std::uint64_t flag) noexcept {
    return (std::uint64_t{up} << 32) | (std::uint64_t{cr} << 1) | flag;
  }
  /// Ticket order with wrap-around.
  static bool before(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b) < 0;
  }

  void pass_on_notification() noexcept;
  void accept(detail::WaitNode* n) noexcept override;
  void match() noexcept override;
  void on_cancelled(detail::WaitNode* n) noexcept override;

  std::unique_ptr<Lock> own_lock_;
  Lock* lock_;
  detail::Atomic<std::uint64_t> notify_{0};
  /// Waiters whose wait ended (notified or cancelled); written by the combiner.
  detail::Atomic<std::uint32_t> finished_{0};
  /// Tickets handed out; guarded by the lock (wait() and notify() hold it).
  std::uint32_t seq_ = 0;
  /// Combiner-only: every ticket before this one has been accepted.
  std::uint32_t accepted_upto_ = 0;
  detail::WaitList waiters_;
};

}  // namespace weft
