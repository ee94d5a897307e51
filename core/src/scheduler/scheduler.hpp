// The scheduler: N workers running spawned tasks, with work stealing.
//
// Design
// ------
// Each worker owns
//   - a run queue: a bounded Chase-Lev deque (256 slots) used FIFO. Spawned
//     tasks and tasks that yield join its back (bottom); the owner and thieves
//     take from its front (top, oldest first). So tasks start in the order they
//     were spawned, as asyncio's create_task promises, while the queue has room
//     (past 256 a spawn overflows to the inject queue, which is looked at every
//     61 ticks and may run first), and a yield really lets everybody else run
//     first;
//   - a LIFO slot for a task it woke while it had nothing else queued, which
//     then runs next without a queue round trip and off the thieves' path
//     (message passing stays on one core: W3 ping_pong). A task woken while
//     others are queued here joins the back of the run queue instead, so a
//     woken task does not overtake the tasks queued on its worker: asyncio's
//     FIFO order on one worker (tasks in the inject queue, woken from plain
//     threads or overflowed, can be overtaken). A push into the slot notifies
//     a parked worker, who may take it on its last pass (R9). (Go's runnext and Tokio's
//     lifo slot always jump the queue; that reorders asyncio programs.) The
//     slot runs at most kMaxLifoStreak times in a row, and thieves may take
//     it on their last pass;
//   - a registry of its suspended tasks (task_registry.hpp) and a hierarchical
//     timer wheel (worker_timers.hpp) for the timers its tasks arm.
// Fork-join stays depth-first without a LIFO run queue: a task that awaits a
// child still waiting in its worker's run queue (the newest spawn, or an
// older one: awaiting the first of ten children) claims the child's entry
// and runs it inline (work-first, as oneTBB's wait does); gather and TaskGroup
// do the same for their children in spawn order. So the tree unfolds
// depth-first whatever the join order (W5 fib, W13-W15 keep a few dozen live
// frames per worker), and thieves take the oldest spawns, which are the
// biggest subtrees. See docs/architecture.md, "Fork-join".
// The runtime has one global inject queue (moodycamel::ConcurrentQueue) for tasks
// spawned or woken from outside the workers and for overflow. Every
// kMaintenanceInterval (61, as Go and Tokio) ticks a worker looks at the inject
// queue first, so it cannot starve. Its own run queue needs no such turn: the
// LIFO slot is filled only while the run queue is empty, so the slot's task is
// older than all behind it, and taking the queue first would run a woken task
// ahead of one woken before it (asyncio runs them in order).
//
// Finding work: LIFO slot, wake deque, run queue, inject queue; then, if
// fewer than half of the workers are searching, steal half of a random victim's
// deque; then park (idle.hpp). A worker that holds the driver parks in epoll.
//
// Alternatives measured or rejected:
//   - A LIFO run queue (Cilk): depth-first for fork-join without inline joins,
//     but tasks start newest-first, which surprises asyncio code (seed twins:
//     Semaphore, Lock) and lets a spawner starve the tasks it spawned earlier.
//     With inline joins the FIFO run queue measured the same on W1/W2/W5
//     (bench/RESULTS.md).
//   - Mutex-guarded sleeper list (Tokio): replaced by a bitmap (idle.hpp).
//   - Resuming a woken task inline in the waker: unbounded recursion (cppcoro).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "blocking/blocking_pool.hpp"
#include "scheduler/idle.hpp"
#include "scheduler/inject_queue.hpp"
#include "scheduler/parker.hpp"
#include "scheduler/task_registry.hpp"
#include "sys/thread.hpp"
#include "time/worker_timers.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/detail/chase_lev_deque.hpp"
#include "weft/detail/driver.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/runtime.hpp"

namespace weft::detail {

/// Tasks a worker runs between looks at the inject queue, its yield queue, its
/// inbox and the driver (61: as Go and Tokio; prime, so it does not resonate
/// with workloads that alternate in powers of two).
inline constexpr std::uint32_t kMaintenanceInterval = 61;
/// Consecutive runs of the LIFO slot before the queue behind it gets a turn (3: as Go).
inline constexpr unsigned kMaxLifoStreak = 3;
/// Run queue and wake deque capacity (256: as Tokio; overflow goes to the inject queue).
inline constexpr std::size_t kLocalQueueCapacity = 256;
/// Nesting bound for inline joins: each level costs a few hundred bytes of
/// worker stack (64 levels: far more than any fork-join depth W5 needs).
inline constexpr unsigned kMaxInlineDepth = 64;

class Scheduler;

/// The process-wide table of live runtimes, indexed by Scheduler::id().
/// kMaxRuntimes at once (ids are reused once a runtime is destroyed).
inline constexpr std::size_t kMaxRuntimes = 4096;
std::uint16_t register_runtime(Scheduler* s);
void unregister_runtime(std::uint16_t id) noexcept;

class Worker {
 public:
  Worker(Scheduler& sched, unsigned index);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void join();

  // ---- called on this worker's own thread ----
  void push_lifo(TaskHeader* t) noexcept;  ///< a task this worker woke
  void push_back(TaskHeader* t) noexcept;  ///< spawned or yielded: back of the run queue

  /// Work-first join (as oneTBB's wait does): if `child` waits, not yet
  /// started, in this worker's run queue, claim its entry and run it right
  /// here, inside the awaiting task's co_await, instead of suspending the
  /// awaiter. The claim keeps the spawn order a task's children start in:
  /// it takes the newest entry (as a LIFO join always did), or an older one
  /// only if the awaiting task spawned it in its current step and no task it
  /// spawned before that still waits to start (out_of_order otherwise).
  InlineJoin try_run_inline(TaskHeader* child);
  /// Runs here, oldest first, every task the running task spawned in its
  /// current step that still waits to start in this run queue (TaskGroup's
  /// join: the children start in spawn order, depth-first). Stops early when
  /// the running task has a cancellation pending.
  void run_step_spawns_inline();
  /// Runs a new task's first step nested in the running task's step (an
  /// eager spawn); false past the inline nesting bound (queue it instead).
  bool run_eagerly(TaskHeader* t);
  /// A task the running task spawned: back of the run queue, remembered as
  /// that task's spawn for try_run_inline()'s order rule.
  void push_spawned(TaskHeader* t) noexcept;

  /// While a batch of wake-ups is delivered (timers firing, I/O readiness),
  /// pushes do not each notify a parked worker; end_wake_batch() notifies once.
  void begin_wake_batch() noexcept { batching_ = true; }
  void end_wake_batch() noexcept;

  /// Any thread: unparks this worker if it sleeps, so that it looks at its
  /// inboxes (finished tasks, cancelled timers) now rather than at its next timer.
  void wake_if_parked() noexcept;

  unsigned index() const noexcept { return index_; }
  Parker& parker() noexcept { return parker_; }
  TaskRegistry& registry() noexcept { return registry_; }
  WorkerTimers& timers() noexcept { return timers_; }

  // Live-task accounting for shutdown (written by the owner with release stores).
  detail::Atomic<std::uint64_t> spawned_{0};
  detail::Atomic<std::uint64_t> completed_{0};

  // Metrics (metrics.hpp): owner-written with plain relaxed stores, read by anyone.
  detail::Atomic<std::uint64_t> polls_{0};
  detail::Atomic<std::uint64_t> steals_{0};
  detail::Atomic<std::uint64_t> steal_ops_{0};
  detail::Atomic<std::uint64_t> parks_{0};
  detail::Atomic<std::uint64_t> overflows_{0};
  detail::Atomic<std::uint64_t> inline_joins_{0};
  WorkerMetrics metrics() const noexcept;

 private:
  friend class Scheduler;
  void run();
  TaskHeader* find_work();
  TaskHeader* steal_work();
  TaskHeader* steal_from(Worker& victim) noexcept;
  void run_task(TaskHeader* t);
  /// Runs a task whose queue entry the caller has just claimed, nested in the
  /// running task's step (which it saves and restores).
  void run_claimed(TaskHeader* child);
  void maintenance();
  /// After a push to this worker's LIFO slot or run queue: wake a parked worker
  /// if nobody searches (once per wake batch).
  void notify_after_push() noexcept;
  void poll_timers();
  void park();
  void cancel_registered_tasks();
  std::uint32_t next_random() noexcept;

  Scheduler& sched_;
  const unsigned index_;
  ChaseLevDeque<TaskHeader*> runq_;
  // Spawn order for try_run_inline(), owner-only, per run-queue slot: the task
  // whose step spawned the entry (null for a wake or a yield), and the index
  // of the previous spawn of that step (a chain, newest first; -1 ends it).
  TaskHeader* slot_spawner_[kLocalQueueCapacity] = {};
  std::int64_t slot_prev_spawn_[kLocalQueueCapacity] = {};
  alignas(kCacheLine) detail::Atomic<TaskHeader*> lifo_{nullptr};
  Parker parker_;
  TaskRegistry registry_;
  WorkerTimers timers_;
  std::uint32_t tick_ = 0;
  unsigned lifo_streak_ = 0;
  bool searching_ = false;
  std::uint32_t rng_;
  std::uint32_t seen_cancel_epoch_ = 0;
  unsigned inline_depth_ = 0;
  TaskHeader* step_task_ = nullptr;    ///< the task whose step runs now (null between steps)
  std::int64_t step_last_spawn_ = -1;  ///< its newest spawn in this step, or -1
  bool batching_ = false;
  bool batched_push_ = false;
  Thread thread_;
};

class Scheduler {
 public:
  Scheduler(Runtime* runtime, const RunOptions& options);
  ~Scheduler();

  void start();

  /// A task woken by wake() or requeued by cancel(). Any thread.
  void schedule(TaskHeader* t) noexcept;
  /// A newly spawned task. Any thread. `eager`: from a task on one of this
  /// runtime's workers, its first step runs here and now (Worker::run_eagerly),
  /// never published to thieves first.
  void schedule_new(TaskHeader* t, bool eager = false) noexcept;
  /// A task that finished on this thread's worker (or on no worker at shutdown).
  void on_complete(TaskHeader* t) noexcept;
  /// Wakes one parked worker if nobody is searching. Any thread. Inline: the
  /// common answer (somebody searches, or nobody sleeps) is a fence and a load.
  void notify_parked() noexcept {
    const std::uint32_t s = idle_.read_after_push();
    if (idle_.may_need_wake(s)) [[unlikely]]
      notify_parked_slow(s);
  }

  /// Owner-side transition out of kRunning for a task that suspended (or whose
  /// cancellation was just requested by its new owner, cancel()). See task_header.hpp.
  void release(TaskHeader* t, bool yielded) noexcept;

  void shutdown();
  RuntimeMetrics metrics() const;

  // ---- debug mode (debug.hpp) ----
  bool debug() const noexcept { return options_.debug; }
  void debug_track(TaskHeader* t);    ///< at spawn
  void debug_untrack(TaskHeader* t);  ///< at completion
  std::vector<TaskSnapshot> snapshot() const;
  /// After each run of a debug task: slow-task warning, waiting_on bookkeeping.
  void debug_after_run(TaskHeader* t, std::int64_t ran_ns, bool finished);

  bool accepting() const noexcept { return accepting_.load(std::memory_order_acquire); }

  Runtime* runtime() const noexcept { return runtime_; }
  /// Index in the process-wide runtime table (TaskHeader::runtime_id()).
  std::uint16_t id() const noexcept { return slot_.id; }
  const RunOptions& options() const noexcept { return options_; }
  unsigned num_workers() const noexcept { return static_cast<unsigned>(workers_.size()); }
  Driver& driver() noexcept { return driver_; }
  BlockingPool& blocking_pool() noexcept { return blocking_pool_; }
  /// Steady-clock time at which the runtime started (timer ticks count from here).
  std::int64_t start_ns() const noexcept { return start_ns_; }
  Idle& idle() noexcept { return idle_; }

 private:
  friend class Worker;
  std::uint64_t live_tasks() const noexcept;
  bool has_visible_work() const noexcept;
  void push_inject(TaskHeader* t) noexcept;
  /// notify_parked() once the counters `s` say a sleeper may need waking.
  void notify_parked_slow(std::uint32_t s) noexcept;
  void wait_for_tasks(std::chrono::milliseconds timeout);
  void report_unfinished();
  void destroy_leftovers();

  /// This runtime's slot in the runtime table, released when it is destroyed
  /// (also if a later member's constructor throws).
  struct TableSlot {
    std::uint16_t id;
    explicit TableSlot(Scheduler* s) : id(register_runtime(s)) {}
    ~TableSlot() { unregister_runtime(id); }
  };

  Runtime* const runtime_;
  RunOptions options_;
  const TableSlot slot_;
  const std::int64_t start_ns_;
  Driver driver_;
  BlockingPool blocking_pool_;
  Idle idle_;
  std::vector<std::unique_ptr<Worker>> workers_;
  InjectQueue inject_;
  alignas(kCacheLine) detail::Atomic<std::uint64_t> external_spawns_{0};
  detail::Atomic<std::uint64_t> external_completions_{0};
  detail::Atomic<bool> accepting_{true};
  detail::Atomic<bool> stopping_{false};
  detail::Atomic<bool> shut_down_{false};
  /// Bumped to ask every worker to cancel the tasks it knows of (shutdown).
  detail::Atomic<std::uint32_t> cancel_epoch_{0};
  /// Debug mode only: every live task, for all_tasks() (a mutex is acceptable
  /// here: debug mode trades speed for visibility, and no fast path takes it).
  mutable std::mutex debug_mutex_;
  std::unordered_set<TaskHeader*> debug_tasks_;
};

/// Shutdown's cancellation of a task, at most once per task. Any thread.
void cancel_for_shutdown(TaskHeader* t) noexcept;

/// Debug mode: the runtimes whose tasks SIGUSR1 dumps.
void debug_register(Scheduler* s);
void debug_unregister(Scheduler* s);

/// Adds one to a counter only its owner writes (no read-modify-write needed).
inline void bump(detail::Atomic<std::uint64_t>& c) noexcept {
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

/// Worker of the calling thread if it belongs to `s`, else null.
inline Worker* local_worker(Scheduler* s) noexcept {
  ThreadContext& c = tls_context;
  return c.sched == s ? c.worker : nullptr;
}

}  // namespace weft::detail
