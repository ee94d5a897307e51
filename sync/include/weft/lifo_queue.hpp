// weft::LifoQueue<T>: asyncio.LifoQueue: a weft::Queue whose gets return the
// most recently put item first. Everything else (waiting, fairness among
// waiters, task_done/join, shutdown, cancellation, progress) is as documented
// in weft/queue.hpp.
//
//   weft::LifoQueue<int> stack;        // maxsize 0: unbounded
//   co_await stack.put(1); co_await stack.put(2);
//   int top = co_await stack.get();    // 2
//
// Storage: Treiber's lock-free stack with hazard-pointer reclamation
// (detail/treiber_stack.hpp): one node allocation per item, lock-free push and
// pop (one CAS each when uncontended).
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
