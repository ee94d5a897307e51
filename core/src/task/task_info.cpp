#include "weft/detail/task_info.hpp"

#include <atomic>
#include <string>

#include "weft/detail/atomic.hpp"

namespace weft::detail {
namespace {
detail::Atomic<std::uint64_t> next_task_id{1};

TaskInfo* make_info() {
  auto* info = new TaskInfo;
  info->id = next_task_id.fetch_add(1, std::memory_order_relaxed);
  return info;
}
}  // namespace

TaskInfo::~TaskInfo() {
  ContextMap::release(vars.map);
}

TaskInfo& task_info(TaskHeader* task) {
  TaskInfo* info = task->info_.load(std::memory_order_acquire);
  if (info) return *info;
  TaskInfo* fresh = make_info();
  fresh->name = "Task-" + std::to_string(fresh->id);
  // acq_rel: publish the new info; on failure, acquire the winner's.
  if (task->info_.compare_exchange_strong(info, fresh, std::memory_order_acq_rel,
                                          std::memory_order_acquire))
    return *fresh;
  delete fresh;
  return *info;
}

void set_task_name(TaskHeader* task, std::string_view name) {
  TaskInfo* info = make_info();
  info->name.assign(name);
  TaskInfo* old = task->info_.exchange(info, std::memory_order_acq_rel);
  if (old) free_cancel_messages(old);
  delete old;
}

void free_task_info(TaskHeader* task) noexcept {
  TaskInfo* info = task->info_.load(std::memory_order_acquire);
  if (!info) return;
  free_cancel_messages(info);
  delete info;
}

}  // namespace weft::detail
