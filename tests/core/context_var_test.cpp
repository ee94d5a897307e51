// weft::ContextVar: get/set/reset, defaults and LookupError, Tokens and their
// misuse (asyncio's messages), inheritance by spawned tasks, TaskGroup and
// gather children, to_thread and run_in_executor, isolation between tasks and
// threads, and the release of every value (counted) when contexts go away.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

weft::ContextVar<int> number("number");
weft::ContextVar<std::string> label("label", "none");

/// A value that counts its live copies: every one created must be destroyed.
struct Counted {
  static inline std::atomic<long> alive{0};
  int v;
  explicit Counted(int x) : v(x) { alive.fetch_add(1); }
  Counted(const Counted& o) : v(o.v) { alive.fetch_add(1); }
  ~Counted() { alive.fetch_sub(1); }
};
weft::ContextVar<Counted> counted("counted");

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

// ---- outside any task: the thread's own context ----

TEST(ContextVar, UnsetWithoutDefaultThrowsLookupError) {
  std::string what = message_of<weft::LookupError>([] { (void)number.get(); });
  EXPECT_EQ(what, "<ContextVar name='number'>: no value in the current context, and no default");
  EXPECT_EQ(number.get(7), 7);     // get(default)
  EXPECT_EQ(label.get(), "none");  // the variable's default
  EXPECT_EQ(label.get("x"), "x");  // get(default) wins over it
  EXPECT_EQ(number.name(), "number");
}

TEST(ContextVar, SetGetResetOnAPlainThread) {
  auto t1 = number.set(1);
  EXPECT_FALSE(t1.old_value().has_value());  // Token.MISSING
  EXPECT_EQ(number.get(), 1);
  auto t2 = number.set(2);
  EXPECT_EQ(t2.old_value(), 1);
  EXPECT_EQ(number.get(), 2);
  EXPECT_EQ(&t2.var(), &number);
  number.reset(t2);
  EXPECT_TRUE(t2.used());
  EXPECT_EQ(number.get(), 1);
  number.reset(t1);
  EXPECT_THROW((void)number.get(), weft::LookupError);
}

TEST(ContextVar, ManyVariablesInOneContext) {
  std::vector<std::unique_ptr<weft::ContextVar<int>>> vars;
  std::vector<weft::Token<int>> tokens;
  for (int i = 0; i < 20; ++i) {
    vars.push_back(std::make_unique<weft::ContextVar<int>>("v" + std::to_string(i)));
    tokens.push_back(vars.back()->set(i * 10));
  }
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(vars[i]->get(), i * 10);
  // Reset in a scrambled order: each removal leaves the others intact.
  for (int i : {3, 19, 0, 7, 12}) {
    vars[i]->reset(tokens[i]);
    EXPECT_EQ(vars[i]->get(-1), -1);
  }
  for (int i = 0; i < 20; ++i) {
    if (!tokens[i].used()) {
      EXPECT_EQ(vars[i]->get(), i * 10);
    }
  }
  for (int i = 19; i >= 0; --i)
    if (!tokens[i].used()) vars[i]->reset(tokens[i]);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(vars[i]->get(-1), -1);
}

TEST(ContextVar, TokenMisuseUsesAsyncioWording) {
  weft::ContextVar<int> other("other");
  auto t = number.set(5);
  auto o = other.set(6);
  EXPECT_EQ(message_of<std::invalid_argument>([&] { number.reset(o); }),
            "<Token var=<ContextVar name='other'>> was created by a different ContextVar");
  number.reset(t);
  EXPECT_EQ(message_of<weft::RuntimeError>([&] { number.reset(t); }),
            "<Token used var=<ContextVar name='number'>> has already been used once");
  other.reset(o);
  auto moved_to = std::move(t);
  EXPECT_THROW(number.reset(t), weft::InvalidStateError);  // NOLINT: moved-from on purpose
  EXPECT_THROW((void)t.var(), weft::InvalidStateError);
  EXPECT_TRUE(moved_to.used());
}

TEST(ContextVar, ThreadsHaveTheirOwnContexts) {
  auto mine = number.set(100);
  std::atomic<int> seen_unset{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([i, &seen_unset] {
      if (number.get(-1) == -1) seen_unset.fetch_add(1);  // not the main thread's value
      auto t = number.set(i);
      for (int k = 0; k < 1000; ++k)
        ASSERT_EQ(number.get(), i);
      (void)counted.set(i);  // released at thread exit
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(seen_unset.load(), 4);
  EXPECT_EQ(number.get(), 100);
  EXPECT_EQ(Counted::alive.load(), 0);  // each thread's context went with it
  number.reset(mine);
}

TEST(ContextVar, TokenFromAnotherThreadIsADifferentContext) {
  std::optional<weft::Token<int>> token;
  std::thread([&] { token.emplace(number.set(1)); }).join();
  EXPECT_EQ(message_of<std::invalid_argument>([&] { number.reset(*token); }),
            "<Token var=<ContextVar name='number'>> was created in a different Context");
}

// ---- tasks ----

weft::Task<int> read_number() {
  co_return number.get(-1);
}

weft::Task<int> set_and_read(int v) {
  auto t = number.set(v);
  co_await weft::yield();  // siblings run meanwhile
  co_await weft::yield();
  co_return number.get();
}

TEST(ContextVar, SpawnedTaskStartsWithACopy) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<> {
    auto t = number.set(1);
    auto child = weft::spawn(read_number());
    auto named = weft::spawn(read_number(), "named child");  // TaskInfo made by the name first
    auto t2 = number.set(2);  // after the spawns: the children's copies keep 1
    EXPECT_EQ(co_await child, 1);
    EXPECT_EQ(co_await named, 1);
    EXPECT_EQ(number.get(), 2);
  };
  weft::run(body(), {.workers = 2});
}

TEST(ContextVar, ChildSetsNeverLeakToParentOrSiblings) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<> {
    auto t = number.set(-5);
    std::vector<weft::JoinHandle<int>> hs;
    for (int i = 0; i < 16; ++i)
      hs.push_back(weft::spawn(set_and_read(i)));
    for (int i = 0; i < 16; ++i)
      EXPECT_EQ(co_await hs[i], i);
    EXPECT_EQ(number.get(), -5);
  };
  weft::run(body(), {.workers = 2});
}

weft::Task<> nested_sets() {
  (void)number.set(42);
  co_return;
}

TEST(ContextVar, AwaitedTaskSharesItsAwaitersContext) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<int> {
    co_await nested_sets();  // not spawned: the same context, as an awaited coroutine
    co_return number.get();
  };
  EXPECT_EQ(weft::run(body(), {.workers = 1}), 42);
}

TEST(ContextVar, BlockOnCopiesTheCallingThreadsContext) {
  weft::test::Watchdog dog(60s);
  auto t = number.set(9);
  weft::Runtime rt({.workers = 2});
  EXPECT_EQ(rt.block_on(read_number()), 9);
  auto changer = []() -> weft::Task<int> { co_return co_await set_and_read(10); };
  EXPECT_EQ(rt.block_on(changer()), 10);
  EXPECT_EQ(number.get(), 9);
  number.reset(t);
}

TEST(ContextVar, TokenResetInAnotherTaskIsADifferentContext) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<std::string> {
    auto t = number.set(1);
    auto in_child = [&t]() -> weft::Task<std::string> {
      co_return message_of<std::invalid_argument>([&] { number.reset(t); });
    };
    auto child = in_child();
    std::string child_says = co_await weft::spawn(std::move(child));
    number.reset(t);  // still good here
    EXPECT_THROW((void)number.get(), weft::LookupError);
    co_return child_says;
  };
  EXPECT_EQ(weft::run(body(), {.workers = 2}),
            "<Token var=<ContextVar name='number'>> was created in a different Context");
}

TEST(ContextVar, TaskGroupChildrenSeeACopy) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<> {
    auto t = number.set(3);
    std::vector<weft::JoinHandle<int>> hs;
    auto group_body = [&](weft::TaskGroup& tg) -> weft::Task<> {
      hs.push_back(tg.spawn(read_number()));
      for (int i = 0; i < 8; ++i)
        hs.push_back(tg.spawn(set_and_read(100 + i)));
      co_return;
    };
    co_await weft::task_group(group_body);
    EXPECT_EQ(hs[0].result(), 3);
    for (int i = 0; i < 8; ++i)
      EXPECT_EQ(hs[1 + i].result(), 100 + i);
    EXPECT_EQ(number.get(), 3);
  };
  weft::run(body(), {.workers = 2});
}

TEST(ContextVar, GatherChildrenSeeACopy) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<> {
    auto t = number.set(4);
    auto [a, b, c] = co_await weft::gather(read_number(), set_and_read(50), set_and_read(60));
    EXPECT_EQ(a, 4);
    EXPECT_EQ(b, 50);
    EXPECT_EQ(c, 60);
    EXPECT_EQ(number.get(), 4);
  };
  weft::run(body(), {.workers = 2});
}

TEST(ContextVar, ToThreadAndRunInExecutorSeeACopy) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<> {
    auto t = number.set(11);
    int seen = co_await weft::to_thread([] {
      int v = number.get();
      auto inner = number.set(12);  // stays in the thread's copy
      EXPECT_EQ(number.get(), 12);
      return v;
    });
    EXPECT_EQ(seen, 11);
    EXPECT_EQ(number.get(), 11);
    {
      weft::ThreadPool pool(2);
      int in_pool = co_await weft::run_in_executor(pool, [] {
        (void)number.set(13);
        return number.get();
      });
      EXPECT_EQ(in_pool, 13);
      // The pool thread's own context was restored after the job.
      int after = co_await weft::run_in_executor(pool, [] { return number.get(-1); });
      EXPECT_EQ(after, 11);
    }
    EXPECT_EQ(number.get(), 11);
    // A token made in the task is foreign to the thread's copy.
    std::string what = co_await weft::to_thread(
        [&t] { return message_of<std::invalid_argument>([&] { number.reset(t); }); });
    EXPECT_EQ(what, "<Token var=<ContextVar name='number'>> was created in a different Context");
    number.reset(t);
  };
  weft::run(body(), {.workers = 2});
}

TEST(ContextVar, ToThreadWithoutAContextSeesNone) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<int> {
    co_return co_await weft::to_thread([] { return number.get(-1); });
  };
  EXPECT_EQ(weft::run(body(), {.workers = 1}), -1);
}

TEST(ContextVar, EveryValueIsReleasedWithItsContexts) {
  weft::test::Watchdog dog(60s);
  ASSERT_EQ(Counted::alive.load(), 0);
  {
    auto body = []() -> weft::Task<> {
      (void)counted.set(1);
      std::vector<weft::JoinHandle<int>> hs;
      for (int i = 0; i < 10; ++i) {
        auto child = [](int k) -> weft::Task<int> {
          int before = counted.get().v;
          (void)counted.set(k);
          co_await weft::yield();
          co_return before + counted.get().v;
        };
        hs.push_back(weft::spawn(child(i)));
      }
      for (int i = 0; i < 10; ++i)
        EXPECT_EQ(co_await hs[i], 1 + i);
      co_await weft::to_thread([] { (void)counted.set(99); });
      // A detached child holding the context: released when its frame goes.
      weft::spawn(read_number()).detach();
    };
    weft::run(body(), {.workers = 2});
  }
  EXPECT_EQ(Counted::alive.load(), 0);
}

TEST(ContextVar, ThrowingConstructorChangesNothing) {
  struct Picky {
    explicit Picky(int v) : v(v) {
      if (v < 0) throw std::domain_error("negative");
    }
    int v;
  };
  weft::ContextVar<Picky> picky("picky");
  auto t = picky.set(1);
  EXPECT_THROW((void)picky.set(-1), std::domain_error);
  EXPECT_EQ(picky.get().v, 1);
  picky.reset(t);
}

}  // namespace
