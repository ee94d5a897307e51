// weft::PriorityQueue: the seed's 優先佇列 example, smallest-first order, a
// custom Compare, move-only items, waiting getters.
#include "weft/priority_queue.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

// ---- the seed's example: (priority, data) pairs come out by priority ----

weft::Task<std::vector<std::string>> seed_priority_main() {
  weft::PriorityQueue<std::pair<int, std::string>> queue;
  co_await queue.put({3, "低優先"});
  co_await queue.put({1, "高優先"});
  co_await queue.put({2, "中優先"});
  std::vector<std::string> out;
  while (!queue.empty()) {
    auto [priority, item] = co_await queue.get();
    out.push_back("優先級 " + std::to_string(priority) + ": " + item);
  }
  co_return out;
}

TEST(PriorityQueue, SeedExample) {
  weft::test::Watchdog dog(60s);
  auto out = weft::run(seed_priority_main(), {.workers = 2});
  EXPECT_EQ(out,
            (std::vector<std::string>{"優先級 1: 高優先", "優先級 2: 中優先", "優先級 3: 低優先"}));
}

TEST(PriorityQueue, SmallestFirstAndCustomOrder) {
  weft::PriorityQueue<int> q;
  for (int v : {5, 1, 4, 2, 3, 1})
    q.put_nowait(v);
  std::vector<int> got;
  while (auto v = q.try_get())
    got.push_back(*v);
  EXPECT_EQ(got, (std::vector<int>{1, 1, 2, 3, 4, 5}));
  weft::PriorityQueue<int, std::greater<int>> largest_first;
  for (int v : {5, 1, 4})
    largest_first.put_nowait(v);
  EXPECT_EQ(largest_first.get_nowait(), 5);
  EXPECT_EQ(largest_first.get_nowait(), 4);
  EXPECT_EQ(largest_first.get_nowait(), 1);
  EXPECT_THROW(largest_first.get_nowait(), weft::QueueEmpty);
}

struct ByValue {
  bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const {
    return *a < *b;
  }
};

TEST(PriorityQueue, MoveOnlyItemsAndBound) {
  weft::PriorityQueue<std::unique_ptr<int>, ByValue> q(2);
  q.put_nowait(std::make_unique<int>(7));
  q.put_nowait(std::make_unique<int>(3));
  EXPECT_TRUE(q.full());
  auto extra = std::make_unique<int>(1);
  EXPECT_FALSE(q.try_put(std::move(extra)));
  ASSERT_NE(extra, nullptr);
  EXPECT_EQ(*q.get_nowait(), 3);
  EXPECT_EQ(*q.get_nowait(), 7);
}

struct NoDefault {
  explicit NoDefault(int x) : v(x) {}
  NoDefault(NoDefault&&) noexcept = default;
  NoDefault& operator=(NoDefault&&) noexcept = default;
  bool operator<(const NoDefault& o) const { return v < o.v; }
  int v;
};

TEST(PriorityQueue, ItemsWithoutADefaultConstructor) {
  weft::PriorityQueue<NoDefault> q;
  q.put_nowait(NoDefault(2));
  q.put_nowait(NoDefault(1));
  EXPECT_EQ(q.get_nowait().v, 1);
  EXPECT_EQ(q.get_nowait().v, 2);
}

weft::Task<int> get_int(weft::PriorityQueue<int>& q) {
  co_return co_await q.get();
}

weft::Task<void> waiting_main() {
  weft::PriorityQueue<int> q;
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < 3; ++i) {
    hs.push_back(weft::spawn(get_int(q)));
    co_await weft::yield();
  }
  co_await weft::sleep(1ms);
  q.put_nowait(30);
  q.put_nowait(10);
  q.put_nowait(20);
  int sum = 0;
  for (auto& h : hs)
    sum += co_await h;
  EXPECT_EQ(sum, 60);
  EXPECT_TRUE(q.empty());
}

TEST(PriorityQueue, WaitingGettersGetEveryItem) {
  weft::test::Watchdog dog(60s);
  weft::run(waiting_main(), {.workers = 2});
}

}  // namespace
