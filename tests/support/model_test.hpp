// GoogleTest glue for model tests (tests/model/): run a scenario under the
// model scheduler and fail the test with the replayable seed.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "weft/model.hpp"

namespace weft_test {

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
    EXPECT_TRUE(r.complete) << "model '" << options.name << "': the exhaustive search stopped after "
                            << r.executions << " schedules without covering them all";
  }
}

/// PCT and random walks: `executions` schedules, PCT depth up to `pct_depth`.
template <class F>
void expect_model_ok(const char* name, std::uint64_t executions, F&& body,
                     unsigned pct_depth = 3) {
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
