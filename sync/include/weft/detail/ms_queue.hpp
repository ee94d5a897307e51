// MsQueue<T>: the item storage of an unbounded weft::Queue: Michael and Scott's
// lock-free FIFO linked list (PODC 1996), with hazard pointers for reclamation.
//
// The queue front-end (queue_core.hpp) counts items and free room in its own
// state words, so this storage is only ever pushed with room reserved and
// popped with an item reserved: pop() never finds it empty.
//
// Operation   complexity   progress
//   prepare   O(1)         one allocation (throws std::bad_alloc; nothing changed)
//   push      O(1)         lock-free: a CAS on the last node's link (+ a CAS to
//                          swing the tail, which anyone may help with)
//   pop       O(1)         lock-free: a CAS on the head, which retries only when
//                          another pop succeeded or after helping a push swing
//                          the tail
// Item moves happen outside any retry loop; T's move constructor must not throw.
#pragma once

#include <atomic>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/detail/atomic.hpp"
#include "weft/detail/hazard_pointers.hpp"
#include "weft/detail/prepared_node.hpp"

namespace weft::detail {

template <class T>
class MsQueue {
  struct Node {
    detail::Atomic<Node*> next{nullptr};
    alignas(T) unsigned char buf[sizeof(T)];
    T* value() noexcept { return std::launder(reinterpret_cast<T*>(buf)); }
  };

 public:
  /// An item on its way in: a node that owns it. Move-only.
  using Prepared = PreparedNode<Node, T>;

  explicit MsQueue(std::size_t /*capacity*/ = 0) {
    Node* dummy = new Node;
    head_.store(dummy, std::memory_order_relaxed);
    tail_.store(dummy, std::memory_order_relaxed);
  }
  MsQueue(const MsQueue&) = delete;
  MsQueue& operator=(const MsQueue&) = delete;
  ~MsQueue() {
    // Single-threaded now: the dummy holds no item, every node after it does.
    Node* n = head_.load(std::memory_order_relaxed);
    Node* next = n->next.load(std::memory_order_relaxed);
    delete n;
    for (n = next; n; n = next) {
      next = n->next.load(std::memory_order_relaxed);
      n->value()->~T();
      delete n;
    }
  }

  /// Wraps an item for push(): allocates its node (throws std::bad_alloc).
  static Prepared prepare(T&& item) { return Prepared(std::move(item)); }

  /// Appends the prepared item. Requires a room reservation (always succeeds).
  void push(Prepared&& item) noexcept {
    Node* n = item.release();
    Hazards& hz = Hazards::local();
    for (;;) {
      Node* t = hz.protect(tail_, 0);
      // acquire: see the successor fully linked before we help swing to it.
      Node* next = t->next.load(std::memory_order_acquire);
      if (next) {
        tail_.compare_exchange_weak(t, next, std::memory_order_release, std::memory_order_relaxed);
        continue;
      }
      Node* expected = nullptr;
      // release: the item is constructed before a popper can reach the node.
      if (t->next.compare_exchange_weak(expected, n, std::memory_order_release,
                                        std::memory_order_relaxed)) {
        tail_.compare_exchange_strong(t, n, std::memory_order_release, std::memory_order_relaxed);
        break;
      }
    }
    hz.clear(0);
  }

  /// Removes the oldest item. Requires an item reservation (never empty).
  T pop() noexcept {
    Hazards& hz = Hazards::local();
    Node* h;
    Node* next;
    for (;;) {
      h = hz.protect(head_, 0);
      // acquire: the pushed item's construction is visible.
      next = h->next.load(std::memory_order_acquire);
      hz.protect_value(next, 1);
      if (head_.load(std::memory_order_seq_cst) != h) continue;  // h may be gone: retry
      if (!next) continue;  // unreachable with a reservation; retry rather than fail
      Node* t = tail_.load(std::memory_order_relaxed);
      if (h == t) {  // the tail lags behind a completed push: help it along
        tail_.compare_exchange_weak(t, next, std::memory_order_release, std::memory_order_relaxed);
        continue;
      }
      // acq_rel: claim the item against other pops.
      if (head_.compare_exchange_weak(h, next, std::memory_order_acq_rel,
                                      std::memory_order_relaxed))
        break;
    }
    // `next` is the new dummy; its item is ours alone, and slot 1 keeps it alive.
    T out(std::move(*next->value()));
    next->value()->~T();
    hz.clear(1);
    hz.clear(0);
    hz.retire(h, &free_node);
    return out;
  }

 private:
  static void free_node(void* p) noexcept { delete static_cast<Node*>(p); }

  alignas(64) detail::Atomic<Node*> head_;
  alignas(64) detail::Atomic<Node*> tail_;
};

}  // namespace weft::detail
