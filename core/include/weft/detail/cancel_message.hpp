// The message of a cancel(msg) request (asyncio's Task.cancel(msg)): how it
// travels from the cancelling thread to the task, off the spawn/cancel hot path.
//
// Storage: two fields of the lazily allocated TaskInfo, so a task that is never
// cancelled with a message pays nothing at spawn, and a message-less cancel()
// of a task without an info block (an anonymous task outside any timeout)
// pays one load of `info_`.
//
//   TaskInfo::cancel_message  the message slot: the latest accepted request's
//                             message (an atomic pointer that doubles as a
//                             small lock, below)
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
// The hand-over between threads. A request's message and its state-word RMW
// must look like one step to the owner that takes the message: otherwise a
// cancel() that finds the task finished (and returns false) could already
// have put its message where the finishing owner takes it, or an owner could
// act on a pending bit whose message is not written yet (the model test
// tests/model/cancel_message_test.cpp found the first). So the slot is also a
// lock: a canceller swaps in locked_message_tag() (acq_rel), makes its
// state-word decision, and stores the new message -- or puts the old value
// back if the request was refused, folded into the cancellation on its way,
// or void -- with a release store. An owner takes the slot the same way. The
// lock is held for a few instructions and never across a wait, an allocation
// or a call out: a canceller's state-word loop never waits for the owner, and
// the owner's release of a task (which may cancel another task) runs after
// the canceller let go. Each string is owned by exactly one party at any time
// -- the slot, or whoever swapped it out -- so none is read while another
// thread frees it, and none is read half written: the writer builds it before
// its release store, the taker reads it after its acquiring swap.
//
// A request that lands while Scheduler::release() is delivering an earlier one
// (after the freeze, before the state CAS that clears kCancelPending) is
// folded by that CAS but has stored its message: it stays in the slot unused.
// Every later accepted request replaces it before any owner can act on that
// request, and a too-late withdrawal keeps it (it is the latest), so it never
// reaches a CancelledError it does not belong to.
#pragma once

#include <string>
#include <string_view>

#include "weft/errors.hpp"

namespace weft::detail {

class TaskHeader;
struct TaskInfo;

/// The slot's value while a thread holds it (never a real message).
std::string* locked_message_tag() noexcept;
/// The slot's value for "the latest accepted request had no message":
/// distinct from null ("no request since the owner last took it"), so that a
/// too-late withdrawal does not put back a message a newer message-less
/// request replaced. Never freed.
std::string* cleared_message_tag() noexcept;
/// Takes the slot (spinning while another thread holds it, a few
/// instructions at most); returns the value it held.
std::string* lock_cancel_message(TaskInfo* info) noexcept;
/// Lets go of the slot, leaving `value` in it.
void unlock_cancel_message(TaskInfo* info, std::string* value) noexcept;
/// Frees a message taken out of the slot (tags and null are left alone).
void free_cancel_message(std::string* m) noexcept;

/// Owner, about to withdraw the task from what it waits on: takes the latest
/// message as the one this delivery carries (frozen until the task resumes).
void freeze_cancel_message(TaskHeader* task) noexcept;
/// Owner: the withdrawal came too late (a waker won); the request stays
/// pending with its message, unless a newer request replaced it meanwhile.
void unfreeze_cancel_message(TaskHeader* task) noexcept;
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
