// Seed: 自訂超時處理 — with_timeout(coro, timeout, default).
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/weft.hpp"

// The seed defines this helper itself; weft ships it as weft::with_timeout.
// This is the seed's version, written out:
template <class Aw, class T>
weft::Task<std::optional<T>> with_timeout(Aw coro, std::chrono::nanoseconds timeout, T fallback) {
  // 帶有預設值的超時處理
  try {
    co_await weft::wait_for(std::move(coro), timeout);
    co_return std::nullopt;  // the awaited sleep has no result (Python's None)
  } catch (const weft::TimeoutError&) {
  }
  co_return fallback;
}

weft::Task<void> async_main() {
  std::optional<std::string> result = co_await with_timeout(
      weft::sleep(example::secs(10)), example::secs(1), std::string("超時預設值"));
  std::printf("%s\n", result ? result->c_str() : "None");  // "超時預設值"
}

int main() {
  weft::run(async_main());
}
