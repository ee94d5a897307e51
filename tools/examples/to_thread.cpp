// Seed: to_thread (Python 3.9+).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "example_time.hpp"
#include "weft/weft.hpp"

std::string blocking_operation() {
  std::this_thread::sleep_for(example::secs(2));
  return "完成";
}

weft::Task<void> async_main() {
  // 更簡潔的方式
  std::string result = co_await weft::to_thread(blocking_operation);
  std::printf("%s\n", result.c_str());
}

int main() {
  weft::run(async_main());
}
