// SignalStream, weft::signal, add_signal_handler: both delivery paths (the
// signalfd when every thread blocks the signal, the forwarding handler when a
// thread does not), a signal pending before the first listener, several
// listeners on two runtimes, counted realtime deliveries, cancellation and
// close of a waiting recv, the default action staying replaced, asyncio's
// handler form — and no descriptor left behind.
//
// Every signal used here is blocked in the main thread before any thread
// starts (SIGUSR2 from static initialisation on, each realtime one at the top
// of its test), so process-directed deliveries take the signalfd path. The
// handler path is tested with a signal sent to one helper thread that
// unblocks SIGUSR2 and sleeps in nanosleep. (ThreadSanitizer runs a handler
// only when its thread next enters an intercepted call; a weft worker parked
// in a raw futex syscall would hold it back indefinitely.)
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "io_test_support.hpp"
#include "weft/io/signal.hpp"
#include "weft/sync.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;

namespace {

const bool sigusr2_blocked = [] {
  io::block_signals({SIGUSR2});
  return true;
}();

/// A thread that does not block SIGUSR2, sleeping until destroyed.
class UnblockedThread {
 public:
  UnblockedThread()
      : thread_([this] {
          sigset_t s;
          sigemptyset(&s);
          sigaddset(&s, SIGUSR2);
          pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
          ready_.store(true);
          while (!stop_.load())
            ::usleep(1000);  // nanosleep: a handler runs at once (also under TSan)
        }) {
    while (!ready_.load())
      std::this_thread::yield();
  }
  ~UnblockedThread() {
    stop_.store(true);
    thread_.join();
  }
  pthread_t handle() { return thread_.native_handle(); }

 private:
  std::atomic<bool> ready_{false}, stop_{false};
  std::thread thread_;
};

class Signals : public weft::iotest::FdLeakCheck {
 protected:
  void SetUp() override {
    // The hub's descriptors (signalfd, pipe, the helper thread's epoll) are
    // opened once per process by the first listener: not a leak.
    { io::SignalStream warm(SIGUSR2); }
    FdLeakCheck::SetUp();
  }
};

void send(int sig) {
  ASSERT_EQ(::kill(::getpid(), sig), 0) << std::strerror(errno);
}

/// Waits (polling, bounded by the test's watchdog) until the hub has read `n` deliveries.
void wait_read(std::uint64_t n) {
  while (io::detail::signal_deliveries_read() < n)
    std::this_thread::sleep_for(1ms);
}

weft::Task<void> wait_listeners(int sig, int n) {
  while (io::detail::signal_listener_count(sig) < n)
    co_await weft::sleep(1ms);
}

TEST_F(Signals, RejectsSignalsThatCannotBeListenedTo) {
  for (int sig : {0, -1, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, 32, 33, 1000}) {
    try {
      io::SignalStream s(sig);
      ADD_FAILURE() << "signal " << sig << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("signal " + std::to_string(sig)), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW(io::block_signals({SIGKILL}), std::invalid_argument);
  EXPECT_EQ(io::detail::signal_listener_count(SIGKILL), 0);
}

// ---- the two delivery paths ----

weft::Task<io::SignalInfo> recv_after_send(int sig) {
  io::SignalStream s(sig);
  send(sig);
  co_return co_await s.recv();
}

weft::Task<io::SignalInfo> recv_after_thread_kill(pthread_t target) {
  io::SignalStream s(SIGUSR2);
  // Sent to one thread that does not block it: only that thread can take it
  // (a signalfd read on another thread never sees it), so weft's handler
  // must forward it.
  EXPECT_EQ(::pthread_kill(target, SIGUSR2), 0);
  co_return co_await s.recv();
}

TEST_F(Signals, HandlerPathForwardsASignalTakenByAThreadThatDoesNotBlockIt) {
  weft::test::Watchdog dog(60s);
  UnblockedThread t;
  io::SignalInfo info = weft::run(recv_after_thread_kill(t.handle()), {.workers = 2});
  EXPECT_EQ(info.signo, SIGUSR2);
  EXPECT_EQ(info.count, 1u);
  EXPECT_EQ(info.code, SI_TKILL);
  EXPECT_EQ(info.sender_pid, ::getpid());
  EXPECT_EQ(info.sender_uid, ::getuid());
}

TEST_F(Signals, SignalfdPathWhenEveryThreadBlocksTheSignal) {
  const int sig = SIGRTMIN + 1;
  // Before any thread starts (the watchdog's, the runtime's): they inherit the
  // mask, so only the signalfd can take the signal.
  io::block_signals({sig});
  weft::test::Watchdog dog(60s);
  io::SignalInfo info = weft::run(recv_after_send(sig), {.workers = 2});
  EXPECT_EQ(info.signo, sig);
  EXPECT_EQ(info.count, 1u);
  EXPECT_EQ(info.code, SI_USER);
  EXPECT_EQ(info.sender_pid, ::getpid());
}

weft::Task<io::SignalInfo> recv_queued(int sig) {
  io::SignalStream s(sig);
  sigval v{};
  v.sival_int = 7;
  EXPECT_EQ(::sigqueue(::getpid(), sig, v), 0);
  co_return co_await s.recv();
}

TEST_F(Signals, SigqueueReportsItsCodeAndSender) {
  const int sig = SIGRTMIN + 3;
  io::block_signals({sig});
  weft::test::Watchdog dog(60s);
  io::SignalInfo info = weft::run(recv_queued(sig), {.workers = 1});
  EXPECT_EQ(info.code, SI_QUEUE);
  EXPECT_EQ(info.sender_pid, ::getpid());
  EXPECT_EQ(info.sender_uid, ::getuid());
}

// ---- a signal that comes before anyone listens ----

weft::Task<io::SignalInfo> listen_late(int sig) {
  io::SignalStream s(sig);  // the pending delivery is read when the stream subscribes
  co_return co_await s.recv();
}

TEST_F(Signals, ABlockedSignalPendingBeforeTheFirstListenerIsReceivedNotFatal) {
  const int sig = SIGRTMIN + 2;  // default action: terminate
  io::block_signals({sig});      // before any thread starts (the watchdog's too)
  weft::test::Watchdog dog(60s);
  send(sig);  // nobody listens: it stays pending in the kernel
  io::SignalInfo info = weft::run(listen_late(sig), {.workers = 2});
  EXPECT_EQ(info.signo, sig);
  EXPECT_EQ(info.count, 1u);
  EXPECT_EQ(info.sender_pid, ::getpid());
}

// ---- several listeners, two runtimes ----

weft::Task<std::uint64_t> recv_count(io::SignalStream* s) {
  io::SignalInfo info = co_await s->recv();
  co_return info.count;
}

weft::Task<int> three_listeners_and_a_remote(int sig, std::atomic<bool>* remote_ready,
                                             std::atomic<std::uint64_t>* remote_count) {
  io::SignalStream a(sig), b(sig), c(sig);
  auto ha = weft::spawn(recv_count(&a));
  auto hb = weft::spawn(recv_count(&b));
  auto hc = weft::spawn(recv_count(&c));
  while (!remote_ready->load())
    co_await weft::sleep(1ms);
  send(sig);
  int got = 0;
  got += (co_await ha) == 1 ? 1 : 0;
  got += (co_await hb) == 1 ? 1 : 0;
  got += (co_await hc) == 1 ? 1 : 0;
  while (remote_count->load() == 0)
    co_await weft::sleep(1ms);
  co_return got;
}

weft::Task<void> remote_listener(int sig, std::atomic<bool>* ready,
                                 std::atomic<std::uint64_t>* count) {
  io::SignalStream s(sig);
  ready->store(true);
  io::SignalInfo info = co_await s.recv();
  count->store(info.count);
}

TEST_F(Signals, EveryListenerOnEveryRuntimeReceivesEveryDelivery) {
  io::block_signals({static_cast<int>(SIGRTMIN + 4)});
  weft::test::Watchdog dog(60s);
  for (int sig : {SIGUSR2, static_cast<int>(SIGRTMIN + 4)}) {
    std::atomic<bool> ready{false};
    std::atomic<std::uint64_t> remote{0};
    std::thread other([&] { weft::run(remote_listener(sig, &ready, &remote), {.workers = 1}); });
    int got = weft::run(three_listeners_and_a_remote(sig, &ready, &remote), {.workers = 2});
    other.join();
    EXPECT_EQ(got, 3) << "signal " << sig;
    EXPECT_EQ(remote.load(), 1u) << "signal " << sig;
    EXPECT_EQ(io::detail::signal_listener_count(sig), 0);
  }
}

// ---- counting: realtime signals queue, so each kill is one delivery ----

weft::Task<std::uint64_t> receive_all(int sig, int n) {
  io::SignalStream s(sig);
  std::uint64_t base = io::detail::signal_deliveries_read();
  for (int i = 0; i < n; ++i)
    send(sig);
  wait_read(base + static_cast<std::uint64_t>(n));
  io::SignalInfo info = co_await s.recv();
  co_return info.count;
}

TEST_F(Signals, DeliveriesBetweenTwoRecvsAreCoalescedAndCounted) {
  const int sig = SIGRTMIN + 5;
  io::block_signals({sig});
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(receive_all(sig, 25), {.workers = 1}), 25u);
}

// ---- cancellation and close ----

weft::Task<void> cancelled_recv_consumes_nothing(int sig) {
  io::SignalStream s(sig);
  EXPECT_THROW(co_await weft::wait_for(s.recv(), 20ms), weft::TimeoutError);
  auto waiting = weft::spawn(recv_count(&s));
  co_await weft::sleep(5ms);
  waiting.cancel();
  EXPECT_TRUE(co_await weft::test::ends_cancelled(waiting));
  std::uint64_t base = io::detail::signal_deliveries_read();
  send(sig);
  wait_read(base + 1);
  // Neither cancelled wait took the delivery, and the waiter slot is free again.
  io::SignalInfo info = co_await s.recv();
  EXPECT_EQ(info.count, 1u);
}

TEST_F(Signals, CancelledOrTimedOutRecvConsumesNothing) {
  weft::test::Watchdog dog(60s);
  weft::run(cancelled_recv_consumes_nothing(SIGUSR2), {.workers = 2});
}

weft::Task<void> close_wakes_waiter() {
  io::SignalStream s(SIGUSR2);
  auto waiting = weft::spawn(recv_count(&s));
  co_await weft::sleep(5ms);
  s.close();
  EXPECT_THROW(co_await waiting, io::ClosedError);
  EXPECT_FALSE(s.is_open());
  EXPECT_THROW(co_await s.recv(), io::ClosedError);
  io::SignalStream empty = std::move(s);  // moved-from: empty, recv throws ClosedError too
  EXPECT_THROW(co_await s.recv(), io::ClosedError);
}

TEST_F(Signals, CloseWakesAWaitingRecvWithClosedError) {
  weft::test::Watchdog dog(60s);
  weft::run(close_wakes_waiter(), {.workers = 2});
  EXPECT_EQ(io::detail::signal_listener_count(SIGUSR2), 0);
}

weft::Task<void> two_waiters() {
  io::SignalStream s(SIGUSR2);
  auto first = weft::spawn(recv_count(&s));
  // One worker: `first` runs while this task sleeps, and then waits in recv().
  co_await weft::sleep(5ms);
  EXPECT_THROW(co_await s.recv(), weft::InvalidStateError);
  first.cancel();
  EXPECT_TRUE(co_await weft::test::ends_cancelled(first));
}

TEST_F(Signals, ASecondConcurrentRecvOnOneStreamIsRefused) {
  weft::test::Watchdog dog(60s);
  weft::run(two_waiters(), {.workers = 1});
}

// ---- no listener: discarded, the default action does not come back ----

TEST_F(Signals, DefaultActionStaysReplacedAfterTheLastListenerGoes) {
  weft::test::Watchdog dog(60s);
  UnblockedThread t;
  { io::SignalStream once(SIGUSR2); }  // SIGUSR2's default action would end the process
  ASSERT_EQ(io::detail::signal_listener_count(SIGUSR2), 0);
  std::uint64_t base = io::detail::signal_deliveries_read();
  ASSERT_EQ(::pthread_kill(t.handle(), SIGUSR2), 0);  // the handler path: forwarded
  send(SIGUSR2);                                      // the signalfd path
  wait_read(base + 2);  // read and discarded: the process is still here
  // A listener created afterwards does not receive the discarded deliveries.
  EXPECT_EQ(weft::run(recv_after_send(SIGUSR2), {.workers = 1}).count, 1u);
}

// ---- weft::signal, one-shot ----

weft::Task<int> one_shot() {
  auto h = weft::spawn(weft::signal(SIGUSR2));
  co_await wait_listeners(SIGUSR2, 1);
  send(SIGUSR2);
  io::SignalInfo info = co_await h;
  co_return info.signo;
}

TEST_F(Signals, OneShotSignalWaitsForTheNextDelivery) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(one_shot(), {.workers = 2}), SIGUSR2);
  EXPECT_EQ(io::detail::signal_listener_count(SIGUSR2), 0);
}

// ---- add_signal_handler / remove_signal_handler ----

weft::Task<void> handler_form() {
  std::atomic<int> first{0}, second{0};
  weft::Event called;
  std::uint64_t base = io::detail::signal_deliveries_read();

  io::add_signal_handler(SIGUSR2, [&] {
    first.fetch_add(1);
    called.set();
  });
  send(SIGUSR2);
  co_await called.wait();
  EXPECT_EQ(first.load(), 1);

  // Replacing: only the new callback runs. A throwing callback stays installed.
  called.clear();
  io::add_signal_handler(SIGUSR2, [&] {
    int n = second.fetch_add(1) + 1;
    called.set();
    if (n == 1) throw std::runtime_error("handler failure (expected by the test)");
  });
  send(SIGUSR2);
  co_await called.wait();
  called.clear();
  send(SIGUSR2);
  co_await called.wait();
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(second.load(), 2);

  EXPECT_TRUE(io::remove_signal_handler(SIGUSR2));
  EXPECT_FALSE(io::remove_signal_handler(SIGUSR2));
  EXPECT_EQ(io::detail::signal_listener_count(SIGUSR2), 0);  // closed by the removal itself
  send(SIGUSR2);                                             // discarded: no handler any more
  wait_read(base + 4);
  EXPECT_EQ(second.load(), 2);
}

TEST_F(Signals, AddSignalHandlerRunsTheCallbackInATaskAndCanBeReplacedAndRemoved) {
  weft::test::Watchdog dog(60s);
  weft::run(handler_form(), {.workers = 2});
  EXPECT_EQ(io::detail::signal_listener_count(SIGUSR2), 0);
}

weft::Task<void> install_and_leave() {
  io::add_signal_handler(SIGUSR2, [] {});
  co_return;
}

TEST_F(Signals, AHandlerEndsWithItsRuntime) {
  weft::test::Watchdog dog(60s);
  weft::run(install_and_leave(), {.workers = 1});
  EXPECT_EQ(io::detail::signal_listener_count(SIGUSR2), 0);
}

TEST_F(Signals, HandlerFormNeedsARuntime) {
  EXPECT_THROW(io::add_signal_handler(SIGUSR2, [] {}), weft::RuntimeError);
  EXPECT_THROW(io::remove_signal_handler(SIGUSR2), weft::RuntimeError);
}

// ---- stress: recv with random timeouts while deliveries fly ----

weft::Task<std::uint64_t> count_under_timeouts(io::SignalStream* s, std::atomic<bool>* done,
                                               long* timeouts) {
  std::uint64_t total = 0;
  std::uint32_t rng = 2463534242u;
  for (;;) {
    auto limit = std::chrono::microseconds(weft::test::next_rand(rng) % 400);
    // Once the sender is done, every delivery is already counted in the
    // stream: a recv begun after that returns at once if one is pending, so
    // only its timeout proves there is nothing left. (A recv begun before may
    // time out while the last deliveries arrive: they stay pending.)
    const bool all_sent = done->load();
    try {
      io::SignalInfo info = co_await weft::wait_for(s->recv(), limit);
      total += info.count;
    } catch (const weft::TimeoutError&) {
      ++*timeouts;
      if (all_sent) break;
    }
  }
  co_return total;
}

weft::Task<void> stress(int sig, long n) {
  io::SignalStream s(sig);
  std::atomic<bool> done{false};
  long timeouts = 0;
  auto receiver = weft::spawn(count_under_timeouts(&s, &done, &timeouts));
  std::uint64_t base = io::detail::signal_deliveries_read();
  std::thread sender([&] {
    for (long i = 0; i < n; ++i) {
      send(sig);
      // Keep the kernel's realtime queue short (RLIMIT_SIGPENDING).
      if (i % 64 == 63) wait_read(base + static_cast<std::uint64_t>(i + 1));
    }
    wait_read(base + static_cast<std::uint64_t>(n));
    done.store(true);
  });
  std::uint64_t total = co_await receiver;
  sender.join();
  EXPECT_EQ(total, static_cast<std::uint64_t>(n)) << "lost or duplicated deliveries";
  weft::test::report_iterations("signal recv under timeouts", n);
}

TEST_F(Signals, NoDeliveryIsLostOrDuplicatedByTimedOutRecvs) {
  const int sig = SIGRTMIN + 6;
  io::block_signals({sig});
  weft::test::Watchdog dog(240s);
  weft::run(stress(sig, weft::test::stress_iterations(3000)), {.workers = 2});
}

}  // namespace
