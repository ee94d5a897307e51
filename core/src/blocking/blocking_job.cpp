#include "weft/detail/blocking_job.hpp"

#include <utility>

#include "weft/detail/current_context.hpp"

namespace weft::detail {

BlockingJob::~BlockingJob() {
  ContextMap::release(context_);
}

void BlockingJob::set_waiter(TaskHeader* t) noexcept {
  waiter_.store(t, std::memory_order_relaxed);
  ContextMap::release(std::exchange(context_, retain_current_context()));
}

void BlockingJob::execute() noexcept {
  std::uint32_t expected = kQueued;
  // acq_rel: decides against withdraw() (which marks a queued job abandoned).
  if (phase_.compare_exchange_strong(expected, kRunning, std::memory_order_acq_rel)) {
    // The callable runs outside any task, in its own copy of the awaiter's
    // context (the thread's slot; a fresh identity for Tokens), also when an
    // executor runs it inline on a worker.
    ThreadContext& tc = tls_context;
    TaskHeader* const task = std::exchange(tc.current, nullptr);
    const ContextSlot saved = std::exchange(tls_thread_context, ContextSlot{context_, 0});
    context_ = nullptr;
    invoke();
    ContextMap::release(std::exchange(tls_thread_context, saved).map);
    tc.current = task;
    // acq_rel on the exchange: release publishes the result to the woken task;
    // it also decides against withdraw() taking the waiter.
    if (TaskHeader* w = waiter_.exchange(nullptr, std::memory_order_acq_rel)) w->wake();
  }
  release();  // the executor's reference
}

void BlockingJob::discard() noexcept {
  discarded_ = true;
  if (TaskHeader* w = waiter_.exchange(nullptr, std::memory_order_acq_rel)) w->wake();
  release();
}

bool BlockingJob::withdraw() noexcept {
  if (!waiter_.exchange(nullptr, std::memory_order_acq_rel)) return false;
  std::uint32_t expected = kQueued;
  // A job that has not started is skipped; a running one finishes unobserved.
  phase_.compare_exchange_strong(expected, kAbandoned, std::memory_order_acq_rel);
  return true;
}

}  // namespace weft::detail
