// Seed: timeout (Python 3.11+) — `async with asyncio.timeout(3.0)` around a
// 10 s sleep. Like the Python program, the TimeoutError is not caught: it ends
// the program with an error report and exit status 1.
#include <cstdio>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::Task<void> async_main() {
  auto block = []() -> weft::Task<void> {
    co_await weft::sleep(example::secs(10));  // 會被取消
  };
  co_await weft::timeout(example::secs(3), block);
}

int main() {
  try {
    weft::run(async_main());
  } catch (const weft::TimeoutError& e) {
    std::fprintf(stderr, "TimeoutError: %s\n", e.what());  // Python prints a traceback
    return 1;
  }
}
