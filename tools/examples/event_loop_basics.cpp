// Seed: 事件迴圈基礎 — get the running loop from inside async code.
//   asyncio.run(main())                  -> weft::run(main())
//   asyncio.get_running_loop()           -> weft::Runtime::current()
#include <cstdio>

#include "weft/weft.hpp"

weft::Task<void> example() {
  weft::Runtime& loop = weft::Runtime::current();
  std::printf("當前迴圈: <weft::Runtime workers=%u debug=%s>\n", loop.workers(),
              loop.options().debug ? "true" : "false");
  co_return;
}

int main() {
  weft::run(example());
}
