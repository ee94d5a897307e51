// Blocking work off the workers: to_thread, run_in_executor, and executors
// (asyncio.to_thread, loop.run_in_executor, concurrent.futures.ThreadPoolExecutor).
//
//   std::string r = co_await weft::to_thread(blocking_io, path);       // default pool
//   weft::ThreadPool pool(4);                                          // RAII: joins at scope end
//   long s = co_await weft::run_in_executor(pool, cpu_intensive);
//   weft::TbbArenaExecutor arena(4);                                   // oneTBB task_arena
//   co_await weft::run_in_executor(arena, [] { tbb::parallel_for(...); });
//
// Argument forwarding is std::thread's: the callable and every argument are
// decay-copied (or moved) into the job, and the callable is invoked with them
// as rvalues in the executor's thread. To pass a reference, wrap it in
// std::ref / std::cref — and keep the referent alive until the call returns,
// which may be after the awaiting task was cancelled.
//
// Cancellation: a task cancelled while it awaits blocking work resumes at once
// with CancelledError. A callable that already runs finishes in its thread;
// its result (or exception) is destroyed there. A callable that has not
// started yet is not run at all.
//
// Where the task resumes: on a weft worker (scheduled by the executor thread,
// never resumed inline on it). Cost: one allocation per call (the job, which
// holds the callable, its arguments and the result).
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/blocking_job.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"

namespace weft {

/// Something that runs BlockingJobs on threads of its own.
class Executor {
 public:
  virtual ~Executor() = default;
  /// Queues a job. Throws RuntimeError after shutdown (asyncio: "cannot schedule
  /// new futures after shutdown"), std::bad_alloc if the queue cannot
  /// allocate; either way the job was not queued (the awaiting task resumes
  /// with that exception). Thread-safe.
  virtual void submit(detail::BlockingJob* job) = 0;
};

namespace detail {

/// The calling task's runtime's default blocking pool (RuntimeError outside a task).
Executor& default_executor();

template <class F, class... Args>
class BlockingAwaiter : public Suspension {
  using Job = BlockingJobOf<F, Args...>;

 public:
  BlockingAwaiter(Executor* executor, F&& f, Args&&... args)
      : executor_(executor), job_(new Job(std::forward<F>(f), std::forward<Args>(args)...)) {}
  BlockingAwaiter(BlockingAwaiter&& o) noexcept
      : Suspension(o), executor_(o.executor_), job_(std::exchange(o.job_, nullptr)) {}
  BlockingAwaiter(const BlockingAwaiter&) = delete;
  ~BlockingAwaiter() {
    if (job_) {
      if (submitted_)
        job_->withdraw();  // a frame destroyed while waiting (shutdown) must not be woken
      else
        job_->release();  // the executor's reference was never handed over
      job_->release();
    }
  }

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    TaskHeader* t = require_current_task("weft::to_thread / run_in_executor");
    Executor& ex = executor_ ? *executor_ : default_executor();
    withdraw = &withdraw_blocking;
    what = "blocking work";
    t->resume_point_ = h;
    t->suspended_on_ = this;
    job_->set_waiter(t);
    ex.submit(job_);  // may throw (shut down): the task resumes with the error
    submitted_ = true;
  }
  auto await_resume() {
    if (cancelled_ || job_->discarded()) detail::throw_cancelled_at_resume();
    // The job ran: its result (and its side effects) stand; a cancel() that
    // arrived meanwhile comes at the next suspension.
    detail::keep_result_over_pending_cancel();
    return job_->take();
  }

 private:
  static Withdraw withdraw_blocking(Suspension* self, TaskHeader*) noexcept {
    auto* a = static_cast<BlockingAwaiter*>(self);
    if (!a->job_->withdraw()) return Withdraw::too_late;
    a->cancelled_ = true;
    return Withdraw::withdrawn;
  }

  Executor* executor_;
  Job* job_;
  bool submitted_ = false;
  bool cancelled_ = false;
};

}  // namespace detail

/// Runs fn(args...) on the runtime's default blocking pool (asyncio.to_thread).
template <class F, class... Args>
[[nodiscard]] auto to_thread(F&& fn, Args&&... args) {
  return detail::BlockingAwaiter<F, Args...>(nullptr, std::forward<F>(fn),
                                             std::forward<Args>(args)...);
}

/// Runs fn(args...) on `executor` (loop.run_in_executor(executor, fn, *args)).
template <class F, class... Args>
[[nodiscard]] auto run_in_executor(Executor& executor, F&& fn, Args&&... args) {
  return detail::BlockingAwaiter<F, Args...>(&executor, std::forward<F>(fn),
                                             std::forward<Args>(args)...);
}

/// run_in_executor(None, fn): the default blocking pool.
template <class F, class... Args>
[[nodiscard]] auto run_in_executor(std::nullptr_t, F&& fn, Args&&... args) {
  return detail::BlockingAwaiter<F, Args...>(nullptr, std::forward<F>(fn),
                                             std::forward<Args>(args)...);
}

/// What happens to queued work when an executor shuts down.
enum class ShutdownMode {
  /// Run everything already queued, then stop (ThreadPoolExecutor.shutdown(wait=True)).
  drain,
  /// Drop what has not started; its awaiters get CancelledError (cancel_futures=True).
  cancel_pending,
};

/// A fixed pool of `threads` threads (concurrent.futures.ThreadPoolExecutor).
/// ThreadPool(max_workers, thread_name_prefix) names the threads as Python
/// does, "<prefix>_<i>" (Linux keeps the first 15 characters of a name); the
/// default names are "weft-pool<i>".
/// The destructor shuts it down with ShutdownMode::drain and joins its threads
/// (like leaving `with ThreadPoolExecutor(...)`). submit() is thread-safe
/// and lock-free apart from the queue's block allocation (moodycamel); a
/// submit() racing shutdown() either throws RuntimeError or has its job
/// settled by that shutdown (run, or discarded under cancel_pending).
class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(std::size_t threads);
  /// ThreadPoolExecutor(max_workers, thread_name_prefix). Throws
  /// std::invalid_argument if max_workers is 0 (Python: ValueError).
  ThreadPool(std::size_t max_workers, const std::string& thread_name_prefix);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void submit(detail::BlockingJob* job) override;
  /// Stops accepting work, settles queued work per `mode`, joins the threads.
  /// Idempotent, but not to be called from two threads at once (nor with the
  /// destructor). Work the threads did not reach (moodycamel orders items per
  /// producer, so a thread may take its stop token first) runs, or is
  /// discarded, on the calling thread.
  void shutdown(ShutdownMode mode = ShutdownMode::drain);
  std::size_t size() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Runs each job inside a oneTBB task_arena of `concurrency` threads, so that
/// TBB parallel algorithms inside the callable use that arena's workers (for
/// CPU-bound work). The destructor waits for submitted jobs to finish.
class TbbArenaExecutor final : public Executor {
 public:
  explicit TbbArenaExecutor(int concurrency);
  ~TbbArenaExecutor() override;
  TbbArenaExecutor(const TbbArenaExecutor&) = delete;
  TbbArenaExecutor& operator=(const TbbArenaExecutor&) = delete;

  void submit(detail::BlockingJob* job) override;
  /// Waits until every submitted job has finished.
  void wait();
  int concurrency() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace weft
