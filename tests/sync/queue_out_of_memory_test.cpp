// weft::Queue when memory runs out: an unbounded queue allocates a block of
// slots every 63 items (detail/block_storage.hpp), inside the put. A put whose
// block cannot be allocated throws std::bad_alloc and changes nothing: the
// queue's count, its room and the other items are as before, a try_put or
// put_nowait leaves the caller's item untouched, and the next put works. The
// same for a put that waited on a full queue of maxsize > 4096 (blocks too)
// and whose item the combiner moves in when room is freed.
//
// This binary replaces the global operator new so that a test can make one
// allocation (of at least a given size, on its own thread) fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>

#include "weft/queue.hpp"
#include "weft/runtime.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

namespace {
// The next allocation of at least this many bytes on this thread throws; 0: none.
thread_local std::size_t t_fail_at_least = 0;

void* allocate(std::size_t n) {
  if (t_fail_at_least != 0 && n >= t_fail_at_least) {
    t_fail_at_least = 0;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) {
  return allocate(n);
}
void* operator new[](std::size_t n) {
  return allocate(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

// A block of 63 slots of 8-byte items is over 512 bytes; nothing else a put
// does allocates.
constexpr std::size_t kBlockBytes = 512;
constexpr int kSlotsPerBlock = 63;

TEST(QueueOutOfMemory, APutWhoseBlockCannotBeAllocatedChangesNothing) {
  weft::Queue<std::unique_ptr<int>> q;
  // The first block comes with the queue; the put of its last slot links the next.
  for (int i = 0; i < kSlotsPerBlock - 1; ++i)
    q.put_nowait(std::make_unique<int>(i));
  auto item = std::make_unique<int>(kSlotsPerBlock - 1);
  t_fail_at_least = kBlockBytes;
  EXPECT_THROW(q.put_nowait(std::move(item)), std::bad_alloc);
  ASSERT_TRUE(item) << "the item was moved from";
  EXPECT_EQ(q.qsize(), static_cast<std::size_t>(kSlotsPerBlock - 1));
  EXPECT_EQ(q.unfinished_tasks(), static_cast<std::size_t>(kSlotsPerBlock - 1));
  t_fail_at_least = kBlockBytes;
  EXPECT_THROW((void)q.try_put(std::move(item)), std::bad_alloc);
  ASSERT_TRUE(item);
  EXPECT_EQ(q.qsize(), static_cast<std::size_t>(kSlotsPerBlock - 1));
  // Memory is back: the same put goes through, and everything comes out in order.
  q.put_nowait(std::move(item));
  for (int i = kSlotsPerBlock; i < 3 * kSlotsPerBlock; ++i)
    q.put_nowait(std::make_unique<int>(i));
  for (int i = 0; i < 3 * kSlotsPerBlock; ++i)
    ASSERT_EQ(*q.get_nowait(), i);
  EXPECT_TRUE(q.empty());
}

weft::Task<void> awaiting_put_fails(weft::Queue<long>& q, bool& threw) {
  for (long i = 0; i < kSlotsPerBlock - 1; ++i)
    co_await q.put(i);
  t_fail_at_least = kBlockBytes;
  try {
    co_await q.put(kSlotsPerBlock - 1);
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  t_fail_at_least = 0;
  // The queue still works for waiting gets and puts.
  co_await q.put(kSlotsPerBlock - 1);
  for (long i = 0; i < kSlotsPerBlock; ++i)
    if (co_await q.get() != i) throw std::runtime_error("out of order");
}

TEST(QueueOutOfMemory, AnAwaitedPutThrowsToItsTask) {
  weft::Queue<long> q;
  bool threw = false;
  weft::run(awaiting_put_fails(q, threw), {.workers = 1});
  EXPECT_TRUE(threw);
  EXPECT_TRUE(q.empty());
}

// maxsize 4157 = 66 blocks of 63 minus one: with the queue full, the next
// push (position 4157, the 63rd slot of its block) links a new block.
constexpr std::int64_t kBlockQueueSize = 66 * kSlotsPerBlock - 1;

weft::Task<void> waiting_put(weft::Queue<long>& q, long v, int& outcome) {
  try {
    co_await q.put(v);
    outcome = 1;
  } catch (const std::bad_alloc&) {
    outcome = 2;
  }
}

weft::Task<void> waiting_put_out_of_memory_main(weft::Queue<long>& q) {
  for (long i = 0; i < kBlockQueueSize; ++i)
    q.put_nowait(i);
  EXPECT_TRUE(q.full());
  int first = 0, second = 0;
  auto a = weft::spawn(waiting_put(q, -1, first));
  auto b = weft::spawn(waiting_put(q, kBlockQueueSize, second));
  co_await weft::yield();  // one worker: both putters wait on the full queue
  co_await weft::yield();
  EXPECT_EQ(first, 0);
  // The get frees room; the combiner (this thread: the signaller combines)
  // moves putter a's item in, and that needs a block this thread cannot get.
  t_fail_at_least = kBlockBytes;
  EXPECT_EQ(q.get_nowait(), 0);
  t_fail_at_least = 0;
  co_await a;
  EXPECT_EQ(first, 2) << "the waiting put did not throw std::bad_alloc";
  // Its room went to putter b, whose push got the block.
  co_await b;
  EXPECT_EQ(second, 1);
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.unfinished_tasks(), static_cast<std::size_t>(kBlockQueueSize) + 1);  // no task_done
  for (long i = 1; i <= kBlockQueueSize; ++i)
    if (q.get_nowait() != i) throw std::runtime_error("out of order");
  EXPECT_TRUE(q.empty());
}

TEST(QueueOutOfMemory, AWaitingPutWhoseBlockCannotBeAllocatedThrows) {
  weft::test::Watchdog dog(std::chrono::seconds(60));
  weft::Queue<long> q(kBlockQueueSize);
  weft::run(waiting_put_out_of_memory_main(q), {.workers = 1});
}

}  // namespace
