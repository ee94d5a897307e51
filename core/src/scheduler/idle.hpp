// Idle: which workers are searching for work and which are parked, so that new
// work wakes exactly one sleeper, and only when nobody is already looking.
//
// The accounting follows Tokio's multi-thread scheduler (one packed word with
// the number of searching and of unparked workers), with the parked set kept in
// a bitmap instead of a mutex-guarded vector, so that no path takes a lock.
//
// Rules (each keeps the no-lost-wake-up argument local):
//  - A worker may start searching only while fewer than half of the workers
//    search (bounds the cost of idle workers hammering each other's deques).
//  - notify: if nobody searches and somebody is parked, claim one parked worker
//    (num_unparked+1 and num_searching+1 in one CAS), then take its bit. The
//    woken worker starts out searching. A claim that finds no bit (the sleeper
//    woke up on its own and has not counted itself yet) is undone; while it
//    stood, it looked like a searcher to other notifiers, who then did not
//    wake anyone. So after the undo the notifier looks at the parked bits once
//    more (seq_cst) and decides again if a worker has parked meanwhile: a
//    worker that parks after that look sees the other notifiers' pushes in its
//    own re-check (R3, tests/model/idle_test.cpp).
//  - A worker that wakes up on its own (timeout, I/O, spurious) takes its bit,
//    counts itself unparked, then fences before it looks for work: a notifier
//    that skipped it (its claim found no bit) pushed before that look.
//  - The last searcher to find work wakes another (work is often found in
//    batches; Tokio's "transition_worker_from_searching").
//  - Parking: set the own bit, then decrement the counters (both seq_cst), then
//    look at every queue once more. The pusher does the mirror image (push, then
//    seq_cst fence, then read the counters), so one of them sees the other.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class Idle {
 public:
  explicit Idle(unsigned workers);

  /// A worker to unpark after new work was pushed, or -1. Lock-free.
  int worker_to_notify() noexcept { return worker_to_notify(read_after_push()); }
  /// The packed counters as a notifier must read them: after its push, with
  /// the push ordered before the read (Dekker pairing with
  /// transition_to_parked's seq_cst RMWs and the parker's re-check). Inline:
  /// every spawn and wake-up of a worker pays it.
  std::uint32_t read_after_push() noexcept {
#ifdef WEFT_TSAN
    // TSan does not model fences: an RMW on the word itself gives the same
    // ordering and a happens-before edge it can see (slower: a shared write).
    return state_.fetch_add(0, std::memory_order_seq_cst);
#else
    detail::fence(std::memory_order_seq_cst);
    return state_.load(std::memory_order_relaxed);
#endif
  }
  /// From counters `s` read by read_after_push(): false when no wake-up is
  /// needed (somebody searches, or nobody is parked), the common answer.
  bool may_need_wake(std::uint32_t s) const noexcept {
    return (s & kSearchMask) == 0 && (s >> kUnparkShift) < workers_;
  }
  /// worker_to_notify() from counters `s` already read by read_after_push().
  int worker_to_notify(std::uint32_t s) noexcept;

  /// Returns false if too many workers already search.
  bool transition_to_searching() noexcept;
  /// Returns true if the caller was the last searcher.
  bool transition_from_searching() noexcept;
  /// Counts the caller as searching whatever the limit (a worker that must
  /// look at work it saw while parking).
  void force_searching() noexcept;
  /// Before parking. Returns true if the caller was the last searcher.
  bool transition_to_parked(unsigned worker, bool searching) noexcept;
  /// After waking up on its own (timeout, I/O, spurious): returns true if the
  /// worker was still marked parked and has now unmarked itself; false if a
  /// notifier unparked it (it then counts as searching).
  bool unpark_self(unsigned worker) noexcept;
  bool is_parked(unsigned worker) const noexcept;
  /// is_parked() for a caller that has just published something the worker
  /// re-checks before it sleeps (an inbox entry): one of the two sees the
  /// other (Dekker pairing with transition_to_parked + fence + re-check).
  bool is_parked_after_publish(unsigned worker) noexcept;

  unsigned num_searching() const noexcept;

 private:
  static constexpr unsigned kUnparkShift = 16;
  static constexpr std::uint32_t kSearchMask = (1u << kUnparkShift) - 1;
  /// A notifier's claim of a sleeper: one more unparked, one more searching.
  static constexpr std::uint32_t kClaim = (1u << kUnparkShift) + 1;

  bool take_parked_bit(unsigned worker) noexcept;
  /// If nobody searches and somebody sleeps, claims a sleeper (CAS from `s`,
  /// which is refreshed on failure). False when no wake-up is needed.
  bool try_claim(std::uint32_t& s) noexcept;
  /// Clears some parked worker's bit and returns its index, or -1 if none is set.
  int take_any_parked_bit() noexcept;
  bool any_parked() const noexcept;

  const unsigned workers_;
  alignas(64) detail::Atomic<std::uint32_t> state_;
  const unsigned words_;
  std::unique_ptr<detail::Atomic<std::uint64_t>[]> parked_;
};

}  // namespace weft::detail
