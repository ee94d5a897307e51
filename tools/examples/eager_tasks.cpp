// Seed-style: eager tasks (asyncio 3.12's eager_task_factory) — a task whose
// result is ready at once finishes inside create_task; one that waits is
// scheduled from its first suspension on.
//
// The Python original (asyncio 3.12):
//
//   async def fetch(name, delay):
//       print(f"{name} 開始")
//       if delay:
//           await asyncio.sleep(delay)
//       print(f"{name} 完成")
//       return name
//
//   async def main():
//       asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
//       t1 = asyncio.create_task(fetch("快取命中", 0))
//       print(f"快取命中 done={t1.done()}")
//       t2 = asyncio.create_task(fetch("網路請求", 1))
//       print(f"網路請求 done={t2.done()}")
//       print(await t1, await t2)
//
//   asyncio.run(main())
//
// weft: RunOptions::eager_tasks is the factory; weft::spawn_eager() makes a
// single spawn eager (asyncio 3.14's eager_start=True).
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::Task<std::string> fetch(std::string name, double delay) {
  std::printf("%s 開始\n", name.c_str());
  if (delay > 0) co_await weft::sleep(example::secs(delay));
  std::printf("%s 完成\n", name.c_str());
  co_return name;
}

weft::Task<void> async_main() {
  auto t1 = weft::spawn(fetch("快取命中", 0));
  std::printf("快取命中 done=%s\n", t1.done() ? "True" : "False");
  auto t2 = weft::spawn(fetch("網路請求", 1));
  std::printf("網路請求 done=%s\n", t2.done() ? "True" : "False");
  std::string a = co_await t1;
  std::string b = co_await t2;
  std::printf("%s %s\n", a.c_str(), b.c_str());
  // One eager spawn on a lazy runtime would read: weft::spawn_eager(fetch(...)).
}

int main() {
  weft::run(async_main(), {.workers = 1, .eager_tasks = true});
}
