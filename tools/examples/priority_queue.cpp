// Seed: 優先佇列 — items come out smallest priority first.
#include <cstdio>
#include <string>
#include <utility>

#include "weft/sync.hpp"
#include "weft/weft.hpp"

weft::Task<void> async_main() {
  weft::PriorityQueue<std::pair<int, std::string>> queue;  // smallest first, as heapq

  // 放入項目（優先級, 資料）
  co_await queue.put({3, "低優先"});
  co_await queue.put({1, "高優先"});
  co_await queue.put({2, "中優先"});

  while (!queue.empty()) {
    auto [priority, item] = co_await queue.get();
    std::printf("優先級 %d: %s\n", priority, item.c_str());
  }
}

int main() {
  weft::run(async_main());
}
