// WaitNode and WaitList: a waiter of a weft::sync primitive, and the intrusive
// FIFO list the primitive keeps its waiters in.
//
// A WaitNode lives inside the awaiter of the waiting operation (so inside the
// waiting task's coroutine frame: no allocation per wait), or on the stack of a
// plain thread blocked in a *_blocking() call. It travels twice through its
// primitive's mailbox (detail/combiner.hpp): once as an ENQUEUE request, and, if
// the wait is cancelled, once more as a CANCEL request. While it is linked in a
// WaitList, only the primitive's current combiner touches its links.
//
// One atomic decides how a wait ends (DESIGN.md, "signal against cancel"):
//
//   kWaiting --combiner claims (CAS)--> kGranted | kRefused  (the waiter got what it
//       |                                                    waited for, or an error)
//       +----canceller wins (CAS)----> kCancelled           (a CANCEL request follows)
//
// Whoever wins the CAS owns the end of the wait: the combiner hands over the
// permit, item or notification and wakes the task; the canceller sends the
// CANCEL request, and the combiner unlinks the node and only then wakes the task.
// Either way nothing touches the node after the wake.
//
// Size: five words (40 bytes), the price of a cancellable FIFO wait; with the
// Suspension every awaiter embeds for core, a waiting awaiter is 56 bytes
// (event.hpp breaks down a parked task's memory).
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

struct WaitNode {
  // --- state values ---
  static constexpr std::uint32_t kWaiting = 0;    ///< published, nothing decided yet
  static constexpr std::uint32_t kGranted = 1;    ///< the combiner handed it what it waited for
  static constexpr std::uint32_t kRefused = 2;    ///< the combiner ended the wait with an error
  static constexpr std::uint32_t kCancelled = 3;  ///< a canceller withdrew it
  /// Not a waiter: the operation completed on its fast path and the task yields
  /// once because its cooperative budget is spent (never published).
  static constexpr std::uint32_t kReadyYield = 4;
  /// Flag on kGranted/kRefused/kCancelled: the wait ended on the waiting thread
  /// itself, during await_suspend or withdraw(), so nobody called wake().
  static constexpr std::uint32_t kInline = 8;
  /// Flag (blocked plain threads): the combiner is done with the node.
  static constexpr std::uint32_t kDone = 16;
  static constexpr std::uint32_t kOutcomeMask = 7;

  /// Mailbox link while the ENQUEUE request travels (a tagged pointer, see
  /// combiner.hpp); the list's `next` pointer once the node is linked.
  std::uintptr_t link;
  /// Mailbox link of the CANCEL request.
  std::uintptr_t cancel_link;
  /// List predecessor; null while the node is not linked (combiner-only).
  WaitNode* prev;
  /// The waiting task, or null for a plain thread blocked on `state` (futex).
  TaskHeader* task;
  detail::Atomic<std::uint32_t> state;
  /// Per primitive: a ticket, a generation or a kind (written before
  /// publishing; Queue's combiner also adds a bit to a putter's after its
  /// claim, which the putter reads after the wake-up).
  std::uint32_t tag;

  WaitNode() noexcept
      : link(0), cancel_link(0), prev(nullptr), task(nullptr), state(kWaiting), tag(0) {}
  struct Lazy {};
  /// For awaiters, whose fast paths never publish the node: only the state and
  /// the tag are set; link, prev and task are set when the node is published.
  explicit WaitNode(Lazy) noexcept : state(kWaiting), tag(0) {}
  WaitNode(const WaitNode&) = delete;
  WaitNode& operator=(const WaitNode&) = delete;

  std::uint32_t outcome() const noexcept {
    // acquire: pairs with the claim CAS / the kDone store; the payload is visible.
    return state.load(std::memory_order_acquire) & kOutcomeMask;
  }
  bool linked() const noexcept { return prev != nullptr; }
  /// Granted by the combiner after the waiter suspended (not inline during
  /// its own await_suspend): the task is at a resumption.
  bool granted_after_wait() const noexcept {
    // acquire: as outcome().
    return state.load(std::memory_order_acquire) == kGranted;
  }
};

/// An intrusive circular FIFO of WaitNodes with a sentinel. Combiner-only: no
/// synchronisation of its own. All operations O(1).
class WaitList {
 public:
  WaitList() noexcept {
    head_.link = reinterpret_cast<std::uintptr_t>(&head_);
    head_.prev = &head_;
  }
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;

  bool empty() const noexcept { return head_.link == reinterpret_cast<std::uintptr_t>(&head_); }
  WaitNode* front() const noexcept { return reinterpret_cast<WaitNode*>(head_.link); }
  void push_back(WaitNode* n) noexcept {
    n->prev = head_.prev;
    n->link = reinterpret_cast<std::uintptr_t>(&head_);
    head_.prev->link = reinterpret_cast<std::uintptr_t>(n);
    head_.prev = n;
  }
  /// Unlinks a linked node from whichever list holds it.
  static void unlink(WaitNode* n) noexcept {
    auto* next = reinterpret_cast<WaitNode*>(n->link);
    n->prev->link = n->link;
    next->prev = n->prev;
    n->prev = nullptr;
  }

 private:
  WaitNode head_;
};

}  // namespace weft::detail
