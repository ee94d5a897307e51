// weft::Condition: wait, notify, and the combiner's credit spending (see
// weft/condition.hpp).
#include "weft/condition.hpp"

#include <algorithm>

#include "weft/errors.hpp"

namespace weft {

using detail::WaitList;
using detail::WaitNode;

/// The notification wait inside wait(): takes a ticket, publishes the waiter,
/// then releases the lock (in that order, so a notify() that follows the
/// release finds the waiter).
class Condition::NotifyAwaiter : public detail::WaitAwaiter {
 public:
  explicit NotifyAwaiter(Condition* c) noexcept : detail::WaitAwaiter(c) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    auto* c = static_cast<Condition*>(owner());
    Lock* lock = c->lock_;
    detail::require_current_task("weft::Condition::wait");  // throws before any change
    tag = c->seq_++;                                        // we hold the lock
    bool waits = suspend(h, "Condition.wait");
    // Published: from here on only locals. The lock is held by us (checked in
    // wait()), so the release cannot fail.
    (void)lock->release();
    return waits;
  }
  /// True if notified, false if cancelled. Notified while a cancel() was on its
  /// way: true, and cancelled_after_notify (wait() passes the notification on).
  bool await_resume() noexcept {
    if (outcome() != kGranted) return false;
    cancelled_after_notify = granted_after_wait() && detail::take_pending_cancel();
    return true;
  }
  bool cancelled_after_notify = false;
};

Condition::Condition() : own_lock_(std::make_unique<Lock>()), lock_(own_lock_.get()) {}

Condition::~Condition() = default;

Task<void> Condition::wait() {
  if (!lock_->held_by_current())
    throw RuntimeError(
        "weft::Condition::wait: cannot wait on un-acquired lock (the lock is not held by this "
        "task: acquire it first)");
  NotifyAwaiter waiter(this);
  const bool notified = co_await waiter;
  bool cancelled = !notified || waiter.cancelled_after_notify;
  // Re-acquire the lock whatever happens (asyncio); cancellations meanwhile are
  // remembered and delivered once the lock is ours again.
  for (;;) {
    bool got = false;
    try {
      co_await lock_->lock();
      got = true;
    } catch (const CancelledError&) {
      cancelled = true;
    }
    if (got) break;
  }
  if (cancelled) {
    if (notified) pass_on_notification();
    detail::throw_cancelled_at_resume();
  }
}

void Condition::pass_on_notification() noexcept {
  // We hold the lock again, so this notify() cannot fail.
  try {
    notify(1);
  } catch (...) {
  }
}

void Condition::notify(std::uint32_t n) {
  if (!lock_->held_by_current())
    throw RuntimeError(
        "weft::Condition::notify: cannot notify on un-acquired lock (the lock is not held by "
        "this task)");
  if (n == 0) return;
  const std::uint32_t issued = seq_;  // guarded by the lock
  // acquire: pairs with the combiner's release increments. A stale (low) read
  // only lets the combiner expire the surplus credits later.
  const std::uint32_t live = issued - finished_.load(std::memory_order_acquire);
  std::uint64_t w = notify_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    // At most as many credits as waiters this read counts live: a notify()
    // that found nobody leaves nothing for later waiters (asyncio: a no-op); a
    // stale read or a cancel not yet processed leaves a surplus, which the
    // combiner expires (tickets keep later waiters from it).
    std::uint64_t c = std::min<std::uint64_t>(std::uint64_t{credits(w)} + n, kMaxCredits);
    c = std::min<std::uint64_t>(c, live);
    next = pack(issued, static_cast<std::uint32_t>(c), w & kWaiters);
    // release: what the notifier wrote under the lock reaches the woken waiter.
  } while (!notify_.compare_exchange_weak(w, next, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
  if (w & kWaiters) signal();
}

void Condition::accept(WaitNode* n) noexcept {
  accepted_upto_ = n->tag + 1;  // tickets arrive in order (taken and pushed under the lock)
  if (n->outcome() == WaitNode::kCancelled) return;  // its CANCEL request follows
  waiters_.push_back(n);
}

void Condition::on_cancelled(WaitNode*) noexcept {
  // release: the notifier that reads the count sees the waiter gone.
  finished_.fetch_add(1, std::memory_order_release);
}

void Condition::match() noexcept {
  while (!waiters_.empty()) {
    // acquire: pairs with notify()'s CAS.
    std::uint64_t w = notify_.load(std::memory_order_acquire);
    if (!(w & kWaiters)) w = notify_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
    if (credits(w) == 0) break;
    WaitNode* n = waiters_.front();
    if (!before(n->tag, upto(w))) break;  // started waiting after the notify()
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: skip it, keep the credit
    // Spend one credit (notify() may add or clamp concurrently).
    while (credits(w) > 0 && !notify_.compare_exchange_weak(w, w - 2, std::memory_order_acq_rel,
                                                            std::memory_order_acquire)) {
    }
    finished_.fetch_add(1, std::memory_order_release);
    finish(n);
  }
  std::uint64_t w = notify_.load(std::memory_order_acquire);
  // Expire credits nobody can use: every ticket before `upto` has arrived and
  // none of them is still waiting.
  while (credits(w) > 0 && !before(accepted_upto_, upto(w)) &&
         (waiters_.empty() || !before(waiters_.front()->tag, upto(w)))) {
    if (notify_.compare_exchange_weak(w, pack(upto(w), 0, w & kWaiters), std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      break;
  }
  if (waiters_.empty() && (notify_.load(std::memory_order_relaxed) & kWaiters))
    notify_.fetch_and(~kWaiters, std::memory_order_acq_rel);
}

}  // namespace weft
