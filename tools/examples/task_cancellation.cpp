// Seed: 任務取消 — a task that cleans up when cancelled, then re-raises.
#include <cstdio>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::Task<void> cancellable_task() {
  try {
    for (;;) {
      std::printf("執行中...\n");
      co_await weft::sleep(example::secs(1));
    }
  } catch (const weft::CancelledError&) {
    std::printf("收到取消信號\n");
    // 清理資源
    std::printf("清理完成\n");
    throw;  // 重新拋出
  }
}

weft::Task<void> async_main() {
  auto task = weft::spawn(cancellable_task());
  co_await weft::sleep(example::secs(3));
  // 取消任務
  task.cancel();
  try {
    co_await task;
  } catch (const weft::CancelledError&) {
    std::printf("任務已取消\n");
  }
}

int main() {
  weft::run(async_main());
}
