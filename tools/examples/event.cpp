// Seed: Event（事件）— three waiters, one setter.
//
// One worker thread, like asyncio's event loop: the waiters start in gather's
// order and are woken in the order they began to wait.
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

weft::Event event;

weft::Task<void> waiter(std::string name) {
  std::printf("%s 等待事件...\n", name.c_str());
  co_await event.wait();
  std::printf("%s 事件已觸發!\n", name.c_str());
}

weft::Task<void> setter() {
  co_await weft::sleep(example::secs(2));
  std::printf("設定事件\n");
  event.set();
}

weft::Task<void> async_main() {
  co_await weft::gather(waiter("A"), waiter("B"), waiter("C"), setter());
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
