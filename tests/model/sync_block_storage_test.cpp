// The unbounded queue's storage (weft/detail/block_storage.hpp: blocks of
// slots, a CAS per push or pop, a block freed by the pops of its slots) under
// the model, driven exactly as the queue front-end drives it: a pop only with a
// published item reserved. Blocks of 2 and 3 slots with 6 items make every
// operation meet a block boundary: pushes wait at the extra position while the
// last slot's push links the next block, the last slot's pop waits for that
// link, and the freeing walk meets pops still moving their item out. Checks:
// each item popped exactly once, FIFO per producer; ASan (the model build's)
// catches a block freed under a pop or push, LeakSanitizer one never freed.
//
// Each of these, put in on purpose, fails it: a freeing walk that deletes the
// block without waiting for unfinished pops (heap-use-after-free); a pop that
// does not wait for WRITTEN (an item never seen, a garbage one seen); a pop
// that marks READ and never continues the walk (a leaked block).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/detail/block_storage.hpp"

namespace {

using weft::detail::Atomic;
using weft::detail::BlockStorage;
using weft::detail::Thread;

constexpr int kPerProducer = 3;
constexpr int kProducers = 2;
constexpr int kTotal = kPerProducer * kProducers;

template <std::uint32_t B>
struct Harness {
  // Items are unique_ptrs: a pop that reads a slot before its push wrote it,
  // or twice, shows up as a null, a double free or a leak.
  BlockStorage<std::unique_ptr<int>, B> blocks;
  Atomic<std::uint64_t> avail{0};  // published items
  std::array<Atomic<int>, kTotal> seen{};
  Atomic<int> popped{0};
  Atomic<int> order_violations{0};

  bool reserve_item() {
    std::uint64_t a = avail.load();
    while (a > 0)
      if (avail.compare_exchange_weak(a, a - 1)) return true;
    return false;
  }
  void produce(int p) {
    for (int i = 0; i < kPerProducer; ++i) {
      blocks.push(std::make_unique<int>(p * kPerProducer + i));
      avail.fetch_add(1);
    }
  }
  void consume(int leave_after) {
    std::array<int, kProducers> last;
    last.fill(-1);
    int mine = 0;
    while (popped.load() < kTotal && mine < leave_after) {
      if (!reserve_item()) {
        weft::model::yield_point();
        continue;
      }
      std::unique_ptr<int> v = blocks.pop();
      popped.fetch_add(1);
      ++mine;
      if (!v || *v < 0 || *v >= kTotal) {
        order_violations.fetch_add(1);
        continue;
      }
      seen[static_cast<std::size_t>(*v)].fetch_add(1);
      const int p = *v / kPerProducer;
      const int seq = *v % kPerProducer;
      if (seq <= last[static_cast<std::size_t>(p)]) order_violations.fetch_add(1);
      last[static_cast<std::size_t>(p)] = seq;
    }
  }
  void check(int expected_popped) {
    int once = 0;
    for (auto& s : seen) {
      WEFT_MODEL_ASSERT(s.load() <= 1);
      once += s.load();
    }
    WEFT_MODEL_ASSERT(once == expected_popped);
    WEFT_MODEL_ASSERT(order_violations.load() == 0);
  }
};

/// Two producers, `consumers` consumers; with `leave_after` < kTotal the
/// consumers stop early and the storage's destructor frees what is left.
template <std::uint32_t B>
void run(int consumers, int leave_after = kTotal) {
  Harness<B> h;
  Thread p0([&] { h.produce(0); }, "producer0");
  Thread p1([&] { h.produce(1); }, "producer1");
  Thread c0([&] { h.consume(leave_after); }, "consumer0");
  if (consumers > 1) {
    Thread c1([&] { h.consume(leave_after); }, "consumer1");
    c1.join();
  }
  p0.join();
  p1.join();
  c0.join();
  h.check(h.popped.load());
  if (leave_after >= kTotal) WEFT_MODEL_ASSERT(h.popped.load() == kTotal);
}

TEST(ModelBlockStorage, TwoSlotBlocksTwoProducersTwoConsumers) {
  weft_test::expect_model_ok("blocks of 2, 2 producers, 2 consumers", 3000, [] { run<2>(2); });
}

TEST(ModelBlockStorage, ThreeSlotBlocksTwoProducersTwoConsumers) {
  weft_test::expect_model_ok("blocks of 3, 2 producers, 2 consumers", 3000, [] { run<3>(2); });
}

TEST(ModelBlockStorage, TwoSlotBlocksTwoProducersOneConsumer) {
  weft_test::expect_model_ok("blocks of 2, 2 producers, 1 consumer", 3000, [] { run<2>(1); });
}

TEST(ModelBlockStorage, ItemsLeftBehindAreDestroyedWithTheStorage) {
  // Each consumer stops after 2 items: 2 of the 6 stay in the storage, in
  // whatever block the interleaving left them.
  weft_test::expect_model_ok("blocks of 2, items left at destruction", 2000, [] { run<2>(2, 2); });
}

}  // namespace
