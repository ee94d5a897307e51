// Spawn, run and join under the model scheduler: the smallest runtime scenarios.
#include <gtest/gtest.h>

#include "model_test.hpp"
#include "weft/weft.hpp"

namespace {

weft::Task<int> answer() {
  co_return 42;
}

weft::Task<int> spawn_and_join() {
  auto h = weft::spawn(answer());
  co_return co_await h;
}

TEST(ModelSpawn, BlockOnASpawnedTask) {
  weft_test::expect_model_ok("spawn and join", 2000, [] {
    weft::Runtime rt(weft::RunOptions{.workers = 2});
    int v = rt.block_on(spawn_and_join());
    WEFT_MODEL_ASSERT(v == 42);
  });
}

}  // namespace
