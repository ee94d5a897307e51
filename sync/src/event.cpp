// weft::Event: set, clear, blocking waits, and the combiner's wake-all (see
// weft/event.hpp).
#include "weft/event.hpp"

#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"

namespace weft {

using detail::WaitList;
using detail::WaitNode;

bool Event::WaitAwaiter::await_resume() {
  const std::uint32_t o = outcome();
  if (o == WaitNode::kCancelled || (granted_after_wait() && detail::take_pending_cancel()))
    detail::throw_cancelled_at_resume();
  return true;
}

void Event::set() noexcept {
  // acq_rel: release publishes what the setter wrote to every waiter.
  const std::uint64_t old = state_.fetch_or(kSet, std::memory_order_acq_rel);
  // Decide from the RMW's result alone, never from a second look at the word:
  // once the set bit is public, a waiter may see it in await_ready, return and
  // destroy the Event. If a combiner set the waiters flag before our RMW, the
  // result has it; if after, the combiner's RMW saw our set bit.
  if (!(old & kSet) && (old & kWaiters)) signal();
}

void Event::clear() noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  while (s & kSet) {
    // A new generation: waiters that arrive from now on wait for the next set().
    // relaxed: clearing publishes nothing; the combiner reads the word anyway.
    if (state_.compare_exchange_weak(s, (s & ~kSet) + kGeneration, std::memory_order_relaxed))
      return;
  }
}

bool Event::wait_blocking(std::chrono::nanoseconds timeout) {
  if (detail::tls_context.worker)
    throw InvalidStateError(
        "weft::Event::wait_blocking: called on a weft worker thread; co_await wait() instead");
  std::uint64_t s = state_.load(std::memory_order_acquire);
  if (s & kSet) return true;
  WaitNode node;
  node.tag = generation(s);
  return Combiner::wait_blocking(&node, deadline_after(timeout)) == WaitNode::kGranted;
}

void Event::accept(WaitNode* n) noexcept {
  if (n->outcome() == WaitNode::kCancelled) return;  // its CANCEL request follows
  // acquire: the setter's writes reach the waiter we wake here.
  std::uint64_t s = state_.load(std::memory_order_acquire);
  if ((s & kSet) || generation(s) != n->tag) {
    // A set() happened since the waiter looked: it is due already.
    if (claim(n, WaitNode::kGranted)) finish(n);
    return;
  }
  // Linked only with the current generation, so the list's generations never
  // decrease: the due waiters are always a prefix of it.
  waiters_.push_back(n);
}

void Event::match() noexcept {
  if (!waiters_.empty()) {
    // acquire: pairs with set()'s acq_rel RMW.
    std::uint64_t s = state_.load(std::memory_order_acquire);
    if (!(s & kWaiters)) {
      // From now on set() sees the flag and signals us.
      s = state_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
    }
    const std::uint32_t gen = generation(s);
    while (!waiters_.empty()) {
      WaitNode* n = waiters_.front();
      if (!(s & kSet) && n->tag == gen) break;  // waits for the next set()
      WaitList::unlink(n);
      if (claim(n, WaitNode::kGranted)) finish(n);  // else cancelled: its request follows
    }
  }
  if (waiters_.empty() && (state_.load(std::memory_order_relaxed) & kWaiters))
    state_.fetch_and(~kWaiters, std::memory_order_acq_rel);
}

}  // namespace weft
