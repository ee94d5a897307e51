// The plain-thread wait behind ConcurrentFuture (weft/threadsafe.hpp): a
// completion listener with a futex word.
//
// Hand-over: the completion stores done = 1 (release) and then wakes the
// futex; a waiter loads done (acquire) and sleeps only while the word still
// reads 0 (the kernel compares and sleeps atomically), so a completion that
// lands between the waiter's load and its sleep makes the sleep return at
// once: no lost wake-up (tests/model/bridge_test.cpp explores it).
#include <climits>
#include <string>

#include "scheduler/scheduler.hpp"
#include "sys/clock.hpp"
#include "sys/futex.hpp"
#include "weft/threadsafe.hpp"

namespace weft::detail {

struct BridgeWaiter : CompletionListener {
  Scheduler* sched = nullptr;
  detail::Atomic<std::uint32_t> done{0};
  /// The futures sharing it, plus one for the listener until it has fired.
  detail::Atomic<std::uint32_t> refs{2};
};

namespace {

void on_task_complete(CompletionListener* l, TaskHeader*) noexcept {
  auto* w = static_cast<BridgeWaiter*>(l);
  // release: the task's result is visible to a waiter that sees done.
  w->done.store(1, std::memory_order_release);
  futex_wake(&w->done, INT_MAX);
  release_bridge_waiter(w);  // the listener's reference: after the wake, w may go
}

}  // namespace

BridgeWaiter* new_bridge_waiter(Scheduler* sched) {
  auto* w = new BridgeWaiter;
  w->sched = sched;
  w->on_complete = &on_task_complete;
  return w;
}

void free_bridge_waiter(BridgeWaiter* w) noexcept {
  delete w;
}

void attach_bridge_waiter(BridgeWaiter* w, TaskHeader* task) noexcept {
  if (task->add_listener(w)) return;
  // Finished already: the listener will never fire.
  w->done.store(1, std::memory_order_release);
  release_bridge_waiter(w);
}

void retain_bridge_waiter(BridgeWaiter* w) noexcept {
  // relaxed: the caller already holds a reference (as shared_ptr's increment).
  w->refs.fetch_add(1, std::memory_order_relaxed);
}

void release_bridge_waiter(BridgeWaiter* w) noexcept {
  // acq_rel: the last holder sees the others' accesses before freeing.
  if (w->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete w;
}

bool bridge_wait(BridgeWaiter* w, TaskHeader* task, std::int64_t timeout_ns, const char* what) {
  // The task's own word first: it says done a moment before the listener fires.
  if (w->done.load(std::memory_order_acquire) || task->done()) return true;
  if (timeout_ns == 0) return false;  // a poll never blocks: allowed anywhere
  if (local_worker(w->sched))
    throw InvalidStateError(std::string("weft::ConcurrentFuture::") + what +
                            ": called on a worker thread of the task's own runtime, where "
                            "blocking could deadlock it; co_await join_handle() instead");
  if (tls_context.worker)
    throw InvalidStateError(std::string("weft::ConcurrentFuture::") + what +
                            ": called on a weft worker thread; co_await join_handle() instead");
  const std::int64_t start = monotonic_ns();
  const std::int64_t deadline =
      timeout_ns < 0 || timeout_ns > INT64_MAX - start ? -1 : start + timeout_ns;
  // acquire: pairs with the completion's release store; the task's result is visible.
  while (w->done.load(std::memory_order_acquire) == 0) {
    std::int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - monotonic_ns();
      if (left <= 0) return false;
    }
    futex_wait(&w->done, 0, left);
  }
  return true;
}

}  // namespace weft::detail
