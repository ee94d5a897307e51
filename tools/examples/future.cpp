// Seed-style: Future（未來物件）— a result handed over by a task, a cancelled
// waiter, and a result set from a plain thread.
//
// The Python original (asyncio 3.11):
//
//   async def set_after(fut, delay, value):
//       await asyncio.sleep(delay)
//       fut.set_result(value)
//
//   async def waiter(fut):
//       try:
//           await fut
//       except asyncio.CancelledError:
//           print(f"等待者被取消, fut2.cancelled()={fut.cancelled()}")
//           raise
//
//   async def main():
//       loop = asyncio.get_running_loop()
//       fut = loop.create_future()
//       fut.add_done_callback(lambda f: print(f"回呼: 結果 {f.result()}"))
//       asyncio.create_task(set_after(fut, 1, "完成!"))
//       print("等待 future...")
//       print(f"收到: {await fut}")
//       print(f"done={fut.done()}, cancelled={fut.cancelled()}")
//       try:
//           fut.set_result("again")
//       except asyncio.InvalidStateError as e:
//           print(f"再次設定: {e}")
//       fut2 = loop.create_future()
//       t = asyncio.create_task(waiter(fut2))
//       await asyncio.sleep(0)
//       t.cancel()
//       await asyncio.gather(t, return_exceptions=True)
//       fut3 = loop.create_future()
//       threading.Thread(target=lambda: loop.call_soon_threadsafe(fut3.set_result, 42)).start()
//       print(f"執行緒設定: {await fut3}")
//
// One worker thread, like asyncio's event loop. weft's callbacks run inline in
// the setter (asyncio schedules them), which prints in the same order here; a
// plain thread may call set_result directly.
#include <cstdio>
#include <string>
#include <thread>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

const char* py_bool(bool b) {
  return b ? "True" : "False";
}

weft::Task<void> set_after(weft::Future<std::string> fut, double delay, std::string value) {
  co_await weft::sleep(example::secs(delay));
  fut.set_result(std::move(value));
}

weft::Task<void> waiter(weft::Future<int> fut) {
  try {
    co_await fut;
  } catch (const weft::CancelledError&) {
    std::printf("等待者被取消, fut2.cancelled()=%s\n", py_bool(fut.cancelled()));
    throw;
  }
}

weft::Task<void> async_main() {
  weft::Future<std::string> fut;
  fut.add_done_callback([](const weft::Future<std::string>& f) {
    std::printf("回呼: 結果 %s\n", f.result().c_str());
  });
  weft::spawn(set_after(fut, 1, "完成!")).detach();
  std::printf("等待 future...\n");
  std::string got = co_await fut;
  std::printf("收到: %s\n", got.c_str());
  std::printf("done=%s, cancelled=%s\n", py_bool(fut.done()), py_bool(fut.cancelled()));
  try {
    fut.set_result("again");
  } catch (const weft::InvalidStateError& e) {
    std::printf("再次設定: %s\n", e.what());
  }
  weft::Future<int> fut2;
  auto t = weft::spawn(waiter(fut2));
  co_await weft::sleep(std::chrono::nanoseconds(0));
  t.cancel();
  try {
    co_await t;
  } catch (const weft::CancelledError&) {
  }
  weft::Future<int> fut3;
  std::thread setter([fut3]() mutable { fut3.set_result(42); });
  std::printf("執行緒設定: %d\n", co_await fut3);
  setter.join();
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
