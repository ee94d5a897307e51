// Runtime: the public face of the scheduler, and the small awaitables of core
// (yield, join) whose bodies need the scheduler's internals.
#include "weft/runtime.hpp"

#include <string>

#include "bridge/call_queue.hpp"
#include "scheduler/scheduler.hpp"
#include "sys/futex.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/cancel_message.hpp"
#include "weft/detail/current_context.hpp"
#include "weft/detail/task_info.hpp"
#include "weft/yield.hpp"

namespace weft {

Runtime::Runtime(RunOptions options)
    : calls_(std::make_unique<detail::CallQueue>()),
      sched_(std::make_unique<detail::Scheduler>(this, options)),
      eager_tasks_(options.eager_tasks) {
  sched_->start();
}

Runtime::~Runtime() {
  shutdown();
}

void Runtime::shutdown() {
  if (detail::local_worker(sched_.get()))
    throw InvalidStateError("weft::Runtime::shutdown: called from one of its own workers");
  calls_->close();  // the bridge refuses new calls before the tasks are cancelled
  sched_->shutdown();
  // Callbacks still queued are destroyed with the call queue (~Runtime).
}

detail::Driver& Runtime::driver() noexcept {
  return sched_->driver();
}

unsigned Runtime::workers() const noexcept {
  return sched_->num_workers();
}
const RunOptions& Runtime::options() const noexcept {
  return sched_->options();
}

Runtime* Runtime::try_current() noexcept {
  detail::Scheduler* s = detail::tls_context.sched;
  return s ? s->runtime() : nullptr;
}

Runtime& Runtime::current() {
  if (Runtime* r = try_current()) return *r;
  throw RuntimeError("weft: no running runtime on this thread (call it from inside a weft task)");
}

void Runtime::check_not_on_worker() {
  if (detail::tls_context.worker)
    throw InvalidStateError(
        "weft::Runtime::block_on: called on a weft worker thread; co_await the task instead");
}

detail::TaskHeader* Runtime::adopt(detail::TaskHeader* p, std::coroutine_handle<> frame,
                                   std::string_view name, bool eager) {
  using H = detail::TaskHeader;
  if (!p) throw InvalidStateError("weft::spawn: empty (moved-from) Task");
  if (p->has_flag(H::kAwaited | H::kRoot))
    throw InvalidStateError("weft::spawn: this Task was already awaited or spawned");
  if (!sched_->accepting()) throw RuntimeError("weft::spawn: the runtime has shut down");
  if (p->frame() != frame)
    throw InvalidStateError("weft::spawn: unsupported coroutine frame layout for this compiler");
  try {
    if (!name.empty()) detail::set_task_name(p, name);
    // asyncio.create_task copies the current context: O(1), a shared reference.
    if (detail::context_vars_used.load(std::memory_order_relaxed))
      if (detail::ContextMap* m = detail::current_context_map()) detail::inherit_context(p, m);
  } catch (...) {  // std::bad_alloc: the Task keeps its unstarted frame, nothing leaks
    detail::free_task_info(p);
    p->info_.store(nullptr, std::memory_order_relaxed);
    throw;
  }
  p->set_flag(H::kRoot);
  p->resume_point_ = frame;
  // One reference for the scheduler (dropped at completion), one for the handle.
  p->refs_.store(2, std::memory_order_relaxed);
  p->state_.store(H::kScheduled | (std::uint32_t{sched_->id()} << H::kRuntimeShift),
                  std::memory_order_relaxed);
  if (sched_->debug()) sched_->debug_track(p);
  sched_->schedule_new(p, eager);
  return p;
}

namespace detail {

TaskHeader* require_current_task(const char* operation) {
  if (TaskHeader* t = tls_context.current) return t;
  throw RuntimeError(std::string(operation) + ": must be awaited inside a weft task");
}

namespace {
struct BlockingWaiter : CompletionListener {
  detail::Atomic<std::uint32_t> done{0};
};
}  // namespace

void block_until_complete(TaskHeader* task) {
  BlockingWaiter w;
  w.on_complete = [](CompletionListener* l, TaskHeader*) noexcept {
    auto* self = static_cast<BlockingWaiter*>(l);
    // release: the task's result is visible to the blocked thread.
    self->done.store(1, std::memory_order_release);
    futex_wake(&self->done, 1);
  };
  if (!task->add_listener(&w)) return;
  while (w.done.load(std::memory_order_acquire) == 0)
    futex_wait(&w.done, 0, -1);
}

// ---- yield ----

void YieldAwaiter::await_suspend(std::coroutine_handle<> h) {
  TaskHeader* t = require_current_task("weft::yield()");
  withdraw = &withdraw_yield;
  what = "yield";
  t->resume_point_ = h;
  t->suspended_on_ = this;
  tls_context.yielded = true;
}

void YieldAwaiter::await_resume() const {
  if (cancelled || take_pending_cancel()) throw_cancelled_at_resume();
}

Withdraw YieldAwaiter::withdraw_yield(Suspension* self, TaskHeader*) noexcept {
  // Only the owner sees a yielding task (it goes straight to a queue), so this
  // runs in Scheduler::release() on the yielding worker.
  static_cast<YieldAwaiter*>(self)->cancelled = true;
  return Withdraw::withdrawn;
}

// ---- join ----

InlineJoin join_inline(TaskHeader* header) noexcept {
  Worker* w = tls_context.worker;
  if (!w || !tls_context.current) return InlineJoin::not_queued;
  return w->try_run_inline(header);
}

void JoinAwaiterBase::throw_self_join() {
  throw InvalidStateError("weft: a task cannot await itself");
}

bool JoinAwaiterBase::suspend(std::coroutine_handle<> h) {
  waiter = require_current_task("co_await JoinHandle");
  if (join_inline(target) == InlineJoin::ran && target->done()) return false;
  withdraw = &withdraw_join;
  what = "join";
  on_complete = &on_target_complete;
  waiter->resume_point_ = h;
  waiter->suspended_on_ = this;
  if (!target->add_listener(this)) {
    waiter->suspended_on_ = nullptr;
    return false;  // finished meanwhile: do not suspend
  }
  suspended = true;
  return true;
}

Withdraw JoinAwaiterBase::withdraw_join(Suspension* self, TaskHeader* task) noexcept {
  // asyncio: cancelling a task that awaits another task cancels that task (with
  // the same message) and keeps waiting for it; if it already finished, the
  // request waits for the awaiter's next suspension.
  return forward_cancel(task, static_cast<JoinAwaiterBase*>(self)->target) ? Withdraw::handed_off
                                                                           : Withdraw::too_late;
}

void JoinAwaiterBase::on_target_complete(CompletionListener* self, TaskHeader*) noexcept {
  static_cast<JoinAwaiterBase*>(self)->waiter->wake();
}

}  // namespace detail
}  // namespace weft
