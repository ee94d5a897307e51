// Seed: gather 的錯誤處理 — return_exceptions: every slot a value or an error.
#include <cstdio>
#include <string>

#include "example_time.hpp"
#include "weft/sync.hpp"  // weft::ValueError
#include "weft/weft.hpp"

weft::Task<std::string> task(std::string name, bool should_fail = false) {
  co_await weft::sleep(example::secs(1));
  if (should_fail) throw weft::ValueError(name + " 失敗");
  co_return name + " 成功";
}

weft::Task<void> async_main() {
  // return_exceptions：不會立即拋出異常
  auto results = co_await weft::gather(weft::return_exceptions,  //
                                       task("A"), task("B", true), task("C"));

  std::apply(
      [](auto&... result) {
        auto print = [](auto& r) {
          if (r.has_error())
            std::printf("錯誤: %s\n", weft::exception_message(r.error()).c_str());
          else
            std::printf("結果: %s\n", r.value().c_str());
        };
        (print(result), ...);
      },
      results);
}

int main() {
  weft::run(async_main());
}
