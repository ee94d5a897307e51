// Per-thread scheduler context: which worker this thread is, which task it is
// running, and the trampoline slot through which task frames hand control to
// each other.
//
// Why a trampoline: when a nested Task finishes, control must pass to its
// awaiter; when a task awaits a nested Task, control passes to the child. g++ 12
// only guarantees that symmetric transfer is a tail call from -O2 up and not
// under the sanitizers, so instead of returning the next frame from
// await_suspend, weft frames store it in `next` and return to the worker loop,
// which resumes it. A chain of a million nested co_awaits then uses constant
// stack in every build.
#pragma once

#include <coroutine>
#include <cstdint>

namespace weft::detail {

class TaskHeader;
class Worker;
class Scheduler;

/// Ready operations a task may complete without suspending before weft's
/// awaitables make it yield (cooperative budget; 128 as in Tokio).
inline constexpr int kTaskBudget = 128;

struct ThreadContext {
  Worker* worker = nullptr;       ///< null on threads that are not weft workers
  Scheduler* sched = nullptr;     ///< the runtime of `worker`
  TaskHeader* current = nullptr;  ///< the spawned task this thread is running
  std::coroutine_handle<> next;   ///< trampoline: frame to resume next within `current`
  int budget = 0;                 ///< remaining cooperative budget of `current`
  bool finished = false;          ///< `current` reached its final suspend
  bool yielded = false;           ///< `current` asked for the back of the line
};

inline thread_local constinit ThreadContext tls_context{};

inline TaskHeader* current_task() noexcept {
  return tls_context.current;
}

/// The task calling a weft awaitable; throws weft::RuntimeError when called
/// outside a weft task (defined in runtime.cpp to keep <stdexcept> out of here).
TaskHeader* require_current_task(const char* operation);

/// Takes one unit of the running task's cooperative budget. Returns false when
/// the budget is spent: the awaitable should then suspend (yield) even though it
/// could complete at once.
inline bool consume_budget() noexcept {
  ThreadContext& c = tls_context;
  if (c.budget > 0) {
    --c.budget;
    return true;
  }
  return c.current == nullptr;  // outside a task there is nobody to yield to
}

}  // namespace weft::detail
