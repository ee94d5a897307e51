// Stress (white box): the bounded queue storage (RingStorage: slots with
// sequence numbers, one ticket fetch_add per push or pop) driven by plain
// threads exactly as the queue front-end drives it: a push only with room
// reserved, a pop only with an item reserved. Small capacities make the ring
// wrap around constantly, so pushes meet pops of the previous round still
// moving their item out and pops meet pushes of their ticket still moving
// theirs in. Checks: every item popped exactly once, per producer in FIFO
// order for each consumer. (tests/model/sync_ring_storage_test.cpp explores
// the same under the model.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/detail/ring_storage.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

struct Harness {
  explicit Harness(std::uint64_t cap) : capacity(cap), ring(cap) {}
  const std::uint64_t capacity;
  weft::detail::RingStorage<std::uint64_t> ring;
  std::atomic<std::uint64_t> room{0};   // reserved slots
  std::atomic<std::uint64_t> avail{0};  // published items
};

bool reserve_room(Harness& h) {
  std::uint64_t r = h.room.load(std::memory_order_relaxed);
  while (r < h.capacity)
    // relaxed, as QueueCore::reserve_room: the ring alone must order a slot's
    // reuse (TSan checks that it does).
    if (h.room.compare_exchange_weak(r, r + 1, std::memory_order_relaxed)) return true;
  return false;
}

bool reserve_item(Harness& h) {
  std::uint64_t a = h.avail.load(std::memory_order_relaxed);
  while (a > 0)
    if (h.avail.compare_exchange_weak(a, a - 1, std::memory_order_acquire)) return true;
  return false;
}

void run(std::uint64_t capacity, int producers, int consumers, std::uint64_t per_producer) {
  Harness h(capacity);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  std::vector<std::atomic<int>> seen(total);
  std::atomic<std::uint64_t> popped{0};
  std::atomic<long> order_violations{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_producer;) {
        if (!reserve_room(h)) {
          std::this_thread::yield();
          continue;
        }
        h.ring.push(static_cast<std::uint64_t>(p) * per_producer + i);
        h.avail.fetch_add(1, std::memory_order_release);
        ++i;
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      std::vector<std::int64_t> last(static_cast<std::size_t>(producers), -1);
      while (popped.load(std::memory_order_relaxed) < total) {
        if (!reserve_item(h)) {
          std::this_thread::yield();
          continue;
        }
        std::uint64_t v = h.ring.pop();
        h.room.fetch_sub(1, std::memory_order_release);
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
  EXPECT_EQ(wrong, 0) << "capacity " << capacity;
  EXPECT_EQ(order_violations.load(), 0) << "capacity " << capacity;
  EXPECT_EQ(h.room.load(), 0u);
  EXPECT_EQ(h.avail.load(), 0u);
}

TEST(SyncRingStorageStress, ExactlyOnceAndFifoPerProducer) {
  weft::test::Watchdog dog(600s, "SyncRingStorageStress");
  const long rounds = weft::test::stress_iterations(3);
  const std::uint64_t per = 20000;
  long items = 0;
  for (long r = 0; r < rounds; ++r) {
    for (std::uint64_t cap : {1u, 2u, 3u, 8u, 64u}) {
      run(cap, 3, 3, per);
      run(cap, 1, 4, per);
      run(cap, 4, 1, per);
      items += 3 * per + per + 4 * per;
    }
  }
  weft::test::report_iterations("SyncRingStorageStress", items);
}

}  // namespace
