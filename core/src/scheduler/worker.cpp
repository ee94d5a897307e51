// Worker: the loop that finds a task, runs it, and parks when there is none.
// The design is described at the top of scheduler.hpp.
#include <cstdio>
#include <exception>
#include <string>

#include "scheduler/scheduler.hpp"
#include "sys/futex.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/cancel_message.hpp"
#include "weft/detail/timeout_scope.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

Worker::Worker(Scheduler& sched, unsigned index)
    : sched_(sched),
      index_(index),
      runq_(kLocalQueueCapacity),
      parker_(sched.driver()),
      timers_(sched.start_ns()),
      rng_(0x9E3779B9u * (index + 1)) {}

void Worker::start() {
  std::string name = "weft-w" + std::to_string(index_);
  thread_ = Thread([this] { run(); }, name.c_str());
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

std::uint32_t Worker::next_random() noexcept {
  // xorshift32: victim selection only needs to be cheap and not correlated across workers.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 17;
  rng_ ^= rng_ << 5;
  return rng_;
}

void Worker::run() {
  ThreadContext& c = tls_context;
  c.worker = this;
  c.sched = &sched_;
  while (!sched_.stopping_.load(std::memory_order_acquire)) {
    TaskHeader* t = find_work();
    if (t) {
      if (searching_) {
        searching_ = false;
        // The last searcher to find work wakes another to keep looking.
        if (sched_.idle_.transition_from_searching()) sched_.notify_parked();
      }
      run_task(t);
    } else {
      park();
    }
  }
  if (searching_) {
    searching_ = false;
    sched_.idle_.transition_from_searching();
  }
  c = ThreadContext{};
  release_frame_cache();
}

void Worker::wake_if_parked() noexcept {
  if (sched_.idle_.is_parked_after_publish(index_)) parker_.unpark();
}

void Worker::end_wake_batch() noexcept {
  batching_ = false;
  if (batched_push_) {
    batched_push_ = false;
    sched_.notify_parked();
  }
}

void Worker::poll_timers() {
  timers_.drain_inbox();
  if (timers_.empty()) return;
  begin_wake_batch();
  timers_.poll(monotonic_ns());
  end_wake_batch();
}

void Worker::push_lifo(TaskHeader* t) noexcept {
  // The slot only when nothing else is waiting here: then the woken task is
  // next in FIFO order anyway, and the slot saves a queue round trip and keeps
  // it off the thieves' path (message passing stays on one core). Otherwise it
  // joins the back of the run queue: a woken task never jumps ahead of tasks
  // that were ready before it (asyncio's order; it also bounds how long a
  // ready task can be overtaken).
  if (!lifo_.load(std::memory_order_relaxed) && runq_.empty()) {
    // Only the owner stores into its slot; thieves only take it (exchange).
    // release: the task's state written by its waker is visible to a thief.
    lifo_.store(t, std::memory_order_release);
    notify_after_push();
    return;
  }
  push_back(t);
}

void Worker::push_back(TaskHeader* t) noexcept {
  const std::int64_t i = runq_.next_index();
  if (runq_.push(t)) {
    // A wake or a yield: not a spawn of any step (try_run_inline's order rule
    // reads only these owner-only records, never the task, which a thief may
    // be running by then).
    slot_spawner_[static_cast<std::size_t>(i) & (kLocalQueueCapacity - 1)] = nullptr;
  } else {  // full: overflow to the global queue
    sched_.inject_.push_from_worker(index_, t);
    bump(overflows_);
  }
  notify_after_push();
}

void Worker::push_spawned(TaskHeader* t) noexcept {
  const std::int64_t i = runq_.next_index();
  if (runq_.push(t)) {
    // The spawner is the task whose step runs here (null between steps).
    const std::size_t slot = static_cast<std::size_t>(i) & (kLocalQueueCapacity - 1);
    slot_spawner_[slot] = step_task_;
    slot_prev_spawn_[slot] = step_last_spawn_;
    step_last_spawn_ = i;
  } else {  // full: overflow to the global queue
    sched_.inject_.push_from_worker(index_, t);
    bump(overflows_);
  }
  notify_after_push();
}

void Worker::notify_after_push() noexcept {
  if (batching_)
    batched_push_ = true;
  else
    sched_.notify_parked();
}

TaskHeader* Worker::find_work() {
  ++tick_;
  if (tick_ % kMaintenanceInterval == 0) {
    maintenance();
    // Fairness: the global queue gets a turn even while local work never runs
    // dry. The run queue needs no such turn, and taking from it here would
    // reorder: the LIFO slot is filled only when the run queue is empty
    // (push_lifo), so its task is older than every task queued behind it,
    // and the streak limit below bounds how long the slot runs.
    if (TaskHeader* t = sched_.inject_.pop()) return t;
  }
  if (lifo_.load(std::memory_order_relaxed)) {
    // acquire: pairs with the thief-or-owner exchange; the task was published by its waker.
    if (TaskHeader* t = lifo_.exchange(nullptr, std::memory_order_acquire)) {
      if (lifo_streak_ < kMaxLifoStreak) {
        ++lifo_streak_;
        return t;
      }
      push_back(t);  // ping-pong must not starve the queue behind it
    }
  }
  lifo_streak_ = 0;
  if (TaskHeader* t = runq_.take()) return t;
  if (TaskHeader* t = sched_.inject_.pop()) return t;
  return steal_work();
}

TaskHeader* Worker::steal_from(Worker& victim) noexcept {
  // The oldest tasks first (in fork-join, the biggest subtrees).
  ChaseLevDeque<TaskHeader*>* from = &victim.runq_;
  TaskHeader* first = from->steal();
  if (!first) return nullptr;
  // Take up to half of what is left, so one steal feeds us for a while; they
  // join the back of our own line in their order.
  std::size_t want = from->size() / 2;
  std::size_t room = runq_.capacity() - runq_.size();
  if (want > room) want = room;
  std::uint64_t taken = 1;
  for (std::size_t i = 0; i < want; ++i) {
    TaskHeader* t = from->steal();
    if (!t) break;
    ++taken;
    if (!runq_.push(t)) {
      sched_.inject_.push_from_worker(index_, t);
      break;
    }
  }
  steals_.store(steals_.load(std::memory_order_relaxed) + taken, std::memory_order_relaxed);
  bump(steal_ops_);
  return first;
}

TaskHeader* Worker::steal_work() {
  const unsigned n = sched_.num_workers();
  if (n < 2) return nullptr;
  if (!searching_) {
    if (!sched_.idle_.transition_to_searching()) return nullptr;
    searching_ = true;
  }
  const unsigned start = next_random() % n;
  for (unsigned i = 0; i < n; ++i) {
    unsigned v = (start + i) % n;
    if (v == index_) continue;
    if (TaskHeader* t = steal_from(*sched_.workers_[v])) return t;
  }
  TaskHeader* t = sched_.inject_.pop();
  if (t) return t;
  // Last pass: the other workers' LIFO slots.
  for (unsigned i = 0; i < n; ++i) {
    unsigned v = (start + i) % n;
    if (v == index_) continue;
    Worker& w = *sched_.workers_[v];
    if (w.lifo_.load(std::memory_order_relaxed)) {
      if ((t = w.lifo_.exchange(nullptr, std::memory_order_acquire))) return t;
    }
  }
  return nullptr;
}

void Worker::run_task(TaskHeader* t) {
  // kScheduled -> kRunning in one RMW: a queued task has kScheduled (1) set and
  // kRunning (2) clear, so adding 1 moves the bit and leaves the others alone.
  // acquire: see what the previous owner and the waker wrote.
  std::uint32_t s = t->state_.fetch_add(TaskHeader::kRunning - TaskHeader::kScheduled,
                                        std::memory_order_acquire) +
                    (TaskHeader::kRunning - TaskHeader::kScheduled);
  if (sched_.cancel_epoch_.load(std::memory_order_relaxed) != 0 &&
      !(s & TaskHeader::kShutdownCancel)) {
    // Shutdown: every task that runs from now on is cancelled once (asyncio.run).
    cancel_for_shutdown(t);
    s = t->state_.load(std::memory_order_acquire);
  }
  // The CancelledError on its way (if any) is delivered now; later requests count anew.
  if (s & TaskHeader::kCancelDelivering)
    s = t->state_.fetch_and(~TaskHeader::kCancelDelivering, std::memory_order_acq_rel) &
        ~TaskHeader::kCancelDelivering;
  if (!t->has_flag(TaskHeader::kStarted)) {
    t->set_flag(TaskHeader::kStarted);
    if (s & TaskHeader::kCancelPending) {
      // Cancelled before its first step: the body never runs.
      t->error_ = std::make_exception_ptr(make_cancelled_error(t, /*at_resumption=*/false));
      sched_.on_complete(t);
      return;
    }
  }
  // kKeepResult is about one resumption only; a cancel message frozen by the
  // delivery that ended the last suspension belongs to this resumption only
  // (kCancelMsgHeld becomes kCancelMsgNow, an older kCancelMsgNow goes).
  {
    constexpr std::uint16_t held = TaskHeader::kCancelMsgHeld;
    const std::uint16_t f = t->flags_;
    t->flags_ = static_cast<std::uint16_t>(
        (f & ~(TaskHeader::kKeepResult | held | TaskHeader::kCancelMsgNow)) | ((f & held) << 1));
  }
  step_task_ = t;  // a new step: its spawns start a new chain
  step_last_spawn_ = -1;
  ThreadContext& c = tls_context;
  c.current = t;
  c.budget = kTaskBudget;
  c.finished = false;
  c.yielded = false;
  bump(polls_);
  const bool debug = t->has_flag(TaskHeader::kDebugTask);
  const std::int64_t started_ns = debug ? monotonic_ns() : 0;
  // The trampoline: frames of this task hand control to each other through c.next.
  std::coroutine_handle<> h = t->resume_point_;
  if (h) [[likely]] {
    t->suspended_on_ = nullptr;
  } else {
    // No resume point: the task suspended on a HookedSuspension, which runs
    // first; it puts the resume point back.
    auto* hook = static_cast<HookedSuspension*>(t->suspended_on_);
    t->suspended_on_ = nullptr;
    if (!hook->before_resume(hook, t)) h = t->resume_point_;
  }
  while (h) {
    c.next = nullptr;
    h.resume();
    h = c.next;
  }
  c.current = nullptr;
  step_task_ = nullptr;  // spawns from here on belong to no task's step
  if (debug) sched_.debug_after_run(t, monotonic_ns() - started_ns, c.finished);
  if (c.finished) {
    sched_.on_complete(t);
    return;
  }
  if (!t->has_flag(TaskHeader::kRegistered)) registry_.insert(t, index_);
  // Timeout scopes arm their timers only now that the task really waits.
  if (t->info_.load(std::memory_order_relaxed)) arm_timeouts(t);
  sched_.release(t, c.yielded);
}

void cancel_for_shutdown(TaskHeader* t) noexcept {
  // Exactly once per task, whoever gets here first (the registry walk of its
  // home worker, or the worker that runs it next): a second cancel() would
  // interrupt the cleanup the first one started.
  if (t->state_.fetch_or(TaskHeader::kShutdownCancel, std::memory_order_acq_rel) &
      TaskHeader::kShutdownCancel)
    return;
  t->cancel();
}

InlineJoin Worker::try_run_inline(TaskHeader* child) {
  if (inline_depth_ >= kMaxInlineDepth) return InlineJoin::not_queued;
  // Pointer comparisons only until found: a task queued here is alive (and of
  // this runtime), while `child` may have finished elsewhere and be gone.
  // The newest entry first (a LIFO join, W5 fib): no spawn-order check needed.
  if (runq_.claim_newest(child)) {
    bump(inline_joins_);
    run_claimed(child);
    return InlineJoin::ran;
  }
  const std::int64_t i = runq_.find(child);
  if (i < 0) return InlineJoin::not_queued;
  if (i != runq_.newest_index()) {
    // An older entry (a join of the first of ten children, a gather in
    // argument order): only a spawn of the awaiting task's current step, and
    // only if no earlier spawn of that step still waits to start, so that
    // the task's children start in spawn order. The chain skips the spawns
    // already started (path compression keeps the walks short).
    constexpr std::size_t mask = kLocalQueueCapacity - 1;
    const std::size_t slot = static_cast<std::size_t>(i) & mask;
    if (slot_spawner_[slot] != step_task_ || !step_task_) return InlineJoin::not_queued;
    // Below the oldest index every entry has been handed out (and its slot
    // may hold a newer one), so the walk ends there.
    const std::int64_t oldest = runq_.oldest_index();
    std::int64_t j = slot_prev_spawn_[slot];
    while (j >= oldest && !runq_.holds(j))
      j = slot_prev_spawn_[static_cast<std::size_t>(j) & mask];
    if (j >= oldest) return InlineJoin::out_of_order;
    slot_prev_spawn_[slot] = -1;  // every earlier spawn of the step has started
  }
  // Take its entry out; a thief that won it first keeps it.
  if (!runq_.claim_at(i, child)) return InlineJoin::not_queued;
  bump(inline_joins_);
  run_claimed(child);
  return InlineJoin::ran;
}

void Worker::run_step_spawns_inline() {
  TaskHeader* const self = tls_context.current;
  if (!self || self != step_task_ || inline_depth_ >= kMaxInlineDepth) return;
  constexpr std::size_t mask = kLocalQueueCapacity - 1;
  // The step's chain runs newest first, through indices still in the run
  // queue: at most its capacity of them wait.
  std::int64_t pending[kLocalQueueCapacity];
  std::size_t n = 0;
  for (std::int64_t j = step_last_spawn_, oldest = runq_.oldest_index(); j >= oldest;
       j = slot_prev_spawn_[static_cast<std::size_t>(j) & mask])
    if (runq_.holds(j)) pending[n++] = j;
  while (n > 0) {  // oldest first
    const std::int64_t i = pending[--n];
    // relaxed: a hint; a request missed here is delivered at the next suspension.
    if (self->state_.load(std::memory_order_relaxed) & TaskHeader::kCancelPending) return;
    // Below the oldest index the entry was handed out (stolen while an earlier
    // child ran here), and its slot may hold a newer one.
    if (i < runq_.oldest_index()) continue;
    TaskHeader* t = runq_.at(i);
    if (!t || !runq_.claim_at(i, t)) continue;  // stolen meanwhile
    bump(inline_joins_);
    run_claimed(t);
  }
}

bool Worker::run_eagerly(TaskHeader* t) {
  if (inline_depth_ >= kMaxInlineDepth) return false;
  run_claimed(t);  // never queued: nobody else can have it
  return true;
}

void Worker::run_claimed(TaskHeader* child) {
  // We hold its queue entry (or it was never queued): run it as if the loop
  // had found it.
  ThreadContext& c = tls_context;
  const ThreadContext saved = c;
  TaskHeader* const saved_step_task = step_task_;
  const std::int64_t saved_last_spawn = step_last_spawn_;
  ++inline_depth_;
  run_task(child);
  --inline_depth_;
  c = saved;
  step_task_ = saved_step_task;
  step_last_spawn_ = saved_last_spawn;
}

WorkerMetrics Worker::metrics() const noexcept {
  WorkerMetrics m;
  m.polls = polls_.load(std::memory_order_relaxed);
  m.steals = steals_.load(std::memory_order_relaxed);
  m.steal_operations = steal_ops_.load(std::memory_order_relaxed);
  m.parks = parks_.load(std::memory_order_relaxed);
  m.overflows = overflows_.load(std::memory_order_relaxed);
  m.inline_joins = inline_joins_.load(std::memory_order_relaxed);
  m.local_queue_depth = runq_.size();
  return m;
}

void Worker::cancel_registered_tasks() {
  registry_.for_each([](TaskHeader* t) {
    if (!t->done()) cancel_for_shutdown(t);
  });
}

void Worker::maintenance() {
  registry_.drain_inbox();
  poll_timers();
  // Busy workers look at I/O readiness too, or a runtime whose workers never
  // park would never see it (61 ticks, as Tokio's event_interval).
  Driver& driver = sched_.driver_;
  if (driver.has_sources() && driver.try_acquire()) {
    begin_wake_batch();
    driver.turn(0);
    end_wake_batch();
    driver.release();
  }
  std::uint32_t epoch = sched_.cancel_epoch_.load(std::memory_order_acquire);
  if (epoch != seen_cancel_epoch_) {
    seen_cancel_epoch_ = epoch;
    cancel_registered_tasks();
  }
}

void Worker::park() {
  maintenance();
  if (!lifo_.load(std::memory_order_relaxed) && runq_.empty()) {
    sched_.idle_.transition_to_parked(index_, searching_);
    searching_ = false;
    // seq_cst: the re-check below must not be reordered before the announcement
    // above (Dekker pairing with push + fence + read in notify_parked()). Under
    // TSan the pusher does an RMW on the idle word instead, and our seq_cst RMW
    // on it above already orders the re-check.
#ifndef WEFT_TSAN
    detail::fence(std::memory_order_seq_cst);
#endif
    bump(parks_);
    const bool visible = sched_.has_visible_work();
    bool work = visible || !registry_.inbox_empty() || !timers_.inbox_empty() ||
                sched_.stopping_.load(std::memory_order_acquire) ||
                sched_.cancel_epoch_.load(std::memory_order_relaxed) != seen_cancel_epoch_;
    if (!work) {
      // Sleep until our earliest timer at the latest (never a periodic tick:
      // an idle runtime without timers sleeps until something happens).
      std::int64_t timeout = timers_.timeout_ns(monotonic_ns());
      if (timeout != 0) {
        if (sched_.driver_.try_acquire()) {
          begin_wake_batch();
          parker_.park_on_driver(timeout);
          end_wake_batch();
          sched_.driver_.release();
        } else {
          parker_.park(timeout);
        }
      }
    }
    // Woken by a notifier (who counted us as searching), or on our own.
    if (!sched_.idle_.unpark_self(index_)) {
      searching_ = true;
    } else if (visible) {
      // The re-check saw work we may have to steal: search, even if half the
      // workers already do. Those may be claimed but not yet running (or
      // preempted), and a worker refused the search would spin here, finding
      // the same work visible and untouchable on every pass.
      sched_.idle_.force_searching();
      searching_ = true;
    }
    poll_timers();
  }
}

}  // namespace weft::detail
