// Seed: wait 的錯誤處理 — wait(FIRST_EXCEPTION), then cancel what is pending.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "example_time.hpp"
#include "weft/sync.hpp"  // weft::ValueError
#include "weft/weft.hpp"

weft::Task<std::string> task(std::string name, double delay, bool should_fail = false) {
  co_await weft::sleep(example::secs(delay));
  if (should_fail) throw weft::ValueError(name + " 失敗");
  co_return name + " 成功";
}

weft::Task<void> async_main() {
  std::vector<weft::JoinHandle<std::string>> tasks;
  tasks.push_back(weft::spawn(task("A", 1)));
  tasks.push_back(weft::spawn(task("B", 2, true)));
  tasks.push_back(weft::spawn(task("C", 3)));

  auto [done, pending] = co_await weft::wait(tasks, weft::ReturnWhen::FirstException);

  std::printf("完成: %zu, 待處理: %zu\n", done.size(), pending.size());

  for (auto& t : done) {
    try {
      std::printf("結果: %s\n", t.result().c_str());
    } catch (const std::exception& e) {
      std::printf("異常: %s\n", e.what());
    }
  }

  // 取消待處理的任務
  for (auto& t : pending)
    t.cancel();
}

// One worker, like asyncio's loop: with two, a worker that stole A and woke
// 50 ms late would let B's failure end the wait with A still pending.
int main() {
  weft::run(async_main(), {.workers = 1});
}
