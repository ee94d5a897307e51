// Cancel messages (asyncio's Task.cancel(msg)) and exception causes (the
// TimeoutError's CancelledError, a cleanup failure's cancellation): what the
// cancelled task sees, what its awaiters see, which message wins when requests
// meet (CPython 3.12's rule), forwarding through joins, gather and TaskGroup,
// and debug mode's report of a chain.
//
// Most tests run on one worker: a task that set an event and went on to await
// another is suspended by the time the task it woke runs, so whether a request
// is pending or already delivered is decided by the code, not by timing.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>

#include "weft/sync.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;

namespace {

constexpr const char* kNoMessage = "task was cancelled";

/// Sets `started`, then waits on `never` (never set); records the message of
/// the CancelledError it sees there and lets it propagate.
weft::Task<void> victim(weft::Event* started, weft::Event* never, std::string* seen) {
  started->set();
  try {
    co_await never->wait();
  } catch (const weft::CancelledError& c) {
    *seen = c.what();
    throw;
  }
}

/// The message `co_await h` rethrows (h must end cancelled).
weft::Task<std::string> awaited_message(weft::JoinHandle<void> h) {
  try {
    co_await h;
  } catch (const weft::CancelledError& c) {
    co_return c.what();
  }
  co_return "not cancelled";
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const weft::CancelledError& c) {
    return c.what();
  } catch (...) {
    return "not a CancelledError";
  }
}

TEST(CancelMessage, ReachesTheTaskAndEveryAwaiter) {
  weft::test::Watchdog dog(60s);
  std::string seen;
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event started, never;
    auto h = weft::spawn(victim(&started, &never, &seen));
    co_await started.wait();
    EXPECT_TRUE(h.cancel("stop now"));
    EXPECT_EQ(co_await awaited_message(h), "stop now");
    EXPECT_TRUE(h.cancelled());
    // result() and exception() rethrow the same CancelledError.
    try {
      h.result();
      ADD_FAILURE() << "result() returned";
    } catch (const weft::CancelledError& c) {
      EXPECT_STREQ(c.what(), "stop now");
    }
    try {
      (void)h.exception();
      ADD_FAILURE() << "exception() returned";
    } catch (const weft::CancelledError& c) {
      EXPECT_STREQ(c.what(), "stop now");
    }
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(seen, "stop now");
}

TEST(CancelMessage, WithoutAMessageWhatIsTheDefault) {
  weft::test::Watchdog dog(60s);
  std::string seen;
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event started, never;
    auto h = weft::spawn(victim(&started, &never, &seen));
    co_await started.wait();
    EXPECT_TRUE(h.cancel());
    EXPECT_EQ(co_await awaited_message(h), kNoMessage);
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(seen, kNoMessage);
}

// Delivered to the wait at the first cancel: a second request folds into it
// and its message is dropped (asyncio: the waiter future keeps the first).
TEST(CancelMessage, FirstMessageWinsOnceDelivered) {
  weft::test::Watchdog dog(60s);
  std::string seen;
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event started, never;
    auto h = weft::spawn(victim(&started, &never, &seen));
    co_await started.wait();
    EXPECT_TRUE(h.cancel("first"));
    EXPECT_TRUE(h.cancel("second"));
    EXPECT_TRUE(h.cancel());
    EXPECT_EQ(h.cancelling(), 3u);
    EXPECT_EQ(co_await awaited_message(h), "first");
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(seen, "first");
}

// Not started yet (queued behind us on the one worker): the request is
// pending, and the latest message wins (asyncio: `_cancel_message = msg`).
TEST(CancelMessage, LatestMessageWinsWhilePending) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Event started, never;
    std::string seen;
    auto a = weft::spawn(victim(&started, &never, &seen));
    a.cancel("one");
    a.cancel("two");
    EXPECT_EQ(co_await awaited_message(a), "two");
    EXPECT_FALSE(started.is_set());  // cancelled before its first step: the body never ran

    auto b = weft::spawn(victim(&started, &never, &seen));
    b.cancel("one");
    b.cancel();  // the latest request has no message: none is delivered
    EXPECT_EQ(co_await awaited_message(b), kNoMessage);

    auto c = weft::spawn(victim(&started, &never, &seen));
    c.cancel();
    c.cancel("late but latest");
    EXPECT_EQ(co_await awaited_message(c), "late but latest");
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(CancelMessage, TaskCancelsItselfWithAMessage) {
  weft::test::Watchdog dog(60s);
  auto self_cancelling = []() -> weft::Task<void> {
    weft::this_task::cancel("first thought");
    weft::this_task::cancel("second thought");  // still pending: replaces it
    EXPECT_EQ(weft::this_task::cancelling(), 2u);
    co_await weft::yield();  // delivered here
    ADD_FAILURE() << "not cancelled at the yield";
  };
  auto main_task = [&]() -> weft::Task<void> {
    auto h = weft::spawn(self_cancelling());
    EXPECT_EQ(co_await awaited_message(h), "second thought");
  };
  weft::run(main_task(), {.workers = 2});
}

// A task awaiting another passes the message on (asyncio: _fut_waiter.cancel(msg)).
TEST(CancelMessage, ForwardedToAnAwaitedTask) {
  weft::test::Watchdog dog(60s);
  std::string child_saw;
  auto parent = [&](weft::Event* started, weft::Event* never) -> weft::Task<void> {
    co_await weft::spawn(victim(started, never, &child_saw));
  };
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event started, never;
    auto p = weft::spawn(parent(&started, &never));
    co_await started.wait();  // the child runs: the parent awaits it
    EXPECT_TRUE(p.cancel("from the top"));
    EXPECT_EQ(co_await awaited_message(p), "from the top");
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(child_saw, "from the top");
}

TEST(CancelMessage, ForwardedThroughGather) {
  weft::test::Watchdog dog(60s);
  std::string saw1, saw2;
  auto parent = [&](weft::Event* s1, weft::Event* s2, weft::Event* never) -> weft::Task<void> {
    co_await weft::gather(weft::spawn(victim(s1, never, &saw1)),
                          weft::spawn(victim(s2, never, &saw2)));
  };
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event s1, s2, never;
    auto p = weft::spawn(parent(&s1, &s2, &never));
    co_await s1.wait();
    co_await s2.wait();
    EXPECT_TRUE(p.cancel("gather, stop"));
    EXPECT_EQ(co_await awaited_message(p), "gather, stop");
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(saw1, "gather, stop");
  EXPECT_EQ(saw2, "gather, stop");
}

// asyncio's TaskGroup re-raises the parent's own CancelledError (with the
// outside message); it cancels the children without one.
TEST(CancelMessage, TaskGroupPropagatesTheOutsideMessage) {
  weft::test::Watchdog dog(60s);
  std::string child_saw;
  auto parent = [&](weft::Event* started, weft::Event* never) -> weft::Task<void> {
    auto body = [&](weft::TaskGroup& tg) -> weft::Task<void> {
      tg.spawn(victim(started, never, &child_saw));
      co_return;
    };
    co_await weft::task_group(body);
  };
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event started, never;
    auto p = weft::spawn(parent(&started, &never));
    co_await started.wait();  // the body has ended: the parent waits in the group's join
    EXPECT_TRUE(p.cancel("outside"));
    EXPECT_EQ(co_await awaited_message(p), "outside");
  };
  weft::run(main_task(), {.workers = 1});
  EXPECT_EQ(child_saw, kNoMessage);
}

TEST(CancelMessage, FromAPlainThread) {
  weft::test::Watchdog dog(60s);
  weft::Runtime rt({.workers = 2});
  weft::Event started, never;
  std::string seen;
  auto h = rt.spawn(victim(&started, &never, &seen));
  started.wait_blocking();
  std::thread t([&] { EXPECT_TRUE(h.cancel("from a thread")); });
  t.join();
  EXPECT_EQ(rt.block_on(awaited_message(h)), "from a thread");
  EXPECT_EQ(seen, "from a thread");
}

TEST(CancelMessage, BadInput) {
  weft::test::Watchdog dog(60s);
  weft::JoinHandle<void> empty;
  EXPECT_THROW(empty.cancel("x"), weft::InvalidStateError);
  EXPECT_THROW(weft::this_task::cancel("outside any task"), weft::RuntimeError);
  auto main_task = []() -> weft::Task<void> {
    auto quick = []() -> weft::Task<int> { co_return 4; };
    auto h = weft::spawn(quick());
    EXPECT_EQ(co_await h, 4);
    EXPECT_FALSE(h.cancel("too late"));  // finished: no request, the result stands
    EXPECT_EQ(h.result(), 4);
    EXPECT_EQ(h.exception(), nullptr);
  };
  weft::run(main_task(), {.workers = 1});
}

// ---- causes ----

TEST(CancelMessage, TimeoutErrorCarriesTheCancelledErrorAsItsCause) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Event never;
    try {
      co_await weft::wait_for(never.wait(), 5ms);
      ADD_FAILURE() << "no timeout";
    } catch (const weft::TimeoutError& e) {
      EXPECT_STREQ(e.what(), "operation timed out");
      std::exception_ptr c = weft::cause(e);
      EXPECT_TRUE(c);
      if (c) {
        EXPECT_EQ(message_of(c), kNoMessage);
      }
      EXPECT_THROW(std::rethrow_if_nested(e), weft::CancelledError);
    }
    auto body = [&]() -> weft::Task<void> { co_await never.wait(); };
    try {
      co_await weft::timeout(5ms, body);
      ADD_FAILURE() << "no timeout";
    } catch (const weft::TimeoutError& e) {
      EXPECT_EQ(message_of(weft::cause(e)), kNoMessage);
    }
    // A TimeoutError that escapes a task keeps its cause for the awaiter.
    auto times_out = [](weft::Event* never) -> weft::Task<void> {
      co_await weft::wait_for(never->wait(), 5ms);
    };
    auto h = weft::spawn(times_out(&never));
    try {
      co_await h;
    } catch (const weft::TimeoutError&) {
    }
    EXPECT_EQ(message_of(weft::cause(h.exception())), kNoMessage);
    // A TimeoutError nobody caused by a cancellation has no cause.
    EXPECT_EQ(weft::cause(weft::TimeoutError()), nullptr);
    EXPECT_EQ(weft::cause(std::exception_ptr()), nullptr);
  };
  weft::run(main_task(), {.workers = 1});
}

// A wait_for on an already-running task with a zero timeout cancels it and
// waits: the TimeoutError's cause is the task's CancelledError.
TEST(CancelMessage, ExpiredWaitForOnAJoinHandleHasACause) {
  weft::test::Watchdog dog(60s);
  auto main_task = []() -> weft::Task<void> {
    weft::Event started, never;
    std::string seen;
    auto h = weft::spawn(victim(&started, &never, &seen));
    co_await started.wait();
    try {
      co_await weft::wait_for(h, 0ms);
      ADD_FAILURE() << "no timeout";
    } catch (const weft::TimeoutError& e) {
      EXPECT_EQ(message_of(weft::cause(e)), kNoMessage);
    }
  };
  weft::run(main_task(), {.workers = 1});
}

struct CleanupFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Cleanup that fails while a cancellation unwinds keeps the cancellation as
// its cause when thrown with std::throw_with_nested (errors.hpp).
TEST(CancelMessage, CleanupFailureKeepsTheCancellation) {
  weft::test::Watchdog dog(60s);
  auto fragile = [](weft::Event* started, weft::Event* never) -> weft::Task<void> {
    started->set();
    try {
      co_await never->wait();
    } catch (const weft::CancelledError&) {
      std::throw_with_nested(CleanupFailed("flush failed"));
    }
  };
  auto main_task = [&]() -> weft::Task<void> {
    weft::Event started, never;
    auto h = weft::spawn(fragile(&started, &never));
    co_await started.wait();
    h.cancel("shutting down");
    try {
      co_await h;
      ADD_FAILURE() << "no failure";
    } catch (const CleanupFailed& e) {
      EXPECT_STREQ(e.what(), "flush failed");
      EXPECT_EQ(message_of(weft::cause(e)), "shutting down");
    }
    EXPECT_FALSE(h.cancelled());  // it failed; the cancellation is only its cause
  };
  weft::run(main_task(), {.workers = 1});
}

TEST(CancelMessage, DebugReportPrintsTheChain) {
  weft::test::Watchdog dog(60s);
  testing::internal::CaptureStderr();
  {
    weft::Runtime rt({.workers = 1, .debug = true});
    auto times_out = []() -> weft::Task<void> {
      weft::Event never;
      co_await weft::wait_for(never.wait(), 5ms);
    };
    auto main_task = [&]() -> weft::Task<void> {
      auto h = weft::spawn(times_out(), "forgotten-timeout");
      while (!h.done())
        co_await weft::sleep(1ms);
      h.detach();
    };
    rt.block_on(main_task());
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("exception was never retrieved: task 'forgotten-timeout': operation timed "
                     "out\n  caused by: CancelledError: task was cancelled\n"),
            std::string::npos)
      << err;
}

}  // namespace
