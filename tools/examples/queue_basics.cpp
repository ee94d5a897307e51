// Seed: Queue（佇列）基本用法 — one producer, three consumers, join().
//
// One worker thread, like asyncio's event loop (see the expected output for
// the orderings that the timing leaves open, in Python as here).
#include <cstdio>
#include <string>
#include <vector>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

weft::Task<void> producer(weft::Queue<int>& queue) {
  for (int i = 0; i < 10; ++i) {
    co_await queue.put(i);
    std::printf("生產: %d\n", i);
    co_await weft::sleep(example::secs(0.1));
  }
}

weft::Task<void> consumer(weft::Queue<int>& queue, std::string name) {
  for (;;) {
    int item = co_await queue.get();
    std::printf("%s 處理: %d\n", name.c_str(), item);
    co_await weft::sleep(example::secs(0.3));
    queue.task_done();
  }
}

weft::Task<void> async_main() {
  weft::Queue<int> queue(5);

  // 啟動消費者
  std::vector<weft::JoinHandle<void>> consumers;
  for (int i = 0; i < 3; ++i)
    consumers.push_back(weft::spawn(consumer(queue, "消費者 " + std::to_string(i))));

  // 執行生產者
  co_await producer(queue);

  // 等待佇列處理完成
  co_await queue.join();

  // 取消消費者 (and wait for them: they refer to `queue`, which lives here)
  for (auto& c : consumers)
    c.cancel();
  for (auto& c : consumers) {
    try {
      co_await c;
    } catch (const weft::CancelledError&) {
    }
  }
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
