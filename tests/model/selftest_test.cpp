// The model scheduler itself: it must find a known interleaving bug, report a
// lost wake-up instead of hanging, replay a seed exactly, and advance virtual
// time only when every thread waits.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sys/clock.hpp"
#include "sys/futex.hpp"
#include "sys/thread.hpp"
#include "weft/detail/atomic.hpp"
#include "weft/model.hpp"

namespace {

using weft::detail::Atomic;
using weft::detail::Thread;

// Two threads increment with load + store: the model must find the lost update.
void lost_update() {
  Atomic<int> counter{0};
  auto inc = [&] {
    int v = counter.load(std::memory_order_relaxed);
    counter.store(v + 1, std::memory_order_relaxed);
  };
  Thread a(inc, "a");
  Thread b(inc, "b");
  a.join();
  b.join();
  WEFT_MODEL_ASSERT(counter.load() == 2);
}

TEST(ModelSelfTest, FindsALostUpdate) {
  weft::model::Options o;
  o.name = "selftest lost update";
  o.executions = 500;
  auto r = weft::model::check(o, lost_update);
  EXPECT_FALSE(r.ok) << "500 schedules of a two-step race and no failure found";
  EXPECT_NE(r.report.find("counter.load() == 2"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("WEFT_MODEL_SEED="), std::string::npos) << r.report;
}

TEST(ModelSelfTest, ACorrectProtocolPasses) {
  weft::model::Options o;
  o.name = "selftest fetch_add";
  o.executions = 500;
  auto r = weft::model::check(o, [] {
    Atomic<int> counter{0};
    auto inc = [&] { counter.fetch_add(1, std::memory_order_relaxed); };
    Thread a(inc, "a");
    Thread b(inc, "b");
    a.join();
    b.join();
    WEFT_MODEL_ASSERT(counter.load() == 2);
  });
  EXPECT_TRUE(r.ok) << r.report;
  EXPECT_EQ(r.executions, 500u);
}

TEST(ModelSelfTest, ReplayingASeedRepeatsTheSchedule) {
  weft::model::Options o;
  o.name = "selftest lost update";
  o.executions = 500;
  auto first = weft::model::check(o, lost_update);
  ASSERT_FALSE(first.ok);
  char seed[32];
  std::snprintf(seed, sizeof seed, "0x%llx", static_cast<unsigned long long>(first.failing_seed));
  setenv("WEFT_MODEL_SEED", seed, 1);
  auto again = weft::model::check(o, lost_update);
  unsetenv("WEFT_MODEL_SEED");
  EXPECT_FALSE(again.ok);
  EXPECT_EQ(again.executions, 1u);
  // The same schedule, step for step (the report's schedule line is the same).
  auto schedule = [](const std::string& r) {
    std::size_t at = r.find("schedule (");
    return r.substr(at, r.find('\n', at) - at);
  };
  EXPECT_EQ(schedule(first.report), schedule(again.report));
}

TEST(ModelSelfTest, ExhaustiveSearchFindsTheLostUpdateAndCoversTheFixedOne) {
  weft::model::Options o;
  o.name = "selftest exhaustive";
  o.preemption_bound = 1;
  o.executions = 10000;
  auto bad = weft::model::check(o, lost_update);
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.report.find("WEFT_MODEL_SCHEDULE=1:"), std::string::npos) << bad.report;
  auto good = weft::model::check(o, [] {
    Atomic<int> counter{0};
    Thread a([&] { counter.fetch_add(1); }, "a");
    Thread b([&] { counter.fetch_add(1); }, "b");
    a.join();
    b.join();
    WEFT_MODEL_ASSERT(counter.load() == 2);
  });
  EXPECT_TRUE(good.ok) << good.report;
  EXPECT_TRUE(good.complete);
  EXPECT_GT(good.executions, 5u);  // every placement of the one preemption
}

// A futex waiter whose waker forgets to wake: every thread blocks with no
// deadline. The model reports it (and exits: blocked threads cannot be unwound).
TEST(ModelSelfTestDeathTest, ALostWakeUpIsReportedNotHung) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        weft::model::Options o;
        o.name = "selftest lost wake-up";
        o.executions = 50;
        weft::model::check(o, [] {
          Atomic<std::uint32_t> flag{0};
          Thread t([&] { flag.store(1); /* no futex_wake */ }, "waker");
          while (flag.load() == 0)
            weft::detail::futex_wait(&flag, 0, -1);
          t.join();
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(3), "DEADLOCK");
}

TEST(ModelSelfTest, TimeAdvancesOnlyWhenEveryThreadWaits) {
  weft::model::Options o;
  o.name = "selftest virtual time";
  o.executions = 200;
  auto r = weft::model::check(o, [] {
    const std::int64_t start = weft::detail::monotonic_ns();
    Atomic<std::uint32_t> word{0};
    Thread sleeper([&] { weft::detail::sleep_ns(5'000'000'000); }, "sleeper");
    // A timed wait nobody wakes: it ends by timeout, after 1 s of virtual time.
    weft::detail::futex_wait(&word, 0, 1'000'000'000);
    sleeper.join();
    const std::int64_t spent = weft::detail::monotonic_ns() - start;
    WEFT_MODEL_ASSERT(spent >= 5'000'000'000);
    WEFT_MODEL_ASSERT(spent < 6'000'000'000);
  });
  EXPECT_TRUE(r.ok) << r.report;
}

}  // namespace
