// weft::Semaphore / BoundedSemaphore: release and the combiner's FIFO hand-off
// (see weft/semaphore.hpp).
#include "weft/semaphore.hpp"

#include <string>

namespace weft {

using detail::WaitList;
using detail::WaitNode;

namespace {
/// Permits fit the state word's 32 high bits (a release can add one more).
constexpr std::int64_t kMaxPermits = (std::int64_t{1} << 31) - 1;
}  // namespace

Semaphore::Semaphore(std::int64_t value, std::int64_t bound) : bound_(bound) {
  if (value < 0)
    throw ValueError("weft::Semaphore: initial value must be >= 0, not " + std::to_string(value));
  if (value > kMaxPermits) throw ValueError("weft::Semaphore: initial value is too large");
  state_.store(static_cast<std::uint64_t>(value) * kOne, std::memory_order_relaxed);
}

void Semaphore::AcquireAwaiter::await_resume() {
  const std::uint32_t o = outcome();
  if (o == WaitNode::kCancelled) detail::throw_cancelled_at_resume();
  if (granted_after_wait() && detail::take_pending_cancel()) {
    // Cancelled while the permit was on its way to us: pass it on (asyncio).
    (void)sem()->give_back();
    detail::throw_cancelled_at_resume();
  }
}

void Semaphore::release() {
  if (!give_back())
    throw ValueError(
        "weft::BoundedSemaphore::release: BoundedSemaphore released too many times (bound " +
        std::to_string(bound_) + ")");
}

bool Semaphore::give_back() noexcept {
  std::uint64_t old;
  if (bound_ < 0) {
    // release: the holder's writes happen-before the next holder's acquire.
    old = state_.fetch_add(kOne, std::memory_order_release);
  } else {
    old = state_.load(std::memory_order_relaxed);
    do {
      // The count never undercounts (the combiner claims a waiter before it
      // takes the permit), so this check is exact.
      if (static_cast<std::int64_t>(old >> kPermitShift) >= bound_) return false;
    } while (!state_.compare_exchange_weak(old, old + kOne, std::memory_order_release,
                                           std::memory_order_relaxed));
  }
  if (old & kWaiterMask) signal();
  return true;
}

void Semaphore::on_enqueue(WaitNode*) noexcept {
  // relaxed: RMWs on the word are totally ordered, so every fast path after
  // this sees the waiter; the combiner learns of the node through the mailbox.
  state_.fetch_add(kWaiter, std::memory_order_relaxed);
}

void Semaphore::on_cancelled(WaitNode*) noexcept {
  // acq_rel: ordered with the grants and releases around it.
  state_.fetch_sub(kWaiter, std::memory_order_acq_rel);
}

void Semaphore::accept(WaitNode* n) noexcept {
  if (n->outcome() == WaitNode::kCancelled) return;  // its CANCEL request follows
  waiters_.push_back(n);
}

void Semaphore::match() noexcept {
  while (!waiters_.empty()) {
    // acquire: pairs with release()'s release increment.
    std::uint64_t s = state_.load(std::memory_order_acquire);
    if (s < kOne) return;  // no permit: the next release() signals (waiters are counted)
    WaitNode* n = waiters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: on_cancelled counts it out
    // While waiters are counted only the combiner takes permits, so the one we
    // saw is still there: take it and count the waiter out in one RMW.
    // acq_rel: take the releaser's writes; the waiter also synchronises via wake().
    state_.fetch_sub(kOne + kWaiter, std::memory_order_acq_rel);
    finish(n);
  }
}

}  // namespace weft
