// UdpSocket: echo over IPv4 and IPv6 (weft on both ends, and against
// python3 on each side), truncation reported with the full size, oversized
// datagrams refused with a message, ICMP errors on a connected socket,
// connect() filtering, cancellable and timed-out receives that consume
// nothing, close() waking a receiver, one receiver at a time, multicast on
// the loopback interface — and no descriptor or registration left behind.
#include <gtest/gtest.h>
#include <net/if.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "peer_process.hpp"
#include "weft/io/udp.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;

namespace {

class Udp : public weft::iotest::FdLeakCheck {};

std::string message(int i) {
  std::string m = "datagram " + std::to_string(i) + " ";
  m.append(static_cast<std::size_t>(i % 50) * 17, static_cast<char>('a' + i % 26));
  return m;
}

// ---- echo ----

weft::Task<void> echo_n(io::UdpSocket* s, int n) {
  char buf[2048];
  for (int i = 0; i < n; ++i) {
    io::UdpReceived d = co_await s->recv_from(buf, sizeof buf);
    co_await s->send_to(buf, d.size, d.from);
  }
}

weft::Task<int> echo_round_trips(io::SocketAddress where, int n) {
  auto server = io::UdpSocket::bind(where);
  auto echo = weft::spawn(echo_n(&server, n));
  auto client = io::UdpSocket::bind(where);
  int ok = 0;
  char buf[2048];
  for (int i = 0; i < n; ++i) {
    std::string m = message(i);
    co_await client.send_to(m.data(), m.size(), server.local_address());
    io::UdpReceived d = co_await client.recv_from(buf, sizeof buf);
    if (std::string(buf, d.size) == m && !d.truncated && d.datagram_size == m.size() &&
        d.from == server.local_address())
      ++ok;
  }
  co_await echo;
  EXPECT_EQ(io::detail::registered_sources(), 2);
  co_return ok;
}

TEST_F(Udp, EchoOverIPv4) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(echo_round_trips(io::SocketAddress::loopback_v4(0), 200), {.workers = 2}),
            200);
}

TEST_F(Udp, EchoOverIPv6) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(echo_round_trips(io::SocketAddress::loopback_v6(0), 200), {.workers = 2}),
            200);
}

// ---- against python3 ----

constexpr const char* kPythonEcho = R"(
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == '6' else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind(('::1' if sys.argv[1] == '6' else '127.0.0.1', 0))
print(s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(65535)
    if d == b'quit':
        break
    s.sendto(d.upper(), a)
)";

weft::Task<int> against_python_echo(io::SocketAddress server, int n) {
  auto sock = io::UdpSocket::bind(server.is_v6() ? io::SocketAddress::loopback_v6(0)
                                                 : io::SocketAddress::loopback_v4(0));
  sock.connect(server);
  int ok = 0;
  char buf[2048];
  for (int i = 0; i < n; ++i) {
    std::string m = "hello " + std::to_string(i);
    co_await sock.send(m);
    io::UdpReceived d = co_await sock.recv(buf, sizeof buf);
    std::string want = m;
    for (char& c : want)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (std::string(buf, d.size) == want && d.from == server) ++ok;
  }
  co_await sock.send("quit", 4);
  co_return ok;
}

TEST_F(Udp, WeftClientAgainstAPythonEchoServer) {
  weft::test::Watchdog dog(60s);
  for (const char* fam : {"4", "6"}) {
    weft::iotest::PeerProcess py({"python3", "-c", kPythonEcho, fam});
    int port = std::atoi(py.read_line().c_str());
    ASSERT_GT(port, 0);
    auto addr = fam[0] == '6' ? io::SocketAddress::loopback_v6(static_cast<std::uint16_t>(port))
                              : io::SocketAddress::loopback_v4(static_cast<std::uint16_t>(port));
    EXPECT_EQ(weft::run(against_python_echo(addr, 100), {.workers = 1}), 100) << fam;
    EXPECT_EQ(py.wait(), 0);
  }
}

constexpr const char* kPythonClient = R"(
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(30)
for i in range(n):
    m = b'x' * (i * 97 % 1400) + str(i).encode()
    s.sendto(m, ('127.0.0.1', port))
    d, a = s.recvfrom(65535)
    if d != m or a[1] != port:
        sys.exit('bad echo %d' % i)
s.sendto(b'', ('127.0.0.1', port))
sys.exit(0)
)";

weft::Task<int> serve_python(io::UdpSocket* s) {
  char buf[2048];
  int served = 0;
  for (;;) {
    io::UdpReceived d = co_await s->recv_from(buf, sizeof buf);
    if (d.size == 0) break;  // the client's empty datagram: done
    co_await s->send_to(buf, d.size, d.from);
    ++served;
  }
  co_return served;
}

weft::Task<int> python_client_test() {
  auto s = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  const std::string port = std::to_string(s.local_address().port());
  auto served = weft::spawn(serve_python(&s));
  auto run_peer = [port] {
    weft::iotest::PeerProcess py({"python3", "-c", kPythonClient, port, "300"});
    return py.wait();
  };
  int rc = co_await weft::to_thread(run_peer);
  EXPECT_EQ(co_await served, 300);
  co_return rc;
}

TEST_F(Udp, PythonClientAgainstAWeftEchoServer) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(python_client_test(), {.workers = 2}), 0);
}

// ---- truncation and size limits ----

weft::Task<void> truncation() {
  auto a = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto b = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  std::string big(1000, 'z'), next = "next";
  co_await a.send_to(big.data(), big.size(), b.local_address());
  co_await a.send_to(next.data(), next.size(), b.local_address());
  char buf[100];
  io::UdpReceived d = co_await b.recv_from(buf, sizeof buf);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.size, 100u);
  EXPECT_EQ(d.datagram_size, 1000u);
  EXPECT_EQ(std::string(buf, d.size), std::string(100, 'z'));
  EXPECT_EQ(d.from, a.local_address());
  // The truncated tail is gone; the next datagram is whole.
  d = co_await b.recv_from(buf, sizeof buf);
  EXPECT_FALSE(d.truncated);
  EXPECT_EQ(std::string(buf, d.size), "next");
  // A zero-length buffer still takes (and reports) one datagram.
  co_await a.send_to("abc", 3, b.local_address());
  d = co_await b.recv_from(buf, 0);
  EXPECT_TRUE(d.truncated);
  EXPECT_EQ(d.size, 0u);
  EXPECT_EQ(d.datagram_size, 3u);
}

TEST_F(Udp, TruncationIsReportedWithTheFullSize) {
  weft::test::Watchdog dog(60s);
  weft::run(truncation(), {.workers = 1});
}

weft::Task<void> oversized() {
  auto a = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto b = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  std::string max(65507, 'm'), over(65508, 'o');
  EXPECT_EQ(co_await a.send_to(max.data(), max.size(), b.local_address()), max.size());
  std::vector<char> buf(70000);
  io::UdpReceived d = co_await b.recv_from(buf.data(), buf.size());
  EXPECT_EQ(d.size, max.size());
  bool threw = false;
  try {
    co_await a.send_to(over.data(), over.size(), b.local_address());
  } catch (const io::IoError& e) {
    threw = true;
    EXPECT_EQ(e.code().value(), EMSGSIZE);
    std::string w = e.what();
    EXPECT_NE(w.find("65508 bytes"), std::string::npos) << w;
    EXPECT_NE(w.find("65507"), std::string::npos) << w;
    EXPECT_NE(w.find(b.local_address().to_string()), std::string::npos) << w;
  }
  EXPECT_TRUE(threw);
  // The socket is still usable.
  co_await a.send_to("ok", 2, b.local_address());
  d = co_await b.recv_from(buf.data(), buf.size());
  EXPECT_EQ(std::string(buf.data(), d.size), "ok");
}

TEST_F(Udp, OversizedDatagramsAreRefusedWithAMessage) {
  weft::test::Watchdog dog(60s);
  weft::run(oversized(), {.workers = 1});
}

// ---- connected sockets ----

weft::Task<void> connected_errors() {
  // A port nobody listens on: bind one, note it, close it.
  io::SocketAddress dead;
  {
    auto tmp = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
    dead = tmp.local_address();
  }
  auto c = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  EXPECT_THROW(co_await c.send("x", 1), io::IoError);  // not connected: EDESTADDRREQ
  c.connect(dead);
  EXPECT_EQ(c.peer_address(), dead);
  co_await c.send("ping", 4);
  char buf[16];
  int err = 0;
  try {
    co_await c.recv(buf, sizeof buf);  // the ICMP port unreachable arrives as an error
  } catch (const io::IoError& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECONNREFUSED);
  // Still usable: connect elsewhere and talk.
  auto peer = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  c.connect(peer.local_address());
  co_await c.send("again", 5);
  io::UdpReceived d = co_await peer.recv_from(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, d.size), "again");
}

TEST_F(Udp, ConnectedSocketReportsPortUnreachableAndStaysUsable) {
  weft::test::Watchdog dog(60s);
  weft::run(connected_errors(), {.workers = 1});
}

weft::Task<void> connect_filters() {
  auto c = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto a = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto stranger = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  c.connect(a.local_address());
  co_await stranger.send_to("from stranger", 13, c.local_address());  // dropped by the kernel
  co_await a.send_to("from peer", 9, c.local_address());
  char buf[32];
  io::UdpReceived d = co_await c.recv(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, d.size), "from peer");
  EXPECT_EQ(d.from, a.local_address());
}

TEST_F(Udp, ConnectFiltersOtherSenders) {
  weft::test::Watchdog dog(60s);
  weft::run(connect_filters(), {.workers = 1});
}

TEST_F(Udp, BadBindsAndConnectsThrowWithTheAddress) {
  weft::test::Watchdog dog(60s);
  auto body = []() -> weft::Task<void> {
    auto a = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
    try {
      io::UdpSocket::bind(a.local_address());
      ADD_FAILURE() << "bound twice";
    } catch (const io::IoError& e) {
      EXPECT_EQ(e.code().value(), EADDRINUSE);
      EXPECT_NE(std::string(e.what()).find(a.local_address().to_string()), std::string::npos);
    }
    EXPECT_THROW(a.connect(io::SocketAddress::loopback_v6(9)), io::IoError);  // other family
    io::UdpSocket empty;
    EXPECT_THROW(co_await empty.recv(nullptr, 0), io::ClosedError);
    co_return;
  };
  weft::run(body(), {.workers = 1});
}

// ---- cancellation, close, one receiver ----

weft::Task<std::string> recv_text(io::UdpSocket* s) {
  char buf[64];
  io::UdpReceived d = co_await s->recv(buf, sizeof buf);
  co_return std::string(buf, d.size);
}

weft::Task<void> cancellation() {
  auto a = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto b = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  char buf[64];
  EXPECT_THROW(co_await weft::wait_for(b.recv_from(buf, sizeof buf), 20ms), weft::TimeoutError);
  auto waiting = weft::spawn(recv_text(&b));
  co_await weft::sleep(5ms);
  waiting.cancel();
  EXPECT_TRUE(co_await weft::test::ends_cancelled(waiting));
  co_await a.send_to("kept", 4, b.local_address());
  io::UdpReceived d = co_await b.recv_from(buf, sizeof buf);  // nothing was consumed
  EXPECT_EQ(std::string(buf, d.size), "kept");
}

TEST_F(Udp, CancelledAndTimedOutReceivesConsumeNothing) {
  weft::test::Watchdog dog(60s);
  weft::run(cancellation(), {.workers = 2});
}

weft::Task<void> close_and_two_receivers() {
  auto s = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto first = weft::spawn(recv_text(&s));
  co_await weft::sleep(5ms);  // one worker: `first` now waits in recv
  char buf[8];
  EXPECT_THROW(co_await s.recv(buf, sizeof buf), weft::InvalidStateError);
  s.close();
  EXPECT_THROW(co_await first, io::ClosedError);
  EXPECT_FALSE(s.is_open());
  EXPECT_THROW(co_await s.recv(buf, sizeof buf), io::ClosedError);
}

TEST_F(Udp, CloseWakesAReceiverAndASecondReceiverIsRefused) {
  weft::test::Watchdog dog(60s);
  weft::run(close_and_two_receivers(), {.workers = 1});
}

// ---- multicast on the loopback interface ----

weft::Task<void> multicast() {
  const unsigned lo = if_nametoindex("lo");
  EXPECT_GT(lo, 0u);
  auto group = io::SocketAddress("239.255.77.77", 0);
  auto r = io::UdpSocket::bind(io::SocketAddress::any_v4(0), {.reuse_address = true});
  r.join_multicast(group, lo);
  group.set_port(r.local_address().port());
  auto s = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  s.set_multicast_interface(lo);
  s.set_multicast_loop(true);
  s.set_multicast_ttl(1);
  co_await s.send_to("to the group", 12, group);
  char buf[32];
  io::UdpReceived d = co_await r.recv_from(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, d.size), "to the group");
  r.leave_multicast(group, lo);
  // Not a multicast address: refused with a reason.
  try {
    r.join_multicast(io::SocketAddress("127.0.0.1", 0), lo);
    ADD_FAILURE() << "joined a unicast address";
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1"), std::string::npos) << e.what();
  }
}

TEST_F(Udp, MulticastOnTheLoopbackInterface) {
  weft::test::Watchdog dog(60s);
  weft::run(multicast(), {.workers = 1});
}

// ---- stress: ping-pong with receives that time out at random ----

weft::Task<void> echo_until_empty(io::UdpSocket* s) {
  char buf[64];
  for (;;) {
    io::UdpReceived d = co_await s->recv_from(buf, sizeof buf);
    if (d.size == 0) co_return;
    co_await s->send_to(buf, d.size, d.from);
  }
}

weft::Task<long> ping_pong_under_timeouts(long n) {
  auto server = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto echo = weft::spawn(echo_until_empty(&server));
  auto c = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  c.connect(server.local_address());
  std::uint32_t rng = 88172645u;
  long timeouts = 0, mismatches = 0;
  char buf[64];
  for (long i = 0; i < n; ++i) {
    std::string m = std::to_string(i);
    co_await c.send(m);
    for (;;) {  // a timed-out receive leaves the reply queued for the next one
      auto limit = std::chrono::microseconds(weft::test::next_rand(rng) % 200);
      try {
        io::UdpReceived d = co_await weft::wait_for(c.recv(buf, sizeof buf), limit);
        if (std::string(buf, d.size) != m) ++mismatches;
        break;
      } catch (const weft::TimeoutError&) {
        ++timeouts;
      }
    }
  }
  co_await c.send("", 0);
  co_await echo;
  EXPECT_EQ(mismatches, 0);
  weft::test::report_iterations("udp ping-pong under random receive timeouts", n);
  co_return timeouts;
}

TEST_F(Udp, NoDatagramIsLostOrDuplicatedByTimedOutReceives) {
  weft::test::Watchdog dog(240s);
  weft::run(ping_pong_under_timeouts(weft::test::stress_iterations(5000)), {.workers = 2});
}

}  // namespace
