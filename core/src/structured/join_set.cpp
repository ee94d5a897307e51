// JoinSet: the counted wait behind gather and wait (see weft/detail/join_set.hpp).
#include "weft/detail/join_set.hpp"

#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "weft/detail/cancel_message.hpp"
#include "weft/detail/frame_allocator.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

namespace {
std::size_t block_size(std::uint32_t n) noexcept {
  return sizeof(JoinSet) + std::size_t{n} * sizeof(JoinSet::Node);
}
}  // namespace

static_assert(sizeof(JoinSet) % alignof(JoinSet::Node) == 0, "nodes follow the set unaligned");

JoinSet::JoinSet(std::uint32_t n, JoinTrigger trigger) noexcept
    : word_(n), size_(n), trigger_(trigger) {}  // nodes are built by watch()

JoinSet* JoinSet::create(std::size_t n, JoinTrigger trigger) {
  if (n == 0 || n >= kCountMask)
    throw std::invalid_argument("weft: gather/wait over " + std::to_string(n) +
                                " tasks (1 to 2^32-2 are supported)");
  void* mem = allocate_frame(block_size(static_cast<std::uint32_t>(n)));
  return new (mem) JoinSet(static_cast<std::uint32_t>(n), trigger);
}

static_assert(std::is_trivially_destructible_v<JoinSet::Node>,
              "nodes are not destroyed one by one");

void JoinSet::destroy() noexcept {
  std::uint32_t n = size_;
  this->~JoinSet();
  deallocate_frame(this, block_size(n));
}

void JoinSet::watch(std::uint32_t i, TaskHeader* task) noexcept {
  Node* node = new (&nodes()[i]) Node;
  node->set = this;
  node->task = task;
  node->index = i;
  node->on_complete = &on_node_complete;
  if (!task->add_listener(node)) complete(node, task);  // finished already
}

void JoinSet::on_node_complete(CompletionListener* l, TaskHeader* task) noexcept {
  auto* node = static_cast<Node*>(l);
  node->set->complete(node, task);
}

void JoinSet::complete(Node* node, TaskHeader* task) noexcept {
  // acquire: the task's result (this may run on the watching thread).
  std::uint32_t st = task->state_.load(std::memory_order_acquire);
  bool failed = false;
  if (task->error_) {
    bool cancelled = st & TaskHeader::kCancelledResult;
    if (trigger_ == JoinTrigger::first_error) {
      failed = true;
      // gather owns these failures even after it returned (asyncio marks them retrieved).
      task->state_.fetch_or(TaskHeader::kResultSeen, std::memory_order_relaxed);
    } else if (trigger_ == JoinTrigger::first_exception) {
      failed = !cancelled;
    }
  }
  if (failed) {
    std::int32_t none = -1;
    // acq_rel: the first failure wins; the waiter reads it after the word's CAS.
    first_failed_.compare_exchange_strong(none, static_cast<std::int32_t>(node->index),
                                          std::memory_order_acq_rel, std::memory_order_relaxed);
  }
  std::uint64_t w = word_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    next = w - 1;
    if (!(w & kFired)) {
      bool fire = (next & kCountMask) == 0 || trigger_ == JoinTrigger::first_completed ||
                  (failed && !(w & kCancelled));
      if (fire) next |= kFired;
    }
    // acq_rel: release our result and first_failed_ to the waiter; acquire
    // the other completions' (the zero-count side frees the block).
  } while (
      !word_.compare_exchange_weak(w, next, std::memory_order_acq_rel, std::memory_order_relaxed));
  if ((next & kFired) && !(w & kFired) && (w & kWaiting)) {
    waiter_->wake();  // the waiter sleeps until this wake: the block is alive
  } else if ((next & kCountMask) == 0 && (next & kReleased)) {
    destroy();
  }
}

bool JoinSet::suspend(TaskHeader* waiter) noexcept {
  waiter_ = waiter;
  std::uint64_t w = word_.load(std::memory_order_acquire);
  do {
    if (w & kFired) return false;
    // acq_rel: publish waiter_ to the completion that fires; acquire its results otherwise.
  } while (!word_.compare_exchange_weak(w, w | kWaiting, std::memory_order_acq_rel,
                                        std::memory_order_acquire));
  return true;
}

Withdraw JoinSet::withdraw(bool cancel_tasks) noexcept {
  std::uint64_t w = word_.load(std::memory_order_acquire);
  std::uint64_t next;
  do {
    if (w & kFired) return Withdraw::too_late;  // the firing completion wakes us
    next = cancel_tasks ? (w | kCancelled) : (w & ~kWaiting);
    // acq_rel: one decision against the completions' CAS.
  } while (
      !word_.compare_exchange_weak(w, next, std::memory_order_acq_rel, std::memory_order_acquire));
  if (!cancel_tasks) return Withdraw::withdrawn;
  // The waiter's frame holds a handle on every task, and we own the waiter.
  Node* ns = nodes();
  for (std::uint32_t i = 0; i < size_; ++i)
    forward_cancel(waiter_, ns[i].task);  // asyncio's gather: the outer's message too
  return Withdraw::handed_off;            // the completion that brings the count to zero wakes us
}

void JoinSet::release() noexcept {
  // acq_rel: whichever of us and the last completion comes second frees the block.
  std::uint64_t prev = word_.fetch_or(kReleased, std::memory_order_acq_rel);
  if ((prev & kCountMask) == 0) destroy();
}

bool JoinSetAwaiter::await_suspend(std::coroutine_handle<> h) {
  TaskHeader* self = require_current_task("weft::gather/wait");
  withdraw = &withdraw_join_set;
  what = cancel_tasks ? "gather" : "wait";
  self->resume_point_ = h;
  self->suspended_on_ = this;
  if (!set->suspend(self)) {
    self->suspended_on_ = nullptr;
    return false;
  }
  suspended = true;
  return true;
}

void JoinSetAwaiter::await_resume() const {
  if (withdrawn || (suspended && take_pending_cancel())) throw_cancelled_at_resume();
}

Withdraw JoinSetAwaiter::withdraw_join_set(Suspension* self, TaskHeader*) noexcept {
  auto* a = static_cast<JoinSetAwaiter*>(self);
  Withdraw outcome = a->set->withdraw(a->cancel_tasks);
  if (outcome == Withdraw::withdrawn) a->withdrawn = true;
  return outcome;
}

}  // namespace weft::detail
