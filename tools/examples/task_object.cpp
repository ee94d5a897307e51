// Seed: Task 物件 — create_task, done(), await the result.
//
// One worker thread, like asyncio's event loop: the new task starts only when
// main() first suspends, so "任務完成: False" comes before "Task A 開始". (On
// several workers the task may start, and print, at once on another thread.)
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::Task<std::string> long_task(std::string name) {
  std::printf("%s 開始\n", name.c_str());
  co_await weft::sleep(example::secs(2));
  std::printf("%s 完成\n", name.c_str());
  co_return name + " 結果";
}

weft::Task<void> async_main() {
  // 建立任務
  weft::JoinHandle<std::string> task = weft::spawn(long_task("Task A"));
  // 檢查任務狀態
  std::printf("任務完成: %s\n", task.done() ? "True" : "False");
  // 等待任務
  std::string result = co_await task;
  std::printf("任務完成: %s\n", task.done() ? "True" : "False");
  std::printf("結果: %s\n", result.c_str());
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
