// Seed-style: Barrier（屏障）— three workers meet, then an aborted round.
//
// The Python original (asyncio 3.11):
//
//   async def worker(barrier, name, delay):
//       print(f"{name} 準備中...")
//       await asyncio.sleep(delay)
//       print(f"{name} 抵達屏障 (等待中: {barrier.n_waiting})")
//       index = await barrier.wait()
//       print(f"{name} 通過屏障 (index {index})")
//
//   async def stuck(barrier, name):
//       try:
//           await barrier.wait()
//       except asyncio.BrokenBarrierError as e:
//           print(f"{name} 屏障已損壞: {e}")
//
//   async def quitter(barrier):
//       await asyncio.sleep(1)
//       print(f"放棄等待, 中止屏障 (等待中: {barrier.n_waiting})")
//       await barrier.abort()
//
//   async def main():
//       barrier = asyncio.Barrier(3)
//       await asyncio.gather(worker(barrier, "A", 1), worker(barrier, "B", 2),
//                            worker(barrier, "C", 3))
//       print(f"第一回合結束, broken={barrier.broken}")
//       await asyncio.gather(stuck(barrier, "A"), stuck(barrier, "B"), quitter(barrier))
//       print(f"第二回合結束, broken={barrier.broken}")
//       await barrier.reset()
//       print(f"重設後 broken={barrier.broken}, parties={barrier.parties}")
//
// One worker thread, like asyncio's event loop: the task that trips the
// barrier goes on at once, the released ones resume in the order they waited.
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

const char* py_bool(bool b) {
  return b ? "True" : "False";
}

weft::Task<void> worker(weft::Barrier& barrier, std::string name, double delay) {
  std::printf("%s 準備中...\n", name.c_str());
  co_await weft::sleep(example::secs(delay));
  std::printf("%s 抵達屏障 (等待中: %lld)\n", name.c_str(),
              static_cast<long long>(barrier.n_waiting()));
  std::int64_t index = co_await barrier.wait();
  std::printf("%s 通過屏障 (index %lld)\n", name.c_str(), static_cast<long long>(index));
}

weft::Task<void> stuck(weft::Barrier& barrier, std::string name) {
  try {
    co_await barrier.wait();
  } catch (const weft::BrokenBarrierError& e) {
    std::printf("%s 屏障已損壞: %s\n", name.c_str(), e.what());
  }
}

weft::Task<void> quitter(weft::Barrier& barrier) {
  co_await weft::sleep(example::secs(1));
  std::printf("放棄等待, 中止屏障 (等待中: %lld)\n", static_cast<long long>(barrier.n_waiting()));
  barrier.abort();  // asyncio's is a coroutine (it takes a lock); weft's never waits
}

weft::Task<void> async_main() {
  weft::Barrier barrier(3);
  co_await weft::gather(worker(barrier, "A", 1), worker(barrier, "B", 2), worker(barrier, "C", 3));
  std::printf("第一回合結束, broken=%s\n", py_bool(barrier.broken()));
  co_await weft::gather(stuck(barrier, "A"), stuck(barrier, "B"), quitter(barrier));
  std::printf("第二回合結束, broken=%s\n", py_bool(barrier.broken()));
  barrier.reset();
  std::printf("重設後 broken=%s, parties=%lld\n", py_bool(barrier.broken()),
              static_cast<long long>(barrier.parties()));
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
