// TcpListener / TcpStream: loopback echo with 1,000 concurrent connections,
// IPv6, partial reads and writes with tiny socket buffers, peer resets,
// refused and timed-out connects, cancellation and timeouts of blocked reads,
// close() waking waiters, one reader at a time — and no descriptor or
// registration left behind by any of them.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;
using weft::iotest::connected_pair;
using weft::iotest::pattern_byte;

namespace {

class Tcp : public weft::iotest::FdLeakCheck {};

// ---- echo, 1,000 connections ----

weft::Task<void> echo_conn(io::TcpStream conn) {
  // A parameter lives until the frame is freed (after the last JoinHandle
  // lets go); a local is closed when the body ends.
  io::TcpStream s = std::move(conn);
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    co_await s.write_all(buf, n);
  }
}

weft::Task<void> accept_and_echo(io::TcpListener* l, int n) {
  std::vector<weft::JoinHandle<void>> conns;
  for (int i = 0; i < n; ++i) {
    io::TcpStream s = co_await l->accept();
    conns.push_back(weft::spawn(echo_conn(std::move(s))));
  }
  for (auto& h : conns)
    co_await h;
}

weft::Task<bool> echo_client(io::SocketAddress addr, int id) {
  io::TcpStream s = co_await io::TcpStream::connect(addr);
  std::string msg(500 + static_cast<std::size_t>(id % 7) * 611, '\0');
  for (std::size_t i = 0; i < msg.size(); ++i)
    msg[i] = pattern_byte(static_cast<std::uint64_t>(id), i);
  co_await s.write_all(msg);
  s.shutdown(io::Shutdown::write);
  std::string got;
  char buf[1024];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    got.append(buf, n);
  }
  co_return got == msg;
}

weft::Task<int> echo_many(io::SocketAddress where, int n) {
  auto listener = io::TcpListener::bind(where, {.backlog = 4096});
  auto server = weft::spawn(accept_and_echo(&listener, n));
  std::vector<weft::JoinHandle<bool>> clients;
  for (int i = 0; i < n; ++i)
    clients.push_back(weft::spawn(echo_client(listener.local_address(), i)));
  int ok = 0;
  for (auto& c : clients)
    ok += (co_await c) ? 1 : 0;
  co_await server;
  EXPECT_EQ(io::detail::registered_sources(), 1);  // the listener only
  co_return ok;
}

TEST_F(Tcp, LoopbackEchoWithAThousandConcurrentConnections) {
  weft::test::Watchdog dog(180s);
  EXPECT_EQ(weft::run(echo_many(io::SocketAddress::loopback_v4(0), 1000), {.workers = 2}), 1000);
}

TEST_F(Tcp, LoopbackEchoOverIPv6) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(echo_many(io::SocketAddress::loopback_v6(0), 50), {.workers = 2}), 50);
}

// ---- partial reads and writes with tiny socket buffers ----

// A tiny send buffer (the kernel rounds it up to a few KiB) and a small
// receive buffer. Receive buffers below the MSS would make the TCP stack itself
// crawl (silly-window avoidance: ~16 KB/s under gVisor), which tests nothing.
void shrink_buffers(const io::TcpStream& s) {
  int snd = 1024, rcv = 16 * 1024;
  ASSERT_EQ(setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd), 0);
  ASSERT_EQ(setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv), 0);
}

weft::Task<void> write_pattern(io::TcpStream* s, std::size_t total) {
  std::string chunk(64 * 1024, '\0');
  for (std::size_t off = 0; off < total; off += chunk.size()) {
    std::size_t n = std::min(chunk.size(), total - off);
    for (std::size_t i = 0; i < n; ++i)
      chunk[i] = pattern_byte(1, off + i);
    co_await s->write_all(chunk.data(), n);
  }
}

weft::Task<std::size_t> read_pattern(io::TcpStream* s, std::size_t total) {
  std::size_t got = 0, bad = 0;
  char buf[777];
  std::uint32_t rng = 12345;
  while (got < total) {
    rng = rng * 1103515245u + 12345u;
    std::size_t want = 1 + (rng >> 16) % sizeof buf;  // odd sizes, 1..777 bytes
    std::size_t n = co_await s->read(buf, want);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != pattern_byte(1, got + i)) ++bad;
    got += n;
  }
  EXPECT_EQ(bad, 0u);
  co_return got;
}

weft::Task<void> tiny_buffers() {
  auto [client, server] = co_await connected_pair();
  shrink_buffers(client);
  shrink_buffers(server);
  // One write of 4 MiB cannot fit a few-KiB send buffer: it must be partial.
  std::string big(4 << 20, 'x');
  std::size_t first = co_await client.write(big.data(), big.size());
  EXPECT_GT(first, 0u);
  EXPECT_LT(first, big.size());
  char sink[4096];
  std::size_t drained = 0;
  while (drained < first)
    drained += co_await server.read(sink, std::min(sizeof sink, first - drained));
  // Both directions at once, reader and writer of one stream on different tasks.
  constexpr std::size_t kTotal = 1 << 20;
  auto w1 = weft::spawn(write_pattern(&client, kTotal));
  auto r1 = weft::spawn(read_pattern(&server, kTotal));
  auto w2 = weft::spawn(write_pattern(&server, kTotal));
  auto r2 = weft::spawn(read_pattern(&client, kTotal));
  co_await w1;
  co_await w2;
  EXPECT_EQ(co_await r1, kTotal);
  EXPECT_EQ(co_await r2, kTotal);
}

TEST_F(Tcp, PartialReadsAndWritesWithTinySocketBuffers) {
  weft::test::Watchdog dog(120s);
  weft::run(tiny_buffers(), {.workers = 2});
}

// ---- peer reset ----

void reset_on_close(io::TcpStream& s) {
  linger l{1, 0};  // close() sends RST
  ASSERT_EQ(setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
}

weft::Task<int> read_error(io::TcpStream* s) {
  char buf[64];
  try {
    for (;;) {
      std::size_t n = co_await s->read(buf, sizeof buf);
      if (n == 0) co_return 0;
    }
  } catch (const io::IoError& e) {
    co_return e.code().value();
  }
}

weft::Task<void> peer_reset_mid_read() {
  auto [client, server] = co_await connected_pair();
  auto reader = weft::spawn(read_error(&server));
  co_await weft::sleep(20ms);  // let it block (either way it must see the reset)
  reset_on_close(client);
  client.close();
  EXPECT_EQ(co_await reader, ECONNRESET);
}

TEST_F(Tcp, PeerResetMidReadIsAnError) {
  weft::test::Watchdog dog(60s);
  weft::run(peer_reset_mid_read(), {.workers = 2});
}

weft::Task<void> peer_reset_mid_write() {
  auto [client, server] = co_await connected_pair();
  shrink_buffers(server);
  reset_on_close(client);
  client.close();
  std::string big(1 << 20, 'y');
  int code = 0;
  try {
    for (int i = 0; i < 64; ++i)
      co_await server.write_all(big);
  } catch (const io::IoError& e) {
    code = e.code().value();
  }
  EXPECT_TRUE(code == ECONNRESET || code == EPIPE) << "got errno " << code;
}

TEST_F(Tcp, PeerResetMidWriteIsAnErrorNotASignal) {
  weft::test::Watchdog dog(60s);
  weft::run(peer_reset_mid_write(), {.workers = 2});
}

// ---- connect failures ----

weft::Task<void> connect_refused(io::SocketAddress where) {
  io::SocketAddress addr;
  {
    auto l = io::TcpListener::bind(where);
    addr = l.local_address();
  }  // closed: nobody listens on that port now
  int code = 0;
  std::string what;
  try {
    co_await io::TcpStream::connect(addr);
  } catch (const io::IoError& e) {
    code = e.code().value();
    what = e.what();
  }
  EXPECT_EQ(code, ECONNREFUSED);
  EXPECT_NE(what.find(addr.to_string()), std::string::npos) << what;
}

TEST_F(Tcp, ConnectToAClosedPortFailsAtOnce) {
  weft::test::Watchdog dog(60s);
  weft::run(connect_refused(io::SocketAddress::loopback_v4(0)), {.workers = 2});
  weft::run(connect_refused(io::SocketAddress::loopback_v6(0)), {.workers = 2});
}

weft::Task<void> connect_timeout() {
  // A listener that never accepts, with the smallest backlog: once its accept
  // queue is full the kernel drops further SYNs, so a connect cannot finish.
  auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0), {.backlog = 0});
  std::vector<io::TcpStream> filled;
  bool timed_out = false;
  for (int i = 0; i < 64 && !timed_out; ++i) {
    try {
      filled.push_back(co_await io::TcpStream::connect(l.local_address(), 100ms));
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
  }
  EXPECT_TRUE(timed_out) << "a connect to a full backlog never timed out";
  EXPECT_EQ(io::detail::registered_sources(), 1 + static_cast<long>(filled.size()));
}

TEST_F(Tcp, ConnectTimesOutAgainstAFullBacklog) {
  weft::test::Watchdog dog(60s);
  weft::run(connect_timeout(), {.workers = 2});
}

// ---- cancellation, timeouts, close ----

weft::Task<std::string> read_some(io::TcpStream* s) {
  char buf[64];
  std::size_t n = co_await s->read(buf, sizeof buf);
  co_return std::string(buf, n);
}

weft::Task<void> cancel_blocked_read() {
  auto [client, server] = co_await connected_pair();
  for (int round = 0; round < 20; ++round) {
    auto reader = weft::spawn(read_some(&server));
    if (round % 2) co_await weft::sleep(5ms);  // sometimes blocked, sometimes not yet
    reader.cancel();
    bool cancelled = co_await weft::test::ends_cancelled(reader);
    EXPECT_TRUE(cancelled);
    // Nothing was consumed: the next read gets the next bytes.
    std::string msg = "round " + std::to_string(round);
    co_await client.write_all(msg);
    std::string got;
    while (got.size() < msg.size())
      got += co_await read_some(&server);
    EXPECT_EQ(got, msg);
  }
}

TEST_F(Tcp, CancellingABlockedReadLosesNothing) {
  weft::test::Watchdog dog(60s);
  weft::run(cancel_blocked_read(), {.workers = 2});
}

weft::Task<void> read_with_timeout() {
  auto [client, server] = co_await connected_pair();
  char buf[16];
  bool timed_out = false;
  try {
    co_await weft::wait_for(server.read(buf, sizeof buf), 30ms);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  bool timed_out2 = false;
  try {
    co_await weft::wait_for(server.readable(), 20ms);
  } catch (const weft::TimeoutError&) {
    timed_out2 = true;
  }
  EXPECT_TRUE(timed_out2);
  co_await client.write_all("late");
  std::size_t n = co_await weft::wait_for(server.read(buf, sizeof buf), 10s);
  EXPECT_EQ(std::string(buf, n), "late");
}

TEST_F(Tcp, WaitForAroundABlockedRead) {
  weft::test::Watchdog dog(60s);
  weft::run(read_with_timeout(), {.workers = 2});
}

weft::Task<int> read_until_closed(io::TcpStream* s) {
  char buf[16];
  try {
    co_await s->read(buf, sizeof buf);
  } catch (const io::ClosedError& e) {
    co_return e.code().value();
  }
  co_return 0;
}

weft::Task<void> close_wakes_waiters() {
  auto [client, server] = co_await connected_pair();
  auto reader = weft::spawn(read_until_closed(&server));
  co_await weft::sleep(10ms);
  server.close();
  EXPECT_EQ(co_await reader, EBADF);
  EXPECT_FALSE(server.is_open());
  // Operations on a closed stream fail the same way, at once.
  int code = co_await read_until_closed(&server);
  EXPECT_EQ(code, EBADF);
  // The peer sees the close.
  char buf[4];
  EXPECT_EQ(co_await client.read(buf, sizeof buf), 0u);
}

TEST_F(Tcp, CloseWakesAWaitingReaderWithAClearError) {
  weft::test::Watchdog dog(60s);
  weft::run(close_wakes_waiters(), {.workers = 2});
}

weft::Task<void> two_readers() {
  auto [client, server] = co_await connected_pair();
  auto first = weft::spawn(read_some(&server));
  // One worker (below): the spawned reader runs before this task's timer
  // wakes it, so it waits when we go on, however loaded the machine is.
  co_await weft::sleep(20ms);
  bool refused = false;
  try {
    co_await read_some(&server);
  } catch (const weft::InvalidStateError&) {
    refused = true;
  }
  EXPECT_TRUE(refused);
  co_await client.write_all("x");
  EXPECT_EQ(co_await first, "x");
}

TEST_F(Tcp, ASecondConcurrentReaderIsRefused) {
  weft::test::Watchdog dog(60s);
  weft::run(two_readers(), {.workers = 1});
}

weft::Task<void> accept_closed() {
  auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  auto acceptor = [](io::TcpListener* l) -> weft::Task<bool> {
    try {
      co_await l->accept();
    } catch (const io::ClosedError&) {
      co_return true;
    }
    co_return false;
  };
  auto h = weft::spawn(acceptor(&l));
  co_await weft::sleep(10ms);
  l.close();
  EXPECT_TRUE(co_await h);
}

TEST_F(Tcp, ClosingAListenerWakesItsAcceptor) {
  weft::test::Watchdog dog(60s);
  weft::run(accept_closed(), {.workers = 2});
}

weft::Task<void> addresses_and_options() {
  auto [client, server] = co_await connected_pair(io::SocketAddress::loopback_v6(0));
  EXPECT_EQ(client.peer_address(), server.local_address());
  EXPECT_EQ(server.peer_address(), client.local_address());
  EXPECT_TRUE(client.peer_address().is_v6());
  client.set_nodelay(true);
  client.set_nodelay(false);
  auto by_name = [](std::uint16_t port) -> weft::Task<io::TcpStream> {
    co_return co_await io::TcpStream::connect("localhost", port);
  };
  auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  io::TcpStream c = co_await by_name(l.local_address().port());
  io::TcpStream s = co_await l.accept();
  co_await c.write_all("hi");
  char buf[2];
  co_await s.read_exact(buf, 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
  c.close();
  bool eof = false;
  try {
    co_await s.read_exact(buf, 2);
  } catch (const io::UnexpectedEof& e) {
    eof = e.partial().empty();
  }
  EXPECT_TRUE(eof);
}

TEST_F(Tcp, AddressesOptionsAndConnectByName) {
  weft::test::Watchdog dog(60s);
  weft::run(addresses_and_options(), {.workers = 2});
}

TEST_F(Tcp, BadAddressesAreRejectedWithClearErrors) {
  EXPECT_THROW(io::SocketAddress::parse("127.0.0.1"), std::invalid_argument);
  EXPECT_THROW(io::SocketAddress::parse("127.0.0.1:99999"), std::invalid_argument);
  EXPECT_THROW(io::SocketAddress::parse("::1:80"), std::invalid_argument);
  EXPECT_THROW(io::SocketAddress::parse("[::1:80"), std::invalid_argument);
  EXPECT_THROW(io::SocketAddress("300.1.1.1", 1), std::invalid_argument);
  EXPECT_EQ(io::SocketAddress::parse("[::1]:80").to_string(), "[::1]:80");
  EXPECT_EQ(io::SocketAddress::parse("10.1.2.3:0").port(), 0);
  try {
    io::SocketAddress::parse("nope");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos);
  }
  // Outside a runtime there is no reactor to register with.
  EXPECT_THROW(io::TcpListener::bind(io::SocketAddress::loopback_v4(0)), weft::RuntimeError);
}

weft::Task<void> bind_in_use() {
  auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  int code = 0;
  try {
    io::TcpListener::bind(l.local_address());
  } catch (const io::IoError& e) {
    code = e.code().value();
  }
  EXPECT_EQ(code, EADDRINUSE);
  // reuse_port lets two listeners share the port.
  auto a = io::TcpListener::bind(io::SocketAddress::loopback_v4(0), {.reuse_port = true});
  auto b = io::TcpListener::bind(a.local_address(), {.reuse_port = true});
  EXPECT_EQ(a.local_address(), b.local_address());
  co_return;
}

TEST_F(Tcp, BindErrorsAndReusePort) {
  weft::test::Watchdog dog(60s);
  weft::run(bind_in_use(), {.workers = 1});
}

}  // namespace
