// The bounded queue's storage (weft/detail/ring_storage.hpp: slots with
// sequence numbers, the ticket handed in) under the model, driven exactly as
// the queue front-end drives it (queue_core.hpp): a push only with room
// reserved, at the tail ticket its reservation CAS advanced from; a pop only
// with an item reserved, at its head ticket; the room given back after the
// pop. One scenario starts the tickets just below the 36-bit wrap, so the
// sequence numbers cross it. Capacities 2 and 3 (a ring of 4) with 6 items make pushes land on
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

using weft::detail::kTicketMask;

// 36-bit differences, as QueueCore::ahead.
std::int64_t ahead(std::uint64_t a, std::uint64_t b) {
  return static_cast<std::int64_t>((a - b) << 28) >> 28;
}

struct Harness {
  Harness(std::uint64_t cap, std::uint64_t first)
      : capacity(cap), ring(cap, first), tail(first), freed(first), head(first), published(first) {}
  const std::uint64_t capacity;
  RingStorage<std::uint64_t> ring;
  Atomic<std::uint64_t> tail;       // puts that reserved room (36-bit tickets)
  Atomic<std::uint64_t> freed;      // gets that gave their room back
  Atomic<std::uint64_t> head;       // gets that reserved an item
  Atomic<std::uint64_t> published;  // items pushed
  std::array<Atomic<int>, kTotal> seen{};
  Atomic<int> popped{0};
  Atomic<int> order_violations{0};

  bool reserve_room(std::uint64_t& ticket) {
    std::uint64_t t = tail.load();
    while (ahead(t, freed.load()) < static_cast<std::int64_t>(capacity))
      if (tail.compare_exchange_weak(t, (t + 1) & kTicketMask)) {
        ticket = t;
        return true;
      }
    return false;
  }
  bool reserve_item(std::uint64_t& ticket) {
    std::uint64_t h = head.load();
    while (ahead(published.load(), h) > 0)
      if (head.compare_exchange_weak(h, (h + 1) & kTicketMask)) {
        ticket = h;
        return true;
      }
    return false;
  }
  void produce(int p) {
    for (int i = 0; i < kPerProducer;) {
      std::uint64_t ticket;
      if (!reserve_room(ticket)) {
        weft::model::yield_point();
        continue;
      }
      ring.push(ticket, static_cast<std::uint64_t>(p * kPerProducer + i));
      published.fetch_add(1);
      ++i;
    }
  }
  void consume() {
    std::array<int, kProducers> last;
    last.fill(-1);
    while (popped.load() < kTotal) {
      std::uint64_t ticket;
      if (!reserve_item(ticket)) {
        weft::model::yield_point();
        continue;
      }
      const std::uint64_t v = ring.pop(ticket);
      freed.fetch_add(1);
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
    WEFT_MODEL_ASSERT(ahead(tail.load(), freed.load()) == 0);
    WEFT_MODEL_ASSERT(ahead(published.load(), head.load()) == 0);
  }
};

void run(std::uint64_t capacity, int consumers, std::uint64_t first_ticket = 0) {
  Harness h(capacity, first_ticket);
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

TEST(ModelRingStorage, TicketsAcrossTheWrap) {
  // Tickets 2^36-3 .. 2^36+2: the sequence numbers and the 36-bit
  // differences wrap in the middle of the run.
  weft_test::expect_model_ok("ring capacity 3, tickets across the 36-bit wrap", 3000,
                             [] { run(3, 2, kTicketMask - 2); });
}

TEST(ModelRingStorage, TwoSlotsTwoProducersOneConsumer) {
  weft_test::expect_model_ok("ring capacity 2, 2 producers, 1 consumer", 3000, [] { run(2, 1); });
}

}  // namespace
