// The plain-thread bridge: how code outside a runtime hands it work and waits
// for the answer (asyncio's loop.call_soon_threadsafe, loop.call_later /
// call_at and asyncio.run_coroutine_threadsafe).
//
//   weft::Runtime rt({.workers = 2});
//   rt.call_soon_threadsafe([] { ... });                     // runs on a worker soon
//   weft::TimerHandle t = rt.call_later(1s, [] { ... });     // t.cancel() -> bool
//   weft::ConcurrentFuture<int> f = weft::run_coroutine_threadsafe(compute(), rt);
//   int v = f.result(2s);                                    // blocks this plain thread
//
// Runtime::call_soon_threadsafe, call_later and call_at are members of
// Runtime (weft/runtime.hpp has their rules; weft/timer_handle.hpp the
// timer's). This header adds run_coroutine_threadsafe and the future it
// returns.
//
// ConcurrentFuture<T> (concurrent.futures.Future, as asyncio's
// run_coroutine_threadsafe returns it)
//  - It refers to a task spawned on the runtime: done(), cancelled(),
//    cancel() and the result are the task's (JoinHandle<T>, which
//    join_handle() returns for co_await from tasks).
//  - result() blocks the calling thread until the task finishes, then returns
//    its value (copied from an lvalue future, moved out of an rvalue one, as
//    JoinHandle::result()), rethrows its exception, or throws CancelledError
//    if it ended cancelled. result(timeout) throws weft::TimeoutError if the
//    task has not finished within `timeout` (the task keeps running).
//    exception(timeout) is the same wait, then the task's exception (null if
//    it returned). wait() / wait_for(timeout) only wait (wait_for: true once
//    done, false on timeout).
//  - cancel() requests the task's cancellation (JoinHandle::cancel(): false if
//    it had finished); the future is done once the task has unwound, and then
//    result() throws CancelledError -- unless the task swallowed the
//    cancellation and returned a value.
//  - Blocking on a weft worker thread is refused with InvalidStateError: on a
//    worker of the task's own runtime it could deadlock (the task may need
//    that worker), on another runtime's it would stall that runtime; co_await
//    join_handle() instead. A wait that does not block (the task is done, or
//    a timeout <= 0) is allowed anywhere.
//  - Copies share one task and one waiter; every member may be called from
//    any thread, and any number of threads may wait at once. One
//    ConcurrentFuture object must not be assigned while another thread uses it.
//
// Progress and cost
//   run_coroutine_threadsafe   one allocation for the waiter, the spawn (as
//                              Runtime::spawn) and one lock-free push of the
//                              waiter onto the task's completion listeners
//   completion                 one release store and one futex wake (a
//                              syscall) in the task's completion, on its worker
//   done(), cancelled()        one load (wait-free)
//   result() / wait_for()      wait-free when done; otherwise the thread
//                              sleeps on a futex until the completion wakes it
//                              (no spinning, no lock)
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <utility>

#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

/// A plain thread's wait for one spawned task: a completion listener with a
/// futex word, shared by the futures that copy it (core/src/bridge/bridge_waiter.cpp).
struct BridgeWaiter;

/// Allocates a waiter for a task of `sched` (not yet attached to a task).
BridgeWaiter* new_bridge_waiter(Scheduler* sched);
/// Frees a waiter that was never attached (the spawn failed).
void free_bridge_waiter(BridgeWaiter* w) noexcept;
/// Adds `w` to `task`'s completion listeners (or marks it done if the task has
/// finished). Any thread.
void attach_bridge_waiter(BridgeWaiter* w, TaskHeader* task) noexcept;
void retain_bridge_waiter(BridgeWaiter* w) noexcept;
void release_bridge_waiter(BridgeWaiter* w) noexcept;
/// True once the task is done; false if `timeout_ns` (< 0: none) passed
/// first. Throws InvalidStateError where it would block a weft worker.
bool bridge_wait(BridgeWaiter* w, TaskHeader* task, std::int64_t timeout_ns, const char* what);

/// A timeout in nanoseconds for the blocking waits: <= 0 polls, huge ones
/// are clamped, NaN throws std::invalid_argument (delay_ns's rules).
template <class Rep, class Period>
std::int64_t wait_timeout_ns(std::chrono::duration<Rep, Period> d) {
  return delay_ns(d, "weft::ConcurrentFuture: timeout");
}

}  // namespace detail

template <class T = void>
class ConcurrentFuture {
 public:
  /// An empty future: every member but valid() throws InvalidStateError.
  ConcurrentFuture() noexcept = default;
  ConcurrentFuture(const ConcurrentFuture& o) noexcept : handle_(o.handle_), waiter_(o.waiter_) {
    if (waiter_) detail::retain_bridge_waiter(waiter_);
  }
  ConcurrentFuture(ConcurrentFuture&& o) noexcept
      : handle_(std::move(o.handle_)), waiter_(std::exchange(o.waiter_, nullptr)) {}
  ConcurrentFuture& operator=(ConcurrentFuture o) noexcept {
    std::swap(handle_, o.handle_);
    std::swap(waiter_, o.waiter_);
    return *this;
  }
  ~ConcurrentFuture() {
    if (waiter_) detail::release_bridge_waiter(waiter_);
  }

  bool valid() const noexcept { return waiter_ != nullptr; }

  /// The task has finished (value, exception or cancellation). Wait-free.
  bool done() const { return handle().done(); }
  /// The task ended cancelled. Wait-free.
  bool cancelled() const { return handle().cancelled(); }
  /// Requests the task's cancellation; false if it had finished.
  bool cancel() const { return handle().cancel(); }

  /// Blocks until the task is done (InvalidStateError on a weft worker).
  void wait() const { (void)detail::bridge_wait(checked(), handle_.header(), -1, "wait"); }
  /// Blocks at most `timeout`: true once done, false if it passed first.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    return detail::bridge_wait(checked(), handle_.header(), detail::wait_timeout_ns(timeout),
                               "wait_for");
  }

  /// Waits, then returns the value or rethrows (see the file comment).
  T result() const& {
    wait();
    return handle_.result();
  }
  T result() && {
    wait();
    return std::move(handle_).result();
  }
  /// Waits at most `timeout`; throws TimeoutError if the task is still running.
  template <class Rep, class Period>
  T result(std::chrono::duration<Rep, Period> timeout) const& {
    if (!wait_for(timeout)) throw TimeoutError("weft::ConcurrentFuture::result: timed out");
    return handle_.result();
  }
  template <class Rep, class Period>
  T result(std::chrono::duration<Rep, Period> timeout) && {
    if (!wait_for(timeout)) throw TimeoutError("weft::ConcurrentFuture::result: timed out");
    return std::move(handle_).result();
  }
  /// Waits, then the task's exception (null if it returned a value);
  /// CancelledError if it was cancelled. TimeoutError if `timeout` passes.
  std::exception_ptr exception() const {
    wait();
    return handle_.exception();
  }
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    if (!wait_for(timeout)) throw TimeoutError("weft::ConcurrentFuture::exception: timed out");
    return handle_.exception();
  }

  /// The task's handle (for co_await from a task, name(), id()).
  const JoinHandle<T>& join_handle() const {
    checked();
    return handle_;
  }

 private:
  template <class U>
  friend ConcurrentFuture<U> run_coroutine_threadsafe(Task<U> task, Runtime& runtime);
  ConcurrentFuture(JoinHandle<T> h, detail::BridgeWaiter* w) noexcept
      : handle_(std::move(h)), waiter_(w) {}

  detail::BridgeWaiter* checked() const {
    if (!waiter_) throw InvalidStateError("weft::ConcurrentFuture: empty future");
    return waiter_;
  }
  const JoinHandle<T>& handle() const {
    checked();
    return handle_;
  }

  JoinHandle<T> handle_;
  detail::BridgeWaiter* waiter_ = nullptr;
};

/// asyncio.run_coroutine_threadsafe(coro, loop): spawns `task` on `runtime`
/// and returns a future a plain thread can block on. Any thread (blocking on
/// the future is refused on weft workers, see above). Throws RuntimeError if
/// the runtime is closed, InvalidStateError for an empty or started Task (as
/// spawn()).
template <class T>
ConcurrentFuture<T> run_coroutine_threadsafe(Task<T> task, Runtime& runtime) {
  if (runtime.is_closed())
    throw RuntimeError(
        "weft::run_coroutine_threadsafe: the runtime is closed (shutting down or shut down)");
  detail::BridgeWaiter* w = detail::new_bridge_waiter(&runtime.scheduler());
  JoinHandle<T> h;
  try {
    h = runtime.spawn(std::move(task));
  } catch (...) {
    detail::free_bridge_waiter(w);
    throw;
  }
  detail::attach_bridge_waiter(w, h.header());
  return ConcurrentFuture<T>(std::move(h), w);
}

}  // namespace weft
