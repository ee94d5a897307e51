// weft::shield(): await a task without passing a cancellation on to it
// (asyncio.shield).
//
//   int v = co_await weft::shield(handle);      // a spawned task
//   int w = co_await weft::shield(some_task()); // spawns it first
//
// If the awaiting task is cancelled while it waits, it resumes at once with
// CancelledError; the shielded task keeps running and its result can still be
// awaited through its JoinHandle. Without the shield, the cancellation would
// cancel the awaited task too (JoinHandle's rule).
//
// Cost: one small allocation per shielded wait that suspends (the waiter must be
// able to leave before the task finishes, so its link cannot live in its frame).
#pragma once

#include <atomic>
#include <coroutine>

#include "weft/detail/atomic.hpp"
#include "weft/join_handle.hpp"
#include "weft/runtime.hpp"

namespace weft {

namespace detail {

/// Shared between a shielded waiter and the task it waits for: whichever of
/// "task finished" and "waiter cancelled" takes `waiter` first decides.
struct ShieldLink : CompletionListener {
  detail::Atomic<TaskHeader*> waiter{nullptr};
  detail::Atomic<std::uint32_t> refs{2};  // the waiter and the listener stack
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

struct ShieldAwaiterBase : Suspension {
  TaskHeader* target = nullptr;
  ShieldLink* link = nullptr;
  bool cancelled = false;
  bool suspended = false;  ///< the waiter really waited

  ShieldAwaiterBase() = default;
  ShieldAwaiterBase(ShieldAwaiterBase&& o) noexcept
      : Suspension(o), target(o.target), link(std::exchange(o.link, nullptr)) {}  // before use
  ~ShieldAwaiterBase() {
    if (link) link->release();
  }
  bool ready() const { return target->done(); }
  bool suspend(std::coroutine_handle<> h);
  void finish();  ///< releases the link; throws CancelledError if withdrawn
  static Withdraw withdraw_shield(Suspension* self, TaskHeader* task) noexcept;
  static void on_target_complete(CompletionListener* self, TaskHeader* task) noexcept;
};

template <class T>
struct ShieldAwaiter : ShieldAwaiterBase {
  JoinHandle<T> handle;
  /// shield(Task) spawned the task and holds its only handle: the result may be
  /// moved out. shield(JoinHandle) shares the task: the result is copied (a
  /// move-only result is moved out once, as with co_await on a handle).
  bool sole_owner;
  ShieldAwaiter(JoinHandle<T> h, bool sole) : handle(std::move(h)), sole_owner(sole) {
    if (!handle) throw InvalidStateError("weft::shield: empty JoinHandle");
    target = handle.header();
  }
  bool await_ready() const { return ready(); }
  bool await_suspend(std::coroutine_handle<> h) { return suspend(h); }
  T await_resume() {
    finish();
    if (sole_owner) return std::move(handle).result();
    return handle.result();
  }
};

}  // namespace detail

/// Awaits `handle`'s task; cancelling the awaiter does not cancel that task.
template <class T>
[[nodiscard]] detail::ShieldAwaiter<T> shield(JoinHandle<T> handle) {
  return detail::ShieldAwaiter<T>(std::move(handle), /*sole=*/false);
}

/// Spawns `task` on the current runtime and awaits it under a shield.
template <class T>
[[nodiscard]] detail::ShieldAwaiter<T> shield(Task<T> task) {
  return detail::ShieldAwaiter<T>(spawn(std::move(task)), /*sole=*/true);
}

}  // namespace weft
