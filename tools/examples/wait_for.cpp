// Seed: wait_for — give up on a slow operation after a timeout.
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::Task<std::string> slow_operation() {
  co_await weft::sleep(example::secs(10));
  co_return "完成";
}

weft::Task<void> async_main() {
  try {
    std::string result = co_await weft::wait_for(slow_operation(), example::secs(3));
    std::printf("%s\n", result.c_str());
  } catch (const weft::TimeoutError&) {
    std::printf("操作超時\n");
  }
}

int main() {
  weft::run(async_main());
}
