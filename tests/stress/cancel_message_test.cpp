// Cancel-message stress: chains of tasks awaiting each other (top awaits mid
// awaits leaf, by join or by gather) while plain threads cancel random tasks
// of the round with distinct messages at random moments; a final sweep cancels
// whatever is left. Checks, per task: it ended cancelled, its CancelledError
// carries a message that was sent to a task of its own chain (a message is
// forwarded down a chain and rethrown up it, never invented, never empty), and
// a leaf that ran saw exactly the message its awaiters see. Counts balance: as
// many leaves saw a CancelledError as started, every task ended cancelled, and
// each task's cancelling() counts at least the requests made to it directly.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace weft::detail {
void block_until_complete(TaskHeader* task);  // runtime.cpp
}

namespace {

constexpr int kLevels = 3;  // top, mid, leaf

struct Round {
  weft::Event never;
  std::atomic<long> leaves_started{0};
  std::atomic<long> leaves_saw{0};
};

weft::Task<void> leaf(Round* r, std::string* saw, std::uint64_t seed) {
  r->leaves_started.fetch_add(1);
  std::mt19937_64 rng(seed);
  try {
    for (int i = static_cast<int>(rng() % 3); i > 0; --i)
      co_await weft::yield();
    co_await r->never.wait();
  } catch (const weft::CancelledError& c) {
    *saw = c.what();  // read by the test after the task is done
    r->leaves_saw.fetch_add(1);
    throw;
  }
}

weft::Task<void> mid(weft::JoinHandle<void> child, bool by_gather) {
  if (by_gather)
    co_await weft::gather(child);
  else
    co_await child;
}

weft::Task<void> top(weft::JoinHandle<void> child) {
  co_await weft::yield();
  co_await child;
}

std::string final_message(const weft::JoinHandle<void>& h) {
  try {
    (void)h.exception();
  } catch (const weft::CancelledError& c) {
    return c.what();
  }
  return "<not cancelled>";
}

struct Sent {
  int task;  ///< index into the round's handles
  std::string message;
  bool accepted;
};

TEST(CancelMessageStress, DistinctMessagesFromManyThreadsBalance) {
  weft::test::Watchdog dog(300s);
  const long rounds = weft::test::stress_iterations(300);
  constexpr int kChains = 150;
  constexpr int kThreads = 3;
  constexpr int kCancelsPerThread = 120;
  weft::Runtime rt({.workers = 4});
  long total_cancels = 0, delivered = 0;
  for (long round = 0; round < rounds; ++round) {
    Round r;
    std::vector<std::string> leaf_saw(kChains);
    // handles[chain * kLevels + level]: 0 top, 1 mid, 2 leaf.
    std::vector<weft::JoinHandle<void>> handles(kChains * kLevels);
    for (int i = 0; i < kChains; ++i) {
      auto l = rt.spawn(leaf(&r, &leaf_saw[i], static_cast<std::uint64_t>(round * kChains + i)));
      auto m = rt.spawn(mid(l, i % 2 == 0));
      auto t = rt.spawn(top(m));
      handles[i * kLevels + 0] = t;
      handles[i * kLevels + 1] = m;
      handles[i * kLevels + 2] = l;
    }
    std::vector<std::vector<Sent>> sent(kThreads + 1);
    std::vector<std::thread> cancellers;
    for (int k = 0; k < kThreads; ++k) {
      cancellers.emplace_back([&, k] {
        std::mt19937 rng(static_cast<unsigned>(round * 131 + k));
        for (int j = 0; j < kCancelsPerThread; ++j) {
          int target = static_cast<int>(rng() % handles.size());
          std::string msg =
              "r" + std::to_string(round) + "-t" + std::to_string(k) + "-" + std::to_string(j);
          bool accepted = handles[target].cancel(msg);
          sent[k].push_back({target, std::move(msg), accepted});
          for (unsigned spin = rng() % 200; spin > 0; --spin)
            std::atomic_signal_fence(std::memory_order_seq_cst);
        }
      });
    }
    for (auto& t : cancellers)
      t.join();
    // The sweep: whatever is still running gets a request of its own.
    for (int i = 0; i < static_cast<int>(handles.size()); ++i) {
      std::string msg = "r" + std::to_string(round) + "-sweep-" + std::to_string(i);
      bool accepted = handles[i].cancel(msg);
      sent[kThreads].push_back({i, std::move(msg), accepted});
    }
    for (auto& h : handles)
      weft::detail::block_until_complete(h.header());

    std::vector<std::set<std::string>> chain_sent(kChains);
    std::vector<long> direct_accepted(handles.size(), 0);
    for (auto& v : sent)
      for (auto& s : v) {
        chain_sent[s.task / kLevels].insert(s.message);
        if (s.accepted) ++direct_accepted[s.task];
        ++total_cancels;
      }
    for (int i = 0; i < static_cast<int>(handles.size()); ++i) {
      const auto& h = handles[i];
      ASSERT_TRUE(h.cancelled()) << "task " << i;
      std::string m = final_message(h);
      EXPECT_EQ(chain_sent[i / kLevels].count(m), 1u) << "task " << i << " got '" << m << "'";
      EXPECT_GE(static_cast<long>(h.cancelling()), direct_accepted[i]) << "task " << i;
      if (i % kLevels == 2 && !leaf_saw[i / kLevels].empty()) {
        EXPECT_EQ(leaf_saw[i / kLevels], m) << "leaf " << i;
        ++delivered;
      }
    }
    EXPECT_EQ(r.leaves_saw.load(), r.leaves_started.load());
    long recorded = 0;
    for (auto& s : leaf_saw)
      recorded += !s.empty();
    EXPECT_EQ(recorded, r.leaves_saw.load());
  }
  std::printf("[stress] cancels sent %ld, messages seen by leaves %ld\n", total_cancels, delivered);
  weft::test::report_iterations("DistinctMessagesFromManyThreadsBalance", rounds);
}

}  // namespace
