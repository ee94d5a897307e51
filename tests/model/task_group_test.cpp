// TaskGroup under the model: spawns from outside the group racing the group's
// end, a child's failure racing the body's own spawns, and the abort sweep
// racing completions.
#include <gtest/gtest.h>

#include <stdexcept>

#include "model_test.hpp"
#include "weft/sync.hpp"
#include "weft/weft.hpp"

namespace weft::detail {
void block_until_complete(TaskHeader* task);  // runtime.cpp
}

namespace {

struct Shared {
  weft::Event go;
};

weft::Task<> wait_for(Shared* s) {
  co_await s->go.wait();
}

weft::Task<> set_go(Shared* s) {
  s->go.set();
  co_return;
}

// A task outside the group spawns into it while the group is certainly open
// (its only other child waits for an event that the new child sets). The new
// child may run and finish at once on the other worker, which ends the group:
// its parent leaves and destroys the TaskGroup while the spawn is still
// returning. R2: attach() read the group's state after registering the
// child's listener, when that state could already be freed (ASan
// heap-use-after-free).
weft::Task<int> outsider(weft::TaskGroup* tg, Shared* s) {
  auto h = tg->spawn(set_go(s));
  (void)h;
  co_return 1;
}

weft::Task<weft::JoinHandle<int>> parent(Shared* s) {
  weft::TaskGroup tg;
  tg.spawn(wait_for(s));
  auto x = weft::spawn(outsider(&tg, s));
  co_await tg.join();
  co_return x;  // the TaskGroup dies here, maybe while `outsider` is in spawn()
}

TEST(ModelTaskGroup, SpawnFromOutsideRacesTheGroupsEnd) {
  weft_test::expect_model_ok("task group spawn from outside vs end", 20000, [] {
    Shared s;
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    weft::JoinHandle<int> x = rt.block_on(parent(&s));
    weft::detail::block_until_complete(x.header());
    WEFT_MODEL_ASSERT(x.result() == 1);
  });
}

weft::Task<> fail_now() {
  throw std::runtime_error("child failed");
  co_return;
}

weft::Task<> idle_child() {
  co_await weft::sleep(std::chrono::seconds(10));
}

// A child fails on the other worker while the body is still spawning, without
// suspending in between. S2: the body's tg.spawn() threw InvalidStateError
// ("shutting down"), which escaped the user's handlers for the children's
// own exception types; a spawn that races with the abort must instead return
// a child that is cancelled at once, and the body sees CancelledError at its
// next suspension point, as in asyncio.
weft::Task<int> body_spawns_while_a_child_fails() {
  int caught_runtime_errors = 0;
  try {
    auto body = [](weft::TaskGroup& tg) -> weft::Task<> {
      tg.spawn(fail_now());
      for (int i = 0; i < 3; ++i)
        tg.spawn(idle_child());
      co_await weft::sleep(std::chrono::seconds(10));  // cancelled by the abort
    };
    co_await weft::task_group(body);
  } catch (const weft::ExceptionGroup& eg) {
    for (const auto& e : eg.exceptions()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::runtime_error&) {
        ++caught_runtime_errors;
      } catch (...) {
        WEFT_MODEL_ASSERT(!"the group holds an exception that is not the child's");
      }
    }
  }
  co_return caught_runtime_errors;
}

TEST(ModelTaskGroup, BodySpawnsWhileAChildFailsOnAnotherWorker) {
  weft_test::expect_model_ok("task group body spawns vs child failure", 10000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    int n = rt.block_on(body_spawns_while_a_child_fails());
    WEFT_MODEL_ASSERT(n == 1);
  });
}

}  // namespace
