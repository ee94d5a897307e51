// Scheduler: queues shared by the workers, the owner-side release protocol, and
// shutdown. See scheduler.hpp for the design.
#include "scheduler/scheduler.hpp"

#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "sys/futex.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/cancel_message.hpp"
#include "weft/detail/task_info.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

unsigned default_workers() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

// A worker index fits TaskHeader::home_ and the idle word's 16-bit counters.
constexpr unsigned kMaxWorkers = 32767;

RunOptions resolved(RunOptions o) {
  if (o.workers == 0) o.workers = default_workers();
  if (o.workers > kMaxWorkers)
    throw std::invalid_argument("weft::RunOptions::workers: at most 32767 workers");
  if (const char* d = std::getenv("WEFT_DEBUG"); d && d[0] == '1') o.debug = true;
  return o;
}

detail::Atomic<Scheduler*> runtime_table[kMaxRuntimes];

}  // namespace

std::uint16_t register_runtime(Scheduler* s) {
  for (std::size_t i = 0; i < kMaxRuntimes; ++i) {
    Scheduler* expected = nullptr;
    // acq_rel: tasks of this runtime look it up by id from any thread.
    if (runtime_table[i].compare_exchange_strong(expected, s, std::memory_order_acq_rel))
      return static_cast<std::uint16_t>(i);
  }
  throw RuntimeError("weft::Runtime: too many runtimes alive at once (at most 4096)");
}

void unregister_runtime(std::uint16_t id) noexcept {
  runtime_table[id].store(nullptr, std::memory_order_release);
}

Scheduler* TaskHeader::scheduler() const noexcept {
  return runtime_table[runtime_id()].load(std::memory_order_acquire);
}

Executor& default_executor() {
  Scheduler* s = tls_context.sched;
  if (!s) throw RuntimeError("weft::to_thread: must be awaited inside a weft task");
  return s->blocking_pool();
}

Scheduler::Scheduler(Runtime* runtime, const RunOptions& options)
    : runtime_(runtime),
      options_(resolved(options)),
      slot_(this),
      start_ns_(monotonic_ns()),
      blocking_pool_(options_.blocking_threads_max, options_.blocking_keep_alive),
      idle_(options_.workers) {
  if (options_.debug) debug_register(this);
  inject_.add_worker_producers(options_.workers);
  workers_.reserve(options_.workers);
  for (unsigned i = 0; i < options_.workers; ++i)
    workers_.push_back(std::make_unique<Worker>(*this, i));
}

Scheduler::~Scheduler() {
  shutdown();
}

void Scheduler::start() {
  for (auto& w : workers_)
    w->start();
}

void Scheduler::push_inject(TaskHeader* t) noexcept {
  inject_.push(t);
  notify_parked();
}

void Scheduler::notify_parked_slow(std::uint32_t s) noexcept {
  int w = idle_.worker_to_notify(s);
  if (w >= 0) workers_[static_cast<unsigned>(w)]->parker().unpark();
}

void Scheduler::schedule(TaskHeader* t) noexcept {
  if (Worker* w = local_worker(this))
    w->push_lifo(t);
  else
    push_inject(t);
}

void Scheduler::schedule_new(TaskHeader* t, bool eager) noexcept {
  if (Worker* w = local_worker(this)) {
    // Owner-only counter: a plain store with release (see live_tasks()).
    w->spawned_.store(w->spawned_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    if (eager && tls_context.current && w->run_eagerly(t)) return;
    w->push_spawned(t);  // FIFO: tasks start in the order they were spawned
  } else {
    external_spawns_.fetch_add(1, std::memory_order_release);
    push_inject(t);
  }
}

void Scheduler::release(TaskHeader* t, bool yielded) noexcept {
  using H = TaskHeader;
  bool tried_withdraw = false;
  std::uint32_t s = t->state_.load(std::memory_order_acquire);
  for (;;) {
    if (s & H::kNotified) {
      // Woken while we owned it: back into a queue instead of going idle.
      std::uint32_t next = (s & ~(H::kNotified | H::kRunning)) | H::kScheduled;
      if (t->state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
        if (Worker* w = local_worker(this))
          w->push_back(t);
        else
          push_inject(t);
        return;
      }
      continue;
    }
    if ((s & H::kCancelPending) && t->suspended_on_ && !tried_withdraw) {
      // Deliver the cancellation: we own the task, so its awaiter is alive and
      // no waker can resume it behind our back.
      tried_withdraw = true;
      Suspension* on = t->suspended_on_;
      // The message this delivery carries (and forwards to an awaited task):
      // taken now, after our acquire of the pending bit (cancel_message.hpp).
      freeze_cancel_message(t);
      Withdraw outcome = on->withdraw(on, t);
      if (outcome == Withdraw::withdrawn) {
        t->suspended_on_ = nullptr;
        s = t->state_.load(std::memory_order_acquire);
        std::uint32_t next;
        do {
          next = (s & ~(H::kCancelPending | H::kRunning | H::kNotified)) | H::kScheduled |
                 H::kCancelDelivering;
        } while (!t->state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                                  std::memory_order_acquire));
        if (Worker* w = local_worker(this))
          w->push_back(t);
        else
          push_inject(t);
        return;
      }
      if (outcome == Withdraw::handed_off)
        t->state_.fetch_and(~H::kCancelPending, std::memory_order_acq_rel);
      // too_late: a waker won; the request stays for the next suspension.
      if (outcome == Withdraw::too_late) unfreeze_cancel_message(t);
      s = t->state_.load(std::memory_order_acquire);
      continue;
    }
    if (yielded) {
      if (t->state_.compare_exchange_weak(s, (s & ~H::kRunning) | H::kScheduled,
                                          std::memory_order_acq_rel, std::memory_order_acquire)) {
        if (Worker* w = local_worker(this))
          w->push_back(t);
        else
          push_inject(t);
        return;
      }
      continue;
    }
    // release: the next owner (a worker after a wake, or a canceller) sees
    // everything this owner wrote, in particular resume_point_ and suspended_on_.
    if (t->state_.compare_exchange_weak(s, s & ~H::kRunning, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
      return;
  }
}

void Scheduler::on_complete(TaskHeader* t) noexcept {
  using H = TaskHeader;
  if (t->has_flag(H::kDebugTask)) debug_untrack(t);
  bool cancelled = false;
  if (t->error_) {
    try {
      std::rethrow_exception(t->error_);
    } catch (const CancelledError&) {
      cancelled = true;
    } catch (...) {
    }
  }
  std::uint32_t s = t->state_.load(std::memory_order_relaxed);
  std::uint32_t next;
  do {
    if ((s & H::kCancelPending) && !t->error_ && !t->has_flag(H::kKeepResult)) {
      // S1: a cancel() that arrived after the task's last suspension (while it
      // was woken with a result, or while it ran its last step) ends it
      // cancelled, as asyncio does ("cancelled right before coro stops"); its
      // value is dropped -- unless that value may hold data that exists
      // nowhere else (kKeepResult).
      t->error_ = std::make_exception_ptr(make_cancelled_error(t, /*at_resumption=*/false));
      cancelled = true;
    }
    next = (s & ~(H::kRunning | H::kNotified | H::kCancelPending | H::kScheduled |
                  H::kCancelDelivering)) |
           H::kComplete | (cancelled ? H::kCancelledResult : 0u);
    // release: the result written by the body is visible to whoever sees kComplete.
  } while (!t->state_.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                            std::memory_order_relaxed));
  // Count the completion before anyone hears of it (block_on's caller may read
  // the live count as soon as it wakes).
  Worker* w = local_worker(this);
  if (w)
    w->completed_.store(w->completed_.load(std::memory_order_relaxed) + 1,
                        std::memory_order_release);
  else
    external_completions_.fetch_add(1, std::memory_order_release);
  // acq_rel: acquire the listeners' fields, release the result to late add_listener()s.
  void* head = t->link_.exchange(TaskHeader::listeners_done(), std::memory_order_acq_rel);
  // The stack holds the newest listener first: notify in the order they
  // started waiting (asyncio runs done-callbacks FIFO; S7).
  CompletionListener* fifo = nullptr;
  for (auto* l = static_cast<CompletionListener*>(head); l;) {
    CompletionListener* older = l->next;
    l->next = fifo;
    fifo = l;
    l = older;
  }
  for (auto* l = fifo; l;) {
    CompletionListener* next_listener = l->next;  // l may be gone after on_complete
    l->on_complete(l, t);
    l = next_listener;
  }
  if (!t->has_flag(TaskHeader::kRegistered)) {
    t->release_ref();  // the scheduler's reference
  } else if (w && t->home_ == w->index()) {
    w->registry().remove(t);  // drops the scheduler's reference
  } else {
    // The home drops it when it next drains its inbox. A parked home would
    // never look, and the frame (with the task's by-value parameters: a
    // socket, say) would live on: wake it for the first entry.
    Worker& home = *workers_[t->home_];
    if (home.registry().remove_remote(t)) home.wake_if_parked();
  }
}

bool Scheduler::has_visible_work() const noexcept {
  if (!inject_.empty()) return true;
  for (auto& w : workers_) {
    if (!w->runq_.empty() || w->lifo_.load(std::memory_order_relaxed)) return true;
  }
  return false;
}

RuntimeMetrics Scheduler::metrics() const {
  RuntimeMetrics m;
  for (auto& w : workers_)
    m.workers.push_back(w->metrics());
  m.inject_queue_depth = inject_.size();
  m.live_tasks = live_tasks();
  BlockingPoolStats b = blocking_pool_.stats();
  m.blocking_threads = b.threads;
  m.blocking_idle_threads = b.idle;
  m.blocking_queue_depth = b.queued;
  return m;
}

std::uint64_t Scheduler::live_tasks() const noexcept {
  // Completions first, then spawns (acquire): every completion counted here has
  // its spawn counted below, so the difference never undercounts.
  std::uint64_t done = external_completions_.load(std::memory_order_acquire);
  for (auto& w : workers_)
    done += w->completed_.load(std::memory_order_acquire);
  std::uint64_t spawned = external_spawns_.load(std::memory_order_acquire);
  for (auto& w : workers_)
    spawned += w->spawned_.load(std::memory_order_acquire);
  return spawned - done;
}

void Scheduler::wait_for_tasks(std::chrono::milliseconds timeout) {
  const std::int64_t deadline =
      monotonic_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  while (live_tasks() != 0 && monotonic_ns() < deadline)
    sleep_ns(1'000'000);
}

void Scheduler::report_unfinished() {
  std::size_t n = 0;
  for (auto& w : workers_) {
    w->registry().drain_inbox();
    w->registry().for_each([&](TaskHeader* t) {
      if (t->done()) return;
      ++n;
      std::fprintf(stderr, "weft: shutdown: task '%s' did not finish after cancellation (%s)\n",
                   task_info(t).name.c_str(), t->suspended_on_ ? t->suspended_on_->what : "queued");
    });
  }
  if (n)
    std::fprintf(stderr, "weft: shutdown: %zu task(s) refused to finish; destroying them\n", n);
}

void Scheduler::destroy_leftovers() {
  using H = TaskHeader;
  // Suspended tasks known to the registries hold the scheduler's reference;
  // those sitting in a queue are dropped with the queue below.
  for (auto& w : workers_) {
    w->registry().drain_inbox();  // finished ones: unlink and drop
    w->registry().for_each([&](TaskHeader* t) {
      bool queued = t->state_.load(std::memory_order_acquire) & H::kScheduled;
      if (queued) {
        w->registry().unlink_only(t);
      } else {
        w->registry().remove(t);
      }
    });
  }
  auto drop = [](TaskHeader* t) { t->release_ref(); };
  for (auto& w : workers_) {
    if (TaskHeader* t = w->lifo_.exchange(nullptr)) drop(t);
    while (TaskHeader* t = w->runq_.steal())
      drop(t);
  }
  while (TaskHeader* t = inject_.pop())
    drop(t);
}

void Scheduler::shutdown() {
  if (shut_down_.exchange(true)) return;
  // 1. Cancel everything (asyncio.run's _cancel_all_tasks) and let it unwind.
  cancel_epoch_.fetch_add(1, std::memory_order_acq_rel);
  for (auto& w : workers_)
    w->parker().unpark();
  wait_for_tasks(options_.shutdown_timeout);
  // 2. Stop and join the workers.
  stopping_.store(true, std::memory_order_release);
  for (auto& w : workers_)
    w->parker().unpark();
  for (auto& w : workers_)
    w->join();
  accepting_.store(false, std::memory_order_release);
  // The blocking pool's threads may be finishing a job whose wake() is still
  // queuing its task: let them end while the queues and the idle set they
  // touch are alive (the members below the pool are destroyed first).
  blocking_pool_.shutdown(std::chrono::milliseconds(10'000));
  if (options_.debug) debug_unregister(this);
  // 3. Whatever is left refused to finish, or was never reached.
  if (live_tasks() != 0) report_unfinished();
  destroy_leftovers();
}

}  // namespace weft::detail
