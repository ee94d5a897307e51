// Seed-style: 取消訊息與例外原因 (cancel messages and exception causes) — a
// task cancelled with a message, a task that cancels itself, and the
// CancelledError a TimeoutError replaced.
//
// The Python original (asyncio 3.12):
//
//   async def worker():
//       try:
//           await asyncio.sleep(10)
//       except asyncio.CancelledError as e:
//           print(f"工作者收到取消: {e}")
//           raise
//
//   async def quitter():
//       asyncio.current_task().cancel("自己放棄 (gave up)")
//       await asyncio.sleep(0)
//
//   async def main():
//       t = asyncio.create_task(worker())
//       await asyncio.sleep(0.1)
//       t.cancel("使用者按下停止 (user pressed stop)")
//       try:
//           await t
//       except asyncio.CancelledError as e:
//           print(f"等待者看到: {e}")
//       print(f"cancelled={t.cancelled()}")
//       try:
//           await asyncio.create_task(quitter())
//       except asyncio.CancelledError as e:
//           print(f"自行取消: {e}")
//       try:
//           await asyncio.wait_for(asyncio.sleep(10), 0.1)
//       except TimeoutError as e:
//           print(f"逾時 (timed out), __cause__: {type(e.__cause__).__name__}")
//
// One worker thread, like asyncio's event loop. weft's TimeoutError carries
// the CancelledError it replaced as a nested exception: weft::cause(e).
#include <chrono>
#include <cstdio>

#include "example_time.hpp"
#include "weft/weft.hpp"

const char* py_bool(bool b) {
  return b ? "True" : "False";
}

weft::Task<void> worker() {
  try {
    co_await weft::sleep(example::secs(10));
  } catch (const weft::CancelledError& e) {
    std::printf("工作者收到取消: %s\n", e.what());
    throw;
  }
}

weft::Task<void> quitter() {
  weft::this_task::cancel("自己放棄 (gave up)");
  co_await weft::sleep(std::chrono::nanoseconds(0));
}

weft::Task<void> async_main() {
  auto t = weft::spawn(worker());
  co_await weft::sleep(example::secs(0.1));
  t.cancel("使用者按下停止 (user pressed stop)");
  try {
    co_await t;
  } catch (const weft::CancelledError& e) {
    std::printf("等待者看到: %s\n", e.what());
  }
  std::printf("cancelled=%s\n", py_bool(t.cancelled()));
  try {
    co_await weft::spawn(quitter());
  } catch (const weft::CancelledError& e) {
    std::printf("自行取消: %s\n", e.what());
  }
  try {
    co_await weft::wait_for(weft::sleep(example::secs(10)), example::secs(0.1));
  } catch (const weft::TimeoutError& e) {
    const char* cause = "None";
    try {
      if (auto c = weft::cause(e)) std::rethrow_exception(c);
    } catch (const weft::CancelledError&) {
      cause = "CancelledError";
    }
    std::printf("逾時 (timed out), __cause__: %s\n", cause);
  }
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
