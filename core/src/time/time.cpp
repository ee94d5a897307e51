// sleep() and timeout scopes (see weft/time.hpp and detail/timeout_scope.hpp).
#include <time.h>

#include <string>

#include "scheduler/scheduler.hpp"
#include "sys/futex.hpp"
#include "weft/detail/task_info.hpp"
#include "weft/time.hpp"

namespace weft::detail {

// ---- sleep ----

void SleepAwaiter::await_suspend(std::coroutine_handle<> h) {
  TaskHeader* t = require_current_task("weft::sleep()");
  withdraw = &withdraw_sleep;
  what = "sleep";
  t->resume_point_ = h;
  t->suspended_on_ = this;
  if (deadline_ns <= monotonic_ns()) {
    tls_context.yielded = true;  // nothing to wait for: asyncio.sleep(0) yields
    return;
  }
  // If the deadline's tick has already been reached, arm_timer fires at once:
  // wake() on a running task marks it notified and it is requeued.
  entry = arm_timer(deadline_ns, &on_fire, t, /*hold_task_ref=*/false);
}

void SleepAwaiter::await_resume() {
  if (entry) {
    release_timer(entry);
    entry = nullptr;
  }
  if (cancelled || take_pending_cancel()) throw_cancelled_at_resume();
}

void SleepAwaiter::on_fire(TimerEntry* e) noexcept {
  // The task cannot resume before this wake (cancel() lost the entry's CAS and
  // waits for it), so it is alive here.
  e->task->wake();
}

Withdraw SleepAwaiter::withdraw_sleep(Suspension* self, TaskHeader*) noexcept {
  auto* a = static_cast<SleepAwaiter*>(self);
  if (!a->entry) {  // yielding: only its owner sees it, and a yield can always step aside
    a->cancelled = true;
    return Withdraw::withdrawn;
  }
  if (!cancel_timer(a->entry)) return Withdraw::too_late;
  a->cancelled = true;
  return Withdraw::withdrawn;
}

// ---- timeout scopes ----

namespace {
void on_timeout_fire(TimerEntry* e) noexcept {
  // The entry holds a reference on the task: the scope may have ended (and the
  // task finished) on another thread since the entry's CAS said "fired".
  e->task->cancel();
}
}  // namespace

TimeoutScope::~TimeoutScope() {
  if (state == State::active) leave_quietly();
}

void TimeoutScope::enter() {
  if (state != State::created)
    throw InvalidStateError("weft::Timeout: a timeout scope can be entered only once");
  task = require_current_task("weft::timeout");
  TaskInfo& info = task_info(task);
  parent = info.timeouts;
  info.timeouts = this;
  cancelling_at_entry = static_cast<std::int32_t>(task->cancelling());
  state = State::active;
}

void TimeoutScope::arm() {
  armed = true;
  if (!deadline_ns || entry) return;
  // A deadline at or before now fires at this suspension (S5), even while the
  // wheel's clock lags behind: deadline 0 is always due.
  std::int64_t at = *deadline_ns <= monotonic_ns() ? 0 : *deadline_ns;
  entry = arm_timer(at, &on_timeout_fire, task, /*hold_task_ref=*/true);
}

bool TimeoutScope::close_timer() noexcept {
  if (!entry) return false;
  bool fired = !cancel_timer(entry);
  release_timer(entry);
  entry = nullptr;
  return fired;
}

void TimeoutScope::pop() noexcept {
  TaskInfo* info = task->info_.load(std::memory_order_relaxed);
  // Scopes nest like the code that creates them: this one is the innermost.
  info->timeouts = parent;
  parent = nullptr;
}

void TimeoutScope::leave(std::exception_ptr cancelled) {
  pop();
  bool fired = close_timer();
  state = fired ? State::expired : State::left;
  if (fired) {
    // Our timer cancelled the task (or is about to): withdraw that request.
    std::int32_t remaining = task->uncancel_owed();
    if (cancelled && remaining <= cancelling_at_entry) {
      // asyncio: `raise TimeoutError from exc_val` -- the CancelledError is its cause.
      try {
        std::rethrow_exception(cancelled);
      } catch (const CancelledError&) {
        std::throw_with_nested(TimeoutError());
      }
    }
  }
  if (cancelled) std::rethrow_exception(cancelled);
}

void TimeoutScope::leave_quietly() noexcept {
  pop();
  if (close_timer()) {
    state = State::expired;
    task->uncancel_owed();
  } else {
    state = State::left;
  }
}

void TimeoutScope::reschedule(std::optional<std::int64_t> deadline) {
  // asyncio's wording: "Cannot change state of <created|expiring|expired|finished> Timeout".
  if (state != State::active) {
    const char* what = state == State::created   ? "created"
                       : state == State::expired ? "expired"
                                                 : "finished";
    throw InvalidStateError(std::string("weft::Timeout::reschedule: Cannot change state of ") +
                            what + " Timeout (it is not running)");
  }
  if (entry) {
    if (!cancel_timer(entry))
      throw InvalidStateError(
          "weft::Timeout::reschedule: Cannot change state of expiring Timeout (the deadline has "
          "already passed)");
    release_timer(entry);
    entry = nullptr;
  }
  deadline_ns = deadline;
  armed = false;  // armed again at the task's next suspension
}

bool TimeoutScope::expired() const noexcept {
  if (state == State::expired) return true;
  return entry && entry->state.load(std::memory_order_acquire) == TimerEntry::kFired;
}

void arm_timeouts(TaskHeader* task) {
  // acquire: another thread may have created the info (cancel(msg), a handle's
  // id() or name()); see its fields as that thread initialised them.
  TaskInfo* info = task->info_.load(std::memory_order_acquire);
  if (!info) return;
  for (TimeoutScope* s = info->timeouts; s; s = s->parent)
    if (!s->armed) s->arm();
}

}  // namespace weft::detail
