// TaskRegistry: the spawned tasks that are suspended (or were, and have not
// finished), per worker, so that shutdown can find and cancel tasks that nothing
// else would ever wake, and a debug dump can list them.
//
// A task joins the registry of the worker on which it first suspends (its
// "home"), an intrusive doubly-linked list only that worker touches. A task that
// finishes at home unlinks itself directly; one that finishes elsewhere is
// pushed on its home's inbox (a lock-free stack) and unlinked there at the
// home's next maintenance. Completion hands the scheduler's reference on a
// registered task to the registry, which drops it when it unlinks the task, so
// a task in the inbox stays valid and registering costs no atomic operation.
//
// Tasks that never suspend (most of W1's and W4's) never enter a registry.
#pragma once

#include <atomic>
#include <cstddef>

#include "weft/detail/atomic.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

class TaskRegistry {
 public:
  TaskRegistry() { head_.reg_prev_ = head_.reg_next_ = &head_; }

  /// Home worker only.
  void insert(TaskHeader* t, unsigned home) noexcept;
  /// Home worker only: unlinks a finished task and drops the scheduler's reference.
  void remove(TaskHeader* t) noexcept;
  /// Home worker only (shutdown): unlinks without dropping a reference.
  void unlink_only(TaskHeader* t) noexcept { unlink(t); }
  /// Any thread: hands a finished task to the home worker for removal.
  /// Lock-free. Returns true if the inbox was empty (the caller then makes sure
  /// the home worker will look soon).
  bool remove_remote(TaskHeader* t) noexcept;
  /// Home worker only: processes the inbox.
  void drain_inbox() noexcept;
  bool inbox_empty() const noexcept { return inbox_.load(std::memory_order_relaxed) == nullptr; }

  /// Home worker only (or when no worker runs): calls f(TaskHeader*) for every task.
  template <class F>
  void for_each(F&& f) {
    for (TaskHeader* t = head_.reg_next_; t != &head_;) {
      TaskHeader* next = t->reg_next_;
      f(t);
      t = next;
    }
  }
  std::size_t size() const noexcept { return size_; }

 private:
  void unlink(TaskHeader* t) noexcept;

  TaskHeader head_;  // sentinel
  std::size_t size_ = 0;
  alignas(64) detail::Atomic<TaskHeader*> inbox_{nullptr};
};

}  // namespace weft::detail
