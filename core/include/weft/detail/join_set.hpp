// JoinSet: one task waiting for a condition over a fixed set of spawned tasks
// (all finished, the first finished, the first failed) — the engine of
// weft::gather and weft::wait.
//
// Layout: one block holding the shared state and one completion listener per
// watched task. The waiter may leave before every task has finished (gather's
// first exception, wait's timeout), so the block is shared between the waiter
// and the listeners and freed by whichever of them is last.
//
// One atomic word decides everything: the number of listeners not yet notified
// (low 32 bits) and the flags below. A completion decrements the count and, in
// the same CAS, sets kFired if the condition now holds; if the waiter had
// published kWaiting, the completion that fired wakes it (TaskHeader::wake,
// scheduled, never inline). A withdrawal (the waiter's cancellation) is a CAS on
// the same word, so "woken" and "withdrawn" are decided exactly once.
//
// Progress: every operation is lock-free (CAS loops on one word); a completion
// is O(1); creating and watching is O(n).
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

enum class JoinTrigger : std::uint8_t {
  all,              ///< every task finished
  first_completed,  ///< any task finished
  first_exception,  ///< a task failed with something other than CancelledError (or all finished)
  first_error,      ///< a task failed or was cancelled (or all finished): gather's rule
};

class JoinSet {
 public:
  struct Node : CompletionListener {
    JoinSet* set = nullptr;
    TaskHeader* task = nullptr;
    std::uint32_t index = 0;
  };

  /// A set for `n` tasks (n >= 1). The caller is the waiter and must call
  /// watch() for every index (before anything else), then release().
  static JoinSet* create(std::size_t n, JoinTrigger trigger);

  /// Watches `task` as entry `i` (it stays alive while the waiter may cancel it).
  void watch(std::uint32_t i, TaskHeader* task) noexcept;

  // ---- the waiter (one task) ----
  bool fired() const noexcept { return word_.load(std::memory_order_acquire) & kFired; }
  /// With the waiter's resume point published: false if the condition holds already.
  bool suspend(TaskHeader* waiter) noexcept;
  /// The waiter is being cancelled. cancel_tasks: cancel every watched task
  /// and keep waiting for all of them (gather); else stop waiting (wait).
  Withdraw withdraw(bool cancel_tasks) noexcept;
  /// withdraw(cancel_tasks) ran: the waiter must end with CancelledError.
  bool cancelled() const noexcept { return word_.load(std::memory_order_acquire) & kCancelled; }
  /// Index of the first task that met the failure condition, or -1.
  std::int32_t first_failed() const noexcept {
    return first_failed_.load(std::memory_order_acquire);
  }
  /// The waiter is done with the set.
  void release() noexcept;

 private:
  static constexpr std::uint64_t kCountMask = 0xffff'ffffu;
  static constexpr std::uint64_t kFired = 1ull << 32;      ///< the condition held; one wake
  static constexpr std::uint64_t kWaiting = 1ull << 33;    ///< the waiter sleeps
  static constexpr std::uint64_t kCancelled = 1ull << 34;  ///< waiter cancelled: wait for all
  static constexpr std::uint64_t kReleased = 1ull << 35;   ///< the waiter is gone

  JoinSet(std::uint32_t n, JoinTrigger trigger) noexcept;
  Node* nodes() noexcept { return reinterpret_cast<Node*>(this + 1); }
  static void on_node_complete(CompletionListener* l, TaskHeader* task) noexcept;
  void complete(Node* node, TaskHeader* task) noexcept;
  void destroy() noexcept;

  detail::Atomic<std::uint64_t> word_;
  detail::Atomic<std::int32_t> first_failed_{-1};
  TaskHeader* waiter_ = nullptr;
  std::uint32_t size_;
  JoinTrigger trigger_;
};

/// Releases a JoinSet when the waiter's frame lets go of it.
struct JoinSetRef {
  JoinSet* set = nullptr;
  JoinSetRef() = default;
  JoinSetRef(const JoinSetRef&) = delete;
  JoinSetRef& operator=(const JoinSetRef&) = delete;
  ~JoinSetRef() {
    if (set) set->release();
  }
};

/// Suspends the calling task on a JoinSet until it fires.
struct JoinSetAwaiter : Suspension {
  JoinSet* set;
  bool cancel_tasks;  ///< withdrawal cancels the watched tasks (gather) or leaves (wait)
  bool withdrawn = false;
  bool suspended = false;  ///< the waiter really waited (a resumption, not a ready path)

  JoinSetAwaiter(JoinSet* s, bool cancel) noexcept : set(s), cancel_tasks(cancel) {}
  bool await_ready() const noexcept { return set->fired(); }
  bool await_suspend(std::coroutine_handle<> h);
  /// Throws CancelledError when the wait was withdrawn (wait's rule).
  void await_resume() const;
  static Withdraw withdraw_join_set(Suspension* self, TaskHeader* task) noexcept;
};

}  // namespace weft::detail
