// TaskInfo: the rarely used parts of a spawned task (id, name), allocated on
// first use so that an anonymous task that nobody asks about costs nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/detail/atomic.hpp"
#include "weft/detail/context_map.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

struct TimeoutScope;

struct TaskInfo {
  TaskInfo() = default;
  TaskInfo(const TaskInfo&) = delete;
  TaskInfo& operator=(const TaskInfo&) = delete;
  /// Releases the task's context (the frame is being destroyed).
  ~TaskInfo();

  std::uint64_t id = 0;
  std::string name;
  /// Innermost active timeout scope of the task (owner-only); see timeout_scope.hpp.
  TimeoutScope* timeouts = nullptr;
  /// Debug mode: what the task waits on while suspended (for all_tasks()).
  detail::Atomic<const char*> waiting_on{nullptr};
  /// The task's Context (context variables; owner-only, set at spawn before the
  /// task is shared). See current_context.hpp for why it lives here.
  ContextSlot vars{nullptr, 0};
  /// The latest cancel(msg) request's message (cancel_message.hpp): written by
  /// any canceller, taken by the owner that delivers the cancellation.
  detail::Atomic<std::string*> cancel_message{nullptr};
  /// The message of the cancellation delivered to the task's current wait
  /// (owner-only; cancel_message.hpp).
  std::string* frozen_message = nullptr;
};

/// Frees the info's cancel messages (with the info: free_task_info()).
void free_cancel_messages(TaskInfo* info) noexcept;

/// The task's info, created on first call (thread-safe; lock-free apart from
/// its one allocation).
TaskInfo& task_info(TaskHeader* task);
/// Gives the task a name (before it is shared with other threads: at spawn).
void set_task_name(TaskHeader* task, std::string_view name);
/// Frees the info of a task whose frame is being destroyed.
void free_task_info(TaskHeader* task) noexcept;

}  // namespace weft::detail
