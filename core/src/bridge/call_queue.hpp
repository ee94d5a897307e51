// CallQueue: the runtime's queue of call_soon_threadsafe callbacks and the
// protocol of the one runner task that empties it.
//
// The queue is one word: a Treiber stack of CallbackNodes (newest first) with
// two flag bits below the pointer:
//   kActive  a runner task exists, or the call that set the bit is spawning
//            it. The push that finds the bit clear sets it and spawns the
//            runner; the runner clears it only with one CAS that also sees
//            the stack empty, so no callback is left without a runner and
//            two runners never exist at once.
//   kClosed  the runtime began shutting down: pushes throw.
// The runner takes the whole stack with one CAS, reverses it into its batch
// (oldest first) and runs it; so callbacks run one at a time in the order of
// the pushes' CASes, which extends each thread's program order.
//
// Rejected: a task per callback (calls from one thread could run out of order
// and at once on two workers), a runner that lives as long as the runtime
// (it would count as a live task and show in every dump, and would need a
// wait primitive of its own).
#pragma once

#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/callback.hpp"
#include "weft/task.hpp"

namespace weft {
class Runtime;
}

namespace weft::detail {

class CallQueue {
 public:
  CallQueue() = default;
  CallQueue(const CallQueue&) = delete;
  CallQueue& operator=(const CallQueue&) = delete;
  /// Destroys the callbacks that never ran (the runtime is gone: no runner left).
  ~CallQueue() { discard(); }

  /// Any thread: queues `fn`, and starts the runner on `rt` if none exists.
  /// Throws RuntimeError once closed (or if the runner cannot be spawned).
  void post(Runtime& rt, CallbackPtr fn);
  /// Shutdown's first step: later posts throw.
  void close() noexcept;
  bool closed() const noexcept;

 private:
  void discard() noexcept;
  static constexpr std::uintptr_t kActive = 1;
  static constexpr std::uintptr_t kClosed = 2;
  static constexpr std::uintptr_t kFlags = kActive | kClosed;
  /// The runner yields to other tasks after this many callbacks (a batch of
  /// asyncio's loop runs every ready callback before polling again; a weft
  /// worker has other tasks to run).
  static constexpr unsigned kRunsPerYield = 64;

  static Task<void> run(CallQueue* q);
  /// Runner only: the next callback, or null after retiring (kActive cleared:
  /// the runner must not touch the queue again).
  CallbackNode* next() noexcept;
  /// Takes the stack (keeping the flags) and destroys what it held.
  void drop_stack(std::uintptr_t keep) noexcept;

  detail::Atomic<std::uintptr_t> head_{0};
  /// Runner only: taken, not yet run (oldest first). The next runner sees it
  /// empty: the retiring CAS (release) and the next push's CAS (acquire)
  /// order the two runners.
  CallbackNode* batch_ = nullptr;
};

/// Runs a bridge callback and destroys it; an exception it throws is reported
/// on stderr ("weft: exception in callback (<what>): ...").
void run_callback(CallbackNode* n, const char* what) noexcept;

}  // namespace weft::detail
