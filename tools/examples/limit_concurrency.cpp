// Seed: 面試這樣答 — limit concurrency with a Semaphore: 100 tasks, at most 10
// running at once. The Python answer leaves do_something() open; here it
// sleeps, and the program prints how many ran at the same time.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

weft::Semaphore semaphore(10);  // 最多 10 個並行
std::atomic<int> running{0};
std::atomic<int> most_running{0};

weft::Task<void> do_something() {
  int now = running.fetch_add(1) + 1;
  int seen = most_running.load();
  while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
  }
  co_await weft::sleep(example::secs(0.1));
  running.fetch_sub(1);
}

weft::Task<void> limited_task() {
  auto permit = co_await semaphore.scoped();  // 取得信號量
  co_await do_something();
}  // 離開時自動釋放

weft::Task<void> async_main() {
  std::vector<weft::Task<void>> tasks;
  for (int i = 0; i < 100; ++i)
    tasks.push_back(limited_task());
  co_await weft::gather(std::move(tasks));
  std::printf("啟動 100 個任務，同時執行的最多 %d 個\n", most_running.load());
}

int main() {
  weft::run(async_main());  // every worker thread: the limit holds across threads
}
