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
// queued earlier by others) -- unless a task the awaiting task spawned before
// the gather still waits to start: then the pass stops there and the rest
// start from the run queue, in spawn order. A pending cancellation of the
// awaiting task stops the pass too. A task another worker has stolen, or one that
// suspends, is waited for. So a tree of gathers unfolds depth-first on each
// worker, in memory proportional to its depth.
//
// The gather object: gather() returns an awaitable, not a Task (no coroutine
// frame of its own). Await it once, in the task that created it; it may be
// moved before that (wait_for(gather(...), d) does). Awaiting it twice, or
// awaiting a moved-from one, throws InvalidStateError. To spawn or shield a
// gather, make it a Task: `weft::spawn(weft::gather(...).as_task())`.
//
// Cost: when every task is done after the inline pass, nothing beyond the
// tasks themselves and the result vector (the handles of up to 16 tasks are
// kept inside the gather object, in the awaiting task's frame; more take one
// allocation). Otherwise one block (shared state plus one completion listener
// per task); each completion is then one CAS on a shared word; the awaiting
// task suspends at most once and is resumed through TaskHeader::wake()
// (scheduled, never inline). See detail/join_set.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
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

/// A finished task's value: moved out of a task the gather spawned (its only
/// handle; the caller then calls keep_result_over_pending_cancel()), copied
/// from a handle the caller passed.
template <class T>
gather_value_t<T> gather_take(JoinHandle<T>& h, bool spawned) {
  if constexpr (std::is_void_v<T>) {
    h.result();
    return Void{};
  } else {
    return spawned ? std::move(h).take_sole_result() : h.result();
  }
}

template <class T>
Outcome<gather_value_t<T>> gather_outcome(JoinHandle<T>& h, bool spawned) {
  TaskHeader* t = h.header();
  if (t->error()) {
    t->state_.fetch_or(TaskHeader::kResultSeen, std::memory_order_relaxed);  // flag only
    return Outcome<gather_value_t<T>>(t->error());
  }
  return Outcome<gather_value_t<T>>(gather_take(h, spawned));
}

/// True if collecting `h` moves a value out of a task the gather spawned.
/// Then the awaiting task's result stands over a cancellation that arrives
/// before it suspends again, as after JoinHandle's move (the caller calls
/// keep_result_over_pending_cancel() once).
template <class T>
bool gather_moves_value(const JoinHandle<T>& h, bool spawned) {
  return !std::is_void_v<T> && spawned && !h.header()->error();
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

/// The waiting half of a gather, for the tasks the inline pass left running:
/// one JoinSet, awaited without a coroutine frame of its own. Lives in the
/// gather's awaiter (so in the awaiting task's frame) and never moves once
/// begun.
template <bool ReturnExceptions>
class GatherWait {
 public:
  GatherWait() = default;
  GatherWait(const GatherWait&) = delete;
  GatherWait& operator=(const GatherWait&) = delete;
  ~GatherWait() {
    if (set_) set_->release();
  }

  /// Watches `tasks` (started: JoinHandles or TaskHeader*); false if the
  /// awaiting task must suspend.
  template <class Tasks>
  bool begin(const Tasks& tasks) {
    const auto n = static_cast<std::uint32_t>(tasks.size());
    set_ = JoinSet::create(n, ReturnExceptions ? JoinTrigger::all : JoinTrigger::first_error);
    for (std::uint32_t i = 0; i < n; ++i)
      set_->watch(i, gather_header(tasks[i]));
    wait_.emplace(set_, /*cancel_tasks=*/true);
    return wait_->await_ready();
  }
  bool suspend(std::coroutine_handle<> h) { return wait_->await_suspend(h); }
  /// After begin(): throws CancelledError (the awaiting task was cancelled)
  /// or, without return_exceptions, the first failure.
  template <class Tasks>
  void end(const Tasks& tasks) {
    if (!wait_) return;
    wait_->await_resume();
    if (set_->cancelled() || (wait_->suspended && take_pending_cancel()))
      throw_cancelled_at_resume();
    if constexpr (!ReturnExceptions) {
      std::int32_t k = set_->first_failed();
      if (k >= 0) gather_rethrow(gather_header(tasks[static_cast<std::size_t>(k)]));
    }
  }

 private:
  JoinSet* set_ = nullptr;
  std::optional<JoinSetAwaiter> wait_;
};

template <bool ReturnExceptions, class T>
using gather_slot_t =
    std::conditional_t<ReturnExceptions, Outcome<gather_value_t<T>>, gather_value_t<T>>;

enum class GatherUse : std::uint8_t { fresh, awaited, moved_from };
inline void check_first_await(GatherUse was) {
  if (was == GatherUse::awaited) throw InvalidStateError("weft::gather: awaited twice");
  if (was == GatherUse::moved_from)
    throw InvalidStateError("weft::gather: awaiting a moved-from gather");
}

/// A gather as a Task of its own (to spawn or shield it).
template <class Gather>
Task<typename Gather::result_type> gather_as_task(Gather g) {
  co_return co_await std::move(g);
}

/// gather(a, b, ...): an awaitable, not a coroutine (see GatherRange). It may
/// be moved only before it is awaited, and is awaited once.
template <bool ReturnExceptions, class... Items>
class [[nodiscard]] GatherTuple {
  static constexpr std::size_t N = sizeof...(Items);
  using Seq = std::index_sequence_for<Items...>;

 public:
  using result_type = std::tuple<gather_slot_t<ReturnExceptions, gather_item_value_t<Items>>...>;

  explicit GatherTuple(std::tuple<Items...> items) noexcept : items_(std::move(items)) {}
  /// Only before the first await (nothing has started yet).
  GatherTuple(GatherTuple&& o) noexcept
      : items_(std::move(o.items_)), use_(std::exchange(o.use_, GatherUse::moved_from)) {}
  GatherTuple& operator=(GatherTuple&&) = delete;

  /// The gather as a Task (one coroutine frame): weft::spawn(gather(...).as_task()).
  Task<result_type> as_task() && { return gather_as_task(std::move(*this)); }

  bool await_ready() {
    check_first_await(std::exchange(use_, GatherUse::awaited));
    if constexpr (N == 0) {
      return true;
    } else {
      start(Seq{});
      if (gather_run_inline<ReturnExceptions>(headers_)) return true;
      return wait_.begin(headers_);
    }
  }
  bool await_suspend(std::coroutine_handle<> h) { return wait_.suspend(h); }
  result_type await_resume() {
    if constexpr (N == 0) {
      return {};
    } else {
      wait_.end(headers_);
      return collect(Seq{});
    }
  }

 private:
  template <std::size_t... I>
  void start(std::index_sequence<I...>) {
    std::size_t started = 0;
    try {
      ((std::get<I>(handles_) = gather_start(std::get<I>(items_)),
        headers_[I] = std::get<I>(handles_).header(), ++started),
       ...);
    } catch (...) {
      // Do not leave half a gather running: cancel the children started so far.
      ((I < started && gather_item<Items>::spawns ? (void)std::get<I>(handles_).cancel() : void()),
       ...);
      throw;
    }
  }
  template <std::size_t... I>
  result_type collect(std::index_sequence<I...>) {
    if ((gather_moves_value(std::get<I>(handles_), gather_item<Items>::spawns) || ...))
      keep_result_over_pending_cancel();
    if constexpr (ReturnExceptions)
      return result_type(gather_outcome(std::get<I>(handles_), gather_item<Items>::spawns)...);
    else
      return result_type(gather_take(std::get<I>(handles_), gather_item<Items>::spawns)...);
  }

  std::tuple<Items...> items_;
  std::tuple<JoinHandle<gather_item_value_t<Items>>...> handles_;
  std::array<TaskHeader*, N> headers_{};
  GatherWait<ReturnExceptions> wait_;
  GatherUse use_ = GatherUse::fresh;
};

/// The handles of a range gather's tasks: inline for up to kInline tasks (no
/// allocation), on the heap beyond.
template <class T>
class GatherHandles {
 public:
  static constexpr std::size_t kInline = 16;

  GatherHandles() noexcept {}  // the inline slots stay unconstructed until used
  GatherHandles(const GatherHandles&) = delete;
  GatherHandles& operator=(const GatherHandles&) = delete;
  ~GatherHandles() {
    if (!heap_) std::destroy_n(inline_data(), size_);  // only the slots in use
  }

  void reserve(std::size_t n) {
    if (n > kInline) heap_ = std::make_unique<JoinHandle<T>[]>(n);
  }
  std::size_t size() const noexcept { return size_; }
  /// After reserve(n), at most n times.
  void push_back(JoinHandle<T> h) noexcept {
    if (heap_)
      heap_[size_] = std::move(h);
    else
      ::new (static_cast<void*>(inline_data() + size_)) JoinHandle<T>(std::move(h));
    ++size_;
  }
  JoinHandle<T>& operator[](std::size_t i) noexcept { return data()[i]; }
  const JoinHandle<T>& operator[](std::size_t i) const noexcept {
    return const_cast<GatherHandles*>(this)->data()[i];
  }

 private:
  JoinHandle<T>* data() noexcept { return heap_ ? heap_.get() : inline_data(); }
  JoinHandle<T>* inline_data() noexcept {
    return std::launder(reinterpret_cast<JoinHandle<T>*>(inline_));
  }

  alignas(JoinHandle<T>) unsigned char inline_[kInline * sizeof(JoinHandle<T>)];
  std::unique_ptr<JoinHandle<T>[]> heap_;
  std::size_t size_ = 0;
};

/// gather(range): an awaitable, not a coroutine, so the common case (every
/// task done after the inline pass) costs no frame and no allocation beyond
/// the result vector. It lives in the awaiting task's frame; it may be moved
/// only before it is awaited (as wait_for's awaiter does), and awaited once.
template <bool ReturnExceptions, class Item>
class [[nodiscard]] GatherRange {
  using T = gather_item_value_t<Item>;
  static constexpr bool kSpawns = gather_item<Item>::spawns;
  using Handles = std::conditional_t<kSpawns, GatherHandles<T>, std::vector<JoinHandle<T>>>;

 public:
  using result_type = std::vector<gather_slot_t<ReturnExceptions, T>>;

  explicit GatherRange(std::vector<Item> items) noexcept : items_(std::move(items)) {}
  /// Only before the first await (nothing has started yet).
  GatherRange(GatherRange&& o) noexcept
      : items_(std::move(o.items_)), use_(std::exchange(o.use_, GatherUse::moved_from)) {}
  GatherRange& operator=(GatherRange&&) = delete;

  /// The gather as a Task (one coroutine frame): weft::spawn(gather(...).as_task()).
  Task<result_type> as_task() && { return gather_as_task(std::move(*this)); }

  /// Starts every task and runs the not-yet-started ones inline (see
  /// gather_run_inline); true when no wait is needed.
  bool await_ready() {
    check_first_await(std::exchange(use_, GatherUse::awaited));
    if (items_.empty()) return true;
    start();
    if (gather_run_inline<ReturnExceptions>(handles())) return true;
    return wait_.begin(handles());
  }
  bool await_suspend(std::coroutine_handle<> h) { return wait_.suspend(h); }
  result_type await_resume() {
    wait_.end(handles());
    result_type out;
    auto& hs = handles();
    out.reserve(hs.size());
    bool moved = false;
    for (std::size_t i = 0; i < hs.size(); ++i) {
      moved |= gather_moves_value(hs[i], kSpawns);
      if constexpr (ReturnExceptions)
        out.push_back(gather_outcome(hs[i], kSpawns));
      else
        out.push_back(gather_take(hs[i], kSpawns));
    }
    if (moved) keep_result_over_pending_cancel();
    return out;
  }

 private:
  Handles& handles() noexcept {
    if constexpr (kSpawns)
      return spawned_;
    else
      return items_;
  }

  void start() {
    if constexpr (kSpawns) {
      spawned_.reserve(items_.size());
      try {
        for (auto& item : items_)
          spawned_.push_back(gather_start(item));
      } catch (...) {
        // Do not leave half a gather running: cancel the children started so far.
        for (std::size_t i = 0; i < spawned_.size(); ++i)
          spawned_[i].cancel();
        throw;
      }
    } else {
      for (auto& h : items_)
        if (!h) throw InvalidStateError("weft::gather: empty JoinHandle");
    }
  }

  std::vector<Item> items_;
  [[no_unique_address]] std::conditional_t<kSpawns, GatherHandles<T>, Void> spawned_;
  GatherWait<ReturnExceptions> wait_;
  GatherUse use_ = GatherUse::fresh;
};

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
  return detail::GatherTuple<false, std::remove_cvref_t<A>...>(
      std::tuple<std::remove_cvref_t<A>...>(std::forward<A>(items)...));
}

/// asyncio.gather(a, b, ..., return_exceptions=True): a tuple of Outcomes.
template <class... A>
requires(detail::GatherItem<A>&&...) [[nodiscard]] auto gather(return_exceptions_t, A&&... items) {
  static_assert((detail::gather_arg_ok<A>() && ...),
                "weft::gather: pass Tasks as rvalues (std::move(task) or a call), they are "
                "spawned by the gather");
  return detail::GatherTuple<true, std::remove_cvref_t<A>...>(
      std::tuple<std::remove_cvref_t<A>...>(std::forward<A>(items)...));
}

/// asyncio.gather(*tasks): the results in order (first failure thrown).
template <class T>
[[nodiscard]] detail::GatherRange<false, Task<T>> gather(std::vector<Task<T>> tasks) {
  return detail::GatherRange<false, Task<T>>(std::move(tasks));
}
template <class T>
[[nodiscard]] detail::GatherRange<false, JoinHandle<T>> gather(std::vector<JoinHandle<T>> handles) {
  return detail::GatherRange<false, JoinHandle<T>>(std::move(handles));
}

/// asyncio.gather(*tasks, return_exceptions=True): one Outcome per task, in order.
template <class T>
[[nodiscard]] detail::GatherRange<true, Task<T>> gather(return_exceptions_t,
                                                        std::vector<Task<T>> tasks) {
  return detail::GatherRange<true, Task<T>>(std::move(tasks));
}
template <class T>
[[nodiscard]] detail::GatherRange<true, JoinHandle<T>> gather(return_exceptions_t,
                                                              std::vector<JoinHandle<T>> handles) {
  return detail::GatherRange<true, JoinHandle<T>>(std::move(handles));
}

}  // namespace weft
