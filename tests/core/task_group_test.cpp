// weft::TaskGroup: the seed's 任務群組 example, structured waiting, abort on
// failure (siblings and body cancelled, uncancel at the end), ExceptionGroup
// contents and order, simultaneous failures on different workers, failures
// during cleanup, nested groups, outside cancellation in every phase, and
// misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

/// Python's ValueError, for the seed twins.
struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct OtherError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> messages(const weft::ExceptionGroup& eg) {
  std::vector<std::string> out;
  for (const auto& e : eg.exceptions())
    out.push_back(weft::exception_message(e));
  return out;
}

// ---- the seed's 任務群組 example (1 s scaled to 10 ms) ----

weft::Task<std::string> seed_task(std::string name) {
  co_await weft::sleep(10ms);
  if (name == "C") throw ValueError(name + " 失敗");
  co_return name + " 完成";
}

weft::Task<void> seed_main(std::vector<std::string>* out) {
  try {
    auto body = [](weft::TaskGroup& tg) -> weft::Task<void> {
      auto task_a = tg.spawn(seed_task("A"));
      auto task_b = tg.spawn(seed_task("B"));
      auto task_c = tg.spawn(seed_task("C"));
      co_return;
    };
    co_await weft::task_group(body);
  } catch (const weft::ExceptionGroup& e) {
    // except* ValueError as eg: print(f"捕獲異常: {eg.exceptions}")
    e.handle<ValueError>([&](const weft::ExceptionGroup& eg) {
      out->push_back("捕獲異常: " + eg.exceptions_repr());
      std::cout << out->back() << "\n";
    });
  }
}

TEST(TaskGroup, SeedExample) {
  weft::test::Watchdog dog(60s);
  std::vector<std::string> out;
  weft::run(seed_main(&out), {.workers = 2});
  EXPECT_EQ(out, (std::vector<std::string>{"捕獲異常: (ValueError('C 失敗'),)"}));
}

// ---- success ----

weft::Task<int> value_after(int v, std::chrono::milliseconds d) {
  co_await weft::sleep(d);
  co_return v;
}

TEST(TaskGroup, WaitsForEveryChildAndReturnsTheBodyValue) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::vector<weft::JoinHandle<int>> hs;
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<int> {
      for (int i = 0; i < 20; ++i)
        hs.push_back(tg.spawn(value_after(i, std::chrono::milliseconds(i % 4))));
      EXPECT_FALSE(tg.aborting());
      co_return 42;
    };
    int v = co_await weft::task_group(body);
    EXPECT_EQ(v, 42);
    int sum = 0;
    for (auto& h : hs) {
      EXPECT_TRUE(h.done());  // leaving the block awaited every child
      sum += h.result();
    }
    EXPECT_EQ(sum, 190);
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(TaskGroup, EmptyGroupAndThousandChildren) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto empty = [](weft::TaskGroup&) -> weft::Task<void> { co_return; };
    co_await weft::task_group(empty);
    std::atomic<int> ran{0};
    auto leaf = [](std::atomic<int>* r) -> weft::Task<void> {
      r->fetch_add(1);
      co_return;
    };
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      for (int i = 0; i < 1000; ++i)
        tg.spawn(leaf(&ran));
      co_return;
    };
    co_await weft::task_group(body);
    EXPECT_EQ(ran.load(), 1000);
  };
  weft::run(main_task(), {.workers = 4});
}

weft::Task<void> spawn_sibling(weft::TaskGroup* tg, std::atomic<int>* ran, int depth) {
  ran->fetch_add(1);
  co_await weft::yield();
  if (depth > 0) tg->spawn(spawn_sibling(tg, ran, depth - 1));
}

TEST(TaskGroup, ChildrenMaySpawnSiblings) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> ran{0};
  auto main_task = [&]() -> weft::Task<void> {
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      for (int i = 0; i < 10; ++i)
        tg.spawn(spawn_sibling(&tg, &ran, 5));
      co_return;
    };
    co_await weft::task_group(body);
    EXPECT_EQ(ran.load(), 60);  // every generation finished before the block ended
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(TaskGroup, ChildCancelledByTheBodyIsNotAFailure) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::JoinHandle<int> slow;
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      slow = tg.spawn(value_after(1, 10s));
      tg.spawn(value_after(2, 1ms));
      co_await weft::sleep(1ms);
      slow.cancel();
    };
    co_await weft::task_group(body);
    EXPECT_TRUE(slow.cancelled());
  };
  weft::run(main_task(), {.workers = 2});
}

// ---- failure: abort, order, uncancel ----

weft::Task<int> fail_after(std::string msg, std::chrono::milliseconds d) {
  co_await weft::sleep(d);
  throw ValueError(msg);
}

/// Fails once `n` children have started (polled; the watchdog bounds it).
weft::Task<int> fail_once_started(std::string msg, std::atomic<int>* started, int n) {
  while (started->load() < n)
    co_await weft::sleep(1ms);
  throw ValueError(msg);
}

/// Waits until `n` children have started (the watchdog bounds it).
weft::Task<void> until_started(std::atomic<int>* started, int n) {
  while (started->load() < n)
    co_await weft::sleep(1ms);
}

/// Counts `started` (if given) when its body begins: a child cancelled before
/// its first step never runs its body, so the tests that count cancelled
/// children wait for `started` instead of sleeping a few milliseconds.
weft::Task<int> sleeper(std::atomic<int>* cancelled, std::atomic<int>* started = nullptr) {
  if (started) started->fetch_add(1);
  try {
    co_await weft::sleep(10s);
  } catch (const weft::CancelledError&) {
    cancelled->fetch_add(1);
    throw;
  }
  co_return 0;
}

TEST(TaskGroup, FailureCancelsSiblingsAndBodyThenRaisesGroup) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<int> cancelled{0}, started{0};
    bool body_cancelled = false;
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      for (int i = 0; i < 5; ++i)
        tg.spawn(sleeper(&cancelled, &started));
      tg.spawn(fail_once_started("boom", &started, 5));
      try {
        co_await weft::sleep(10s);
      } catch (const weft::CancelledError&) {
        body_cancelled = true;
        EXPECT_TRUE(tg.aborting());
        throw;
      }
    };
    bool caught = false;
    try {
      co_await weft::task_group(body);
    } catch (const weft::ExceptionGroup& eg) {
      caught = true;
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"boom"}));
      EXPECT_EQ(eg.message(), "unhandled errors in a TaskGroup");
      EXPECT_STREQ(eg.what(), "unhandled errors in a TaskGroup (1 sub-exception)");
    }
    EXPECT_TRUE(caught);
    EXPECT_TRUE(body_cancelled);
    EXPECT_EQ(cancelled.load(), 5);
    // The group withdrew its own cancellation: nothing is pending any more.
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
    co_await weft::sleep(1ms);
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(TaskGroup, BodyExceptionJoinsTheGroupLast) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(fail_after("child", 0ms));
      try {
        co_await weft::sleep(10s);  // cancelled by the child's failure
      } catch (const weft::CancelledError&) {
      }
      throw OtherError("body");
    };
    try {
      co_await weft::task_group(body);
      ADD_FAILURE() << "no exception";
    } catch (const weft::ExceptionGroup& eg) {
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"child", "body"}));
      EXPECT_TRUE(eg.contains<OtherError>());
    }
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, BodyFailureAloneCancelsChildrenAndIsWrapped) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<int> cancelled{0}, started{0};
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(sleeper(&cancelled, &started));
      tg.spawn(sleeper(&cancelled, &started));
      co_await until_started(&started, 2);
      throw OtherError("body only");
    };
    try {
      co_await weft::task_group(body);
      ADD_FAILURE() << "no exception";
    } catch (const weft::ExceptionGroup& eg) {
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"body only"}));
    }
    EXPECT_EQ(cancelled.load(), 2);
  };
  weft::run(main_task(), {.workers = 2});
}

// Failure while other children are inside their cleanup: C fails; A cleans up
// and ends cancelled; B fails during its cleanup; D waits for B to finish and
// then fails too. Completion order C, B, D is forced by D awaiting B; on one
// worker B's completion reaches the group before D can run (with several, D
// may be woken and finish while B's completion is still being announced).
weft::Task<void> cleanup_then_cancel() {
  try {
    co_await weft::sleep(10s);
  } catch (const weft::CancelledError&) {
  }
  co_await weft::sleep(2ms);  // cleanup that awaits
  throw weft::CancelledError();
}
weft::Task<void> cleanup_then_fail(std::string msg) {
  try {
    co_await weft::sleep(10s);
  } catch (const weft::CancelledError&) {
  }
  co_await weft::sleep(3ms);
  throw ValueError(msg);
}
weft::Task<void> fail_after_sibling(weft::JoinHandle<void>* sibling, std::string msg) {
  bool cancelled = false;
  try {
    co_await weft::sleep(10s);
  } catch (const weft::CancelledError&) {
    cancelled = true;
  }
  EXPECT_TRUE(cancelled);
  try {
    co_await weft::shield(*sibling);  // wait until B has finished (it fails)
  } catch (const ValueError&) {
  }
  throw ValueError(msg);
}

TEST(TaskGroup, FailuresDuringCleanupAreCollectedInCompletionOrder) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::JoinHandle<void> b;
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(cleanup_then_cancel());
      b = tg.spawn(cleanup_then_fail("B"));
      tg.spawn(fail_after_sibling(&b, "D"));
      co_await weft::sleep(1ms);
      tg.spawn(fail_after("C", 0ms));
    };
    try {
      co_await weft::task_group(body);
      ADD_FAILURE() << "no exception";
    } catch (const weft::ExceptionGroup& eg) {
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"C", "B", "D"}));
    }
  };
  weft::run(main_task(), {.workers = 1});  // one worker: see the note above
}

// Children failing at the same instant on different workers: each exception
// is collected exactly once.
weft::Task<void> fail_together(std::atomic<int>* arrived, int n, int id) {
  co_await weft::yield();  // (a coroutine: it must not run inside spawn())
  arrived->fetch_add(1);
  while (arrived->load() < n)
    std::this_thread::yield();  // no suspension: each child holds its worker
  throw ValueError(std::to_string(id));
}

TEST(TaskGroup, SimultaneousFailuresOnDifferentThreads) {
  weft::test::Watchdog dog(120s);
  constexpr int kChildren = 4;
  weft::Runtime rt({.workers = kChildren});
  long rounds = weft::test::stress_iterations(200);
  for (long r = 0; r < rounds; ++r) {
    auto main_task = [&]() -> weft::Task<void> {
      std::atomic<int> arrived{0};
      auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
        for (int i = 0; i < kChildren; ++i)
          tg.spawn(fail_together(&arrived, kChildren, i));
        co_return;
      };
      try {
        co_await weft::task_group(body);
        ADD_FAILURE() << "no exception";
      } catch (const weft::ExceptionGroup& eg) {
        std::multiset<std::string> got;
        for (const auto& m : messages(eg))
          got.insert(m);
        EXPECT_EQ(got, (std::multiset<std::string>{"0", "1", "2", "3"}));
      }
      EXPECT_EQ(weft::this_task::cancelling(), 0u);
    };
    rt.block_on(main_task());
  }
  weft::test::report_iterations("TaskGroup.SimultaneousFailuresOnDifferentThreads", rounds);
}

// ---- nested groups ----

weft::Task<void> inner_group(std::string msg) {
  auto body = [msg](weft::TaskGroup& tg) -> weft::Task<void> {
    tg.spawn(fail_after(msg, 1ms));
    co_return;
  };
  co_await weft::task_group(body);
}

weft::Task<void> inner_group_of_sleepers(std::atomic<int>* cancelled, std::atomic<bool>* saw) {
  auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
    tg.spawn(sleeper(cancelled));
    tg.spawn(sleeper(cancelled));
    co_return;
  };
  try {
    co_await weft::task_group(body);
  } catch (const weft::CancelledError&) {
    saw->store(true);  // outside cancellation of a group: CancelledError, not a group
    throw;
  }
}

TEST(TaskGroup, NestedGroupFailureStaysNested) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(inner_group("inner"));
      co_return;
    };
    try {
      co_await weft::task_group(body);
      ADD_FAILURE() << "no exception";
    } catch (const weft::ExceptionGroup& eg) {
      EXPECT_EQ(eg.size(), 1u);
      EXPECT_EQ(eg.repr(),
                "ExceptionGroup('unhandled errors in a TaskGroup', "
                "[ExceptionGroup('unhandled errors in a TaskGroup', [ValueError('inner')])])");
      EXPECT_TRUE(eg.contains<ValueError>());
      EXPECT_EQ(eg.leaves().size(), 1u);
      auto [match, rest] = eg.split<ValueError>();
      EXPECT_TRUE(match.has_value());
      EXPECT_FALSE(rest.has_value());
    }
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, OuterFailureCancelsAnInnerGroup) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<int> cancelled{0};
    std::atomic<bool> inner_saw_cancel{false};
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(inner_group_of_sleepers(&cancelled, &inner_saw_cancel));
      co_await weft::sleep(2ms);
      tg.spawn(fail_after("outer", 0ms));
    };
    try {
      co_await weft::task_group(body);
      ADD_FAILURE() << "no exception";
    } catch (const weft::ExceptionGroup& eg) {
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"outer"}));
    }
    EXPECT_EQ(cancelled.load(), 2);
    EXPECT_TRUE(inner_saw_cancel.load());
  };
  weft::run(main_task(), {.workers = 3});
}

TEST(TaskGroup, NestedGroupInTheBodyOfTheSameTask) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<int> cancelled{0}, started{0};
    auto inner = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(fail_once_started("inner", &started, 1));
      co_await weft::sleep(10s);  // cancelled by the inner group only
    };
    auto outer = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(sleeper(&cancelled, &started));
      co_await weft::task_group(inner);
    };
    try {
      co_await weft::task_group(outer);
      ADD_FAILURE() << "no exception";
    } catch (const weft::ExceptionGroup& eg) {
      // The inner group is the outer body's exception: one nested group.
      EXPECT_EQ(eg.size(), 1u);
      EXPECT_EQ(eg.exceptions_repr(),
                "(ExceptionGroup('unhandled errors in a TaskGroup', [ValueError('inner')]),)");
    }
    EXPECT_EQ(cancelled.load(), 1);
    EXPECT_EQ(weft::this_task::cancelling(), 0u);
  };
  weft::run(main_task(), {.workers = 2});
}

// ---- cancellation from outside, in each phase ----

struct Phase {
  std::atomic<int> children_done{0};
  std::atomic<int> children_cancelled{0};
  std::atomic<bool> body_started{false};
  std::atomic<bool> spawned{false};
  std::atomic<bool> in_join{false};
  std::atomic<bool> in_cleanup{false};
  bool group_exited_with_all_done = false;
};

weft::Task<void> phase_child(Phase* p, std::chrono::milliseconds cleanup) {
  try {
    co_await weft::sleep(10s);
  } catch (const weft::CancelledError&) {
    p->children_cancelled.fetch_add(1);
    p->in_cleanup = true;
  }
  if (cleanup.count()) co_await weft::sleep(cleanup);  // the group waits for this
  p->children_done.fetch_add(1);
  throw weft::CancelledError();
}

enum class When { before_spawn, body_running, joining, children_cleanup };

weft::Task<void> phase_main(Phase* p, When when) {
  auto body = [p, when](weft::TaskGroup& tg) -> weft::Task<void> {
    p->body_started = true;
    if (when == When::before_spawn) co_await weft::sleep(10s);
    for (int i = 0; i < 3; ++i)
      tg.spawn(phase_child(p, when == When::children_cleanup ? 20ms : 0ms));
    p->spawned = true;
    if (when == When::body_running) co_await weft::sleep(10s);
    p->in_join = true;
  };
  try {
    co_await weft::task_group(body);
  } catch (...) {
    p->group_exited_with_all_done = p->children_done.load() == (when == When::before_spawn ? 0 : 3);
    throw;
  }
}

weft::Task<void> wait_until(std::atomic<bool>* flag) {
  while (!flag->load())
    co_await weft::sleep(1ms);
}

class OutsideCancel : public ::testing::TestWithParam<When> {};

TEST_P(OutsideCancel, PropagatesCancelledErrorAfterAllChildrenFinished) {
  weft::test::Watchdog dog(60s);
  When when = GetParam();
  Phase p;
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(phase_main(&p, when));
    std::atomic<bool>* flag = when == When::before_spawn   ? &p.body_started
                              : when == When::body_running ? &p.spawned
                                                           : &p.in_join;
    co_await wait_until(flag);
    co_await weft::sleep(2ms);  // let it suspend where we want it
    h.cancel();
    if (when == When::children_cleanup) {
      std::atomic<bool>* cleanup = &p.in_cleanup;
      co_await wait_until(cleanup);
      h.cancel();  // again, while the children clean up: still waits for them
    }
    bool cancelled = false;
    try {
      co_await h;
    } catch (const weft::CancelledError&) {
      cancelled = true;
    } catch (const weft::ExceptionGroup&) {
      ADD_FAILURE() << "an outside cancellation must not become a group";
    }
    EXPECT_TRUE(cancelled);
    EXPECT_TRUE(h.cancelled());
  };
  weft::run(main_task(), {.workers = 3});
  EXPECT_TRUE(p.group_exited_with_all_done);
  int expected = when == When::before_spawn ? 0 : 3;
  EXPECT_EQ(p.children_cancelled.load(), expected);
  EXPECT_EQ(p.children_done.load(), expected);
}

INSTANTIATE_TEST_SUITE_P(Phases, OutsideCancel,
                         ::testing::Values(When::before_spawn, When::body_running, When::joining,
                                           When::children_cleanup));

// Cancelled from outside and a child failed: the failure wins (a group), and the
// outside request stays pending for the next suspension (asyncio 3.13).
TEST(TaskGroup, OutsideCancelPlusFailureRaisesGroupAndKeepsTheRequest) {
  weft::test::Watchdog dog(60s);
  std::atomic<bool> in_body{false};
  std::atomic<int> stage{0};
  auto victim = [&]() -> weft::Task<void> {
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(cleanup_then_fail("late"));  // fails in its cleanup after the cancel
      in_body = true;
      co_await weft::sleep(10s);
    };
    try {
      co_await weft::task_group(body);
    } catch (const weft::ExceptionGroup& eg) {
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"late"}));
      stage = 1;
      EXPECT_EQ(weft::this_task::cancelling(), 1u);
    }
    co_await weft::sleep(1ms);  // the outside request is delivered here
    stage = 2;
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(victim());
    std::atomic<bool>* flag = &in_body;
    co_await wait_until(flag);
    co_await weft::sleep(1ms);
    h.cancel();
    bool cancelled = false;
    try {
      co_await weft::shield(h);
    } catch (const weft::CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
  };
  weft::run(main_task(), {.workers = 2});
  EXPECT_EQ(stage.load(), 1);
}

// ---- explicit form and misuse ----

TEST(TaskGroup, ExplicitFormJoins) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::TaskGroup tg;
    auto a = tg.spawn(value_after(1, 1ms));
    auto b = tg.spawn(value_after(2, 2ms));
    EXPECT_FALSE(tg.aborting());
    co_await tg.join();
    EXPECT_EQ(a.result() + b.result(), 3);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, ExplicitFormWithBodyError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    std::atomic<int> cancelled{0}, started{0};
    weft::TaskGroup tg;
    std::exception_ptr err;
    try {
      tg.spawn(sleeper(&cancelled, &started));
      co_await until_started(&started, 1);  // the child has begun
      throw OtherError("explicit body");
    } catch (...) {
      err = std::current_exception();
    }
    bool caught = false;
    try {
      co_await tg.join(err);
    } catch (const weft::ExceptionGroup& eg) {
      caught = true;
      EXPECT_EQ(messages(eg), (std::vector<std::string>{"explicit body"}));
    }
    EXPECT_TRUE(caught);
    EXPECT_EQ(cancelled.load(), 1);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, SpawnAfterFinishIsAClearError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::TaskGroup tg;
    tg.spawn(value_after(1, 0ms));
    co_await tg.join();
    try {
      tg.spawn(value_after(2, 0ms));
      ADD_FAILURE() << "spawn into a finished group";
    } catch (const weft::InvalidStateError& e) {
      EXPECT_NE(std::string(e.what()).find("has finished"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("task_group_test.cpp"), std::string::npos) << e.what();
    }
    try {
      co_await tg.join();
      ADD_FAILURE() << "joined twice";
    } catch (const weft::InvalidStateError&) {
    }
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, SpawnWhileAbortingIsRefused) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    bool refused = false;
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      auto f = tg.spawn(fail_after("first", 0ms));
      try {
        co_await weft::sleep(10s);
      } catch (const weft::CancelledError&) {
      }
      try {
        auto late = tg.spawn(value_after(1, 0ms));
        // The instant in which the aborting worker has made its request but
        // not yet recorded it (task_group.hpp): the spawn is accepted and its
        // child cancelled at once. It must never run to completion.
        try {
          (void)co_await late;
        } catch (const weft::CancelledError&) {
          refused = true;
        }
      } catch (const weft::InvalidStateError& e) {
        refused = std::string(e.what()).find("shutting down") != std::string::npos;
      }
    };
    try {
      co_await weft::task_group(body);
    } catch (const weft::ExceptionGroup&) {
    }
    EXPECT_TRUE(refused);
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, OutsideATaskIsARuntimeError) {
  EXPECT_THROW(weft::TaskGroup tg, weft::RuntimeError);
}

TEST(TaskGroup, JoinFromAnotherTaskIsAClearError) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::TaskGroup tg;
    auto other = [](weft::TaskGroup* g) -> weft::Task<bool> {
      try {
        co_await g->join();
      } catch (const weft::InvalidStateError&) {
        co_return true;
      }
      co_return false;
    };
    auto h = weft::spawn(other(&tg));
    bool refused = co_await h;
    EXPECT_TRUE(refused);
    co_await tg.join();
  };
  weft::run(main_task(), {.workers = 2});
}

TEST(TaskGroup, DestroyedWithoutJoinCancelsChildrenAndReports) {
  weft::test::Watchdog dog(60s);
  std::atomic<int> cancelled{0}, started{0};
  testing::internal::CaptureStderr();
  auto main_task = [&]() -> weft::Task<void> {
    weft::JoinHandle<int> h;
    {
      weft::TaskGroup tg;  // misuse: never joined
      h = tg.spawn(sleeper(&cancelled, &started));
      co_await until_started(&started, 1);  // the child has begun
    }
    bool threw = co_await weft::test::ends_cancelled(h);
    EXPECT_TRUE(threw);
  };
  weft::run(main_task(), {.workers = 2});
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cancelled.load(), 1);
  EXPECT_NE(err.find("destroyed without join()"), std::string::npos) << err;
  EXPECT_NE(err.find("task_group_test.cpp"), std::string::npos) << err;
  EXPECT_NE(err.find("1 unfinished child task(s) cancelled"), std::string::npos) << err;
}

}  // namespace
