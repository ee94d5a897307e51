// weft::Lock: unlock, and the combiner's FIFO hand-off (see weft/lock.hpp).
#include "weft/lock.hpp"

#include "weft/errors.hpp"

namespace weft {

using detail::WaitList;
using detail::WaitNode;

void Lock::LockAwaiter::await_resume() {
  // kReadyYield and kGranted: we hold the lock (the combiner recorded us as holder).
  if (outcome() == WaitNode::kCancelled) throw CancelledError();
}

void Lock::unlock() {
  if (!release()) throw RuntimeError("weft::Lock::unlock: the lock is not acquired");
}

bool Lock::release() noexcept {
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  do {
    if (!(s & kLocked)) return false;
    // Clears the lock and the holder, keeps the waiters flag. release: our
    // critical section happens-before the next holder's (taken with an acquire
    // CAS on the fast path, or handed over by the combiner).
  } while (!state_.compare_exchange_weak(s, s & kWaiters, std::memory_order_release,
                                         std::memory_order_relaxed));
  if (s & kWaiters) signal();
  return true;
}

void Lock::accept(WaitNode* n) noexcept {
  // Cancelled before it got here: its CANCEL request follows and finishes it.
  if (n->outcome() == WaitNode::kCancelled) return;
  waiters_.push_back(n);
}

void Lock::match() noexcept {
  while (!waiters_.empty()) {
    // acquire: pairs with the release CAS of the last unlock().
    std::uintptr_t s = state_.load(std::memory_order_acquire);
    if (!(s & kWaiters)) {
      // From now on the holder's unlock() sees the flag and signals us, and the
      // fast path (which needs state == 0) is closed to newcomers.
      s = state_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
    }
    if (s & kLocked) return;  // the holder will signal when it unlocks
    WaitNode* n = waiters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: skip it
    // Unlocked with the waiters flag set: nobody but the combiner can change the
    // word now (try_lock needs 0, unlock needs kLocked), so a store suffices;
    // it records the new holder. release: publishes the hand-off (the waiter
    // also synchronises through wake()).
    state_.store(
        reinterpret_cast<std::uintptr_t>(n->task) | kLocked | (waiters_.empty() ? 0 : kWaiters),
        std::memory_order_release);
    finish(n);
    return;
  }
  if (state_.load(std::memory_order_relaxed) & kWaiters)
    state_.fetch_and(~kWaiters, std::memory_order_acq_rel);  // reopen the fast path
}

}  // namespace weft
