// CompletionQueue: the tasks of a fixed set in the order they finish, for one
// consumer task (the engine of weft::AsCompleted).
//
// Producers are the tasks' completions: each pushes its node on a lock-free
// stack whose head word also carries the consumer's "waiting" bit, so that
// "a node arrived" and "the consumer sleeps" are decided by one CAS: the push
// that clears the bit wakes the consumer (TaskHeader::wake, scheduled, never
// inline), and a withdrawal (cancel, timeout) clears the bit itself or finds it
// gone (a wake is on its way). The consumer takes the whole stack with one
// exchange and reverses it into its private FIFO, which keeps completion order.
//
// | operation       | cost                 | progress  |
// |-----------------|----------------------|-----------|
// | completion      | one CAS + one RMW    | lock-free |
// | ready()/pop()   | amortised O(1)       | wait-free |
// | suspend/withdraw| one CAS              | wait-free |
//
// The block (state and one listener per task) is freed by whichever of the
// consumer (release()) and the last completion comes second.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "weft/detail/atomic.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/task.hpp"

namespace weft::detail {

class CompletionQueue {
 public:
  struct Node : CompletionListener {
    CompletionQueue* queue = nullptr;
    Node* next_done = nullptr;
    std::uint32_t index = 0;
  };

  /// A queue for `n` tasks (1 <= n < 2^32-1; std::invalid_argument otherwise).
  static CompletionQueue* create(std::size_t n);
  /// Watches `task` as entry `i`; call once per index.
  void watch(std::uint32_t i, TaskHeader* task) noexcept;

  // ---- the consumer (one task at a time) ----
  /// A finished task is waiting to be handed out.
  bool ready() noexcept;
  /// The index of the oldest finished task not handed out yet (requires ready()).
  std::uint32_t pop() noexcept;
  /// Index of the next task to finish, in completion order; throws TimeoutError
  /// once the deadline (steady clock, ns) passes with nothing finished, and
  /// CancelledError when the consumer is cancelled (nothing is lost either way).
  Task<std::uint32_t> next(std::optional<std::int64_t> deadline_ns);
  /// The consumer is done with the queue.
  void release() noexcept;

  /// With the waiter's resume point published: false if a node arrived meanwhile.
  bool suspend(TaskHeader* waiter) noexcept;
  /// The consumer is being cancelled while it sleeps.
  Withdraw withdraw() noexcept;

 private:
  static constexpr std::uintptr_t kWaitingBit = 1;           ///< in head_: the consumer sleeps
  static constexpr std::uint64_t kCountMask = 0xffff'ffffu;  ///< in life_: listeners not notified
  static constexpr std::uint64_t kReleased = 1ull << 32;     ///< in life_: the consumer is gone

  explicit CompletionQueue(std::uint32_t n) noexcept;
  Node* nodes() noexcept { return reinterpret_cast<Node*>(this + 1); }
  static void on_node_complete(CompletionListener* l, TaskHeader* task) noexcept;
  void push(Node* node) noexcept;
  void destroy() noexcept;

  detail::Atomic<std::uintptr_t> head_{0};
  detail::Atomic<std::uint64_t> life_;
  TaskHeader* waiter_ = nullptr;
  Node* ready_ = nullptr;  ///< consumer-only, oldest first
  std::uint32_t size_;
};

struct CompletionQueueAwaiter : Suspension {
  CompletionQueue* queue;
  bool withdrawn = false;

  explicit CompletionQueueAwaiter(CompletionQueue* q) noexcept : queue(q) {}
  bool await_ready() const noexcept { return queue->ready(); }
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume() const;
  static Withdraw withdraw_queue(Suspension* self, TaskHeader* task) noexcept;
};

}  // namespace weft::detail
