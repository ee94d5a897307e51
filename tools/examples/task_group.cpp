// Seed: 任務群組 — a TaskGroup whose child C fails; `except* ValueError`.
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/sync.hpp"  // weft::ValueError
#include "weft/weft.hpp"

weft::Task<std::string> task(std::string name) {
  co_await weft::sleep(example::secs(1));
  if (name == "C") throw weft::ValueError(name + " 失敗");
  co_return name + " 完成";
}

weft::Task<void> async_main() {
  // TaskGroup 會等待所有任務，並收集所有異常
  try {
    auto body = [](weft::TaskGroup& tg) -> weft::Task<void> {
      auto task_a = tg.spawn(task("A"));
      auto task_b = tg.spawn(task("B"));
      auto task_c = tg.spawn(task("C"));
      co_return;
    };
    co_await weft::task_group(body);
  } catch (const weft::ExceptionGroup& e) {
    e.handle<weft::ValueError>([](const weft::ExceptionGroup& eg) {  // except* ValueError as eg
      std::printf("捕獲異常: %s\n", eg.exceptions_repr().c_str());
    });
  }
}

int main() {
  weft::run(async_main());
}
