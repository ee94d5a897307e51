// weft::AsCompleted: the results of a set of tasks in the order they finish
// (asyncio.as_completed).
//
//   weft::AsCompleted<int> ac(std::move(handles));          // or tasks, or as_completed(...)
//   while (ac) {
//     int v = co_await ac.next();   // the next result to arrive, or its exception
//   }
//   weft::AsCompleted<int> timed(std::move(handles), 2s);   // TimeoutError after 2 s
//
// Semantics (asyncio)
//  - next() returns the result of the earliest-finished task not handed out
//    yet, or rethrows that task's exception (a cancelled task: CancelledError);
//    either way that task counts as handed out. Tasks that had finished before
//    the AsCompleted was created come first, in the order given (when they
//    finished is not recorded; asyncio leaves that order open too), except
//    that a task finishing on another worker while the AsCompleted is being
//    built may be announced between them (the tasks are watched one after
//    another, in the order given). The order
//    is the order in which completions are announced to the AsCompleted: with
//    several workers, a task that finished because it awaited another one may
//    be announced a moment before the task it awaited. next_handle() hands out the
//    JoinHandle instead (3.13's `async for` over as_completed yields the tasks).
//  - With a timeout, the deadline is fixed when the AsCompleted is created:
//    next() throws TimeoutError when it would have to wait past it (results
//    already finished are still handed out). Nothing is cancelled: not on
//    timeout, not when the consumer is cancelled (it gets CancelledError and
//    nothing is lost: the same result comes out of the next call).
//  - Tasks given as Tasks are spawned at construction (asyncio wraps coroutines
//    in tasks at once) and their results are moved out; results of JoinHandles
//    the caller passed are copied (a move-only value is moved out once).
//  - Handles of the same task count once (asyncio builds a set of the
//    futures it is given): {t, t, t} yields one result.
//  - next() after every task was handed out throws InvalidStateError; an empty
//    set std::invalid_argument; an empty handle InvalidStateError.
//
// Thread-safety: one consumer task at a time (not synchronised); the tasks may
// finish on any thread. The consumer is resumed through TaskHeader::wake()
// (scheduled, never inline). Ready results consume the cooperative budget, so
// a loop over many finished tasks yields now and then. Cost: one block (state
// plus one listener per task); each completion is one CAS and one RMW
// (detail/completion_queue.hpp); one small coroutine frame per next().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/completion_queue.hpp"
#include "weft/detail/distinct_handles.hpp"
#include "weft/join_handle.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft {

template <class T>
class AsCompleted {
 public:
  explicit AsCompleted(std::vector<JoinHandle<T>> handles,
                       std::optional<Clock::duration> timeout = std::nullopt)
      : handles_(detail::distinct_handles(std::move(handles), "weft::as_completed")) {
    start(timeout);
  }

  explicit AsCompleted(std::vector<Task<T>> tasks,
                       std::optional<Clock::duration> timeout = std::nullopt)
      : owned_(true) {
    if (tasks.empty()) throw std::invalid_argument("weft::as_completed: the set of tasks is empty");
    handles_.reserve(tasks.size());
    try {
      for (auto& t : tasks)
        handles_.push_back(spawn(std::move(t)));
    } catch (...) {
      for (auto& h : handles_)
        h.cancel();  // no half-started set left running
      throw;
    }
    start(timeout);
  }

  AsCompleted(AsCompleted&& o) noexcept
      : handles_(std::move(o.handles_)),
        queue_(std::exchange(o.queue_, nullptr)),
        deadline_(o.deadline_),
        taken_(std::exchange(o.taken_, 0)),
        owned_(o.owned_) {}
  AsCompleted& operator=(AsCompleted&&) = delete;
  AsCompleted(const AsCompleted&) = delete;
  AsCompleted& operator=(const AsCompleted&) = delete;
  /// The tasks keep running; the shared block goes with the last of them.
  ~AsCompleted() {
    if (queue_) queue_->release();
  }

  /// More results to hand out.
  explicit operator bool() const noexcept { return taken_ < handles_.size(); }
  /// Tasks not handed out yet.
  std::size_t remaining() const noexcept { return handles_.size() - taken_; }

  /// The next result in completion order (see above).
  Task<T> next() {
    check_more();
    std::uint32_t i = co_await queue_->next(deadline_);
    ++taken_;
    JoinHandle<T>& h = handles_[i];
    if constexpr (std::is_void_v<T>) {
      h.result();
    } else {
      if (owned_) co_return std::move(h).result();
      co_return h.result();
    }
  }

  /// The handle of the next task to finish.
  Task<JoinHandle<T>> next_handle() {
    check_more();
    std::uint32_t i = co_await queue_->next(deadline_);
    ++taken_;
    co_return handles_[i];
  }

 private:
  void start(std::optional<Clock::duration> timeout) {
    if (handles_.empty())
      throw std::invalid_argument("weft::as_completed: the set of tasks is empty");
    if (timeout) deadline_ = detail::deadline_after(*timeout);
    queue_ = detail::CompletionQueue::create(handles_.size());
    for (std::size_t i = 0; i < handles_.size(); ++i)
      queue_->watch(static_cast<std::uint32_t>(i), handles_[i].header());
  }

  void check_more() const {
    if (!queue_ || taken_ == handles_.size())
      throw InvalidStateError("weft::AsCompleted::next: every task has been handed out");
  }

  std::vector<JoinHandle<T>> handles_;
  detail::CompletionQueue* queue_ = nullptr;
  std::optional<std::int64_t> deadline_;
  std::size_t taken_ = 0;
  bool owned_ = false;
};

/// asyncio.as_completed(handles, timeout).
template <class T>
AsCompleted<T> as_completed(std::vector<JoinHandle<T>> handles,
                            std::optional<Clock::duration> timeout = std::nullopt) {
  return AsCompleted<T>(std::move(handles), timeout);
}
/// asyncio.as_completed(coroutines, timeout): spawns the tasks now.
template <class T>
AsCompleted<T> as_completed(std::vector<Task<T>> tasks,
                            std::optional<Clock::duration> timeout = std::nullopt) {
  return AsCompleted<T>(std::move(tasks), timeout);
}

}  // namespace weft
