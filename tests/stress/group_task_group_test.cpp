// TaskGroup under load: rounds of 10,000 children on 4 workers with random
// failures (also during cleanup and inside nested groups), random
// cancellations of siblings, children spawning siblings, and random outside
// cancellation of the group's task. Checked exactly, every round:
//  - the group ends only after every child's body (nested ones too) has ended;
//  - every exception thrown anywhere (child, cleanup, nested group) appears
//    exactly once among the ExceptionGroup's leaves, and nothing else does;
//  - a failure means a group; no failure, no group; no outside cancellation,
//    no CancelledError;
//  - the group's own cancellation of its task is withdrawn (cancelling() is 0
//    when nobody else cancelled the task).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct ChildError : std::runtime_error {
  explicit ChildError(int child)
      : std::runtime_error("child " + std::to_string(child)), id(child) {}
  int id;
};

constexpr int kChildren = 10'000;
constexpr int kCapacity = 3 * kChildren;  // room for siblings spawned by children

struct Round {
  Round(std::uint32_t s, std::uint32_t fail_per_100k)
      : seed(s), fail_rate(fail_per_100k), threw(kCapacity) {}
  std::uint32_t seed;
  std::uint32_t fail_rate;  ///< failures per 100,000 children (some rounds have none)
  std::atomic<int> alive{0};
  std::atomic<int> next_id{kChildren};
  std::vector<std::atomic<std::uint8_t>> threw;
  std::vector<weft::JoinHandle<void>> handles;  // written before the child that reads them starts
  weft::TaskGroup* group = nullptr;
  std::atomic<bool> spawning_refused{false};
};

struct Alive {
  Round* r;
  explicit Alive(Round* round) : r(round) { r->alive.fetch_add(1, std::memory_order_relaxed); }
  ~Alive() { r->alive.fetch_sub(1, std::memory_order_acq_rel); }
};

std::uint32_t mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

[[noreturn]] void fail(Round* r, int id) {
  r->threw[static_cast<std::size_t>(id)].store(1, std::memory_order_relaxed);
  throw ChildError(id);
}

weft::Task<void> child(Round* r, int id);

weft::Task<void> grandchild_in_inner_group(Round* r, int id) {
  Alive a(r);
  co_await weft::yield();
  if (r->fail_rate && mix(r->seed ^ static_cast<std::uint32_t>(id) * 7919u) % 3 == 0) fail(r, id);
}

weft::Task<void> child(Round* r, int id) {
  Alive a(r);
  std::uint32_t x = mix(r->seed ^ (static_cast<std::uint32_t>(id) * 2654435761u));
  try {
    int steps = static_cast<int>(x % 4);
    for (int i = 0; i < steps; ++i) {
      if ((x >> 4) % 2)
        co_await weft::yield();
      else
        co_await weft::sleep(std::chrono::microseconds((x >> 5) % 500));
    }
    if (mix(x) % 100'000 < r->fail_rate) fail(r, id);  // a failure
    std::uint32_t action = (x >> 8) % 10'000;
    if (action < 100 && id > 0 && id < kChildren) {  // ~1%: cancel an earlier sibling
      std::size_t victim = static_cast<std::size_t>((x >> 12) % static_cast<std::uint32_t>(id));
      r->handles[victim].cancel();
    } else if (action < 200) {  // ~1%: spawn a sibling into the group
      int sib = r->next_id.fetch_add(1);
      if (sib < kCapacity) {
        try {
          r->group->spawn(child(r, sib));
        } catch (const weft::InvalidStateError&) {
          r->spawning_refused = true;  // the group is aborting: refused, as asyncio does
        }
      }
    } else if (action < 230) {  // 0.3%: a nested group of three
      auto body = [r](weft::TaskGroup& tg) -> weft::Task<void> {
        for (int i = 0; i < 3; ++i) {
          int g = r->next_id.fetch_add(1);
          if (g >= kCapacity) break;
          try {
            tg.spawn(grandchild_in_inner_group(r, g));
          } catch (const weft::InvalidStateError&) {
            break;  // a grandchild failed already: the inner group is shutting down
          }
        }
        co_await weft::yield();
      };
      co_await weft::task_group(body);
    } else if (action < 1000) {
      co_await weft::sleep(1ms);
    }
  } catch (const weft::CancelledError&) {
    if (r->fail_rate && x % 50 == 0) fail(r, id);  // 2% of the cancelled: fail in cleanup
    throw;
  }
}

enum class Ending { normal, cancelled, group };

weft::Task<Ending> run_round(Round* r, bool outside_cancel) {
  Ending ending = Ending::normal;
  auto body = [r](weft::TaskGroup& tg) -> weft::Task<void> {
    r->group = &tg;
    r->handles.resize(kChildren);
    for (int i = 0; i < kChildren; ++i) {
      try {
        r->handles[static_cast<std::size_t>(i)] = tg.spawn(child(r, i));
      } catch (const weft::InvalidStateError&) {
        r->spawning_refused = true;
        break;  // aborting
      }
      if (i % 256 == 255) co_await weft::yield();  // let others spawn and fail meanwhile
    }
    co_await weft::sleep(std::chrono::microseconds(mix(r->seed) % 2000));
  };
  std::exception_ptr group_error;
  try {
    co_await weft::task_group(body);
  } catch (const weft::CancelledError&) {
    ending = Ending::cancelled;
  } catch (const weft::ExceptionGroup&) {
    ending = Ending::group;
    group_error = std::current_exception();
  }
  // The group ended only after every child (and nested child) had ended.
  EXPECT_EQ(r->alive.load(std::memory_order_acquire), 0);
  // The group withdrew the cancellation it made itself.
  if (!outside_cancel) {
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
  }
  std::vector<int> seen(kCapacity, 0);
  if (group_error) {
    try {
      std::rethrow_exception(group_error);
    } catch (const weft::ExceptionGroup& eg) {
      for (const auto& leaf : eg.leaves()) {
        try {
          std::rethrow_exception(leaf);
        } catch (const ChildError& e) {
          seen[static_cast<std::size_t>(e.id)]++;
        } catch (...) {
          ADD_FAILURE() << "unexpected leaf " << weft::exception_repr(leaf);
        }
      }
    }
  }
  int thrown = 0;
  for (int i = 0; i < kCapacity; ++i) {
    int t = r->threw[static_cast<std::size_t>(i)].load(std::memory_order_relaxed);
    thrown += t;
    if (seen[static_cast<std::size_t>(i)] != t)
      ADD_FAILURE() << "child " << i << " threw " << t << " time(s), collected "
                    << seen[static_cast<std::size_t>(i)];
  }
  if (thrown > 0) {
    EXPECT_EQ(ending, Ending::group);
  }
  if (thrown == 0) {
    EXPECT_NE(ending, Ending::group);
  }
  co_return ending;
}

TEST(GroupStress, TenThousandChildrenWithRandomFailuresAndCancellations) {
  weft::test::Watchdog dog(1200s);
  weft::Runtime rt({.workers = 4});
  long rounds = weft::test::stress_iterations(32);
  int endings[3] = {0, 0, 0};
  for (long round = 0; round < rounds; ++round) {
    // Failure rates per 100,000: none, rare (about one per round), frequent.
    static constexpr std::uint32_t kRates[] = {0, 10, 0, 200};
    auto r = std::make_unique<Round>(mix(static_cast<std::uint32_t>(round) + 1), kRates[round % 4]);
    bool cancel_from_outside = round % 3 == 1;
    weft::JoinHandle<Ending> h = rt.spawn(run_round(r.get(), cancel_from_outside));
    if (cancel_from_outside) {
      // From a plain thread, at a random moment of the round.
      std::this_thread::sleep_for(std::chrono::microseconds(mix(r->seed) % 3000));
      h.cancel();
    }
    auto wait = [](weft::JoinHandle<Ending> h) -> weft::Task<int> {
      try {
        co_return static_cast<int>(co_await h);
      } catch (const weft::CancelledError&) {
        co_return static_cast<int>(Ending::cancelled);  // cancelled after the group ended
      }
    };
    int e = rt.block_on(wait(h));
    endings[e]++;
    if (!cancel_from_outside) {
      EXPECT_NE(e, static_cast<int>(Ending::cancelled));
    }
  }
  std::printf("[stress] endings: %d normal, %d cancelled, %d with a group\n", endings[0],
              endings[1], endings[2]);
  weft::test::report_iterations("GroupStress.TenThousandChildren (rounds of 10,000)", rounds);
}

}  // namespace
