// weft::Runtime and the entry points: run() (asyncio.run), spawn()
// (asyncio.create_task), Runtime::current() (asyncio.get_running_loop).
//
//   int main() {
//     return weft::run(async_main());          // like asyncio.run(main())
//   }
//
//   weft::Runtime rt({.workers = 4});          // a runtime the program keeps
//   auto h = rt.spawn(background());           // from any thread
//   int v = rt.block_on(compute());            // blocks this (non-worker) thread
//
// A runtime owns N worker threads (default: the CPUs this process may run on).
// Each worker runs tasks from its own work-stealing deque; idle workers steal,
// park on a futex, and one of them at a time waits in the I/O driver (epoll)
// with the earliest timer deadline as its timeout. docs/architecture.md has the
// full picture; core/src/scheduler/scheduler.hpp explains the design choices.
//
// Plain threads talk to a runtime through spawn() and block_on() above, and
// through the bridge of weft/threadsafe.hpp: call_soon_threadsafe(),
// call_later() / call_at() (below) and weft::run_coroutine_threadsafe().
//
// Shutdown (the destructor, or the end of run()): the runtime closes (calls
// to call_soon_threadsafe, call_later, call_at and run_coroutine_threadsafe
// throw RuntimeError from then on), every task still alive is
// cancelled, given `shutdown_timeout` to finish its cleanup, then the workers
// are joined. Tasks that refuse to finish in time are reported on stderr by name
// and their frames are destroyed where no JoinHandle still refers to them.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string_view>

#include "weft/debug.hpp"
#include "weft/detail/callback.hpp"
#include "weft/join_handle.hpp"
#include "weft/metrics.hpp"
#include "weft/task.hpp"
#include "weft/time.hpp"
#include "weft/timer_handle.hpp"

namespace weft {

namespace detail {
class Scheduler;
class Driver;
class CallQueue;
void block_until_complete(TaskHeader* task);
}  // namespace detail

struct RunOptions {
  /// Worker threads; 0 means the number of CPUs this process may run on.
  unsigned workers = 0;
  /// asyncio's debug mode; also switched on by the environment variable WEFT_DEBUG=1.
  bool debug = false;
  /// How long shutdown waits for cancelled tasks to finish their cleanup.
  /// Blocking jobs still running after that get up to 10 s more to end,
  /// whatever this says (their threads still queue wake-ups into the runtime,
  /// which must outlive them); a job that takes longer is left to its thread.
  std::chrono::milliseconds shutdown_timeout{10'000};
  /// Most threads the default blocking pool (to_thread) may run at once.
  std::size_t blocking_threads_max = 512;
  /// A blocking-pool thread idle this long exits.
  std::chrono::milliseconds blocking_keep_alive{10'000};
  /// Debug mode: warn about tasks that run longer than this without suspending.
  std::chrono::milliseconds slow_task_threshold{100};
  /// asyncio's eager_task_factory (3.12): every spawn() made by a task of
  /// this runtime starts eagerly, as spawn_eager() does (TaskGroup and gather
  /// children included). Spawns from plain threads stay lazy.
  bool eager_tasks = false;
};

class Runtime {
 public:
  explicit Runtime(RunOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Runs `task` on the runtime and blocks the calling thread until it finishes;
  /// returns its value or rethrows its exception. Must not be called from a
  /// worker of any weft runtime (throws InvalidStateError: co_await instead).
  template <class T>
  T block_on(Task<T> task) {
    check_not_on_worker();
    JoinHandle<T> h = spawn(std::move(task));
    detail::block_until_complete(h.header());
    return std::move(h).result();
  }

  /// Starts `task` concurrently; safe from any thread. Throws RuntimeError once
  /// the runtime has stopped, InvalidStateError for an empty or started Task.
  template <class T>
  JoinHandle<T> spawn(Task<T> task, std::string_view name = {}) {
    return start(std::move(task), name, false);
  }

  /// Starts `task` eagerly (asyncio's eager_start=True, 3.14; the eager task
  /// factory of 3.12): called from a task of this runtime, the new task's
  /// first step runs right here, inside this call, before spawn_eager
  /// returns; if it finishes without suspending it is done when the handle
  /// comes back (its exception, if any, stays in the task, as always), and
  /// it is scheduled only if it suspends. The spawner resumes after that
  /// first step, on the same worker. From a plain thread, or past weft's
  /// inline nesting bound (64 levels), it starts lazily, as spawn() does.
  /// The task is never queued before that first step, so no other worker
  /// can take it first. Same errors as spawn(). Cost: spawn() without the
  /// run queue's push and pop.
  template <class T>
  JoinHandle<T> spawn_eager(Task<T> task, std::string_view name = {}) {
    return start(std::move(task), name, true);
  }

  /// asyncio's loop.call_soon_threadsafe(fn): runs `fn()` on one of the
  /// runtime's workers soon. Any thread (plain or worker).
  ///  - Callbacks run one at a time, in the order their calls were accepted
  ///    (one total order; calls made by one thread run in the order it made
  ///    them), each inside a runner task ("weft-call-soon"), so a callback may
  ///    spawn() and use Runtime::current() but not co_await. A callback that
  ///    blocks holds up the ones behind it (as in asyncio's loop).
  ///  - An exception thrown by `fn` (CancelledError too) is reported on
  ///    stderr ("weft: exception in callback (call_soon_threadsafe): ...",
  ///    asyncio's default exception handler) and the next callback runs.
  ///  - Throws RuntimeError once the runtime is closed (shutting down or shut
  ///    down: asyncio's "Event loop is closed"); the callable is destroyed.
  ///  - The shutdown stops the runner at its next yield (a runner spawned
  ///    just before it may stop before its first callback): the callbacks
  ///    still queued then are destroyed without running, when the Runtime is
  ///    destroyed (asyncio's loop.close() drops its pending callbacks too). If the runner task
  ///    cannot be started (out of memory, or the runtime stopped in between),
  ///    the callbacks queued at that moment are destroyed and the call that
  ///    tried to start it rethrows.
  /// Progress: one allocation for the callable, one CAS push on the
  /// runtime's call queue (lock-free); the call that finds the queue idle
  /// also spawns the runner task (one more allocation). The runner takes the
  /// queue in batches (one CAS each) and yields to other tasks every 64
  /// callbacks.
  template <class F>
  void call_soon_threadsafe(F&& fn) {
    post_callback(detail::make_callback(std::forward<F>(fn)));
  }

  /// asyncio's loop.call_later(delay, fn): runs `fn()` on a worker once
  /// `delay` has passed; returns a TimerHandle (cancel(), cancelled(),
  /// when(); weft/timer_handle.hpp has the semantics). Any thread. A delay
  /// <= 0 runs it as soon as possible (asyncio); a delay beyond
  /// INT64_MAX ns (292 years) is clamped to it; a NaN (floating-point) delay
  /// throws std::invalid_argument. Throws RuntimeError once the runtime is
  /// closed. Cost: see weft/timer_handle.hpp.
  template <class Rep, class Period, class F>
  TimerHandle call_later(std::chrono::duration<Rep, Period> delay, F&& fn) {
    const std::int64_t d = detail::delay_ns(delay, "weft::Runtime::call_later: delay");
    const std::int64_t now = detail::to_ns(Clock::now());
    const std::int64_t when = d > INT64_MAX - now ? INT64_MAX : now + d;
    return start_timer(when, detail::make_callback(std::forward<F>(fn)), "call_later");
  }
  /// asyncio's loop.call_at(when, fn): call_later with an absolute deadline on
  /// weft::Clock (a time point in the past runs it as soon as possible).
  template <class F>
  TimerHandle call_at(Clock::time_point when, F&& fn) {
    return start_timer(detail::to_ns(when), detail::make_callback(std::forward<F>(fn)), "call_at");
  }

  /// True once the runtime has begun shutting down (asyncio's loop.is_closed()):
  /// the bridge calls above and run_coroutine_threadsafe() throw RuntimeError.
  bool is_closed() const noexcept;

  /// The runtime of the calling task (asyncio.get_running_loop()). Throws
  /// weft::RuntimeError when called outside a weft task or worker.
  static Runtime& current();
  /// Like current(), but null instead of throwing.
  static Runtime* try_current() noexcept;

  /// Starts the shutdown described above and waits for it; idempotent.
  void shutdown();

  unsigned workers() const noexcept;
  const RunOptions& options() const noexcept;

  /// Counters and depths, readable at any time from any thread (metrics.hpp).
  RuntimeMetrics metrics() const;
  /// The live tasks (debug mode only; InvalidStateError otherwise).
  std::vector<TaskSnapshot> all_tasks() const;
  /// Prints all_tasks() as a table (debug mode only).
  void dump(std::ostream& out) const;
  detail::Scheduler& scheduler() noexcept { return *sched_; }
  /// The runtime's epoll driver (for weft::io's reactor).
  detail::Driver& driver() noexcept;

 private:
  static void check_not_on_worker();
  void post_callback(detail::CallbackPtr fn);
  TimerHandle start_timer(std::int64_t when_ns, detail::CallbackPtr fn, const char* what);
  template <class T>
  JoinHandle<T> start(Task<T> task, std::string_view name, bool eager) {
    auto h = task.handle();
    detail::TaskHeader* header = adopt(h ? &h.promise() : nullptr, h, name, eager || eager_tasks_);
    task.release();
    return JoinHandle<T>(static_cast<detail::Promise<T>*>(header));
  }
  /// Takes over the Task's frame as a spawned task and schedules it; `eager`:
  /// runs its first step here instead, when called from a task on one of this
  /// runtime's workers (spawn_eager()).
  detail::TaskHeader* adopt(detail::TaskHeader* promise, std::coroutine_handle<> frame,
                            std::string_view name, bool eager);

  // Declared first, destroyed last: the runner task and the scheduler's
  // shutdown refer to the call queue.
  std::unique_ptr<detail::CallQueue> calls_;
  std::unique_ptr<detail::Scheduler> sched_;
  bool eager_tasks_ = false;  ///< RunOptions::eager_tasks
};

/// Spawns `task` on the runtime of the calling task (asyncio.create_task()).
/// Throws weft::RuntimeError outside a runtime.
template <class T>
JoinHandle<T> spawn(Task<T> task, std::string_view name = {}) {
  return Runtime::current().spawn(std::move(task), name);
}

/// Runtime::spawn_eager on the runtime of the calling task: the new task's
/// first step runs inside this call (asyncio's eager tasks).
template <class T>
JoinHandle<T> spawn_eager(Task<T> task, std::string_view name = {}) {
  return Runtime::current().spawn_eager(std::move(task), name);
}

/// asyncio.run(): starts a runtime, runs `main_task` to completion on it, shuts
/// the runtime down (cancelling what is left) and returns main_task's value or
/// rethrows its exception.
template <class T>
T run(Task<T> main_task, RunOptions options = {}) {
  Runtime rt(options);
  if constexpr (std::is_void_v<T>) {
    rt.block_on(std::move(main_task));
  } else {
    return rt.block_on(std::move(main_task));
  }
}

}  // namespace weft
