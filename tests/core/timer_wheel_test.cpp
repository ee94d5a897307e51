// TimerWheel on its own (no runtime): levels, cascades, boundaries, far
// deadlines, removal, and a randomized comparison against a sorted reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "time/timer_wheel.hpp"

namespace {

using weft::detail::TimerEntry;
using weft::detail::TimerWheel;

struct Fixture {
  TimerWheel wheel;
  std::vector<std::unique_ptr<TimerEntry>> entries;
  std::vector<std::pair<TimerEntry*, std::uint64_t>> fired;  // entry, wheel time when fired

  TimerEntry* add(std::uint64_t deadline) {
    entries.push_back(std::make_unique<TimerEntry>());
    TimerEntry* e = entries.back().get();
    e->deadline_ms = deadline;
    EXPECT_TRUE(wheel.insert(e)) << "deadline " << deadline;
    return e;
  }
  void advance(std::uint64_t now) {
    wheel.poll(now, [&](TimerEntry* e) {
      if (e->state.load() == TimerEntry::kPending) {
        e->state.store(TimerEntry::kFired);
        fired.push_back({e, wheel.elapsed()});
      }
    });
  }
};

TEST(TimerWheel, FiresAtEveryLevelNeverEarly) {
  Fixture f;
  std::vector<std::uint64_t> deadlines = {
      1,        63,         64,         65,           4095,
      4096,     4097,       262143,     262144,       16777215,
      16777216, 1073741823, 1073741824, (1ull << 32), (1ull << 36) - 1};
  for (auto d : deadlines)
    f.add(d);
  for (auto d : deadlines) {
    f.advance(d - 1);
    for (auto& [e, at] : f.fired)
      EXPECT_LT(e->deadline_ms, d) << "fired early";
    f.advance(d);
    ASSERT_FALSE(f.fired.empty());
    EXPECT_EQ(f.fired.back().first->deadline_ms, d);
    EXPECT_EQ(f.fired.back().second, d) << "fired at the wrong tick";
  }
  EXPECT_EQ(f.fired.size(), deadlines.size());
  EXPECT_TRUE(f.wheel.empty());
}

TEST(TimerWheel, PastDeadlineIsRefused) {
  Fixture f;
  f.advance(100);
  TimerEntry e;
  e.deadline_ms = 100;
  EXPECT_FALSE(f.wheel.insert(&e));
  e.deadline_ms = 5;
  EXPECT_FALSE(f.wheel.insert(&e));
}

TEST(TimerWheel, JumpFiresEverythingInOrderOfSlots) {
  Fixture f;
  for (std::uint64_t d = 1; d <= 100000; d += 7)
    f.add(d);
  f.advance(100000);
  EXPECT_EQ(f.fired.size(), f.entries.size());
  for (auto& [e, at] : f.fired)
    EXPECT_LE(e->deadline_ms, at);
  // Slot order means deadlines come out non-decreasing across slots.
  for (std::size_t i = 1; i < f.fired.size(); ++i)
    EXPECT_LE(f.fired[i - 1].first->deadline_ms, f.fired[i].first->deadline_ms);
}

// The header's FIFO claim: entries due in the same tick fire in the order they
// were armed, also when the earlier ones were armed at a higher level and
// cascaded down while later ones went straight into lower levels.
TEST(TimerWheel, SameTickFiresInArmOrderAcrossCascades) {
  for (std::uint64_t deadline :
       {std::uint64_t{70}, std::uint64_t{5000}, std::uint64_t{300000}, std::uint64_t{20000000}}) {
    Fixture f;
    std::vector<TimerEntry*> armed;
    // Arm times from far (a high level) to the tick before the deadline (level 0).
    std::vector<std::uint64_t> times = {
        0, deadline / 3, deadline / 2, deadline - 64, deadline - 63, deadline - 10, deadline - 1};
    std::sort(times.begin(), times.end());
    for (std::uint64_t at : times) {
      f.advance(at);
      armed.push_back(f.add(deadline));
      armed.push_back(f.add(deadline));  // two per arm time: order within a slot too
    }
    f.advance(deadline);
    ASSERT_EQ(f.fired.size(), armed.size()) << "deadline " << deadline;
    for (std::size_t i = 0; i < armed.size(); ++i) {
      EXPECT_EQ(f.fired[i].first, armed[i]) << "deadline " << deadline << ", entry " << i;
      EXPECT_EQ(f.fired[i].second, deadline);
    }
  }
}

TEST(TimerWheel, RemoveIsImmediate) {
  Fixture f;
  TimerEntry* a = f.add(10);
  TimerEntry* b = f.add(10);
  TimerEntry* c = f.add(5000);
  f.wheel.remove(a);
  f.wheel.remove(c);
  EXPECT_EQ(f.wheel.size(), 1u);
  f.advance(10000);
  ASSERT_EQ(f.fired.size(), 1u);
  EXPECT_EQ(f.fired[0].first, b);
}

TEST(TimerWheel, BeyondTheSpanWaitsAndFiresExactly) {
  Fixture f;
  std::uint64_t far = TimerWheel::kSpan * 3 + 12345;
  f.add(far);
  f.add(TimerWheel::kSpan + 1);
  f.advance(TimerWheel::kSpan);
  EXPECT_TRUE(f.fired.empty());
  f.advance(TimerWheel::kSpan + 1);
  ASSERT_EQ(f.fired.size(), 1u);
  f.advance(far - 1);
  EXPECT_EQ(f.fired.size(), 1u);
  f.advance(far);
  ASSERT_EQ(f.fired.size(), 2u);
  EXPECT_EQ(f.fired[1].second, far);
}

TEST(TimerWheel, CrossingATopLevelBoundary) {
  Fixture f;
  f.advance(TimerWheel::kSpan - 3);
  f.add(TimerWheel::kSpan + 5);
  f.advance(TimerWheel::kSpan + 4);
  EXPECT_TRUE(f.fired.empty());
  f.advance(TimerWheel::kSpan + 5);
  EXPECT_EQ(f.fired.size(), 1u);
}

TEST(TimerWheel, NextExpirationIsNeverLate) {
  Fixture f;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i)
    f.add(1 + rng() % 5'000'000);
  std::uint64_t now = 0;
  while (!f.wheel.empty()) {
    auto exp = f.wheel.next_expiration();
    ASSERT_TRUE(exp);
    // No pending entry may be due before the next expiration.
    for (auto& e : f.entries) {
      if (e->state.load() == TimerEntry::kPending) {
        ASSERT_GE(e->deadline_ms, exp->deadline);
      }
    }
    now = exp->deadline;
    f.advance(now);
  }
  EXPECT_EQ(f.fired.size(), 2000u);
}

TEST(TimerWheel, RandomizedAgainstReference) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    Fixture f;
    std::multimap<std::uint64_t, TimerEntry*> reference;
    std::uint64_t now = 0;
    for (int step = 0; step < 3000; ++step) {
      int op = static_cast<int>(rng() % 10);
      if (op < 6) {
        std::uint64_t span = (rng() % 4 == 0) ? (1ull << (rng() % 40)) : 1 + rng() % 5000;
        TimerEntry* e = f.add(now + 1 + span);
        reference.emplace(e->deadline_ms, e);
      } else if (op < 8 && !reference.empty()) {
        auto it = reference.begin();
        std::advance(it, static_cast<long>(rng() % reference.size()));
        f.wheel.remove(it->second);
        reference.erase(it);
      } else {
        now += rng() % 3000;
        std::size_t before = f.fired.size();
        f.advance(now);
        std::size_t expected = 0;
        for (auto it = reference.begin(); it != reference.end() && it->first <= now;) {
          it = reference.erase(it);
          ++expected;
        }
        ASSERT_EQ(f.fired.size() - before, expected) << "round " << round << " step " << step;
      }
    }
  }
}

TEST(TimerWheel, HugeCounts) {
  Fixture f;
  const int n = 1'000'000;
  f.entries.reserve(n);
  for (int i = 0; i < n; ++i)
    f.add(1 + static_cast<std::uint64_t>(i % 100000));
  f.advance(100000);
  EXPECT_EQ(f.fired.size(), static_cast<std::size_t>(n));
}

}  // namespace
