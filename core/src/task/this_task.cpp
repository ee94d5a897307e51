#include "weft/this_task.hpp"

#include "weft/detail/task_info.hpp"
#include "weft/detail/thread_context.hpp"

namespace weft::this_task {
namespace {
detail::TaskHeader* self() {
  return detail::require_current_task("weft::this_task");
}
}  // namespace

std::uint64_t id() {
  return detail::task_info(self()).id;
}
std::string_view name() {
  return detail::task_info(self()).name;
}
void cancel() {
  self()->cancel();
}
void cancel(std::string_view msg) {
  self()->cancel(msg);
}
std::uint32_t cancelling() {
  return self()->cancelling();
}
std::uint32_t uncancel() {
  return self()->uncancel();
}

}  // namespace weft::this_task
