// The message of a cancel(msg) request (asyncio's Task.cancel(msg)): how it
// travels from the cancelling thread to the task, off the spawn/cancel hot path.
//
// Storage: two fields of the lazily allocated TaskInfo, so a task that is never
// cancelled with a message pays nothing at spawn, and a message-less cancel()
// pays one load of `info_` (null for an anonymous task without timeouts).
//
//   TaskInfo::cancel_message  atomic pointer: the message of the latest request
//                             (any thread writes it, by exchange)
//   TaskInfo::frozen_message  owner-only: the message taken when a cancellation
//                             was delivered to what the task waits on
//
// Which message wins (CPython 3.12's Task.cancel/__step/_make_cancelled_error):
//  - While a request is pending -- the task runs, is queued, or has not started
//    (asyncio: no _fut_waiter, so `_cancel_message = msg` each time) -- the
//    latest request's message wins; a cancel() without a message clears it.
//  - Once the cancellation has been delivered to what the task is suspended on
//    (asyncio: `_fut_waiter.cancel(msg)` succeeded; weft: the awaiter was
//    withdrawn, or the request handed to an awaited task), the message is
//    frozen: requests folded into that delivery do not change it (asyncio: the
//    waiter future keeps the first message it was cancelled with).
//
// The hand-over between threads. Every cancel() writes the slot (exchange,
// acq_rel) *before* its read-modify-write of the task's state word. The owner
// that delivers a cancellation has seen kCancelPending through an acquire of
// the state word (Scheduler::release, Worker::run_task, on_complete, or the
// running task's take_pending_cancel), so every message written before a
// pending bit it acted on is visible; it then takes the slot by exchange. The
// string itself is ordered by the slot's own acq_rel exchanges: the writer
// builds it before its exchange (release), the taker reads it after its
// exchange (acquire). Each string is owned by exactly one party at any time --
// the slot, or whoever exchanged it out -- so no string is read while another
// thread frees it, and none is read half written.
//
// Interleavings this allows, and why they are fine: a canceller whose exchange
// lands just before the owner's take, but whose state RMW lands after the
// delivery was decided, has its request folded into that delivery and its
// message used by it (the two cancels overlapped; the latest message wins). A
// message written just after the take stays in the slot unused; every later
// request overwrites or clears the slot before its own state RMW, so it never
// reaches a later delivery.
#pragma once

#include <string>
#include <string_view>

#include "weft/errors.hpp"

namespace weft::detail {

class TaskHeader;

/// A cancel(msg) about to be made (any thread, before the state RMW): the
/// latest message. Empty `msg`: clears an earlier one (a cancel() without a
/// message). May allocate (the TaskInfo, the string); throws std::bad_alloc
/// before anything changed.
void publish_cancel_message(TaskHeader* task, std::string_view msg);
/// cancel() without a message: clears the latest message, if the task has
/// ever had its TaskInfo allocated. Never allocates.
void clear_cancel_message(TaskHeader* task) noexcept;

/// Owner, about to withdraw the task from what it waits on: takes the latest
/// message as the one this delivery carries (frozen until the task resumes).
void freeze_cancel_message(TaskHeader* task) noexcept;
/// Owner: the withdrawal came too late (a waker won); the request stays
/// pending with its message, unless a newer request replaced it meanwhile.
void unfreeze_cancel_message(TaskHeader* task) noexcept;
/// Owner: the frozen message, or null (for forwarding to an awaited task).
const std::string* frozen_cancel_message(TaskHeader* task) noexcept;
/// Owner (in a withdraw function): cancels `target` with the message frozen
/// in `from`. Returns target->cancel()'s answer.
bool forward_cancel(TaskHeader* from, TaskHeader* target) noexcept;

/// The task's CancelledError for the cancellation delivered now. Owner-only.
/// `at_resumption` (an awaiter ends its wait by cancellation): the frozen
/// message if this resumption ends a withdrawn or handed-off wait, else the
/// latest one. Otherwise (a request pending when the task ends, or before it
/// starts): the latest message, taken from the slot.
CancelledError make_cancelled_error(TaskHeader* task, bool at_resumption);

}  // namespace weft::detail
