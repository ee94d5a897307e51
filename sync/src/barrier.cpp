// weft::Barrier: entering, tripping and leaving on the state word, and the
// combiner's release and admission of waiters (see weft/barrier.hpp).
//
// State word: [ count inside : 32 | entering : 29 | waiters flag : 1 | phase : 2 ]
//
// asyncio's Barrier is a Condition plus two fields (_state, _count) read and
// written under the Condition's lock; here both live in one atomic word, so
// that each of asyncio's steps under the lock is one RMW:
//   - entering (asyncio: _block() returned, index = _count; _count += 1) is a
//     CAS that also trips the barrier when the count reaches `parties`; the
//     tripping task leaves in the same CAS (it never suspends);
//   - leaving (asyncio: the `finally` of wait(), _count -= 1 and _exit()) is a
//     CAS that ends a drain or a reset when the count reaches 0, and tells the
//     leaving task which phase it was released into (asyncio reads _state
//     after re-acquiring the lock: a reset() or abort() after the trip still
//     breaks a task that has not resumed yet);
//   - a task that cannot enter (draining or resetting, or others already
//     waiting to enter) counts itself as entering in the same CAS that made
//     the decision, and the combiner lets it in later, doing its entering CAS
//     on its behalf.
// Waiters inside a filling barrier never look at a generation: while one is
// inside, the count is at least one, so once the phase has left filling it
// cannot return to filling before that waiter has left.
#include "weft/barrier.hpp"

#include <string>

#include "weft/detail/task_header.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft {

using detail::WaitList;
using detail::WaitNode;

Barrier::Barrier(std::int64_t parties) : parties_(parties) {
  if (parties < 1)
    throw ValueError("weft::Barrier: parties must be > 0, not " + std::to_string(parties));
  if (parties > kMaxParties) throw ValueError("weft::Barrier: parties is too large");
}

std::uint64_t Barrier::entered(std::uint64_t s) const noexcept {
  const std::uint64_t index = count(s);
  if (static_cast<std::int64_t>(index) + 1 < parties_) return s + kCountOne;
  // The last party trips it and leaves at once: the others still inside drain
  // it (a barrier of one party stays filling, as asyncio's ends up).
  return with_phase(s, parties_ == 1 ? kFilling : kDraining);
}

bool Barrier::WaitAwaiter::await_ready() {
  detail::require_current_task("weft::Barrier::wait");  // throws before any change
  Barrier* b = barrier_;
  // acquire: what the earlier parties wrote before their wait() (see entered()).
  std::uint64_t s = b->state_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint64_t ph = phase(s);
    if (ph == kBroken) {
      set_stage(kBrokenNow);
      return true;  // await_resume throws
    }
    std::uint64_t next;
    std::uint32_t stage;
    if (ph == kFilling && entering(s) == 0) {
      next = b->entered(s);
      stage = count(next) == count(s) ? kTripped : kInside;
    } else {
      next = s + kEnteringOne;  // draining, resetting, or others wait to enter first
      stage = kEntering;
    }
    // acq_rel: release what this party wrote before wait() to the parties that
    // leave after it; acquire what the earlier ones wrote (RMWs of one word
    // form a release sequence, so the trip sees every arrival).
    if (b->state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
      set_stage(stage);
      if (stage == kEntering) return false;
      set_index(count(s));
      if (stage == kInside) return false;
      // Tripped: decided from the RMW's result alone; the combiner releases
      // the waiters (waiters not yet listed see the new phase when listed).
      if (s & kWaiters) b->signal();
      return ready_now();
    }
  }
}

std::int64_t Barrier::WaitAwaiter::await_resume() {
  if (stage() == kBrokenNow) throw BrokenBarrierError("weft::Barrier::wait: Barrier aborted");
  // acquire (in the load): the combiner's writes to the node (stage, index).
  const std::uint32_t raw = state.load(std::memory_order_acquire);
  const std::uint32_t o = raw & kOutcomeMask;
  // Ended by the combiner after we suspended: a cancel() that arrived while we
  // were being woken wins (asyncio delivers it at this resumption).
  const bool pending_cancel = (raw == kGranted || raw == kRefused) && detail::take_pending_cancel();
  const bool cancelled = o == kCancelled || pending_cancel;
  if (stage() == kInside) {
    const std::uint64_t before = barrier_->leave_barrier();
    if (cancelled) detail::throw_cancelled_at_resume();
    if (phase(before) != kDraining)
      throw BrokenBarrierError("weft::Barrier::wait: Abort or reset of barrier");
    return index();
  }
  if (cancelled) detail::throw_cancelled_at_resume();
  if (o == kRefused) throw BrokenBarrierError("weft::Barrier::wait: Barrier aborted");
  return index();  // kTripped
}

std::uint64_t Barrier::leave_barrier() noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    next = s - kCountOne;
    const std::uint64_t ph = phase(s);
    // The last to leave ends a drain or a reset (asyncio's _exit()).
    if (count(next) == 0 && (ph == kDraining || ph == kResetting))
      next = with_phase(next, kFilling);
    // acq_rel: acquire the trip (and so every arrival of this cycle); release
    // what this party did to whoever enters or leaves after it.
  } while (
      !state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_relaxed));
  // Tasks waiting to enter may go in now; from the RMW's result alone.
  if (phase(next) != phase(s) && (s & kWaiters)) signal();
  return s;
}

void Barrier::reset() noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    // With tasks inside: resetting until they have left; otherwise filling.
    next = with_phase(s, count(s) > 0 ? kResetting : kFilling);
    // acq_rel: ordered with the arrivals and exits around it.
  } while (
      !state_.compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_relaxed));
  if (next != s && (s & kWaiters)) signal();
}

void Barrier::abort() noexcept {
  // Broken is all phase bits set: one RMW. acq_rel: as reset().
  const std::uint64_t old = state_.fetch_or(kBroken, std::memory_order_acq_rel);
  if (phase(old) != kBroken && (old & kWaiters)) signal();
}

std::int64_t Barrier::n_waiting() const noexcept {
  // acquire: as any query of the word; only the phase and count are used.
  const std::uint64_t s = state_.load(std::memory_order_acquire);
  return phase(s) == kFilling ? static_cast<std::int64_t>(count(s)) : 0;
}

bool Barrier::broken() const noexcept {
  // acquire: as n_waiting().
  return phase(state_.load(std::memory_order_acquire)) == kBroken;
}

Barrier::WaitAwaiter* Barrier::awaiter(WaitNode* n) noexcept {
  return static_cast<WaitAwaiter*>(n);  // every node of a Barrier is its awaiter's
}

// ---- combiner hooks ----

void Barrier::accept(WaitNode* n) noexcept {
  if (n->outcome() == WaitNode::kCancelled) return;  // its CANCEL request follows
  if (awaiter(n)->stage() == WaitAwaiter::kEntering) {
    entering_.push_back(n);  // match() lets it in
    return;
  }
  // Inside: released as soon as the phase has left filling (for good, while
  // this waiter is inside; see the file comment).
  // acquire: pairs with the trip's acq_rel CAS.
  if (phase(state_.load(std::memory_order_acquire)) != kFilling) {
    if (claim(n, WaitNode::kGranted)) finish(n);
    return;
  }
  filling_.push_back(n);
}

void Barrier::on_cancelled(WaitNode* n) noexcept {
  // A task that was still waiting to enter is counted out (one inside leaves
  // at its own resumption instead).
  if (awaiter(n)->stage() == WaitAwaiter::kEntering) {
    // acq_rel: ordered with the entering CASes around it.
    state_.fetch_sub(kEnteringOne, std::memory_order_acq_rel);
  }
}

void Barrier::release_filling() noexcept {
  while (!filling_.empty()) {
    WaitNode* n = filling_.front();
    WaitList::unlink(n);
    if (claim(n, WaitNode::kGranted)) finish(n);  // else cancelled: its request follows
  }
}

void Barrier::match() noexcept {
  if (!filling_.empty() || !entering_.empty()) {
    // acquire: pairs with the acq_rel CASes of wait(), leaving, reset, abort.
    std::uint64_t s = state_.load(std::memory_order_acquire);
    if (!(s & kWaiters)) {
      // From now on every phase change sees the flag and signals us; and a
      // change before this RMW is in its result.
      s = state_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
    }
    for (;;) {
      const std::uint64_t ph = phase(s);
      if (ph != kFilling) release_filling();
      if (entering_.empty() || ph == kDraining || ph == kResetting) break;  // the last exit signals
      WaitNode* n = entering_.front();
      if (n->outcome() == WaitNode::kCancelled) {
        WaitList::unlink(n);  // its CANCEL request follows; on_cancelled counts it out
        continue;
      }
      WaitAwaiter* a = awaiter(n);
      // Counted out of the entering tasks, and in (unless broken: refused).
      const std::uint64_t next = (ph == kBroken ? s : entered(s)) - kEnteringOne;
      // acq_rel: the entering CAS made on the waiter's behalf (see await_ready).
      if (!state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        continue;  // the word changed: decide again
      WaitList::unlink(n);
      if (ph == kBroken) {
        a->set_stage(WaitAwaiter::kOut);
        if (claim(n, WaitNode::kRefused)) finish(n);  // else cancelled: counted out already
      } else {
        a->set_index(count(s));
        if (count(next) == count(s)) {
          a->set_stage(WaitAwaiter::kTripped);
          if (claim(n, WaitNode::kGranted)) finish(n);  // else cancelled: it passed anyway
        } else {
          a->set_stage(WaitAwaiter::kInside);
          filling_.push_back(n);
        }
      }
      s = next;
    }
  }
  if (filling_.empty() && entering_.empty() && (state_.load(std::memory_order_relaxed) & kWaiters))
    state_.fetch_and(~kWaiters, std::memory_order_acq_rel);
}

}  // namespace weft
