// Stress (white box): the bounded queue storage (RingStorage: slots with
// sequence numbers, the ticket handed in) driven by plain threads exactly as
// the queue front-end drives it (queue_core.hpp): a push only with room
// reserved, at the tail ticket its reservation CAS advanced from; a pop only
// with an item reserved, at its head ticket. The tickets start just below the
// 36-bit wrap, so each run crosses it. Small capacities make the ring
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

using weft::detail::kTicketMask;

// 36-bit differences, as QueueCore::ahead.
std::int64_t ahead(std::uint64_t a, std::uint64_t b) {
  return static_cast<std::int64_t>((a - b) << 28) >> 28;
}

struct Harness {
  Harness(std::uint64_t cap, std::uint64_t first)
      : capacity(cap), ring(cap, first), tail(first), freed(first), head(first), published(first) {}
  const std::uint64_t capacity;
  weft::detail::RingStorage<std::uint64_t> ring;
  std::atomic<std::uint64_t> tail;       // puts that reserved room (36-bit tickets)
  std::atomic<std::uint64_t> freed;      // gets that gave their room back
  std::atomic<std::uint64_t> head;       // gets that reserved an item
  std::atomic<std::uint64_t> published;  // items pushed
};

bool reserve_room(Harness& h, std::uint64_t& ticket) {
  std::uint64_t t = h.tail.load(std::memory_order_relaxed);
  // relaxed, as QueueCore::reserve_room: the ring alone must order a slot's
  // reuse (TSan checks that it does).
  while (ahead(t, h.freed.load(std::memory_order_relaxed)) < static_cast<std::int64_t>(h.capacity))
    if (h.tail.compare_exchange_weak(t, (t + 1) & kTicketMask, std::memory_order_relaxed)) {
      ticket = t;
      return true;
    }
  return false;
}

bool reserve_item(Harness& h, std::uint64_t& ticket) {
  std::uint64_t hd = h.head.load(std::memory_order_relaxed);
  while (ahead(h.published.load(std::memory_order_acquire), hd) > 0)
    if (h.head.compare_exchange_weak(hd, (hd + 1) & kTicketMask, std::memory_order_acquire)) {
      ticket = hd;
      return true;
    }
  return false;
}

void run(std::uint64_t capacity, int producers, int consumers, std::uint64_t per_producer) {
  Harness h(capacity, kTicketMask - per_producer);
  const std::uint64_t total = per_producer * static_cast<std::uint64_t>(producers);
  std::vector<std::atomic<int>> seen(total);
  std::atomic<std::uint64_t> popped{0};
  std::atomic<long> order_violations{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_producer;) {
        std::uint64_t ticket;
        if (!reserve_room(h, ticket)) {
          std::this_thread::yield();
          continue;
        }
        h.ring.push(ticket, static_cast<std::uint64_t>(p) * per_producer + i);
        h.published.fetch_add(1, std::memory_order_release);
        ++i;
      }
    });
  }
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      std::vector<std::int64_t> last(static_cast<std::size_t>(producers), -1);
      while (popped.load(std::memory_order_relaxed) < total) {
        std::uint64_t ticket;
        if (!reserve_item(h, ticket)) {
          std::this_thread::yield();
          continue;
        }
        std::uint64_t v = h.ring.pop(ticket);
        h.freed.fetch_add(1, std::memory_order_release);
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
  EXPECT_EQ(ahead(h.tail.load(), h.freed.load()), 0);
  EXPECT_EQ(ahead(h.published.load(), h.head.load()), 0);
  EXPECT_EQ(h.tail.load(), (kTicketMask - per_producer + total) & kTicketMask) << "wrapped";
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
