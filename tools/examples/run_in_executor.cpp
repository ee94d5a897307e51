// Seed: run_in_executor — blocking I/O on the default pool, CPU work on a
// ThreadPoolExecutor(max_workers=4).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "example_time.hpp"
#include "weft/weft.hpp"

std::string blocking_io() {
  // 模擬同步的 I/O 操作
  std::this_thread::sleep_for(example::secs(2));
  return "I/O 完成";
}

unsigned __int128 cpu_intensive() {
  // 模擬 CPU 密集操作: sum(i * i for i in range(10**7))
  unsigned __int128 total = 0;
  for (unsigned long long i = 0; i < 10'000'000ull; ++i)
    total += static_cast<unsigned __int128>(i) * i;
  return total;
}

std::string to_string(unsigned __int128 v) {  // Python ints are arbitrary-precision
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0);
  return s;
}

weft::Task<void> async_main() {
  // 使用預設的線程池執行同步 I/O
  std::string result = co_await weft::run_in_executor(nullptr, blocking_io);
  std::printf("%s\n", result.c_str());
  // 使用自訂線程池
  {
    weft::ThreadPool executor(4);
    unsigned __int128 total = co_await weft::run_in_executor(executor, cpu_intensive);
    std::printf("計算結果: %s\n", to_string(total).c_str());
  }
}

int main() {
  weft::run(async_main());
}
