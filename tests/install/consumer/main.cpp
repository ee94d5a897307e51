// Uses weft as an installed package: spawn, join, sleep.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

weft::Task<int> twice(int x) {
  co_await weft::sleep(std::chrono::milliseconds(1));
  co_return 2 * x;
}

weft::Task<int> async_main() {
  auto h = weft::spawn(twice(21));
  co_return co_await h;
}

int main() {
  int v = weft::run(async_main());
  std::printf("%d\n", v);
  return v == 42 ? 0 : 1;
}
