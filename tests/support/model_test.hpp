// GoogleTest glue for model tests (tests/model/): run a scenario under the
// model scheduler and fail the test with the replayable seed.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>

#include "weft/model.hpp"

namespace weft_test {

/// Runs `body` under the model (weft::model::check) for `executions`
/// schedules and fails the calling test if any failed. check() itself prints
/// the full report (seed, schedule, last scheduling points) on stderr.
template <class F>
void expect_model_ok(const char* name, std::uint64_t executions, F&& body,
                     unsigned pct_depth = 3) {
  weft::model::Options o;
  o.name = name;
  o.executions = executions;
  o.pct_depth = pct_depth;
  weft::model::Result r = weft::model::check(o, body);
  char seed[40];
  std::snprintf(seed, sizeof seed, "0x%016llx", static_cast<unsigned long long>(r.failing_seed));
  EXPECT_TRUE(r.ok) << "model '" << name << "' failed after " << r.executions
                    << " executions; replay with WEFT_MODEL_SEED=" << seed
                    << " (full report above)";
}

}  // namespace weft_test
