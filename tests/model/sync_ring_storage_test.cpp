// The bounded queue's storage (weft/detail/ring_storage.hpp: slots with
// sequence numbers, one ticket fetch_add per push or pop) under the model,
// driven exactly as the queue front-end drives it: a push only with room
// reserved, a pop only with an item reserved, the room given back after the
// pop. Capacities 2 and 3 (a ring of 4) with 6 items make pushes land on
// slots whose previous pop may still be moving its item out, and pops on
// slots whose push may still be moving its item in. (Capacity 1 would never
// wait: one reservation at a time.) Checks: each item popped exactly once,
// FIFO per producer; a wait that could never end is a livelock the model
// reports.
//
// Each of these, put in on purpose, fails the two-consumer scenario: a push
// that does not wait for the slot's sequence, or a pop that does not (the
// sequence numbers go out of step: a livelock); a pop that frees the slot
// (sequence h+n) before moving the item out (a push overwrites it first: an
// item seen twice, another never).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/detail/ring_storage.hpp"

namespace {

using weft::detail::Atomic;
using weft::detail::RingStorage;
using weft::detail::Thread;

constexpr int kPerProducer = 3;
constexpr int kProducers = 2;
constexpr int kTotal = kPerProducer * kProducers;

struct Harness {
  explicit Harness(std::uint64_t cap) : capacity(cap), ring(cap) {}
  const std::uint64_t capacity;
  RingStorage<std::uint64_t> ring;
  Atomic<std::uint64_t> room{0};   // reserved slots (put reserved .. get released)
  Atomic<std::uint64_t> avail{0};  // published items
  std::array<Atomic<int>, kTotal> seen{};
  Atomic<int> popped{0};
  Atomic<int> order_violations{0};

  bool reserve_room() {
    std::uint64_t r = room.load();
    while (r < capacity)
      if (room.compare_exchange_weak(r, r + 1)) return true;
    return false;
  }
  bool reserve_item() {
    std::uint64_t a = avail.load();
    while (a > 0)
      if (avail.compare_exchange_weak(a, a - 1)) return true;
    return false;
  }
  void produce(int p) {
    for (int i = 0; i < kPerProducer;) {
      if (!reserve_room()) {
        weft::model::yield_point();
        continue;
      }
      ring.push(static_cast<std::uint64_t>(p * kPerProducer + i));
      avail.fetch_add(1);
      ++i;
    }
  }
  void consume() {
    std::array<int, kProducers> last;
    last.fill(-1);
    while (popped.load() < kTotal) {
      if (!reserve_item()) {
        weft::model::yield_point();
        continue;
      }
      const std::uint64_t v = ring.pop();
      room.fetch_sub(1);
      popped.fetch_add(1);
      if (v >= static_cast<std::uint64_t>(kTotal)) {
        order_violations.fetch_add(1);
        continue;
      }
      seen[v].fetch_add(1);
      const int p = static_cast<int>(v) / kPerProducer;
      const int seq = static_cast<int>(v) % kPerProducer;
      if (seq <= last[static_cast<std::size_t>(p)]) order_violations.fetch_add(1);
      last[static_cast<std::size_t>(p)] = seq;
    }
  }
  void check() {
    for (auto& s : seen)
      WEFT_MODEL_ASSERT(s.load() == 1);
    WEFT_MODEL_ASSERT(order_violations.load() == 0);
    WEFT_MODEL_ASSERT(room.load() == 0);
    WEFT_MODEL_ASSERT(avail.load() == 0);
  }
};

void run(std::uint64_t capacity, int consumers) {
  Harness h(capacity);
  Thread p0([&] { h.produce(0); }, "producer0");
  Thread p1([&] { h.produce(1); }, "producer1");
  Thread c0([&] { h.consume(); }, "consumer0");
  if (consumers > 1) {
    Thread c1([&] { h.consume(); }, "consumer1");
    c1.join();
  }
  p0.join();
  p1.join();
  c0.join();
  h.check();
}

TEST(ModelRingStorage, ThreeOfFourSlotsTwoProducersTwoConsumers) {
  weft_test::expect_model_ok("ring capacity 3, 2 producers, 2 consumers", 3000, [] { run(3, 2); });
}

TEST(ModelRingStorage, TwoSlotsTwoProducersTwoConsumers) {
  weft_test::expect_model_ok("ring capacity 2, 2 producers, 2 consumers", 3000, [] { run(2, 2); });
}

TEST(ModelRingStorage, TwoSlotsTwoProducersOneConsumer) {
  weft_test::expect_model_ok("ring capacity 2, 2 producers, 1 consumer", 3000, [] { run(2, 1); });
}

}  // namespace
