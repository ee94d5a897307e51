// IndexRing: a lock-free FIFO of small integers (slot numbers) in a ring of
// 2n 64-bit entries: Nikolaev's SCQ (DISC 2019), in the variant for callers
// that never dequeue from an empty queue.
//
// Why SCQ: a ring whose producers claim tickets with fetch_add is fast, but a
// consumer whose ticket's slot is not written yet must not wait for that
// producer (that would be a spin lock in disguise). SCQ lets it skip the slot
// instead: every entry carries the *cycle* (ticket / 2n) it belongs to, a
// consumer that finds an older cycle there moves the entry on to its own
// cycle (so the late producer sees it taken and retries with a new ticket), or
// marks an old item there "unsafe" (so no producer of a newer cycle reuses the
// entry before that item's consumer has taken it). With 2n entries for at most
// n items, a producer always finds an entry within a bounded number of tickets.
//
// Entry: [ cycle | safe | index ], index in [0, 2n), index 2n-1 = empty.
//
// The weft::Queue front-end only dequeues after reserving an item and only
// enqueues with at most n indices in circulation, so SCQ's threshold and
// catch-up (which make a dequeue from an *empty* ring return in bounded time)
// are not needed: a dequeue always has an item at or after its ticket, and
// the consumers sweep towards it. (The full algorithm needs them; this
// variant must never be asked to dequeue from an empty ring.)
//
// Operation   complexity                 progress
//   enqueue   O(1) expected              lock-free: one fetch_add + one CAS;
//                                        retries only when a consumer moved the
//                                        entry on or another producer won it
//   dequeue   O(1) expected              lock-free: one fetch_add + one
//                                        fetch_or; a ticket is skipped only
//                                        when its producer is late
// Memory orders: the CAS that fills an entry releases the item written into
// the slot it names; the load that finds it acquires it; the consumer's
// fetch_or and the next producer's CAS order the slot's reuse.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class IndexRing {
 public:
  /// A ring for up to `n` indices (n a power of two >= 1). `full`: holds
  /// 0..n-1 in order; otherwise empty.
  IndexRing(std::uint64_t n, bool full);
  IndexRing(const IndexRing&) = delete;
  IndexRing& operator=(const IndexRing&) = delete;

  void enqueue(std::uint64_t index) noexcept {
    for (;;) {
      const std::uint64_t t = tail_.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t cycle = t >> order_;
      detail::Atomic<std::uint64_t>& slot = entries_[remap(t)];
      // acquire: pairs with the consumer's fetch_or / another CAS on the entry.
      std::uint64_t e = slot.load(std::memory_order_acquire);
      for (;;) {
        // Usable: an older cycle, empty, and safe (or no consumer has passed
        // this ticket yet, so the old item's consumer is still to come).
        if (entry_cycle(e) >= cycle || (e & empty_) != empty_) break;
        if (!(e & safe_) && head_.load(std::memory_order_acquire) > t) break;
        // release: the slot the index names holds its item before a consumer
        // can see the index.
        if (slot.compare_exchange_weak(e, (cycle << shift_) | safe_ | index,
                                       std::memory_order_acq_rel, std::memory_order_acquire))
          return;
      }
    }
  }

  /// Requires an item to be there (a reservation): never returns empty.
  std::uint64_t dequeue() noexcept {
    for (;;) {
      const std::uint64_t h = head_.fetch_add(1, std::memory_order_relaxed);
      const std::uint64_t cycle = h >> order_;
      detail::Atomic<std::uint64_t>& slot = entries_[remap(h)];
      std::uint64_t e = slot.load(std::memory_order_acquire);
      for (;;) {
        const std::uint64_t ec = entry_cycle(e);
        if (ec == cycle) {
          // Ours: take it, leaving the entry empty (index bits all ones) in
          // this cycle. acq_rel: we read the slot after; the next producer of
          // the entry sees it free only after.
          slot.fetch_or(empty_, std::memory_order_acq_rel);
          return e & empty_;
        }
        if (ec > cycle) break;  // a later cycle got here first: nothing for us
        // An older cycle: move an empty entry on to ours (its late producer
        // will retry elsewhere), or mark an old item unsafe (its consumer is
        // late; producers of newer cycles must leave it alone).
        std::uint64_t next =
            (e & empty_) == empty_ ? (cycle << shift_) | (e & safe_) | empty_ : e & ~safe_;
        if (next == e) break;
        if (slot.compare_exchange_weak(e, next, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
          break;
      }
    }
  }

 private:
  std::uint64_t entry_cycle(std::uint64_t e) const noexcept { return e >> shift_; }
  /// Spreads consecutive tickets over different cache lines (8 entries each).
  std::uint64_t remap(std::uint64_t ticket) const noexcept {
    const std::uint64_t i = ticket & (size_ - 1);
    if (lines_ < 2) return i;
    return (i & (lines_ - 1)) * 8 + (i >> line_shift_);
  }

  const unsigned order_;       ///< log2(2n)
  const unsigned shift_;       ///< order_ + 1: where the cycle starts
  const std::uint64_t size_;   ///< 2n entries
  const std::uint64_t empty_;  ///< index 2n-1: no item
  const std::uint64_t safe_;   ///< the safe bit
  const std::uint64_t lines_;  ///< cache lines of entries (remap), or 1
  const unsigned line_shift_;  ///< log2(lines_)
  std::unique_ptr<detail::Atomic<std::uint64_t>[]> entries_;
  alignas(64) detail::Atomic<std::uint64_t> head_;
  alignas(64) detail::Atomic<std::uint64_t> tail_;
};

}  // namespace weft::detail
