// weft::this_task: the running task's own view of itself (asyncio's
// current_task() and its cancellation counters).
//
// Every function must be called from inside a weft task (RuntimeError otherwise).
#pragma once

#include <cstdint>
#include <string_view>

namespace weft::this_task {

/// Id of the running task (unique in the process).
std::uint64_t id();
/// Name of the running task ("Task-<id>" unless spawned with a name).
std::string_view name();
/// Requests the running task's own cancellation: delivered at its next suspension.
void cancel();
/// cancel() with a message (asyncio: `asyncio.current_task().cancel(msg)`):
/// the CancelledError delivered at the next suspension, and the one the
/// task's awaiters see, say `msg`. The request is pending until then, so a
/// later cancel (with or without a message, from here or another thread)
/// replaces the message (JoinHandle::cancel(std::string_view) has the rule).
/// Allocates the message; throws std::bad_alloc before anything changed.
void cancel(std::string_view msg);
/// Pending cancellation requests (asyncio Task.cancelling()).
std::uint32_t cancelling();
/// Withdraws one request (asyncio Task.uncancel()); returns the number left.
std::uint32_t uncancel();

}  // namespace weft::this_task
