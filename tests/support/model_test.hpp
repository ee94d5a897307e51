// GoogleTest glue for model tests (tests/model/): run a scenario under the
// model scheduler and fail the test with the replayable seed.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "weft/model.hpp"
#include "weft/weft.hpp"

namespace weft::detail {
void block_until_complete(TaskHeader* task);  // scheduler/runtime.cpp
}

namespace weft_test {

/// The spawned task has run and is suspended right now (a task is queued,
/// kScheduled, until it first runs).
template <class T>
bool suspended(const weft::JoinHandle<T>& h) {
  using weft::detail::TaskHeader;
  std::uint32_t s = h.header()->state_.load();
  return !(s & (TaskHeader::kRunning | TaskHeader::kScheduled | TaskHeader::kNotified |
                TaskHeader::kComplete));
}

/// Spins (yielding to the model scheduler) until the task is suspended or done.
template <class T>
void wait_until_suspended(const weft::JoinHandle<T>& h) {
  while (!suspended(h) && !h.done())
    weft::model::yield_point();
}

/// A plain thread's wait for a task's end (no spawn, no extra notification).
template <class T>
void wait_done(const weft::JoinHandle<T>& h) {
  weft::detail::block_until_complete(h.header());
}

/// Runs `body` under the model (weft::model::check) and fails the calling
/// test if an execution failed; check() prints the full report (seed or
/// schedule, thread switches, last scheduling points) on stderr. An
/// exhaustive search (options.preemption_bound > 0) must also complete.
template <class F>
void expect_model_ok(const weft::model::Options& options, F&& body) {
  weft::model::Result r = weft::model::check(options, body);
  char seed[40];
  std::snprintf(seed, sizeof seed, "0x%016llx", static_cast<unsigned long long>(r.failing_seed));
  EXPECT_TRUE(r.ok) << "model '" << options.name << "' failed after " << r.executions
                    << " executions (seed " << seed << "; full report above)";
  if (options.preemption_bound > 0 && r.ok) {
    EXPECT_TRUE(r.complete) << "model '" << options.name
                            << "': the exhaustive search stopped after " << r.executions
                            << " schedules without covering them all";
  }
}

/// PCT and random walks: `executions` schedules, PCT depth up to `pct_depth`.
template <class F>
void expect_model_ok(const char* name, std::uint64_t executions, F&& body, unsigned pct_depth = 3) {
  weft::model::Options o;
  o.name = name;
  o.executions = executions;
  o.pct_depth = pct_depth;
  expect_model_ok(o, std::forward<F>(body));
}

/// Every schedule with at most `bound` preemptions (at most `cap` of them).
/// `after_points`: see weft::model::Options.
template <class F>
void expect_exhaustive_ok(const char* name, unsigned bound, std::uint64_t cap, F&& body,
                          bool after_points = true) {
  weft::model::Options o;
  o.after_points = after_points;
  o.name = name;
  o.executions = cap;
  o.preemption_bound = bound;
  o.budget_seconds = 1e9;  // completeness is the point: no time cut
  expect_model_ok(o, std::forward<F>(body));
}

}  // namespace weft_test
