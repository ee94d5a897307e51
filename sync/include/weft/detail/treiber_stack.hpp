// TreiberStack<T>: the item storage of weft::LifoQueue: Treiber's lock-free
// stack (1986) with hazard pointers for reclamation (which also rules out ABA:
// a protected node cannot be freed and reused under a pending CAS).
//
// Like the FIFO storages it is driven by the queue front-end's reservations, so pop()
// never finds it empty.
//
// Operation   complexity   progress
//   prepare   O(1)         one allocation (throws std::bad_alloc; nothing changed)
//   push      O(1)         lock-free: a CAS on the top, retried only when
//                          another push or pop succeeded
//   pop       O(1) amort.  lock-free apart from allocation: the CAS likewise;
//                          a thread's first pop registers a hazard record
//                          (allocates), and the retirement of the popped
//                          node may allocate and, every scan_threshold()
//                          retirements, scan: O(threads log threads + retired)
#pragma once

#include <atomic>
#include <cstdint>
#include <new>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/hazard_pointers.hpp"
#include "weft/detail/prepared_node.hpp"

namespace weft::detail {

template <class T>
class TreiberStack {
  struct Node {
    Node* next = nullptr;  ///< written before the node is published, never after
    alignas(T) unsigned char buf[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(buf)); }
  };

 public:
  /// An item on its way in: a node that owns it. Move-only.
  using Prepared = PreparedNode<Node, T>;

  explicit TreiberStack(std::size_t /*capacity*/ = 0) {}
  TreiberStack(const TreiberStack&) = delete;
  TreiberStack& operator=(const TreiberStack&) = delete;
  ~TreiberStack() {
    for (Node* n = top_.load(std::memory_order_relaxed); n;) {
      Node* next = n->next;
      n->value()->~T();
      delete n;
      n = next;
    }
  }

  /// Wraps an item for push(): allocates its node (throws std::bad_alloc).
  static Prepared prepare(T&& item) { return Prepared(std::move(item)); }

  /// The ticket of the put's reservation is not needed: the stack picks the spot.
  void push(std::uint64_t /*ticket*/, Prepared&& item) noexcept {
    Node* n = item.release();
    Node* top = top_.load(std::memory_order_relaxed);
    do {
      n->next = top;
      // release: the item and the link are visible to the popper.
    } while (
        !top_.compare_exchange_weak(top, n, std::memory_order_release, std::memory_order_relaxed));
  }

  /// Removes the newest item. Requires an item reservation (never empty); its
  /// ticket is not needed.
  T pop(std::uint64_t /*ticket*/) noexcept {
    Hazards& hz = Hazards::local();
    Node* n;
    for (;;) {
      n = hz.protect(top_, 0);
      if (!n) continue;  // unreachable with a reservation; retry rather than fail
      // acquire: pairs with push's release; n->next is safe to read (protected).
      if (top_.compare_exchange_weak(n, n->next, std::memory_order_acquire,
                                     std::memory_order_relaxed))
        break;
    }
    T out(std::move(*n->value()));
    n->value()->~T();
    hz.clear(0);
    hz.retire(n, &free_node);
    return out;
  }

 private:
  static void free_node(void* p) noexcept { delete static_cast<Node*>(p); }

  alignas(64) detail::Atomic<Node*> top_{nullptr};
};

}  // namespace weft::detail
