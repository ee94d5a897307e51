// weft::PriorityQueue<T, Compare>: asyncio.PriorityQueue: a weft::Queue whose
// gets return the smallest item first (Python's heapq order; with Compare,
// the item a for which no b has Compare(b, a)). Entries are typically pairs:
//
//   weft::PriorityQueue<std::pair<int, std::string>> q;
//   co_await q.put({3, "low"}); co_await q.put({1, "high"});
//   auto [priority, item] = co_await q.get();   // {1, "high"}
//
// Items of equal priority come out in an unspecified order (as with heapq).
// Everything else (waiting, fairness among waiters, task_done/join, shutdown,
// cancellation) is as documented in weft/queue.hpp.
//
// Progress -- blocking, unlike the rest of weft::sync: the items live in oneTBB's
// concurrent_priority_queue, which is *blocking*, not lock-free: each push and
// pop is applied by whichever thread currently handles the queue's aggregator
// while the others spin-wait for it (detail/tbb_priority_storage.hpp has the
// details and the reason). Waiting and cancellation go through the combiner as
// in weft::Queue (not lock-free either, detail/combiner.hpp "Progress"); the
// hand-off itself pushes or pops the heap, so it blocks like every heap
// operation. Compare must not throw.
#pragma once

#include <cstdint>
#include <functional>

#include "weft/detail/basic_queue.hpp"
#include "weft/detail/tbb_priority_storage.hpp"

namespace weft {

template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::TbbPriorityStorage<T, Compare>> {
  using Base = detail::BasicQueue<T, detail::TbbPriorityStorage<T, Compare>>;

 public:
  /// maxsize <= 0: unbounded. Throws ValueError if maxsize > 2^35 - 1.
  explicit PriorityQueue(std::int64_t maxsize = 0, Compare comp = Compare())
      : Base(maxsize, std::move(comp)) {}
};

}  // namespace weft
