#include "scheduler/idle.hpp"

#include "weft/detail/atomic.hpp"

namespace weft::detail {

Idle::Idle(unsigned workers)
    : workers_(workers),
      state_(workers << kUnparkShift),
      words_((workers + 63) / 64),
      parked_(std::make_unique<detail::Atomic<std::uint64_t>[]>(words_)) {
  for (unsigned i = 0; i < words_; ++i)
    parked_[i].store(0, std::memory_order_relaxed);
}

int Idle::worker_to_notify(std::uint32_t s) noexcept {
  while (try_claim(s)) {
    // Take a parked worker's bit. Every parked worker set its bit before it
    // decremented num_unparked, so a bit is normally there; it can be missing
    // only while a sleeper that woke on its own (timeout, I/O) is between
    // taking its bit and counting itself again. That worker is awake and will
    // look for our work itself (after its fence in unpark_self), so the claim
    // is undone.
    if (int w = take_any_parked_bit(); w >= 0) return w;
    state_.fetch_sub(kClaim, std::memory_order_seq_cst);
    // While our claim stood, another notifier may have taken it for a
    // searcher and woken nobody, and the self-woken worker may have parked
    // again since (R3). Look at the bits once more: a worker that set its bit
    // before this look is claimed again; one that sets it later re-checks the
    // queues after our undo, and so after every push our claim suppressed.
    if (!any_parked()) return -1;
    s = state_.load(std::memory_order_seq_cst);
  }
  return -1;
}

bool Idle::try_claim(std::uint32_t& s) noexcept {
  for (;;) {
    if (!may_need_wake(s)) return false;
    // Claim one sleeper: it will count as unparked and searching.
    if (state_.compare_exchange_weak(s, s + kClaim, std::memory_order_seq_cst,
                                     std::memory_order_relaxed))
      return true;
  }
}

int Idle::take_any_parked_bit() noexcept {
  for (unsigned w = 0; w < words_; ++w) {
    std::uint64_t bits = parked_[w].load(std::memory_order_relaxed);
    while (bits != 0) {
      unsigned bit = static_cast<unsigned>(__builtin_ctzll(bits));
      // acq_rel: pairs with the sleeper's seq_cst set of its bit.
      if (parked_[w].compare_exchange_weak(bits, bits & ~(1ull << bit), std::memory_order_acq_rel,
                                           std::memory_order_relaxed))
        return static_cast<int>(w * 64 + bit);
    }
  }
  return -1;
}

bool Idle::any_parked() const noexcept {
  for (unsigned w = 0; w < words_; ++w)
    // seq_cst: ordered after the undo, against a parking worker's seq_cst bit set.
    if (parked_[w].load(std::memory_order_seq_cst) != 0) return true;
  return false;
}

bool Idle::transition_to_searching() noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  if (2 * (s & kSearchMask) >= workers_) return false;
  state_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

void Idle::force_searching() noexcept {
  state_.fetch_add(1, std::memory_order_seq_cst);
}

bool Idle::transition_from_searching() noexcept {
  std::uint32_t prev = state_.fetch_sub(1, std::memory_order_seq_cst);
  return (prev & kSearchMask) == 1;
}

bool Idle::transition_to_parked(unsigned worker, bool searching) noexcept {
  parked_[worker / 64].fetch_or(1ull << (worker % 64), std::memory_order_seq_cst);
  std::uint32_t dec = (1u << kUnparkShift) + (searching ? 1u : 0u);
  std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
  return searching && (prev & kSearchMask) == 1;
}

bool Idle::take_parked_bit(unsigned worker) noexcept {
  std::uint64_t mask = 1ull << (worker % 64);
  std::uint64_t prev = parked_[worker / 64].fetch_and(~mask, std::memory_order_acq_rel);
  return prev & mask;
}

bool Idle::unpark_self(unsigned worker) noexcept {
  if (!take_parked_bit(worker)) return false;  // a notifier claimed us: we are searching
  state_.fetch_add(1u << kUnparkShift, std::memory_order_seq_cst);
  // seq_cst: our coming look at the queues is ordered after the count, against
  // a notifier whose claim found no bit (it pushed, fenced, then read the
  // counters; see worker_to_notify). Under TSan the RMW above stands in.
#ifndef WEFT_TSAN
  fence(std::memory_order_seq_cst);
#endif
  return true;
}

bool Idle::is_parked(unsigned worker) const noexcept {
  return parked_[worker / 64].load(std::memory_order_acquire) & (1ull << (worker % 64));
}

bool Idle::is_parked_after_publish(unsigned worker) noexcept {
  const std::uint64_t mask = 1ull << (worker % 64);
#ifdef WEFT_TSAN
  // TSan does not model fences: an RMW on the word orders the same way.
  return parked_[worker / 64].fetch_or(0, std::memory_order_seq_cst) & mask;
#else
  // seq_cst: the caller's publication (an inbox push) before this read of the
  // bit, against the parker's seq_cst bit set, fence and inbox re-check.
  fence(std::memory_order_seq_cst);
  return parked_[worker / 64].load(std::memory_order_relaxed) & mask;
#endif
}

unsigned Idle::num_searching() const noexcept {
  return state_.load(std::memory_order_relaxed) & kSearchMask;
}

}  // namespace weft::detail
