// Seed: Semaphore（信號量）— ten tasks, at most three at a time.
//
// One worker thread, like asyncio's event loop, so the tasks get the permits
// in the order they were started (Task 0, 1, 2, then 3, 4, 5, ...).
#include <cstdio>
#include <string>
#include <vector>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

// 限制同時執行的任務數量
weft::Semaphore semaphore(3);

weft::Task<void> limited_task(std::string name) {
  auto permit = co_await semaphore.scoped();  // async with semaphore:
  std::printf("%s 開始\n", name.c_str());
  co_await weft::sleep(example::secs(2));
  std::printf("%s 完成\n", name.c_str());
}

weft::Task<void> async_main() {
  // 同時啟動 10 個任務，但最多 3 個並行
  std::vector<weft::Task<void>> tasks;
  for (int i = 0; i < 10; ++i)
    tasks.push_back(limited_task("Task " + std::to_string(i)));
  co_await weft::gather(std::move(tasks));
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
