// weft::TaskGroup: structured concurrency (asyncio.TaskGroup).
//
//   auto body = [&](weft::TaskGroup& tg) -> weft::Task<> {
//     auto a = tg.spawn(fetch("A"));
//     auto b = tg.spawn(fetch("B"));
//     co_return;
//   };
//   co_await weft::task_group(body);     // `async with asyncio.TaskGroup() as tg:`
//
// The block form, task_group(body) (also TaskGroup::run(body)), is the way to
// use a group: `body` is a callable taking TaskGroup& and returning a Task; it is
// copied (or moved) into the group's frame, so a lambda stays alive as long as
// the body runs (g++ 12: bind it to a named local first, as above). The value of
// the block is the body's value.
//
// Semantics (asyncio 3.13)
//  - spawn() starts a child at once and returns its JoinHandle. Any task (or
//    plain thread) may spawn into a group while it is open; a child may spawn
//    its own siblings.
//  - Leaving the block awaits every child, even when the body failed.
//  - The first child that fails with anything but CancelledError makes the group
//    abort: every other child is cancelled, and so is the task running the body
//    (the body sees CancelledError at its current or next suspension point; the
//    group withdraws that request again with uncancel() when it ends, so the
//    enclosing code does not see it). A child cancelled by anyone is not a failure.
//  - When all children have finished, the group throws weft::ExceptionGroup
//    ("unhandled errors in a TaskGroup") holding every child failure in the order
//    the children failed (the order their completions reached the group), then
//    the body's own exception, if it threw one other than CancelledError. Failures that happen at
//    the same instant on different workers are each collected exactly once. A nested group that
//    fails is one ExceptionGroup inside the outer one.
//  - Cancelling the task running the group from outside (in the body or while
//    it waits for the children) cancels every child, waits for them, and then
//    propagates CancelledError — not a group — unless a child failed: failures
//    take priority, and the outside request stays pending (cancelling() stays
//    counted) so the next suspension point delivers it (asyncio 3.13).
//  - Misuse is an error: spawning into a group that has finished throws
//    InvalidStateError ("has finished"), and so does spawning into an aborting
//    group once the abort is known to the spawner ("shutting down", as asyncio's
//    RuntimeError): to another task as soon as the group aborts, to the group's
//    own task once the abort's CancelledError has been delivered to it. Until
//    then a spawn by the group's own task races with the abort (a child failed
//    on another worker while the body runs without suspending): it returns the
//    handle of a child that is cancelled at once (it sees CancelledError at its
//    first suspension point, or never starts), and the body's next suspension
//    point delivers the abort. The failing child's worker records that its
//    request was made only after making it, so for an instant after the
//    CancelledError reached the body a spawn may still be accepted that way
//    (a child cancelled at once) instead of refused.
//
// The explicit form is for code that cannot be a block:
//
//   weft::TaskGroup tg;                  // records where it was created
//   std::exception_ptr err;
//   try { tg.spawn(a()); co_await other(); } catch (...) { err = std::current_exception(); }
//   co_await tg.join(err);               // exactly what task_group() does
//
// join() must be awaited by the task that created the group, once. A group
// destroyed without join() (an exception skipped it) cancels its unfinished
// children and reports itself on stderr with the place it was created (always
// when children were cancelled or failures lost; in debug mode also when every
// child had finished cleanly): the block form cannot make that mistake.
//
// Thread-safety and progress: spawn() is safe from any thread and lock-free
// apart from allocation: from the group's own task it is O(1) and, besides
// the spawn's own run-queue push and the CAS that puts the slot on the
// child's listener stack, writes nothing shared but the child's slot (one CAS
// on the group's word per 30 spawns; a new chunk from the frame cache when
// none is free); from elsewhere it
// allocates a chunk of its own (one CAS on the word, one on the chunk list),
// kept until the group ends. A child's completion costs a few lock-free RMWs, O(1);
// a failing child's also allocates the record of its exception (out of memory
// there terminates), and the first failure runs the abort: one sweep over the
// slots, O(children), done once. join()
// suspends at most once and is resumed by the last child's completion through
// TaskHeader::wake() (scheduled, never inline). Memory: slots come in chunks of
// 30 (about 1 KiB) reused once all their children finished, freed with the
// group. micro_group.cpp measures the cost next to bare spawn + join.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "weft/exception_group.hpp"
#include "weft/join_handle.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

/// Where something was created, captured at the call site (std::source_location
/// is not usable with clang 14 on libstdc++ 12, so weft carries its own).
struct SourceLocation {
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          unsigned line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation{file, line, function};
  }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr unsigned line() const noexcept { return line_; }
  constexpr const char* function_name() const noexcept { return function_; }

  const char* file_ = "";
  unsigned line_ = 0;
  const char* function_ = "";
};

namespace detail {
class GroupState;
struct GroupSlot;
}  // namespace detail

class TaskGroup {
 public:
  /// Creates a group whose parent is the calling task. Throws RuntimeError
  /// outside a weft task.
  explicit TaskGroup(SourceLocation where = SourceLocation::current());
  /// See above: without a completed join() this cancels and reports.
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  /// Starts `task` as a child of the group (asyncio's tg.create_task()).
  /// Throws InvalidStateError if the group has finished or is aborting, and
  /// what Runtime::spawn throws (an empty Task, a stopped runtime).
  template <class T>
  JoinHandle<T> spawn(Task<T> task, std::string_view name = {}) {
    // Only the state is used: from another task the group may end, and this
    // TaskGroup be destroyed, as soon as the new child is attached.
    detail::GroupState* state = state_;
    detail::GroupSlot* slot = reserve(state);
    JoinHandle<T> h;
    try {
      h = runtime(state).spawn(std::move(task), name);
    } catch (...) {
      unreserve(state, slot);
      throw;
    }
    attach(state, slot, h.header());
    return h;
  }

  class JoinAwaiter;
  /// Awaits every child, then throws as described above. `body_error` is the
  /// exception that ended the code between the group's creation and this join
  /// (null if none). Throws InvalidStateError when awaited twice or by another task.
  [[nodiscard]] JoinAwaiter join(std::exception_ptr body_error = nullptr) noexcept;

  /// The group is cancelling its children (a child failed, the body failed or
  /// the task running the group was cancelled).
  bool aborting() const noexcept;
  /// Where the group was created.
  const SourceLocation& location() const noexcept { return where_; }

  /// The block form: creates a group, runs body(group) in the calling task,
  /// joins. Returns the body's value.
  template <class F>
  static auto run(F body, SourceLocation where = SourceLocation::current());

 private:
  static detail::GroupSlot* reserve(detail::GroupState* state);
  static void unreserve(detail::GroupState* state, detail::GroupSlot* slot) noexcept;
  static void attach(detail::GroupState* state, detail::GroupSlot* slot,
                     detail::TaskHeader* child) noexcept;
  static Runtime& runtime(detail::GroupState* state) noexcept;

  detail::GroupState* state_;
  SourceLocation where_;
  bool join_started_ = false;
  bool joined_ = false;
};

class TaskGroup::JoinAwaiter : public detail::Suspension {
 public:
  bool await_ready();
  bool await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  friend class TaskGroup;
  JoinAwaiter(TaskGroup* group, std::exception_ptr body_error) noexcept
      : group_(group), body_error_(std::move(body_error)) {}
  static detail::Withdraw withdraw_join(detail::Suspension* self, detail::TaskHeader*) noexcept;

  TaskGroup* group_;
  std::exception_ptr body_error_;
};

namespace detail {
template <class F>
using group_body_result_t = std::decay_t<std::invoke_result_t<F&, TaskGroup&>>;

template <class F>
auto run_group(F body, SourceLocation where) -> group_body_result_t<F> {
  using BodyTask = group_body_result_t<F>;
  using R = typename BodyTask::value_type;
  TaskGroup group(where);
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<R>, char, R>> result;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await body(group);
    } else {
      result.emplace(co_await body(group));
    }
  } catch (...) {
    error = std::current_exception();
  }
  co_await group.join(std::move(error));
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}
}  // namespace detail

template <class F>
auto TaskGroup::run(F body, SourceLocation where) {
  static_assert(std::is_invocable_v<F&, TaskGroup&>,
                "weft::TaskGroup::run: the body must be callable with a weft::TaskGroup&");
  static_assert(detail::is_task<detail::group_body_result_t<F>>::value,
                "weft::TaskGroup::run: the body must return a weft::Task");
  return detail::run_group<F>(std::move(body), where);
}

/// `co_await weft::task_group(body)`: TaskGroup::run (asyncio's
/// `async with asyncio.TaskGroup() as tg:` block).
template <class F>
auto task_group(F body, SourceLocation where = SourceLocation::current()) {
  return TaskGroup::run(std::move(body), where);
}

}  // namespace weft
