// Cancel messages: the protocol is described in weft/detail/cancel_message.hpp.
#include "weft/detail/cancel_message.hpp"

#include <new>
#include <string>
#include <utility>

#include "weft/detail/spin_wait.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/task_info.hpp"

namespace weft::detail {
namespace {

std::string locked_tag;
std::string cleared_tag;

TaskInfo* existing_info(TaskHeader* task) noexcept {
  // acquire: see the info's fields as its creator published them.
  return task->info_.load(std::memory_order_acquire);
}

/// Takes the slot's value out (owner side): null, a tag or a message.
std::string* take_latest(TaskInfo* info) noexcept {
  std::string* m = lock_cancel_message(info);
  unlock_cancel_message(info, nullptr);
  return m;
}

}  // namespace

std::string* locked_message_tag() noexcept {
  return &locked_tag;
}
std::string* cleared_message_tag() noexcept {
  return &cleared_tag;
}

std::string* lock_cancel_message(TaskInfo* info) noexcept {
  for (;;) {
    // acq_rel: acquire the previous holder's string (and everything it wrote
    // before its release store); the release half orders nothing we need.
    std::string* m = info->cancel_message.exchange(locked_message_tag(), std::memory_order_acq_rel);
    if (m != locked_message_tag()) return m;
    // Held by another thread for a few instructions: wait for it to let go
    // (pause, then sched_yield for a preempted holder; a yield point in the
    // model build, where PCT would otherwise starve the holder).
    spin_until([info] {
      return info->cancel_message.load(std::memory_order_relaxed) != locked_message_tag();
    });
  }
}

void unlock_cancel_message(TaskInfo* info, std::string* value) noexcept {
  // release: the string, and the state-word decision made under the lock,
  // happen before the next holder's acquiring exchange.
  info->cancel_message.store(value, std::memory_order_release);
}

void free_cancel_message(std::string* m) noexcept {
  if (m != cleared_message_tag() && m != locked_message_tag()) delete m;
}

void freeze_cancel_message(TaskHeader* task) noexcept {
  TaskInfo* info = existing_info(task);
  if (!info) return;
  free_cancel_message(info->frozen_message);
  info->frozen_message = take_latest(info);
  task->set_flag(TaskHeader::kCancelMsgHeld);
}

void unfreeze_cancel_message(TaskHeader* task) noexcept {
  task->clear_flag(TaskHeader::kCancelMsgHeld);
  TaskInfo* info = existing_info(task);
  if (!info || !info->frozen_message) return;
  std::string* ours = std::exchange(info->frozen_message, nullptr);
  std::string* now = lock_cancel_message(info);
  // A newer request (with or without a message) wrote the slot meanwhile: it wins.
  unlock_cancel_message(info, now ? now : ours);
  if (now) free_cancel_message(ours);
}

bool forward_cancel(TaskHeader* from, TaskHeader* target) noexcept {
  TaskInfo* info = existing_info(from);
  std::string* m = info ? info->frozen_message : nullptr;
  if (m && m != cleared_message_tag()) {
    try {
      return target->cancel(*m);
    } catch (const std::bad_alloc&) {
      // No memory for the copy: the cancellation still goes on, without its message.
    }
  }
  return target->cancel();
}

CancelledError make_cancelled_error(TaskHeader* task, bool at_resumption) {
  TaskInfo* info = task ? existing_info(task) : nullptr;
  if (!info) return CancelledError();
  std::string* m = nullptr;
  if (at_resumption && task->has_flag(TaskHeader::kCancelMsgNow)) {
    task->clear_flag(TaskHeader::kCancelMsgNow);
    m = std::exchange(info->frozen_message, nullptr);
  } else {
    m = take_latest(info);
  }
  if (!m || m == cleared_message_tag()) return CancelledError();
  CancelledError e(std::move(*m));
  delete m;
  return e;
}

void free_cancel_messages(TaskInfo* info) noexcept {
  free_cancel_message(info->cancel_message.load(std::memory_order_relaxed));
  free_cancel_message(info->frozen_message);
}

}  // namespace weft::detail
