// weft::wait: the non-template half (see weft/wait.hpp).
#include "weft/wait.hpp"

#include <stdexcept>

namespace weft::detail {

JoinTrigger wait_trigger(ReturnWhen when) {
  switch (when) {
    case ReturnWhen::FirstCompleted:
      return JoinTrigger::first_completed;
    case ReturnWhen::FirstException:
      return JoinTrigger::first_exception;
    case ReturnWhen::AllCompleted:
      return JoinTrigger::all;
  }
  throw std::invalid_argument("weft::wait: invalid ReturnWhen value");
}

Task<> wait_on(const std::vector<TaskHeader*>& tasks, JoinTrigger trigger,
               std::optional<Clock::duration> timeout) {
  JoinSetRef ref;
  ref.set = JoinSet::create(tasks.size(), trigger);
  for (std::uint32_t i = 0; i < tasks.size(); ++i)
    ref.set->watch(i, tasks[i]);
  if (!timeout) {
    JoinSetAwaiter until(ref.set, /*cancel_tasks=*/false);
    co_await until;
    co_return;
  }
  try {
    auto until = wait_for(JoinSetAwaiter(ref.set, /*cancel_tasks=*/false), *timeout);
    co_await until;
  } catch (const TimeoutError&) {
    // asyncio: a timeout just ends the wait; the caller sorts done from pending.
  }
}

}  // namespace weft::detail
