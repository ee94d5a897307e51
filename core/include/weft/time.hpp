// Time: sleep, timeouts (asyncio.timeout, asyncio.wait_for) and the seed's
// with_timeout helper. All deadlines are on std::chrono::steady_clock.
//
//   co_await weft::sleep(100ms);
//   int v = co_await weft::wait_for(fetch(), 3s);           // throws weft::TimeoutError
//   co_await weft::timeout(3s, [&]() -> weft::Task<> {      // a block under one deadline
//     co_await step1(); co_await step2();
//   });
//   weft::Timeout cm = weft::Timeout::after(10s);           // asyncio.Timeout object
//   auto body = [&]() -> weft::Task<> { ... cm.reschedule(...); ... };
//   co_await cm(body);  if (cm.expired()) ...
//   auto r = co_await weft::with_timeout(op(), 1s, fallback);   // default on timeout
//
// Timers live in the timer wheel of the worker the task runs on (1 ms
// resolution; O(1) arm on the task's worker, O(1) cancel from any thread). A timer never fires
// before its deadline; it may fire up to about 1 ms (plus scheduling delay) after it. A deadline at
// or before now (timeout(0), a time point in the past) fires at the next suspension point inside
// the scope.
//
// Timeouts follow asyncio 3.12+: when the deadline passes, the running task is
// cancelled; whatever it awaits inside the scope is withdrawn (a nested Task
// sees CancelledError where it is suspended, an awaited spawned task is
// cancelled and awaited until it finishes unwinding); at the scope's edge that
// CancelledError becomes weft::TimeoutError, unless the task was also cancelled
// from outside, in which case CancelledError propagates. The TimeoutError
// carries that CancelledError as its cause (asyncio's __cause__): it is thrown
// with std::throw_with_nested, and weft::cause(e) returns it (errors.hpp). If the body completes
// although the deadline passed (it never suspended after it), its result
// stands. Timers are armed lazily, only when the task suspends inside the
// scope: a timeout around an operation that completes at once costs a few
// stores (see W9b in bench/RESULTS.md).
//
// g++ 12: bind a capturing lambda to a named local before passing it (as
// above); the helpers take the awaitable by value and keep it alive.
#pragma once

#include <chrono>
#include <concepts>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/task_header.hpp"
#include "weft/detail/timeout_scope.hpp"
#include "weft/detail/timer_entry.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"

#ifdef WEFT_MODEL
#include "weft/detail/model_clock.hpp"
#endif

namespace weft {

/// The clock of every weft deadline: std::chrono::steady_clock (in the
/// model-checking build, the model's virtual clock).
#ifdef WEFT_MODEL
using Clock = detail::model::Clock;
#else
using Clock = std::chrono::steady_clock;
#endif

namespace detail {

inline std::int64_t to_ns(Clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
inline Clock::time_point from_ns(std::int64_t ns) noexcept {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}
/// now + d, clamped to [0, INT64_MAX] for huge durations (`now` from the
/// precise clock: CLOCK_MONOTONIC_COARSE was tried for timeouts and dropped,
/// it lagged the precise clock by more than its resolution on a VM, so
/// deadlines taken from it could fire early).
inline std::int64_t deadline_after(Clock::duration d) noexcept {
  std::int64_t now = to_ns(Clock::now());
  std::int64_t dn = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (dn > 0 && now > INT64_MAX - dn) return INT64_MAX;
  if (dn < 0 && dn < -now) return 0;
  return now + dn;
}

struct SleepAwaiter : Suspension {
  std::int64_t deadline_ns;
  TimerEntry* entry = nullptr;
  bool cancelled = false;

  explicit SleepAwaiter(std::int64_t deadline) noexcept : deadline_ns(deadline) {}
  SleepAwaiter(SleepAwaiter&& o) noexcept
      : Suspension(o), deadline_ns(o.deadline_ns), entry(std::exchange(o.entry, nullptr)) {}
  ~SleepAwaiter() {
    if (entry) release_timer(entry);
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();
  static Withdraw withdraw_sleep(Suspension* self, TaskHeader* task) noexcept;
  static void on_fire(TimerEntry* e) noexcept;
};

template <class A>
concept HasMemberCoAwait = requires(A&& a) {
  std::forward<A>(a).operator co_await();
};

template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (HasMemberCoAwait<A>)
    return std::forward<A>(a).operator co_await();
  else
    return std::forward<A>(a);
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));
template <class A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

/// An awaitable, or a callable returning one (the block form of timeout()).
template <class F>
decltype(auto) as_awaitable(F&& f) {
  if constexpr (std::invocable<F&>)
    return f();
  else
    return std::forward<F>(f);
}
template <class F>
using as_awaitable_t = std::decay_t<decltype(as_awaitable(std::declval<F>()))>;

template <class>
inline constexpr bool is_join_handle_v = false;
template <class T>
inline constexpr bool is_join_handle_v<JoinHandle<T>> = true;

/// Runs one awaitable inside a TimeoutScope without a coroutine frame of its
/// own: enter on await_ready, convert on await_resume.
///
/// `expired` (wait_for with a timeout <= 0, asyncio 3.12's special case):
/// the awaitable is never started and TimeoutError is thrown, except for a
/// JoinHandle: its task is running already, so its result is returned if it
/// has finished; otherwise it is cancelled and awaited, and its
/// CancelledError becomes TimeoutError (a task that swallows the cancellation
/// returns its value).
template <class Aw, class ScopeRef>
class TimeoutAwaiter {
  using Inner = std::remove_reference_t<awaiter_t<Aw>>;
  static constexpr bool kOwnsInner = HasMemberCoAwait<Aw>;
  static constexpr bool kJoin = is_join_handle_v<std::decay_t<Aw>>;

 public:
  using result_type = await_result_t<Aw>;

  TimeoutAwaiter(Aw aw, ScopeRef scope, bool expired = false)
      : aw_(std::move(aw)), scope_(std::move(scope)), expired_(expired) {}
  TimeoutAwaiter(TimeoutAwaiter&&) = default;

  bool await_ready() {
    if (expired_) {
      if constexpr (kJoin) {
        if (aw_ && !aw_.done()) aw_.cancel();
        inner_.emplace(std::move(aw_).operator co_await());
        return inner().await_ready();
      } else {
        return true;  // never started: await_resume throws TimeoutError
      }
    }
    scope().enter();
    try {
      if constexpr (kOwnsInner) inner_.emplace(std::move(aw_).operator co_await());
      return inner().await_ready();
    } catch (...) {
      scope().leave_quietly();
      throw;
    }
  }
  template <class H>
  auto await_suspend(H h) {
    if (expired_) return inner().await_suspend(h);  // a JoinHandle's task, being cancelled
    try {
      return inner().await_suspend(h);
    } catch (...) {
      scope().leave_quietly();
      throw;
    }
  }
  result_type await_resume() {
    if (expired_) return expired_result();
    std::exception_ptr cancelled;
    try {
      if constexpr (std::is_void_v<result_type>) {
        inner().await_resume();
        scope().leave(nullptr);
        return;
      } else {
        result_type r = inner().await_resume();
        scope().leave(nullptr);
        return r;
      }
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    } catch (...) {
      scope().leave_quietly();
      throw;
    }
    scope().leave(cancelled);  // throws TimeoutError or rethrows
    throw InvalidStateError("weft: unreachable");
  }

 private:
  Inner& inner() {
    if constexpr (kOwnsInner)
      return *inner_;
    else
      return aw_;
  }
  TimeoutScope& scope() { return *scope_; }

  result_type expired_result() {
    if constexpr (kJoin) {
      try {
        return inner().await_resume();
      } catch (const CancelledError&) {
        std::throw_with_nested(TimeoutError());  // its cause: the CancelledError (asyncio)
      }
    } else {
      if constexpr (is_task_v<std::decay_t<Aw>>)
        aw_.discard();  // consumed unstarted, like a task asyncio cancels before it runs
      throw TimeoutError();
    }
  }

  Aw aw_;
  std::optional<std::conditional_t<kOwnsInner, Inner, char>> inner_;
  ScopeRef scope_;
  bool expired_ = false;
};

/// Owns its scope on the heap-free path: the scope must not move once entered,
/// and the awaiter itself is not moved after await_ready (it lives in the
/// awaiting coroutine's frame), so holding it by value is enough.
struct OwnedScope {
  std::optional<TimeoutScope> s;
  explicit OwnedScope(std::optional<std::int64_t> deadline) { s.emplace(deadline); }
  OwnedScope(OwnedScope&& o) { s.emplace(o.s->deadline_ns); }
  TimeoutScope& operator*() { return *s; }
};

}  // namespace detail

/// Suspends the task for `d` (asyncio.sleep). A duration <= 0 yields once.
/// A suspension point: a pending cancellation is delivered here.
[[nodiscard]] inline detail::SleepAwaiter sleep(Clock::duration d) {
  return detail::SleepAwaiter(d.count() <= 0 ? 0 : detail::deadline_after(d));
}

/// Suspends the task until `t` (yields once if `t` has passed).
[[nodiscard]] inline detail::SleepAwaiter sleep_until(Clock::time_point t) {
  std::int64_t ns = detail::to_ns(t);
  return detail::SleepAwaiter(ns <= detail::to_ns(Clock::now()) ? 0 : ns);
}

/// asyncio.Timeout: a deadline for a block of awaits, that can be queried and
/// moved while the block runs. Use it once: `co_await cm(awaitable_or_block)`.
///
/// Not thread-safe: create, run, reschedule and query it from the task that
/// runs the block.
class Timeout {
 public:
  /// No deadline (asyncio.timeout(None)); set one later with reschedule().
  Timeout() = default;
  explicit Timeout(std::optional<Clock::time_point> when)
      : scope_(when ? std::optional<std::int64_t>(detail::to_ns(*when)) : std::nullopt) {}
  static Timeout after(Clock::duration d) {
    return Timeout(detail::from_ns(detail::deadline_after(d)));
  }
  static Timeout at(Clock::time_point t) { return Timeout(t); }

  Timeout(Timeout&& o) noexcept : scope_(o.scope_.deadline_ns) {}

  /// The deadline, if any.
  std::optional<Clock::time_point> when() const {
    if (!scope_.deadline_ns) return std::nullopt;
    return detail::from_ns(*scope_.deadline_ns);
  }
  /// Moves the deadline (nullopt: none). Only while the block runs; throws
  /// InvalidStateError otherwise or once the deadline has passed.
  void reschedule(std::optional<Clock::time_point> when) {
    scope_.reschedule(when ? std::optional<std::int64_t>(detail::to_ns(*when)) : std::nullopt);
  }
  /// The deadline passed while the block ran (asyncio's expired()).
  bool expired() const noexcept { return scope_.expired(); }

  /// Runs `aw` (an awaitable, or a callable returning one) under this deadline.
  template <class F>
  auto operator()(F&& body) {
    using Aw = detail::as_awaitable_t<F>;
    return detail::TimeoutAwaiter<Aw, detail::TimeoutScope*>(
        detail::as_awaitable(std::forward<F>(body)), &scope_);
  }
  template <class F>
  auto run(F&& body) {
    return (*this)(std::forward<F>(body));
  }

 private:
  detail::TimeoutScope scope_;
};

/// asyncio.timeout(delay) around one awaitable or a block (a callable returning
/// one): its result, or TimeoutError when `d` passes first.
template <class F>
[[nodiscard]] auto timeout(Clock::duration d, F&& body) {
  using Aw = detail::as_awaitable_t<F>;
  return detail::TimeoutAwaiter<Aw, detail::OwnedScope>(
      detail::as_awaitable(std::forward<F>(body)), detail::OwnedScope(detail::deadline_after(d)));
}

/// asyncio.timeout_at(when).
template <class F>
[[nodiscard]] auto timeout_at(Clock::time_point when, F&& body) {
  using Aw = detail::as_awaitable_t<F>;
  return detail::TimeoutAwaiter<Aw, detail::OwnedScope>(detail::as_awaitable(std::forward<F>(body)),
                                                        detail::OwnedScope(detail::to_ns(when)));
}

/// asyncio.wait_for(aw, timeout): the result of `aw`, or weft::TimeoutError after
/// cancelling it (and waiting for it to finish unwinding) when `d` passes first.
/// A timeout <= 0 does not start `aw` (a Task or another awaitable): it throws
/// TimeoutError at once; for a JoinHandle it returns the result of a finished
/// task, and otherwise cancels the task, waits for it and throws TimeoutError
/// (asyncio 3.12).
template <class Aw>
[[nodiscard]] auto wait_for(Aw&& aw, Clock::duration d) {
  using A = detail::as_awaitable_t<Aw>;
  if (d.count() <= 0)
    return detail::TimeoutAwaiter<A, detail::OwnedScope>(detail::as_awaitable(std::forward<Aw>(aw)),
                                                         detail::OwnedScope(std::nullopt),
                                                         /*expired=*/true);
  return timeout(d, std::forward<Aw>(aw));
}

namespace detail {
template <class R, class T>
using with_timeout_result_t = std::conditional_t<std::is_void_v<R>, std::optional<T>, R>;
}  // namespace detail

/// The seed's helper: the result of `aw`, or `fallback` if it times out. For an
/// awaitable without a result (like sleep) it returns std::optional<T>: empty
/// when the operation completed, `fallback` when it timed out (Python's None).
template <class Aw, class T>
Task<detail::with_timeout_result_t<detail::await_result_t<std::decay_t<Aw>>, T>> with_timeout(
    Aw aw, Clock::duration d, T fallback) {
  using R = detail::await_result_t<std::decay_t<Aw>>;
  using Out = detail::with_timeout_result_t<R, T>;
  std::optional<Out> result;
  bool timed_out = false;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await wait_for(std::move(aw), d);
      result.emplace(std::nullopt);
    } else {
      result.emplace(co_await wait_for(std::move(aw), d));
    }
  } catch (const TimeoutError&) {
    timed_out = true;
  }
  if (timed_out) co_return Out(std::move(fallback));
  co_return std::move(*result);
}

}  // namespace weft
