// Stress: reads and writes cancelled at random points (before they start,
// while they wait for readiness, after they completed) on many connections at
// once, across workers. The exact balance: a cancelled read consumed nothing,
// a cancelled write sent nothing, a completed one is never lost to a late
// cancellation — so every byte arrives once, in order.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <string>
#include <vector>

#include "../io/io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;
using weft::iotest::pattern_byte;

namespace {

std::atomic<long> g_cancelled{0};
std::atomic<long> g_completed{0};

weft::Task<std::size_t> one_write(io::TcpStream* s, const char* p, std::size_t n) {
  co_return co_await s->write(p, n);
}

weft::Task<std::size_t> one_read(io::TcpStream* s, char* p, std::size_t n) {
  co_return co_await s->read(p, n);
}

/// Runs `op` as a child task and cancels it at a random moment. Returns its
/// byte count, or 0 if the cancellation won.
template <class Op>
weft::Task<std::size_t> maybe_cancelled(Op op, std::uint32_t r) {
  weft::JoinHandle<std::size_t> h = weft::spawn(std::move(op));
  switch (r % 5) {
    case 0:
      break;  // cancel at once (maybe before its first step)
    case 1:
      co_await weft::yield();
      break;  // after it had a chance to run
    case 2:
      co_await weft::sleep(0ms);
      break;  // same, through the timer path
    case 3:
      co_await weft::sleep(1ms);
      break;  // most likely while it waits
    default:
      break;  // not cancelled
  }
  if (r % 5 != 4) h.cancel();
  std::size_t n = 0;
  try {
    n = co_await h;
    g_completed.fetch_add(1, std::memory_order_relaxed);
  } catch (const weft::CancelledError&) {
    g_cancelled.fetch_add(1, std::memory_order_relaxed);
  }
  co_return n;
}

weft::Task<void> writer(io::TcpStream* s, std::uint64_t id, std::size_t total, std::uint32_t seed) {
  std::string buf(8192, '\0');
  std::size_t off = 0;
  std::uint32_t rng = seed;
  while (off < total) {
    rng = rng * 1664525u + 1013904223u;
    std::size_t n = std::min<std::size_t>(1 + (rng >> 8) % buf.size(), total - off);
    for (std::size_t i = 0; i < n; ++i)
      buf[i] = pattern_byte(id, off + i);
    off += co_await maybe_cancelled(one_write(s, buf.data(), n), rng >> 20);
  }
  s->shutdown(io::Shutdown::write);
}

weft::Task<std::size_t> reader(io::TcpStream* s, std::uint64_t id, std::uint32_t seed) {
  std::string buf(8192, '\0');
  std::size_t got = 0, bad = 0;
  std::uint32_t rng = seed;
  for (;;) {
    rng = rng * 1664525u + 1013904223u;
    std::size_t want = 1 + (rng >> 8) % buf.size();
    // Bytes a cancelled read might have consumed would show up as a gap below.
    std::uint32_t r = rng >> 20;
    std::size_t n = co_await maybe_cancelled(one_read(s, buf.data(), want), r);
    if (n == 0 && r % 5 == 4) break;  // a read nobody cancelled returned 0: EOF
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != pattern_byte(id, got + i)) ++bad;
    got += n;
  }
  EXPECT_EQ(bad, 0u) << "stream " << id;
  co_return got;
}

weft::Task<void> round(int pairs, std::size_t per_pair, std::uint32_t seed) {
  auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  std::vector<io::TcpStream> a, b;
  for (int i = 0; i < pairs; ++i) {
    a.push_back(co_await io::TcpStream::connect(l.local_address()));
    b.push_back(co_await l.accept());
    int snd = 4096, rcv = 16 * 1024;
    setsockopt(a.back().native_handle(), SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    setsockopt(b.back().native_handle(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  std::vector<weft::JoinHandle<void>> ws;
  std::vector<weft::JoinHandle<std::size_t>> rs;
  for (int i = 0; i < pairs; ++i) {
    auto id = static_cast<std::uint64_t>(i);
    ws.push_back(weft::spawn(writer(&a[i], id, per_pair, seed + 2 * id)));
    rs.push_back(weft::spawn(reader(&b[i], id, seed + 2 * id + 1)));
  }
  for (auto& w : ws)
    co_await w;
  for (auto& r : rs)
    EXPECT_EQ(co_await r, per_pair);
}

TEST(IoCancelStress, EveryByteArrivesOnceUnderRandomCancellation) {
  weft::test::Watchdog dog(300s);
  const long rounds = weft::test::stress_iterations(10);
  for (long i = 0; i < rounds; ++i)
    weft::run(round(16, 96 * 1024, static_cast<std::uint32_t>(i * 7919 + 1)), {.workers = 4});
  weft::test::report_iterations("io cancel rounds", rounds);
  std::printf("[stress] io cancel: %ld operations cancelled, %ld completed\n", g_cancelled.load(),
              g_completed.load());
  EXPECT_GT(g_cancelled.load(), 0);
}

}  // namespace
