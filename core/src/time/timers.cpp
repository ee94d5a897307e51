// Timer entries: arming on the calling worker, cancelling from anywhere, and
// the per-worker wheel plumbing (see weft/detail/timer_entry.hpp).
#include <new>

#include "scheduler/scheduler.hpp"
#include "sys/futex.hpp"
#include "time/worker_timers.hpp"
#include "weft/detail/frame_allocator.hpp"
#include "weft/detail/timer_entry.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

void free_entry(TimerEntry* e) noexcept {
  if (e->holds_task_ref) e->task->release_ref();
  e->~TimerEntry();
  deallocate_frame(e, sizeof(TimerEntry));
}

}  // namespace

void release_timer(TimerEntry* e) noexcept {
  // acq_rel: the last holder sees every other holder's writes before freeing.
  if (e->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) free_entry(e);
}

TimerEntry* arm_timer(std::int64_t deadline_ns, void (*on_fire)(TimerEntry*) noexcept,
                      TaskHeader* task, bool hold_task_ref) {
  Worker* w = tls_context.worker;
  if (!w) throw RuntimeError("weft: timers can only be armed inside a weft task");
  auto* e = ::new (allocate_frame(sizeof(TimerEntry))) TimerEntry;
  e->owner = w;
  e->on_fire = on_fire;
  e->task = task;
  e->deadline_ns = deadline_ns;
  e->deadline_ms = w->timers().ceil_tick(deadline_ns);
  if (hold_task_ref) {
    task->add_ref();
    e->holds_task_ref = true;
  }
  if (!w->timers().insert(e)) {
    // Already due: it never enters the wheel, so drop the wheel's reference.
    e->state.store(TimerEntry::kFired, std::memory_order_relaxed);
    e->refs.store(1, std::memory_order_relaxed);
    on_fire(e);
  }
  return e;
}

bool cancel_timer(TimerEntry* e) noexcept {
  std::uint32_t expected = TimerEntry::kPending;
  // acq_rel: this CAS is the one decision between firing and cancelling.
  if (!e->state.compare_exchange_strong(expected, TimerEntry::kCancelled, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
    return false;
  Worker* w = tls_context.worker;
  if (w == e->owner) {
    w->timers().remove_cancelled(e);
  } else {
    e->refs.fetch_add(1, std::memory_order_relaxed);  // the inbox's reference
    // A parked owner would not look at its inbox before its next timer, and
    // the entry (with the task reference a timeout holds) would live on: wake
    // it for the first entry (R7).
    if (e->owner->timers().push_remote(e)) e->owner->wake_if_parked();
  }
  return true;
}

// ---- WorkerTimers ----

WorkerTimers::~WorkerTimers() {
  drain_inbox();
  wheel_.clear([](TimerEntry* e) { release_timer(e); });
}

void WorkerTimers::leave_wheel(TimerEntry* e) noexcept {
  std::uint32_t expected = TimerEntry::kPending;
  if (e->state.compare_exchange_strong(expected, TimerEntry::kFired, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
    e->on_fire(e);
  release_timer(e);  // the wheel's reference
}

void WorkerTimers::remove_cancelled(TimerEntry* e) noexcept {
  // An entry that is not linked is in the middle of poll(), which drops the
  // wheel's reference itself when it reaches it.
  if (!e->linked) return;
  wheel_.remove(e);
  release_timer(e);
}

bool WorkerTimers::push_remote(TimerEntry* e) noexcept {
  TimerEntry* head = inbox_.load(std::memory_order_relaxed);
  do {
    e->inbox_next = head;
    // release: the owner that pops e sees it fully.
  } while (
      !inbox_.compare_exchange_weak(head, e, std::memory_order_release, std::memory_order_relaxed));
  return head == nullptr;
}

void WorkerTimers::drain_inbox() noexcept {
  if (inbox_.load(std::memory_order_relaxed) == nullptr) return;
  TimerEntry* e = inbox_.exchange(nullptr, std::memory_order_acquire);  // pairs with push_remote
  while (e) {
    TimerEntry* next = e->inbox_next;
    remove_cancelled(e);
    release_timer(e);  // the inbox's reference
    e = next;
  }
}

void WorkerTimers::poll(std::int64_t now_ns) noexcept {
  if (wheel_.empty()) return;
  wheel_.poll(floor_tick(now_ns), [this](TimerEntry* e) { leave_wheel(e); });
}

std::int64_t WorkerTimers::timeout_ns(std::int64_t now_ns) const noexcept {
  auto exp = wheel_.next_expiration();
  if (!exp) return -1;
  std::int64_t at = tick_ns(exp->deadline);
  return at > now_ns ? at - now_ns : 0;
}

}  // namespace weft::detail
