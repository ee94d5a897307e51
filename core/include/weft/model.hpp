// weft::model: the schedule-exploration (model-checking) mode, for tests of
// weft's own concurrent protocols. Available in the model build only
// (CMake -DWEFT_MODEL=ON, preset `model`); docs/architecture.md, "Model
// checking", says what it covers.
//
//   TEST(ModelJoin, CopyAgainstMove) {
//     weft::model::Options o;
//     o.name = "join copy vs move";
//     auto r = weft::model::check(o, [] {
//       weft::Runtime rt(weft::RunOptions{.workers = 2});
//       ...                                  // a tiny scenario, 2-3 threads
//       WEFT_MODEL_ASSERT(value == expected);
//     });
//     EXPECT_TRUE(r.ok) << r.report;
//   }
//
// What happens: check() runs the body many times (executions). In each one,
// every thread of the execution -- the calling thread and every thread weft
// starts (workers, blocking-pool threads) -- runs one at a time. At every
// scheduling point (each operation of detail::Atomic, each fence, futex
// wait/wake, thread start/join, sleep, queue stand-in operation) the model
// scheduler picks the thread that goes next. The pick is decided by a seeded
// strategy:
//   - PCT (probabilistic concurrency testing, Burckhardt et al., ASPLOS 2010):
//     random thread priorities, the highest-priority runnable thread runs,
//     and at d-1 random steps the running thread drops to the lowest
//     priority. A bug that needs d ordering constraints is found with
//     probability at least 1/(n k^(d-1)) per execution (n threads, k steps).
//   - random walk: at each point, switch to a random runnable thread with a
//     probability chosen per execution (1/2 down to 1/64);
//   - spurious futex wake-ups (a futex_wait that returns at once) now and then.
// Time is virtual: the model clock stands still while any thread can run, and
// jumps to the earliest deadline (a timed futex wait, a sleep) only when every
// thread is blocked. If every thread is blocked and none has a deadline, that
// is a lost wake-up or a deadlock: the model prints the failure and exits the
// process (the blocked threads cannot be unwound). The same happens when an
// execution exceeds max_steps (a livelock), or crashes (SIGSEGV, an ASan
// report: the model build runs under ASan+UBSan).
//
//   - exhaustive (Options::preemption_bound > 0, for tiny tests): every
//     schedule with at most b preemptions, by depth-first search over the
//     choices (iterative context bounding, Musuvathi and Qadeer, PLDI 2007).
// Replay: every failure prints the seed, the strategy, the thread switches of
// the whole execution and the last scheduling points with their source lines.
// (an exhaustive search prints its picks instead:
// WEFT_MODEL_SCHEDULE=<bound>:<p,p,...> runs that schedule again);
// WEFT_MODEL_SEED=<seed> runs exactly that execution again (the same schedule:
// executions are deterministic given the seed), WEFT_MODEL_TRACE=1 prints the
// schedule of every execution, WEFT_MODEL_SCALE=<x> scales the number of
// executions (CI uses the default).
//
// Limits: sequentially consistent interleavings only (no weak-memory
// reordering: the memory orders in weft rest on the argument written beside
// each of them, and on TSan). Data races on plain memory are not detected
// (that is TSan's job), but their consequences are (a corrupted value, a use
// after free under ASan). Code outside core/ and sync/ (io/, moodycamel,
// oneTBB) is not explored: the model build uses stand-ins for the queues.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace weft::model {

struct Options {
  /// Shown in reports; also seeds the exploration (two tests with the same
  /// name explore the same schedules).
  const char* name = "model";
  /// Executions to explore (times WEFT_MODEL_SCALE).
  std::uint64_t executions = 2000;
  /// Exploration stops after this many seconds even if executions remain
  /// (the result says how many ran). Guards CI time, not correctness.
  double budget_seconds = 120;
  /// PCT depth d: the number of ordering constraints a bug may need.
  unsigned pct_depth = 3;
  /// An execution with more scheduling points than this is a livelock.
  std::uint64_t max_steps = 500'000;
  /// > 0: instead of PCT and random walks, explore *every* schedule with at
  /// most this many preemptions (a preemption: switching away from a thread
  /// that could have gone on; switches at blocking points are free), up to
  /// `executions` schedules. For tiny protocol tests (2-3 threads, a few
  /// dozen scheduling points): bugs that need several preemptions in windows
  /// of a few instructions are found for certain, not by luck.
  unsigned preemption_bound = 0;
  /// Scheduling points after each atomic operation too (not only before).
  /// They separate the plain code between two atomic operations from either
  /// one; a test whose threads share no plain memory (a protocol driven
  /// through atomics only) may turn them off: it then explores the same
  /// interleavings of its atomic operations with half the points.
  bool after_points = true;
};

struct Result {
  bool ok = true;
  std::uint64_t executions = 0;      ///< how many ran
  std::uint64_t failing_seed = 0;    ///< when !ok
  std::uint64_t max_steps_seen = 0;  ///< longest execution, in scheduling points
  bool complete = false;             ///< exhaustive search: every schedule was explored
  std::string report;                ///< the failure report (seed, schedule), or a summary
};

/// Explores `body` under the model scheduler (see above). Not reentrant; call
/// it from a plain thread (a test's main thread), not from a weft task.
Result check(const Options& options, const std::function<void()>& body);

/// Inside an execution: records a failed invariant. The execution runs on to
/// its end, then check() stops and returns the report.
void fail(const char* what, const char* file, unsigned line);

/// True when the calling thread is part of a model execution.
bool active() noexcept;

/// Inside an execution: a scheduling point at which another runnable thread,
/// if there is one, runs next (for a test's spin loop, which would otherwise
/// starve the thread it waits for under PCT).
void yield_point(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) noexcept;

}  // namespace weft::model

#define WEFT_MODEL_ASSERT(cond)                                  \
  do {                                                           \
    if (!(cond)) ::weft::model::fail(#cond, __FILE__, __LINE__); \
  } while (0)
