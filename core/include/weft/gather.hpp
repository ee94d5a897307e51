// weft::gather: run several tasks concurrently and collect their results
// (asyncio.gather).
//
//   auto [a, b, c] = co_await weft::gather(fetch_a(), fetch_b(), handle_c);
//   std::vector<int> v = co_await weft::gather(std::move(tasks));       // a range
//   auto outcomes = co_await weft::gather(weft::return_exceptions, t1(), t2());
//
// Arguments are Tasks (spawned as children of the gather: on the awaiting
// task's runtime, when the gather is awaited — a gather that is never awaited
// never starts them) and JoinHandles of tasks already running, in any mix. The
// result is a std::tuple with one slot per argument, in argument order (a
// std::vector for the range forms); a Task<void> slot holds weft::Void.
//
// Semantics (asyncio)
//  - Without return_exceptions the first task to fail (or to end cancelled)
//    makes the gather throw that exception at once; the other tasks are NOT
//    cancelled and keep running (asyncio's rule; their later failures are
//    dropped). Use a TaskGroup to cancel the rest on failure.
//  - With weft::return_exceptions the gather waits for every task and each
//    slot is a weft::Outcome holding the value or the exception (a cancelled
//    task's slot holds its CancelledError).
//  - Cancelling the awaiting task cancels every task of the gather and waits
//    until all of them have finished; then the gather throws CancelledError
//    (whatever the tasks returned). If the gather's condition was already met
//    when the cancellation arrived but the awaiting task had not resumed yet,
//    the gather throws CancelledError at that resumption (asyncio); if the
//    task was running, at its next suspension point.
//  - Results are moved out of the tasks the gather spawned, and copied from
//    JoinHandles the caller passed (a move-only value is moved out once, as
//    `co_await handle` does). An empty handle or Task throws InvalidStateError.
//
// Scheduling (work-first, docs/architecture.md "Fork-join"): when the gather is
// awaited, each of its tasks that has not started yet and still waits in this
// worker's run queue runs right there, inside the co_await, in argument order
// (the order asyncio's loop would start them in; they start ahead of tasks
// queued earlier by others). A task another worker has stolen, or one that
// suspends, is waited for. So a tree of gathers unfolds depth-first on each
// worker, in memory proportional to its depth.
//
// Cost: one coroutine frame per gather, plus its handles; when every task is
// done after the inline pass, nothing else. Otherwise one more frame and one
// block (shared state plus one completion listener per task); each completion
// is then one CAS on a shared word; the awaiting task suspends at most once and
// is resumed through TaskHeader::wake() (scheduled, never inline). See
// detail/join_set.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/join_set.hpp"
#include "weft/join_handle.hpp"
#include "weft/outcome.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

/// Tag: gather(return_exceptions, ...) collects exceptions instead of throwing.
struct return_exceptions_t {
  explicit constexpr return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

/// The value a task of type T contributes to a gather: T, or Void for void.
template <class T>
using gather_value_t = std::conditional_t<std::is_void_v<T>, Void, T>;

namespace detail {

template <class A>
struct gather_item {};
template <class T>
struct gather_item<Task<T>> {
  using value_type = T;
  static constexpr bool spawns = true;
};
template <class T>
struct gather_item<JoinHandle<T>> {
  using value_type = T;
  static constexpr bool spawns = false;
};

template <class A>
concept GatherItem = requires {
  typename gather_item<std::remove_cvref_t<A>>::value_type;
};

template <class A>
using gather_item_value_t = typename gather_item<std::remove_cvref_t<A>>::value_type;

template <class T>
JoinHandle<T> gather_start(Task<T>& task) {
  return spawn(std::move(task));
}
template <class T>
JoinHandle<T> gather_start(JoinHandle<T>& handle) {
  if (!handle) throw InvalidStateError("weft::gather: empty JoinHandle");
  return std::move(handle);  // the gather's own copy: no reference count traffic
}

template <class T>
gather_value_t<T> gather_take(JoinHandle<T>& h, bool move_out) {
  if constexpr (std::is_void_v<T>) {
    h.result();
    return Void{};
  } else {
    return move_out ? std::move(h).result() : h.result();
  }
}

template <class T>
Outcome<gather_value_t<T>> gather_outcome(JoinHandle<T>& h, bool move_out) {
  TaskHeader* t = h.header();
  if (t->error()) {
    t->state_.fetch_or(TaskHeader::kResultSeen, std::memory_order_relaxed);  // flag only
    return Outcome<gather_value_t<T>>(t->error());
  }
  return Outcome<gather_value_t<T>>(gather_take(h, move_out));
}

[[noreturn]] inline void gather_rethrow(TaskHeader* t) {
  t->state_.fetch_or(TaskHeader::kResultSeen, std::memory_order_relaxed);  // flag only
  std::rethrow_exception(t->error());
}

inline TaskHeader* gather_header(TaskHeader* t) noexcept {
  return t;
}
template <class T>
TaskHeader* gather_header(const JoinHandle<T>& h) {
  return h.header();
}

/// The gather's depth-first path: each task of `tasks` that has not started
/// yet and waits in this worker's run queue runs here, in argument order (the
/// order asyncio's loop would start them in), unless a task the awaiting task
/// spawned before the gather still waits to start (then the pass stops and
/// the wait lets the run queue start them in order). Every task gets its
/// first step before the gather returns, as on asyncio's loop. True when
/// every task is done afterwards (the gather needs no wait); without
/// return_exceptions the first failure (in argument order) is rethrown after
/// the pass. A pending cancellation of the awaiting task stops the pass: the
/// wait delivers it.
template <bool ReturnExceptions, class Tasks>
bool gather_run_inline(const Tasks& tasks) {
  TaskHeader* self = tls_context.current;
  TaskHeader* failed = nullptr;
  bool all_done = true;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    TaskHeader* t = gather_header(tasks[i]);
    if (!t->done()) {
      // relaxed: a hint; a request missed here is delivered by the wait.
      if (self && (self->state_.load(std::memory_order_relaxed) & TaskHeader::kCancelPending))
        return false;
      // A task still queued behind an older sibling stops the pass: the rest
      // start in spawn order, from the run queue.
      if (join_inline(t) == InlineJoin::out_of_order) {
        all_done = false;
        break;
      }
      if (!t->done()) {
        all_done = false;
        continue;
      }
    }
    if constexpr (!ReturnExceptions) {
      if (!failed && t->error()) failed = t;
    }
  }
  if (failed) gather_rethrow(failed);
  return all_done;
}

/// Waits on `tasks` (already started: TaskHeader* or JoinHandles) under the
/// gather rules; throws the first failure (without return_exceptions) or
/// CancelledError.
template <bool ReturnExceptions, class Tasks>
Task<> gather_wait(const Tasks& tasks) {
  auto n = static_cast<std::uint32_t>(tasks.size());
  JoinSetRef ref;
  ref.set = JoinSet::create(n, ReturnExceptions ? JoinTrigger::all : JoinTrigger::first_error);
  for (std::uint32_t i = 0; i < n; ++i)
    ref.set->watch(i, gather_header(tasks[i]));
  JoinSetAwaiter all(ref.set, /*cancel_tasks=*/true);
  co_await all;
  if (ref.set->cancelled() || (all.suspended && take_pending_cancel())) throw_cancelled_at_resume();
  if constexpr (!ReturnExceptions) {
    std::int32_t k = ref.set->first_failed();
    if (k >= 0) gather_rethrow(gather_header(tasks[static_cast<std::size_t>(k)]));
  }
}

template <bool ReturnExceptions, class T>
using gather_slot_t =
    std::conditional_t<ReturnExceptions, Outcome<gather_value_t<T>>, gather_value_t<T>>;

template <bool ReturnExceptions, class... Items>
Task<std::tuple<gather_slot_t<ReturnExceptions, gather_item_value_t<Items>>...>> gather_tuple(
    std::tuple<Items...> items) {
  constexpr std::size_t N = sizeof...(Items);
  if constexpr (N == 0) {
    co_return std::tuple<>{};
  } else {
    std::tuple<JoinHandle<gather_item_value_t<Items>>...> handles;
    std::array<TaskHeader*, N> headers{};
    std::size_t started = 0;
    std::exception_ptr start_error;
    auto start_all = [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(handles) = gather_start(std::get<I>(items)),
        headers[I] = std::get<I>(handles).header(), ++started),
       ...);
    };
    auto cancel_started = [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I < started && gather_item<Items>::spawns ? (void)std::get<I>(handles).cancel() : void()),
       ...);
    };
    try {
      start_all(std::index_sequence_for<Items...>{});
    } catch (...) {
      start_error = std::current_exception();
    }
    if (start_error) {
      // Do not leave half a gather running: cancel the children started so far.
      cancel_started(std::index_sequence_for<Items...>{});
      std::rethrow_exception(start_error);
    }
    if (!gather_run_inline<ReturnExceptions>(headers))
      co_await gather_wait<ReturnExceptions>(headers);
    auto collect = [&]<std::size_t... I>(std::index_sequence<I...>) {
      if constexpr (ReturnExceptions)
        return std::tuple<gather_slot_t<true, gather_item_value_t<Items>>...>(
            gather_outcome(std::get<I>(handles), gather_item<Items>::spawns)...);
      else
        return std::tuple<gather_slot_t<false, gather_item_value_t<Items>>...>(
            gather_take(std::get<I>(handles), gather_item<Items>::spawns)...);
    };
    co_return collect(std::index_sequence_for<Items...>{});
  }
}

template <bool ReturnExceptions, class Item>
Task<std::vector<gather_slot_t<ReturnExceptions, gather_item_value_t<Item>>>> gather_range(
    std::vector<Item> items) {
  using T = gather_item_value_t<Item>;
  std::vector<gather_slot_t<ReturnExceptions, T>> out;
  if (items.empty()) co_return out;
  std::vector<JoinHandle<T>> handles;
  handles.reserve(items.size());
  std::exception_ptr start_error;
  try {
    for (auto& item : items)
      handles.push_back(gather_start(item));
  } catch (...) {
    start_error = std::current_exception();
  }
  if (start_error) {
    if constexpr (gather_item<Item>::spawns)
      for (auto& h : handles)
        h.cancel();
    std::rethrow_exception(start_error);
  }
  if (!gather_run_inline<ReturnExceptions>(handles))
    co_await gather_wait<ReturnExceptions>(handles);
  out.reserve(handles.size());
  for (auto& h : handles) {
    if constexpr (ReturnExceptions)
      out.push_back(gather_outcome(h, gather_item<Item>::spawns));
    else
      out.push_back(gather_take(h, gather_item<Item>::spawns));
  }
  co_return out;
}

template <class A>
constexpr bool gather_arg_ok() {
  using D = std::remove_cvref_t<A>;
  return !gather_item<D>::spawns || !std::is_lvalue_reference_v<A>;
}

}  // namespace detail

/// asyncio.gather(a, b, ...): a tuple of the results (first failure thrown).
template <class... A>
requires(detail::GatherItem<A>&&...) [[nodiscard]] auto gather(A&&... items) {
  static_assert((detail::gather_arg_ok<A>() && ...),
                "weft::gather: pass Tasks as rvalues (std::move(task) or a call), they are "
                "spawned by the gather");
  return detail::gather_tuple<false, std::remove_cvref_t<A>...>(
      std::tuple<std::remove_cvref_t<A>...>(std::forward<A>(items)...));
}

/// asyncio.gather(a, b, ..., return_exceptions=True): a tuple of Outcomes.
template <class... A>
requires(detail::GatherItem<A>&&...) [[nodiscard]] auto gather(return_exceptions_t, A&&... items) {
  static_assert((detail::gather_arg_ok<A>() && ...),
                "weft::gather: pass Tasks as rvalues (std::move(task) or a call), they are "
                "spawned by the gather");
  return detail::gather_tuple<true, std::remove_cvref_t<A>...>(
      std::tuple<std::remove_cvref_t<A>...>(std::forward<A>(items)...));
}

/// asyncio.gather(*tasks): the results in order (first failure thrown).
template <class T>
[[nodiscard]] Task<std::vector<gather_value_t<T>>> gather(std::vector<Task<T>> tasks) {
  return detail::gather_range<false>(std::move(tasks));
}
template <class T>
[[nodiscard]] Task<std::vector<gather_value_t<T>>> gather(std::vector<JoinHandle<T>> handles) {
  return detail::gather_range<false>(std::move(handles));
}

/// asyncio.gather(*tasks, return_exceptions=True): one Outcome per task, in order.
template <class T>
[[nodiscard]] Task<std::vector<Outcome<gather_value_t<T>>>> gather(return_exceptions_t,
                                                                   std::vector<Task<T>> tasks) {
  return detail::gather_range<true>(std::move(tasks));
}
template <class T>
[[nodiscard]] Task<std::vector<Outcome<gather_value_t<T>>>> gather(
    return_exceptions_t, std::vector<JoinHandle<T>> handles) {
  return detail::gather_range<true>(std::move(handles));
}

}  // namespace weft
