// Cancel messages: the protocol is described in weft/detail/cancel_message.hpp.
#include "weft/detail/cancel_message.hpp"

#include <new>
#include <string>
#include <utility>

#include "weft/detail/task_header.hpp"
#include "weft/detail/task_info.hpp"

namespace weft::detail {
namespace {

/// The slot value of "the latest request had no message": distinct from null
/// ("no request since the last take"), so that a too-late withdrawal does not
/// put back a message that a newer message-less request replaced. Never freed.
std::string cleared_tag;
std::string* cleared() noexcept {
  return &cleared_tag;
}

void free_message(std::string* m) noexcept {
  if (m != cleared()) delete m;
}

TaskInfo* existing_info(TaskHeader* task) noexcept {
  // acquire: see the info's fields as its creator published them.
  return task->info_.load(std::memory_order_acquire);
}

}  // namespace

void publish_cancel_message(TaskHeader* task, std::string_view msg) {
  if (msg.empty()) {
    clear_cancel_message(task);
    return;
  }
  TaskInfo& info = task_info(task);
  auto* fresh = new std::string(msg);
  // acq_rel: release our string to whoever takes it; acquire the one we
  // replace, which we now own and free.
  free_message(info.cancel_message.exchange(fresh, std::memory_order_acq_rel));
}

void clear_cancel_message(TaskHeader* task) noexcept {
  TaskInfo* info = existing_info(task);
  if (!info) return;  // no info: no message was ever published
  if (info->cancel_message.load(std::memory_order_relaxed) == cleared()) return;
  // acq_rel: as in publish_cancel_message().
  std::string* old = info->cancel_message.exchange(cleared(), std::memory_order_acq_rel);
  if (old) free_message(old);
}

void freeze_cancel_message(TaskHeader* task) noexcept {
  TaskInfo* info = existing_info(task);
  if (!info) return;
  // acq_rel: acquire the latest string (see the header); the slot is empty again.
  std::string* m = info->cancel_message.exchange(nullptr, std::memory_order_acq_rel);
  if (info->frozen_message) free_message(info->frozen_message);
  info->frozen_message = m;
  task->set_flag(TaskHeader::kCancelMsgHeld);
}

void unfreeze_cancel_message(TaskHeader* task) noexcept {
  task->clear_flag(TaskHeader::kCancelMsgHeld);
  TaskInfo* info = existing_info(task);
  if (!info || !info->frozen_message) return;
  std::string* m = info->frozen_message;
  info->frozen_message = nullptr;
  std::string* expected = nullptr;
  // acq_rel: put our string back (release) unless a newer request wrote the slot.
  if (!info->cancel_message.compare_exchange_strong(expected, m, std::memory_order_acq_rel,
                                                    std::memory_order_relaxed))
    free_message(m);
}

const std::string* frozen_cancel_message(TaskHeader* task) noexcept {
  TaskInfo* info = existing_info(task);
  if (!info || !info->frozen_message || info->frozen_message == cleared()) return nullptr;
  return info->frozen_message;
}

bool forward_cancel(TaskHeader* from, TaskHeader* target) noexcept {
  if (const std::string* m = frozen_cancel_message(from)) {
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
    // acq_rel: acquire the latest string (see the header).
    m = info->cancel_message.exchange(nullptr, std::memory_order_acq_rel);
  }
  if (!m || m == cleared()) return CancelledError();
  CancelledError e(std::move(*m));
  delete m;
  return e;
}

void free_cancel_messages(TaskInfo* info) noexcept {
  if (std::string* m = info->cancel_message.load(std::memory_order_relaxed)) free_message(m);
  if (info->frozen_message) free_message(info->frozen_message);
}

}  // namespace weft::detail
