// TaskHeader: wake, cancel, listeners, references. The protocol is described in
// weft/detail/task_header.hpp; the owner-side half lives in Scheduler::release().
#include "weft/detail/task_header.hpp"

#include <string_view>
#include <vector>

#include "scheduler/scheduler.hpp"
#include "weft/detail/cancel_message.hpp"
#include "weft/detail/task_info.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

void report_unretrieved(TaskHeader* t) noexcept;  // debug.cpp

namespace {

/// Tasks this thread took ownership of in cancel() and has not released yet.
/// Releasing a task withdraws what it waits on, which may cancel() the task it
/// awaits, and so on down a chain of joins: the first cancel() on the thread
/// releases them one by one here instead of recursing (R4: 100,000 tasks
/// awaiting each other overflowed the stack).
thread_local std::vector<TaskHeader*> tls_to_release;
thread_local bool tls_releasing = false;

void release_owned(TaskHeader* t) noexcept {
  if (tls_releasing) {
    tls_to_release.push_back(t);  // we own it: nobody else touches it meanwhile
    return;
  }
  tls_releasing = true;
  t->scheduler()->release(t, /*yielded=*/false);
  while (!tls_to_release.empty()) {
    TaskHeader* next = tls_to_release.back();
    tls_to_release.pop_back();
    next->scheduler()->release(next, /*yielded=*/false);
  }
  tls_releasing = false;
}

}  // namespace

void fold_pending_cancel() noexcept {
  if (TaskHeader* t = tls_context.current)
    // Owner-only state of a running task; acq_rel like every state change.
    if (t->state_.load(std::memory_order_relaxed) & TaskHeader::kCancelPending)
      t->state_.fetch_and(~TaskHeader::kCancelPending, std::memory_order_acq_rel);
}

void keep_result_over_pending_cancel() noexcept {
  // Whether or not a cancel() is pending yet: one may arrive before the task ends.
  if (TaskHeader* t = tls_context.current) t->set_flag(TaskHeader::kKeepResult);  // owner-only
}

void throw_cancelled_at_resume() {
  fold_pending_cancel();
  throw make_cancelled_error(tls_context.current, /*at_resumption=*/true);
}

void TaskHeader::wake() noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Already queued or finished: nothing to do (a task is never queued twice).
    if (s & (kScheduled | kNotified | kComplete)) return;
    std::uint32_t next = (s & kRunning) ? (s | kNotified) : (s | kScheduled);
    // release: whatever the waker handed to the task's awaiter (a value, a
    // permit) is visible to the worker that acquires the task next.
    if (state_.compare_exchange_weak(s, next, std::memory_order_release,
                                     std::memory_order_relaxed)) {
      if (!(s & kRunning)) scheduler()->schedule(this);
      return;
    }
  }
}

bool TaskHeader::cancel(std::string_view message) {
  if (message.empty()) return cancel();
  if (state_.load(std::memory_order_acquire) & kComplete) return false;
  // Allocations first, outside the message slot's lock (cancel_message.hpp).
  TaskInfo* info = &task_info(this);
  auto* fresh = new std::string(message);
  // The slot's lock makes the message and the state-word decision one step for
  // the owner that takes the message: a refused request leaves no message, an
  // accepted one is never acted on without its message.
  std::string* old = lock_cancel_message(info);
  Decision d = decide_cancel(state_.load(std::memory_order_acquire));
  const bool publish = d == Decision::pending || d == Decision::owner;
  unlock_cancel_message(info, publish ? fresh : old);
  free_cancel_message(publish ? old : fresh);
  if (d == Decision::owner) release_owned(this);
  return d != Decision::refused;
}

bool TaskHeader::cancel() noexcept {
  std::uint32_t s = state_.load(std::memory_order_acquire);
  if (s & kComplete) return false;
  TaskInfo* info = info_.load(std::memory_order_acquire);
  Decision d;
  if (!info) {
    // No info block: no message was ever published (a cancel(msg) that creates
    // one now overlaps with us).
    d = decide_cancel(s);
  } else {
    // The latest request has no message (asyncio: msg=None): it clears one.
    std::string* old = lock_cancel_message(info);
    d = decide_cancel(state_.load(std::memory_order_acquire));
    const bool publish = d == Decision::pending || d == Decision::owner;
    unlock_cancel_message(info, publish ? cleared_message_tag() : old);
    if (publish) free_cancel_message(old);
  }
  if (d == Decision::owner) release_owned(this);
  return d != Decision::refused;
}

TaskHeader::Decision TaskHeader::decide_cancel(std::uint32_t s) noexcept {
  // Count first: the task may see the cancellation (and call uncancel()) as soon
  // as the state word says so. A count that stays at or below zero means a
  // timeout scope already withdrew this request (uncancel_owed): nothing to do.
  if (cancel_requests_.fetch_add(1, std::memory_order_acq_rel) < 0) return Decision::withdrawn;
  for (;;) {
    if (s & kComplete) {
      cancel_requests_.fetch_sub(1, std::memory_order_relaxed);
      return Decision::refused;
    }
    if (s & kCancelDelivering) return Decision::folded;  // into the one on its way
    if (s & (kRunning | kScheduled)) {
      // Someone owns it or it is about to run: its owner delivers the request
      // when it next lets go of a suspended task (Scheduler::release).
      // acq_rel: the owner's acquire of the word sees the request.
      if (state_.compare_exchange_weak(s, s | kCancelPending, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        return Decision::pending;
      continue;
    }
    // Suspended and idle: become its owner (the caller withdraws it from what
    // it waits on). acquire: see suspended_on_ as the last owner left it.
    if (state_.compare_exchange_weak(s, s | kRunning | kCancelPending, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      return Decision::owner;
  }
}

std::uint32_t TaskHeader::uncancel() noexcept {
  std::int32_t n = cancel_requests_.load(std::memory_order_relaxed);
  while (n > 0 && !cancel_requests_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
  }
  if (n <= 0) return 0;
  // asyncio 3.13: when no request is left, an undelivered one is dropped too.
  if (n == 1) state_.fetch_and(~kCancelPending, std::memory_order_acq_rel);
  return static_cast<std::uint32_t>(n - 1);
}

std::int32_t TaskHeader::uncancel_owed() noexcept {
  std::int32_t n = cancel_requests_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (n <= 0) state_.fetch_and(~kCancelPending, std::memory_order_acq_rel);
  return n;
}

bool TaskHeader::add_listener(CompletionListener* l) noexcept {
  void* head = link_.load(std::memory_order_acquire);
  do {
    if (head == listeners_done()) return false;
    l->next = static_cast<CompletionListener*>(head);
    // release: the completing thread sees the listener's fields; acquire (on
    // failure): see the done tag's result writes.
  } while (
      !link_.compare_exchange_weak(head, l, std::memory_order_release, std::memory_order_acquire));
  return true;
}

void TaskHeader::release_ref() noexcept {
  // acq_rel: the last owner sees every other owner's writes before destroying.
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (has_flag(kDebugTask)) report_unretrieved(this);
  free_task_info(this);
  frame().destroy();
}

}  // namespace weft::detail
