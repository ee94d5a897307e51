// Debug mode (asyncio's debug=True): RunOptions::debug or env WEFT_DEBUG=1.
//
// When on, a runtime
//  - warns on stderr when a task runs longer than RunOptions::slow_task_threshold
//    (100 ms, asyncio's slow_callback_duration) without suspending, with the
//    task's name and the duration;
//  - reports a task whose exception nobody retrieved when its last handle goes
//    ("Task exception was never retrieved");
//  - reports a Task that is destroyed without ever being awaited or spawned
//    ("coroutine ... was never awaited");
//  - keeps a list of its live tasks for all_tasks() / Runtime::dump(), and dumps
//    them on stderr when the process receives SIGUSR1.
// When off, each of these costs one predictable branch on a flag (see the
// debug-off vs debug-on figures in bench/RESULTS.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft {

/// One task in a snapshot of the runtime.
struct TaskSnapshot {
  std::uint64_t id = 0;
  std::string name;
  /// "scheduled", "running", "suspended" or "done".
  std::string state;
  /// What a suspended task waits on ("sleep", "join", "Lock", ...), else empty.
  std::string waiting_on;
  std::uint32_t cancelling = 0;
};

/// The live tasks of the calling task's runtime (asyncio.all_tasks()). Needs
/// debug mode: throws InvalidStateError otherwise, RuntimeError outside a runtime.
std::vector<TaskSnapshot> all_tasks();

}  // namespace weft
