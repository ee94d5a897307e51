// Seed: Condition（條件變數）— one producer, two consumers.
//
// One worker thread, like asyncio's event loop, so the consumers take turns
// exactly as in Python (消費者 0 gets the first item).
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

weft::Condition condition;
std::deque<int> queue;

weft::Task<void> producer() {
  for (int i = 0; i < 5; ++i) {
    {
      auto guard = co_await condition.scoped();  // async with condition:
      queue.push_back(i);
      std::printf("生產: %d\n", i);
      condition.notify();
    }
    co_await weft::sleep(example::secs(0.5));
  }
}

weft::Task<void> consumer(std::string name) {
  for (;;) {
    auto guard = co_await condition.scoped();
    while (queue.empty())
      co_await condition.wait();
    int item = queue.front();
    queue.pop_front();
    std::printf("%s 消費: %d\n", name.c_str(), item);
  }
}

weft::Task<void> async_main() {
  std::vector<weft::JoinHandle<void>> consumer_tasks;
  for (int i = 0; i < 2; ++i)
    consumer_tasks.push_back(weft::spawn(consumer("消費者 " + std::to_string(i))));

  co_await producer();

  // 取消消費者
  for (auto& task : consumer_tasks)
    task.cancel();
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
