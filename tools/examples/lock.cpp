// Seed: Lock（互斥鎖）— three tasks append to a shared list under one lock.
//
// One worker thread, like asyncio's one event loop: the three tasks then take
// the lock in the order gather started them, so the output is the seed's, line
// for line. (On several workers they run in parallel and take the lock in any
// order; the lock still serialises each append-and-sleep.)
#include <cstdio>
#include <string>
#include <vector>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

std::vector<int> shared_resource;
weft::Lock lock;

/// 使用鎖保護共享資源
weft::Task<void> safe_append(int value) {
  auto guard = co_await lock.scoped();  // async with lock:
  std::printf("取得鎖，添加 %d\n", value);
  shared_resource.push_back(value);
  co_await weft::sleep(example::secs(0.1));
  std::printf("釋放鎖，%d 已添加\n", value);
}

weft::Task<void> async_main() {
  co_await weft::gather(safe_append(1), safe_append(2), safe_append(3));
  std::string list;
  for (int v : shared_resource)
    list += (list.empty() ? "" : ", ") + std::to_string(v);
  std::printf("結果: [%s]\n", list.c_str());
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
