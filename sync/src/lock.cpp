// weft::Lock: unlock, and the combiner's FIFO hand-off (see weft/lock.hpp).
#include "weft/lock.hpp"

#include "weft/errors.hpp"

namespace weft {

using detail::WaitList;
using detail::WaitNode;

void Lock::LockAwaiter::resume_after_wait() {
  // kReadyYield and kGranted: we hold the lock (the combiner recorded us as holder).
  const std::uint32_t o = outcome();
  if (o == WaitNode::kCancelled) detail::throw_cancelled_at_resume();
  if (granted_after_wait() && detail::take_pending_cancel()) {
    // Cancelled while the lock was on its way to us: pass it on (asyncio).
    (void)lock()->release();
    detail::throw_cancelled_at_resume();
  }
}

void Lock::unlock() {
  if (!release()) throw RuntimeError("weft::Lock::unlock: Lock is not acquired.");
}

bool Lock::release() noexcept {
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  if (!(s & kLocked)) return false;
  // Before the word says unlocked: a new holder records itself after its CAS.
  holder_.store(0, std::memory_order_relaxed);
  do {
    if (!(s & kLocked)) return false;
    // Clears the lock, keeps the waiters. release: our critical section
    // happens-before the next holder's (taken with an acquire CAS on the fast
    // path, or handed over by the combiner).
  } while (!state_.compare_exchange_weak(s, s & ~kLocked, std::memory_order_release,
                                         std::memory_order_relaxed));
  if (s & ~kLocked) signal();  // waiters counted: the combiner hands the lock on
  return true;
}

void Lock::on_enqueue(WaitNode*) noexcept {
  // relaxed: RMWs on the word are totally ordered, so every try_lock() after
  // this sees the waiter; the combiner learns of the node through the mailbox.
  state_.fetch_add(kWaiter, std::memory_order_relaxed);
}

void Lock::on_cancelled(WaitNode*) noexcept {
  // acq_rel: ordered with the hand-offs and unlocks around it.
  state_.fetch_sub(kWaiter, std::memory_order_acq_rel);
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
    if (s & kLocked) return;  // the holder signals when it unlocks (waiters are counted)
    WaitNode* n = waiters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: on_cancelled counts it out
    holder_.store(reinterpret_cast<std::uintptr_t>(n->task), std::memory_order_relaxed);
    // Unlocked with waiters counted: try_lock and unlock cannot change the word
    // now, only more waiters can (fetch_add); one RMW locks it for `n` and
    // counts `n` out (+kLocked - kWaiter). acq_rel: take the unlocker's writes
    // and publish the hand-off (the waiter also synchronises through wake()).
    state_.fetch_sub(kWaiter - kLocked, std::memory_order_acq_rel);
    finish(n);
    return;
  }
}

}  // namespace weft
