#include "scheduler/task_registry.hpp"

namespace weft::detail {

// The inbox links finished tasks through inbox_next_, which shares storage with
// suspended_on_ (a finished task is suspended on nothing).
namespace {
TaskHeader*& inbox_next(TaskHeader* t) noexcept {
  return t->inbox_next_;
}
}  // namespace

void TaskRegistry::insert(TaskHeader* t, unsigned home) noexcept {
  t->set_flag(TaskHeader::kRegistered);
  t->home_ = static_cast<std::uint16_t>(home);
  t->reg_prev_ = &head_;
  t->reg_next_ = head_.reg_next_;
  head_.reg_next_->reg_prev_ = t;
  head_.reg_next_ = t;
  ++size_;
}

void TaskRegistry::unlink(TaskHeader* t) noexcept {
  t->reg_prev_->reg_next_ = t->reg_next_;
  t->reg_next_->reg_prev_ = t->reg_prev_;
  t->reg_prev_ = t->reg_next_ = nullptr;
  --size_;
}

void TaskRegistry::remove(TaskHeader* t) noexcept {
  unlink(t);
  t->release_ref();  // the scheduler's reference, handed over at completion
}

bool TaskRegistry::remove_remote(TaskHeader* t) noexcept {
  TaskHeader* head = inbox_.load(std::memory_order_relaxed);
  do {
    inbox_next(t) = head;
    // release: the home worker that pops t sees its final state.
  } while (
      !inbox_.compare_exchange_weak(head, t, std::memory_order_release, std::memory_order_relaxed));
  return head == nullptr;
}

void TaskRegistry::drain_inbox() noexcept {
  if (inbox_.load(std::memory_order_relaxed) == nullptr) return;
  // acquire: pairs with remove_remote's release.
  TaskHeader* t = inbox_.exchange(nullptr, std::memory_order_acquire);
  while (t) {
    TaskHeader* next = inbox_next(t);
    remove(t);
    t = next;
  }
}

}  // namespace weft::detail
