// Stress (white box): the unbounded queue's storage (BlockStorage: blocks of
// slots, a CAS per push or pop, each block freed by the pops of its slots)
// driven by plain threads exactly as the queue front-end drives it: a pop only
// with a published item reserved. Blocks of 2 and 3 slots put a block boundary
// at every other item, so pushes keep meeting the link of the next block and
// pops the freeing walk; 63 (the queue's) keeps many blocks alive at once.
// Checks: every item popped exactly once, per producer in FIFO order for each
// consumer; ASan and LeakSanitizer (the asan build) a block freed too early or
// never. (tests/model/sync_block_storage_test.cpp explores the same under the
// model.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/detail/block_storage.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

template <std::uint32_t B>
void run(int producers, int consumers, std::uint64_t per_producer) {
  weft::detail::BlockStorage<std::uint64_t, B> blocks;
  std::atomic<std::uint64_t> avail{0};  // published items
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  std::vector<std::atomic<int>> seen(total);
  std::atomic<std::uint64_t> popped{0};
  std::atomic<long> order_violations{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        blocks.push(static_cast<std::uint64_t>(p) * per_producer + i);
        // release: as QueueCore::publish.
        avail.fetch_add(1, std::memory_order_release);
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      std::vector<std::int64_t> last(static_cast<std::size_t>(producers), -1);
      while (popped.load(std::memory_order_relaxed) < total) {
        std::uint64_t a = avail.load(std::memory_order_relaxed);
        bool reserved = false;
        while (a > 0 &&
               !(reserved = avail.compare_exchange_weak(a, a - 1, std::memory_order_acquire)))
          ;
        if (!reserved) {
          std::this_thread::yield();
          continue;
        }
        std::uint64_t v = blocks.pop();
        popped.fetch_add(1, std::memory_order_relaxed);
        if (v >= total) {
          order_violations++;
          continue;
        }
        seen[v]++;
        std::size_t p = static_cast<std::size_t>(v / per_producer);
        auto seq = static_cast<std::int64_t>(v % per_producer);
        if (seq <= last[p]) order_violations++;
        last[p] = seq;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  long wrong = 0;
  for (auto& s : seen)
    if (s.load() != 1) ++wrong;
  EXPECT_EQ(wrong, 0) << "blocks of " << B;
  EXPECT_EQ(order_violations.load(), 0) << "blocks of " << B;
  EXPECT_EQ(avail.load(), 0u);
}

TEST(SyncBlockStorageStress, ExactlyOnceAndFifoPerProducer) {
  weft::test::Watchdog dog(600s, "SyncBlockStorageStress");
  const long rounds = weft::test::stress_iterations(3);
  const std::uint64_t per = 20000;
  long items = 0;
  for (long r = 0; r < rounds; ++r) {
    run<2>(3, 3, per);
    run<3>(1, 4, per);
    run<2>(4, 1, per);
    run<63>(3, 3, per);
    items += 3 * per + per + 4 * per + 3 * per;
  }
  weft::test::report_iterations("SyncBlockStorageStress", items);
}

TEST(SyncBlockStorageStress, ItemsLeftInTheStorageAreDestroyed) {
  // A block list abandoned mid-way: the destructor walks the positions left,
  // across block boundaries, and frees every item and block (LeakSanitizer).
  for (std::uint64_t n : {0u, 1u, 2u, 3u, 7u, 200u}) {
    for (std::uint64_t taken : {0u, 1u, 5u}) {
      if (taken > n) continue;
      weft::detail::BlockStorage<std::vector<int>, 3> blocks;
      for (std::uint64_t i = 0; i < n; ++i)
        blocks.push(std::vector<int>(4, static_cast<int>(i)));
      for (std::uint64_t i = 0; i < taken; ++i)
        EXPECT_EQ(blocks.pop().front(), static_cast<int>(i));
    }
  }
}

}  // namespace
