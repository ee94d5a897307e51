// co_await weft::yield(): lets the other ready tasks run (asyncio.sleep(0),
// tokio::task::yield_now).
//
// The task goes to the back of its worker's line: after every task in that
// worker's run queue (when the queue is full it overflows to the inject queue,
// may run earlier, and that push may allocate). It is a suspension point, so a
// pending cancellation is delivered here (CancelledError). Cost: one queue push
// and pop.
#pragma once

#include <coroutine>

#include "weft/detail/task_header.hpp"

namespace weft {

namespace detail {
struct YieldAwaiter : Suspension {
  bool cancelled = false;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const;
  static Withdraw withdraw_yield(Suspension* self, TaskHeader* task) noexcept;
};
}  // namespace detail

[[nodiscard]] inline detail::YieldAwaiter yield() noexcept {
  return {};
}

}  // namespace weft
