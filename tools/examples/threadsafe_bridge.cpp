// Seed-style: 執行緒橋接（plain-thread bridge）— a plain thread runs a
// coroutine on the loop and blocks for its result, gives up on a slow one
// after a timeout, and hands callbacks to the loop; timers with call_later,
// one of them cancelled.
//
// The Python original (asyncio 3.11):
//
//   async def add(a, b):
//       await asyncio.sleep(1)
//       return a + b
//
//   async def forever():
//       await asyncio.sleep(3600)
//
//   def from_thread(loop, done):
//       fut = asyncio.run_coroutine_threadsafe(add(2, 3), loop)
//       print(f"執行緒等到結果: {fut.result()}")
//       slow = asyncio.run_coroutine_threadsafe(forever(), loop)
//       try:
//           slow.result(timeout=0.5)
//       except TimeoutError:
//           print(f"等待逾時, 取消: {slow.cancel()}")
//       loop.call_soon_threadsafe(print, "回呼在事件迴圈中執行")
//       loop.call_soon_threadsafe(done.set)
//
//   async def main():
//       loop = asyncio.get_running_loop()
//       done = asyncio.Event()
//       a = loop.call_later(3, print, "計時器 A 觸發")
//       b = loop.call_later(1.5, print, "計時器 B 不該觸發")
//       b.cancel()
//       print(f"計時器 B 已取消: {b.cancelled()}")
//       threading.Thread(target=from_thread, args=(loop, done)).start()
//       await done.wait()
//       await asyncio.sleep(3)
//       print(f"A 已取消? {a.cancelled()}, B 已取消? {b.cancelled()}")
//
//   asyncio.run(main())
//
// Two workers. weft's TimerHandle::cancel() says whether it prevented the
// call (asyncio's returns None), and blocking on the future from a worker
// would throw InvalidStateError instead of deadlocking the loop.
#include <cstdio>
#include <thread>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

const char* py_bool(bool b) {
  return b ? "True" : "False";
}

weft::Task<int> add(int a, int b) {
  co_await weft::sleep(example::secs(1));
  co_return a + b;
}

weft::Task<void> forever() {
  co_await weft::sleep(example::secs(3600));
}

void from_thread(weft::Runtime& loop, weft::Event& done) {
  weft::ConcurrentFuture<int> fut = weft::run_coroutine_threadsafe(add(2, 3), loop);
  std::printf("執行緒等到結果: %d\n", fut.result());
  weft::ConcurrentFuture<void> slow = weft::run_coroutine_threadsafe(forever(), loop);
  try {
    slow.result(example::secs(0.5));
  } catch (const weft::TimeoutError&) {
    std::printf("等待逾時, 取消: %s\n", py_bool(slow.cancel()));
  }
  loop.call_soon_threadsafe([] { std::printf("回呼在事件迴圈中執行\n"); });
  loop.call_soon_threadsafe([&done] { done.set(); });
}

weft::Task<void> async_main() {
  weft::Runtime& loop = weft::Runtime::current();
  weft::Event done;
  weft::TimerHandle a = loop.call_later(example::secs(3), [] { std::printf("計時器 A 觸發\n"); });
  weft::TimerHandle b =
      loop.call_later(example::secs(1.5), [] { std::printf("計時器 B 不該觸發\n"); });
  b.cancel();
  std::printf("計時器 B 已取消: %s\n", py_bool(b.cancelled()));
  std::thread t(from_thread, std::ref(loop), std::ref(done));
  co_await done.wait();
  co_await weft::sleep(example::secs(3));
  std::printf("A 已取消? %s, B 已取消? %s\n", py_bool(a.cancelled()), py_bool(b.cancelled()));
  t.join();
}

int main() {
  weft::run(async_main(), {.workers = 2});
}
