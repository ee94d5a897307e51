// Runtime::call_later / call_at and TimerHandle (weft/timer_handle.hpp): one
// small task per timer sleeps on its worker's timer wheel; one CAS on the
// shared state decides between the firing and cancel().
#include "weft/timer_handle.hpp"

#include "bridge/call_queue.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"

namespace weft {
namespace detail {

Task<void> run_timer(std::shared_ptr<TimerState> s) {
  bool cancelled = false;
  try {
    co_await sleep_until(from_ns(s->when_ns));
  } catch (const CancelledError&) {
    cancelled = true;  // by cancel() (which won the CAS already) or by the shutdown
  }
  std::uint32_t expected = TimerState::kPending;
  // acq_rel: the one decision against cancel()'s CAS on the same word.
  if (!cancelled) {
    if (s->phase.compare_exchange_strong(expected, TimerState::kFired, std::memory_order_acq_rel,
                                         std::memory_order_acquire))
      run_callback(s->fn.release(), s->what);
  } else {
    // The shutdown's cancellation: the timer will never run; say so.
    (void)s->phase.compare_exchange_strong(expected, TimerState::kCancelled,
                                           std::memory_order_acq_rel, std::memory_order_acquire);
  }
  s->fn.reset();  // a cancelled timer's callable dies here, on a worker
}

}  // namespace detail

const detail::TimerState& TimerHandle::state(const char* what) const {
  if (!state_)
    throw InvalidStateError(std::string("weft::TimerHandle::") + what + ": empty handle");
  return *state_;
}

bool TimerHandle::cancel() {
  (void)state("cancel");
  // A finished task has decided already: it fired, was cancelled, or was
  // dropped unstarted by the shutdown (phase still pending, and it stays so).
  if (task_.done()) return false;
  std::uint32_t expected = detail::TimerState::kPending;
  // acq_rel: the one decision against the timer task's CAS.
  if (!state_->phase.compare_exchange_strong(expected, detail::TimerState::kCancelled,
                                             std::memory_order_acq_rel, std::memory_order_acquire))
    return false;
  // End the sleep now: the wheel entry, the task and the callable go soon
  // instead of at the deadline.
  (void)task_.cancel();
  return true;
}

bool TimerHandle::cancelled() const {
  const detail::TimerState& s = state("cancelled");
  // A task that ends moves the phase first, unless the shutdown cancelled it
  // before its first step: then the timer never ran. `done` is read first: a
  // task seen done has a final phase.
  const bool done = task_.done();
  const std::uint32_t p = s.phase.load(std::memory_order_acquire);
  return p == detail::TimerState::kCancelled || (p == detail::TimerState::kPending && done);
}

Clock::time_point TimerHandle::when() const {
  return detail::from_ns(state("when").when_ns);
}

TimerHandle Runtime::start_timer(std::int64_t when_ns, detail::CallbackPtr fn, const char* what) {
  if (is_closed())
    throw RuntimeError(std::string("weft::Runtime::") + what +
                       ": the runtime is closed (shutting down or shut down)");
  auto s = std::make_shared<detail::TimerState>();
  s->when_ns = when_ns;
  s->what = what;
  s->fn = std::move(fn);
  TimerHandle h;
  h.state_ = s;
  h.task_ = spawn(detail::run_timer(std::move(s)));
  return h;
}

}  // namespace weft
