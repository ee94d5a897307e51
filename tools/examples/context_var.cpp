// Seed-style: ContextVar（上下文變數）— a request id propagated to nested tasks and to to_thread.
//
// The Python original (asyncio 3.11):
//
//   import asyncio, contextvars
//
//   request_id = contextvars.ContextVar("request_id", default="-")
//
//   def log(msg):
//       print(f"[{request_id.get()}] {msg}")
//
//   async def query_db(sql):
//       log(f"查詢 {sql}")
//       await asyncio.sleep(0.1)
//       return 42
//
//   def blocking_audit():
//       log("寫入稽核日誌 (執行緒)")
//       request_id.set("audit")  # only the thread's copy
//
//   async def handle(rid, delay):
//       request_id.set(rid)
//       log("開始處理請求")
//       await asyncio.sleep(delay)
//       rows = await asyncio.create_task(query_db("SELECT 1"))
//       await asyncio.to_thread(blocking_audit)
//       log(f"完成, rows={rows}")
//
//   async def main():
//       log("伺服器啟動")
//       async with asyncio.TaskGroup() as tg:
//           tg.create_task(handle("req-1", 0.1))
//           tg.create_task(handle("req-2", 3.0))
//       log("全部完成")
//       token = request_id.set("admin")
//       log("管理工作")
//       request_id.reset(token)
//       try:
//           request_id.reset(token)
//       except RuntimeError as e:
//           print("RuntimeError:", e)
//       log("結束")
//
//   asyncio.run(main())
//
// One worker thread, like asyncio's event loop. Each handler's set() changes
// its own task's context only; the query task it spawns and the blocking
// audit it sends to a thread see a copy, and what the thread sets stays
// there. main's context keeps its default throughout. req-2 waits 3 s (150
// ms at the tests' time scale) so that its query comes after req-1's thread
// call even when a loaded machine delays that call.
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/weft.hpp"

weft::ContextVar<std::string> request_id("request_id", "-");

void log(const std::string& msg) {
  std::printf("[%s] %s\n", request_id.get().c_str(), msg.c_str());
}

weft::Task<int> query_db(std::string sql) {
  log("查詢 " + sql);
  co_await weft::sleep(example::secs(0.1));
  co_return 42;
}

void blocking_audit() {
  log("寫入稽核日誌 (執行緒)");
  (void)request_id.set("audit");  // only the thread's copy
}

weft::Task<void> handle(std::string rid, double delay) {
  (void)request_id.set(rid);
  log("開始處理請求");
  co_await weft::sleep(example::secs(delay));
  int rows = co_await weft::spawn(query_db("SELECT 1"));
  co_await weft::to_thread(blocking_audit);
  log("完成, rows=" + std::to_string(rows));
}

weft::Task<void> async_main() {
  log("伺服器啟動");
  auto body = [](weft::TaskGroup& tg) -> weft::Task<void> {
    tg.spawn(handle("req-1", 0.1));
    tg.spawn(handle("req-2", 3.0));
    co_return;
  };
  co_await weft::task_group(body);
  log("全部完成");
  auto token = request_id.set("admin");
  log("管理工作");
  request_id.reset(token);
  try {
    request_id.reset(token);
  } catch (const weft::RuntimeError& e) {
    std::printf("RuntimeError: %s\n", e.what());
  }
  log("結束");
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
