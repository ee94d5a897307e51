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
//    woken worker starts out searching.
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
  int worker_to_notify() noexcept;

  /// Returns false if too many workers already search.
  bool transition_to_searching() noexcept;
  /// Returns true if the caller was the last searcher.
  bool transition_from_searching() noexcept;
  /// Before parking. Returns true if the caller was the last searcher.
  bool transition_to_parked(unsigned worker, bool searching) noexcept;
  /// After waking up on its own (timeout, I/O, spurious): returns true if the
  /// worker was still marked parked and has now unmarked itself; false if a
  /// notifier unparked it (it then counts as searching).
  bool unpark_self(unsigned worker) noexcept;
  /// Marks every parked worker unparked (shutdown).
  bool is_parked(unsigned worker) const noexcept;

  unsigned num_searching() const noexcept;

 private:
  static constexpr unsigned kUnparkShift = 16;
  static constexpr std::uint32_t kSearchMask = (1u << kUnparkShift) - 1;

  bool take_parked_bit(unsigned worker) noexcept;

  const unsigned workers_;
  alignas(64) detail::Atomic<std::uint32_t> state_;
  const unsigned words_;
  std::unique_ptr<detail::Atomic<std::uint64_t>[]> parked_;
};

}  // namespace weft::detail
