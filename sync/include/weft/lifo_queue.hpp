// weft::LifoQueue<T>: asyncio.LifoQueue: a weft::Queue whose gets return the
// most recently put item first. Everything else (waiting, fairness among
// waiters, task_done/join, shutdown, cancellation) is as documented in
// weft/queue.hpp; the progress of the storage operations is not (below).
//
//   weft::LifoQueue<int> stack;        // maxsize 0: unbounded
//   co_await stack.put(1); co_await stack.put(2);
//   int top = co_await stack.get();    // 2
//
// Storage: Treiber's lock-free stack with hazard-pointer reclamation
// (detail/treiber_stack.hpp): one node allocation per item, push and pop
// lock-free apart from allocation (one CAS each when uncontended; a thread's
// first pop registers its hazard record, and retiring a popped node may
// allocate and, every 64 or more retirements, scan the hazards:
// O(threads log threads + retired); out of memory there terminates). So
// put_nowait/get_nowait never wait for another thread, unlike a Queue's; the
// waiting paths are as in queue.hpp.
#pragma once

#include <cstdint>

#include "weft/detail/basic_queue.hpp"
#include "weft/detail/treiber_stack.hpp"

namespace weft {

template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::TreiberStack<T>> {
 public:
  /// maxsize <= 0: unbounded. Throws ValueError if maxsize > 2^35 - 1.
  explicit LifoQueue(std::int64_t maxsize = 0)
      : detail::BasicQueue<T, detail::TreiberStack<T>>(maxsize) {}
};

}  // namespace weft
