// weft::Semaphore / BoundedSemaphore: release and the combiner's FIFO hand-off
// (see weft/semaphore.hpp).
#include "weft/semaphore.hpp"

#include <string>

namespace weft {

using detail::WaitList;
using detail::WaitNode;

namespace {
/// Permits fit the state word above the waiters flag with room to spare.
constexpr std::int64_t kMaxPermits = std::int64_t{1} << 61;
}  // namespace

Semaphore::Semaphore(std::int64_t value, std::int64_t bound) : bound_(bound) {
  if (value < 0)
    throw ValueError("weft::Semaphore: initial value must be >= 0, not " + std::to_string(value));
  if (value > kMaxPermits) throw ValueError("weft::Semaphore: initial value is too large");
  state_.store(static_cast<std::uint64_t>(value) * kOne, std::memory_order_relaxed);
}

void Semaphore::AcquireAwaiter::await_resume() {
  if (outcome() == WaitNode::kCancelled) throw CancelledError();
}

void Semaphore::release() {
  if (!give_back())
    throw ValueError("weft::BoundedSemaphore::release: released too many times (bound " +
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
      if (static_cast<std::int64_t>(old >> 1) >= bound_) return false;
    } while (!state_.compare_exchange_weak(old, old + kOne, std::memory_order_release,
                                           std::memory_order_relaxed));
  }
  if (old & kWaiters) signal();
  return true;
}

void Semaphore::accept(WaitNode* n) noexcept {
  if (n->outcome() == WaitNode::kCancelled) return;  // its CANCEL request follows
  waiters_.push_back(n);
}

void Semaphore::match() noexcept {
  while (!waiters_.empty()) {
    // acquire: pairs with release()'s release increment.
    std::uint64_t s = state_.load(std::memory_order_acquire);
    if (!(s & kWaiters)) {
      // From now on release() signals us and the fast paths stay out.
      s = state_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
    }
    if (s < kOne) return;  // no permit: the next release() signals
    WaitNode* n = waiters_.front();
    WaitList::unlink(n);
    if (!claim(n, WaitNode::kGranted)) continue;  // cancelled: skip it
    // With the flag set only the combiner takes permits, so the one we saw is
    // still there. Clear the flag in the same RMW when the list ran empty.
    // acq_rel: take the releaser's writes; the waiter also synchronises via wake().
    state_.fetch_sub(kOne + (waiters_.empty() ? kWaiters : 0), std::memory_order_acq_rel);
    finish(n);
  }
  if (state_.load(std::memory_order_relaxed) & kWaiters)
    state_.fetch_and(~kWaiters, std::memory_order_acq_rel);  // reopen the fast paths
}

}  // namespace weft
