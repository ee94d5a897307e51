// Seed: 自訂事件迴圈 — asyncio.run(main(), debug=True).
#include <cstdio>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::Task<void> async_main() {
  std::printf("Hello\n");
  std::fflush(stdout);
  co_await weft::sleep(example::secs(1));
  std::printf("World\n");
}

int main() {
  weft::run(async_main(), {.debug = true});
}
