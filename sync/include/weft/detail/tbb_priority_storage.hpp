// TbbPriorityStorage<T, Compare>: the item storage of weft::PriorityQueue:
// oneTBB's concurrent_priority_queue, smallest item first (Python's heapq
// order: Compare(a, b) == true means a comes out before b).
//
// Progress guarantee -- read this: oneTBB's concurrent_priority_queue is NOT
// lock-free. Every push and pop goes through an *aggregator*: the operation is
// pushed on a lock-free list, one thread becomes the handler and applies the
// whole batch to a binary heap, and every other thread spin-waits (with
// backoff, then yielding) until the handler has marked its operation done; a
// would-be handler also spin-waits for the previous one to finish. An
// operation therefore waits for another thread for O(batch * log n); if the
// handler is preempted, everyone behind it waits. This is the one storage in
// weft::sync whose every operation may wait for a whole batch of other
// threads' operations (a Queue's ring and blocks wait at most for one slot
// operation in flight: queue.hpp). It is used (the
// issue allows it) because a binary heap behind an aggregator is faster than
// the lock-free alternatives we know for a general Compare (skip-list priority
// queues need per-item nodes and reclamation); the waits are bounded by a
// batch of O(log n) heap operations, never by user code (Compare and T's move
// aside).
//
// The queue front-end (queue_core.hpp) reserves items and room in its own
// state words, so pop() never finds the heap empty. Waiting and cancellation
// go through the combiner (detail/combiner.hpp, "Progress"); the combiner's
// hand-off pushes and pops this heap, so it blocks like the heap does.
//
// Operation   complexity     progress
//   prepare   O(1)           a move
//   push      O(log n)       blocking (aggregator, see above); may throw
//                            std::bad_alloc when the heap grows
//   pop       O(log n)       blocking (aggregator)
//
// In the model-checking build (WEFT_MODEL) the heap is a stand-in: a binary
// heap behind a mutex whose every push and pop is one scheduling point
// (oneTBB's aggregator spin-waits outside weft's atomic layer and cannot run
// under the model scheduler). The front-end's protocol is what the model explores.
#pragma once

#include <oneapi/tbb/concurrent_priority_queue.h>

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#ifdef WEFT_MODEL
#include <mutex>
#include <queue>
#include <vector>

#include "weft/detail/model_atomic.hpp"
#endif

namespace weft::detail {

#ifdef WEFT_MODEL
/// The model build's stand-in for tbb::concurrent_priority_queue (see above).
template <class Slot, class Less>
class ModelPriorityHeap {
 public:
  explicit ModelPriorityHeap(Less less) : heap_(std::move(less)) {}
  void push(Slot&& s) {
    model::point(model::Op::queue, this, __FILE__, __LINE__);
    std::lock_guard<std::mutex> g(m_);
    heap_.push(std::move(s));
  }
  bool try_pop(Slot& out) {
    model::point(model::Op::queue, this, __FILE__, __LINE__);
    std::lock_guard<std::mutex> g(m_);
    if (heap_.empty()) return false;
    // std::priority_queue::top() is const: the moved-from slot is popped at once.
    out = std::move(const_cast<Slot&>(heap_.top()));
    heap_.pop();
    return true;
  }

 private:
  std::mutex m_;
  std::priority_queue<Slot, std::vector<Slot>, Less> heap_;
};
#endif

template <class T, class Compare>
class TbbPriorityStorage {
  /// try_pop() needs an object to assign into: T itself when it can be
  /// default-constructed, else a holder that can be empty.
  struct Holder {
    std::optional<T> v;
    Holder() = default;
    explicit Holder(T&& x) : v(std::move(x)) {}
  };
  static constexpr bool kDirect =
      std::is_default_constructible_v<T> && std::is_move_assignable_v<T>;
  using Slot = std::conditional_t<kDirect, T, Holder>;
  static const T& item(const Slot& s) noexcept {
    if constexpr (kDirect)
      return s;
    else
      return *s.v;
  }
  static T&& item(Slot&& s) noexcept {
    if constexpr (kDirect)
      return std::move(s);
    else
      return std::move(*s.v);
  }
  /// tbb pops the *largest* element: invert the user's order.
  struct Inverted {
    Compare comp;
    bool operator()(const Slot& a, const Slot& b) const { return comp(item(b), item(a)); }
  };

 public:
  /// An item on its way in (no allocation until push).
  class Prepared {
   public:
    Prepared() = default;
    explicit Prepared(T&& item) : item_(std::move(item)) {}
    explicit operator bool() const noexcept { return item_.has_value(); }
    T* get() noexcept { return &*item_; }

   private:
    friend class TbbPriorityStorage;
    std::optional<T> item_;
  };

  explicit TbbPriorityStorage(std::size_t /*capacity*/ = 0, Compare comp = Compare())
      : heap_(Inverted{std::move(comp)}) {}

  static Prepared prepare(T&& item) { return Prepared(std::move(item)); }

  /// May throw std::bad_alloc (the item is then lost). The ticket of the
  /// put's reservation is not needed: the heap orders the items.
  void push(std::uint64_t /*ticket*/, Prepared&& p) { heap_.push(Slot(std::move(*p.item_))); }
  /// Requires an item reservation (never empty); its ticket is not needed.
  T pop(std::uint64_t /*ticket*/) noexcept {
    Slot s;
    while (!heap_.try_pop(s)) {
      // unreachable with a reservation; retry rather than fail
    }
    return item(std::move(s));
  }

 private:
#ifdef WEFT_MODEL
  ModelPriorityHeap<Slot, Inverted> heap_;
#else
  tbb::concurrent_priority_queue<Slot, Inverted> heap_;
#endif
};

}  // namespace weft::detail
