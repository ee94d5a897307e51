// CompletionQueue: completion-ordered hand-out for as_completed (see
// weft/detail/completion_queue.hpp).
#include "weft/detail/completion_queue.hpp"

#include <new>
#include <stdexcept>
#include <string>

#include "weft/detail/frame_allocator.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"

namespace weft::detail {

namespace {
std::size_t block_size(std::uint32_t n) noexcept {
  return sizeof(CompletionQueue) + std::size_t{n} * sizeof(CompletionQueue::Node);
}
}  // namespace

static_assert(sizeof(CompletionQueue) % alignof(CompletionQueue::Node) == 0,
              "nodes follow the queue unaligned");
static_assert(alignof(CompletionQueue::Node) > 1, "the head word needs a free low bit");

CompletionQueue::CompletionQueue(std::uint32_t n) noexcept : life_(n), size_(n) {
  Node* ns = nodes();
  for (std::uint32_t i = 0; i < n; ++i) {
    Node* node = new (&ns[i]) Node;
    node->queue = this;
    node->index = i;
    node->on_complete = &on_node_complete;
  }
}

CompletionQueue* CompletionQueue::create(std::size_t n) {
  if (n == 0 || n >= kCountMask)
    throw std::invalid_argument("weft::as_completed over " + std::to_string(n) +
                                " tasks (1 to 2^32-2 are supported)");
  void* mem = allocate_frame(block_size(static_cast<std::uint32_t>(n)));
  return new (mem) CompletionQueue(static_cast<std::uint32_t>(n));
}

void CompletionQueue::destroy() noexcept {
  std::uint32_t n = size_;
  Node* ns = nodes();
  for (std::uint32_t i = 0; i < n; ++i)
    ns[i].~Node();
  this->~CompletionQueue();
  deallocate_frame(this, block_size(n));
}

void CompletionQueue::watch(std::uint32_t i, TaskHeader* task) noexcept {
  Node* node = &nodes()[i];
  if (!task->add_listener(node)) on_node_complete(node, task);  // finished already
}

void CompletionQueue::on_node_complete(CompletionListener* l, TaskHeader*) noexcept {
  auto* node = static_cast<Node*>(l);
  node->queue->push(node);
}

void CompletionQueue::push(Node* node) noexcept {
  std::uintptr_t h = head_.load(std::memory_order_relaxed);
  do {
    node->next_done = reinterpret_cast<Node*>(h & ~kWaitingBit);
    // acq_rel: release the node (and the task's result, which we saw complete)
    // to the consumer's exchange; acquire waiter_ if we take the waiting bit.
  } while (!head_.compare_exchange_weak(h, reinterpret_cast<std::uintptr_t>(node),
                                        std::memory_order_acq_rel, std::memory_order_relaxed));
  if (h & kWaitingBit) waiter_->wake();  // it sleeps until this wake: the block is alive
  // acq_rel: the second of (consumer released, last completion) frees the block.
  std::uint64_t prev = life_.fetch_sub(1, std::memory_order_acq_rel);
  if ((prev & kCountMask) == 1 && (prev & kReleased)) destroy();
}

bool CompletionQueue::ready() noexcept {
  if (ready_) return true;
  if (head_.load(std::memory_order_relaxed) == 0) return false;
  // acquire: pairs with push(); the consumer never holds the waiting bit here.
  std::uintptr_t h = head_.exchange(0, std::memory_order_acquire);
  Node* fifo = nullptr;
  for (Node* n = reinterpret_cast<Node*>(h & ~kWaitingBit); n;) {
    Node* next = n->next_done;
    n->next_done = fifo;  // the stack is newest first: reversing gives completion order
    fifo = n;
    n = next;
  }
  ready_ = fifo;
  return ready_ != nullptr;
}

std::uint32_t CompletionQueue::pop() noexcept {
  Node* n = ready_;
  ready_ = n->next_done;
  return n->index;
}

bool CompletionQueue::suspend(TaskHeader* waiter) noexcept {
  waiter_ = waiter;
  std::uintptr_t empty = 0;
  // acq_rel: publish waiter_ to the push that takes the bit; acquire a node otherwise.
  return head_.compare_exchange_strong(empty, kWaitingBit, std::memory_order_acq_rel,
                                       std::memory_order_acquire);
}

Withdraw CompletionQueue::withdraw() noexcept {
  std::uintptr_t waiting = kWaitingBit;
  // acq_rel: one decision against push(): either we clear the bit, or a push did and wakes us.
  if (head_.compare_exchange_strong(waiting, 0, std::memory_order_acq_rel,
                                    std::memory_order_acquire))
    return Withdraw::withdrawn;
  return Withdraw::too_late;
}

void CompletionQueue::release() noexcept {
  std::uint64_t prev = life_.fetch_or(kReleased, std::memory_order_acq_rel);
  if ((prev & kCountMask) == 0) destroy();
}

Task<std::uint32_t> CompletionQueue::next(std::optional<std::int64_t> deadline_ns) {
  for (;;) {
    if (ready()) {
      if (consume_budget()) co_return pop();
      co_await weft::yield();  // budget spent: let the others run (nothing is popped yet)
      continue;
    }
    CompletionQueueAwaiter arrival(this);
    if (deadline_ns) {
      auto bounded = timeout_at(from_ns(*deadline_ns), std::move(arrival));
      co_await bounded;
    } else {
      co_await arrival;
    }
  }
}

bool CompletionQueueAwaiter::await_suspend(std::coroutine_handle<> h) {
  TaskHeader* self = require_current_task("weft::as_completed");
  withdraw = &withdraw_queue;
  what = "as_completed";
  self->resume_point_ = h;
  self->suspended_on_ = this;
  if (!queue->suspend(self)) {
    self->suspended_on_ = nullptr;
    return false;
  }
  return true;
}

void CompletionQueueAwaiter::await_resume() const {
  if (withdrawn) throw_cancelled_at_resume();
}

Withdraw CompletionQueueAwaiter::withdraw_queue(Suspension* self, TaskHeader*) noexcept {
  auto* a = static_cast<CompletionQueueAwaiter*>(self);
  Withdraw outcome = a->queue->withdraw();
  if (outcome == Withdraw::withdrawn) a->withdrawn = true;
  return outcome;
}

}  // namespace weft::detail
