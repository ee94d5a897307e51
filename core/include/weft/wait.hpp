// weft::wait: wait for some or all of a set of running tasks (asyncio.wait).
//
//   auto [done, pending] = co_await weft::wait(handles, weft::ReturnWhen::FirstException);
//   auto [done, pending] = co_await weft::wait(handles, weft::ReturnWhen::AllCompleted, 2s);
//
// Returns when the condition holds — FirstCompleted: any task finished;
// FirstException: a task failed with something other than CancelledError, or
// all finished; AllCompleted: all finished — or when `timeout` has passed,
// whichever comes first. `done` holds the handles of the tasks finished at that
// moment and `pending` the others, each in input order and each task once
// (asyncio returns sets).
//
// Semantics (asyncio)
//  - wait() cancels nothing: not on timeout, not when the awaiting task is
//    cancelled (that task just stops waiting and gets CancelledError), and it
//    retrieves no results: look at `done` (result(), exception()).
//  - A timeout is not an error: the pending tasks are returned in `pending`.
//  - An empty set throws std::invalid_argument (asyncio's ValueError), an empty
//    handle InvalidStateError, an unknown ReturnWhen std::invalid_argument.
//
// Cost: one block (state plus a completion listener per task) and two small
// coroutine frames per call; each completion is one CAS on a shared word; the
// waiter suspends once and is resumed through TaskHeader::wake() (scheduled,
// never inline). Lock-free apart from those allocations (detail/join_set.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "weft/detail/distinct_handles.hpp"
#include "weft/detail/join_set.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"

namespace weft {

/// asyncio's FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
enum class ReturnWhen : std::uint8_t { FirstCompleted, FirstException, AllCompleted };

template <class T>
struct WaitResult {
  std::vector<JoinHandle<T>> done;
  std::vector<JoinHandle<T>> pending;
};

namespace detail {
/// Waits on the tasks until `trigger` holds or `timeout` passes (never throws
/// TimeoutError); CancelledError if the waiter is cancelled.
Task<> wait_on(const std::vector<TaskHeader*>& tasks, JoinTrigger trigger,
               std::optional<Clock::duration> timeout);
JoinTrigger wait_trigger(ReturnWhen when);
}  // namespace detail

/// asyncio.wait(handles, timeout, return_when): {done, pending}.
template <class T>
[[nodiscard]] Task<WaitResult<T>> wait(std::vector<JoinHandle<T>> handles,
                                       ReturnWhen when = ReturnWhen::AllCompleted,
                                       std::optional<Clock::duration> timeout = std::nullopt) {
  if (handles.empty()) throw std::invalid_argument("weft::wait: Set of Tasks/Futures is empty.");
  detail::JoinTrigger trigger = detail::wait_trigger(when);
  handles = detail::distinct_handles(std::move(handles), "weft::wait");
  std::vector<detail::TaskHeader*> tasks;
  tasks.reserve(handles.size());
  for (const auto& h : handles)
    tasks.push_back(h.header());
  co_await detail::wait_on(tasks, trigger, timeout);
  WaitResult<T> out;
  for (auto& h : handles)
    (h.done() ? out.done : out.pending).push_back(std::move(h));
  co_return out;
}

/// wait() with a timeout and the default condition (AllCompleted).
template <class T>
[[nodiscard]] Task<WaitResult<T>> wait(std::vector<JoinHandle<T>> handles,
                                       Clock::duration timeout) {
  return wait(std::move(handles), ReturnWhen::AllCompleted, timeout);
}

}  // namespace weft
