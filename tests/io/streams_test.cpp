// asyncio-style streams: open_connection / start_server round trips over
// TCP and Unix sockets, python3 asyncio on the other end both ways, TLS
// against `openssl s_server` and against a weft TLS server, StreamReader's
// asyncio semantics (read, readline, readexactly, readuntil, their errors and
// what stays buffered), backpressure through drain(), bytes written without
// drain still sent, write errors, write_eof, EOF after this side's close,
// cancelled reads losing nothing, and the server's close / wait_closed /
// serve_forever / close_clients / abort_clients — with no descriptor left.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "peer_process.hpp"
#include "tls_test_support.hpp"
#include "weft/io/streams.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;
using weft::iotest::pattern_byte;

namespace {

class Streams : public weft::iotest::FdLeakCheck {};

// ---- the asyncio tutorial's echo shape ----

weft::Task<void> line_echo(io::StreamReader reader, io::StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;  // EOF
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

weft::Task<int> echo_client(std::string host, std::uint16_t port, int id) {
  auto [reader, writer] = co_await io::open_connection(host, port);
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    std::string line = "client " + std::to_string(id) + " line " + std::to_string(i) +
                       std::string(static_cast<std::size_t>(i * 37), 'x') + "\n";
    writer.write(line);
    co_await writer.drain();
    if (co_await reader.readline() == line) ++ok;
  }
  writer.write_eof();
  EXPECT_EQ(co_await reader.read(), "");  // the server closes after our EOF
  EXPECT_TRUE(reader.at_eof());
  writer.close();
  co_await writer.wait_closed();
  co_return ok;
}

weft::Task<int> tcp_round_trips(int clients) {
  auto server = co_await io::start_server(line_echo, "127.0.0.1", 0);
  EXPECT_TRUE(server.is_serving());
  const std::uint16_t port = server.addresses().at(0).port();
  std::vector<weft::JoinHandle<int>> hs;
  for (int i = 0; i < clients; ++i)
    hs.push_back(weft::spawn(echo_client("127.0.0.1", port, i)));
  int ok = 0;
  for (auto& h : hs)
    ok += co_await h;
  server.close();
  EXPECT_FALSE(server.is_serving());
  co_await server.wait_closed();
  EXPECT_EQ(server.active_connections(), 0u);
  co_return ok;
}

TEST_F(Streams, OpenConnectionAndStartServerOverTcp) {
  weft::test::Watchdog dog(120s);
  EXPECT_EQ(weft::run(tcp_round_trips(50), {.workers = 2}), 50 * 20);
}

weft::Task<int> unix_round_trips(std::string path) {
  auto server = co_await io::start_unix_server(line_echo, io::UnixAddress::path(path));
  EXPECT_EQ(server.unix_address()->name(), path);
  auto [reader, writer] = co_await io::open_unix_connection(io::UnixAddress::path(path));
  int ok = 0;
  for (int i = 0; i < 100; ++i) {
    std::string line = "unix line " + std::to_string(i) + "\n";
    writer.write(line);
    if (co_await reader.readline() == line) ++ok;
  }
  writer.close();
  co_await writer.wait_closed();
  server.close();
  co_await server.wait_closed();
  co_return ok;
}

TEST_F(Streams, OpenUnixConnectionAndStartUnixServer) {
  weft::test::Watchdog dog(60s);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("weft-streams-" + std::to_string(getpid())))
          .string();
  EXPECT_EQ(weft::run(unix_round_trips(path), {.workers = 2}), 100);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// ---- python3 asyncio on the other end ----

constexpr const char* kPyClient = R"(
import asyncio, sys
async def main(port):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    for i in range(100):
        line = ('python %d ' % i).encode() + b'y' * (i * 13) + b'\n'
        writer.write(line)
        await writer.drain()
        if await reader.readline() != line:
            sys.exit('bad echo %d' % i)
    writer.write_eof()
    if await reader.read() != b'':
        sys.exit('no EOF')
    writer.close()
    await writer.wait_closed()
asyncio.run(main(int(sys.argv[1])))
)";

int run_py_client(std::uint16_t port) {
  weft::iotest::PeerProcess py({"python3", "-c", kPyClient, std::to_string(port)});
  return py.wait();
}

weft::Task<int> python_client_test() {
  auto server = co_await io::start_server(line_echo, "127.0.0.1", 0);
  int rc = co_await weft::to_thread(run_py_client, server.addresses().at(0).port());
  server.close();
  co_await server.wait_closed();
  co_return rc;
}

TEST_F(Streams, PythonAsyncioClientAgainstAWeftServer) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(python_client_test(), {.workers = 2}), 0);
}

constexpr const char* kPyServer = R"(
import asyncio, sys
async def handle(reader, writer):
    data = await reader.readuntil(b'END')
    writer.write(data.upper() + b'\n' + str(len(data)).encode() + b'\n')
    await writer.drain()
    writer.close()
    await writer.wait_closed()
async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
)";

weft::Task<std::vector<std::string>> talk_to_py_server(std::uint16_t port) {
  auto [reader, writer] = co_await io::open_connection("127.0.0.1", port);
  writer.writelines({"hello ", "from ", "weft ", "END"});
  std::vector<std::string> lines;
  lines.push_back(co_await reader.readline());
  lines.push_back(co_await reader.readline());
  lines.push_back(co_await reader.read());
  co_return lines;
}

TEST_F(Streams, WeftClientAgainstAPythonAsyncioServer) {
  weft::test::Watchdog dog(60s);
  weft::iotest::PeerProcess py({"python3", "-c", kPyServer});
  int port = std::atoi(py.read_line().c_str());
  ASSERT_GT(port, 0);
  auto lines = weft::run(talk_to_py_server(static_cast<std::uint16_t>(port)), {.workers = 1});
  EXPECT_EQ(lines, (std::vector<std::string>{"HELLO FROM WEFT END\n", "19\n", ""}));
}

// ---- TLS (client side) ----

struct CertFiles {
  std::string dir, cert, key;
  weft::iotest::TestCert pem;
  CertFiles() : pem(weft::iotest::make_cert("DNS:localhost,IP:127.0.0.1")) {
    dir = (std::filesystem::temp_directory_path() / ("weft-tls-" + std::to_string(getpid())))
              .string();
    std::filesystem::create_directories(dir);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    std::ofstream(cert) << pem.cert_pem;
    std::ofstream(key) << pem.key_pem;
  }
  ~CertFiles() { std::filesystem::remove_all(dir); }
};

/// A client context that trusts only `ca_pem`.
io::TlsContext trusting(const std::string& ca_pem) {
  io::TlsClientOptions t;
  t.system_store = false;
  t.ca_pem = ca_pem;
  return io::TlsContext::client(t);
}

weft::Task<std::vector<std::string>> tls_reversed(std::uint16_t port, std::string ca) {
  io::OpenConnectionOptions o;
  o.tls = trusting(ca);
  o.timeout = 20s;
  auto [reader, writer] = co_await io::open_connection("127.0.0.1", port, std::move(o));
  EXPECT_FALSE(writer.can_write_eof());
  std::vector<std::string> got;
  for (const char* line : {"hello\n", "streams over tls\n"}) {
    writer.write(line);  // sent by the reader's flush before it waits (TLS is half duplex)
    got.push_back(co_await reader.readline());
  }
  writer.close();
  co_await writer.wait_closed();
  co_return got;
}

TEST_F(Streams, TlsClientAgainstOpensslSServer) {
  weft::test::Watchdog dog(60s);
  CertFiles files;
  weft::iotest::PeerProcess s({"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", files.cert,
                               "-key", files.key, "-rev", "-naccept", "1"});
  int port = 0;
  for (std::string l = s.read_line(); !l.empty(); l = s.read_line())
    if (l.rfind("ACCEPT ", 0) == 0) {
      port = std::atoi(l.substr(l.rfind(':') + 1).c_str());
      break;
    }
  ASSERT_GT(port, 0) << "openssl s_server did not report its port";
  auto got =
      weft::run(tls_reversed(static_cast<std::uint16_t>(port), files.pem.cert_pem), {.workers = 2});
  EXPECT_EQ(got, (std::vector<std::string>{"olleh\n", "slt revo smaerts\n"}));
}

weft::Task<void> tls_server_conn(io::TcpStream tcp, io::TlsContext ctx) {
  io::TlsStream tls = co_await io::TlsStream::accept(std::move(tcp), std::move(ctx));
  auto [reader, writer] = io::make_streams(io::make_byte_stream(std::move(tls)));
  co_await line_echo(std::move(reader), std::move(writer));
}

weft::Task<std::string> tls_big_exchange() {
  weft::iotest::TestCert cert = weft::iotest::make_cert("DNS:localhost,IP:127.0.0.1");
  auto listener = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  auto server_ctx = io::TlsContext::server(cert.cert_pem, cert.key_pem);
  auto accept_one = [&]() -> weft::Task<void> {
    io::TcpStream tcp = co_await listener.accept();
    co_await tls_server_conn(std::move(tcp), server_ctx);
  };
  auto server = weft::spawn(accept_one());
  io::OpenConnectionOptions o;
  o.tls = trusting(cert.cert_pem);
  o.server_hostname = "localhost";
  auto [reader, writer] =
      co_await io::open_connection("127.0.0.1", listener.local_address().port(), std::move(o));
  // 2 MB of lines: more than the high-water mark, written and drained.
  std::string all;
  for (int i = 0; i < 20000; ++i)
    all += "tls line " + std::to_string(i) + " " + std::string(90, 't') + "\n";
  std::string back;
  std::size_t sent = 0;
  while (sent < all.size()) {
    std::size_t n = std::min<std::size_t>(8192, all.size() - sent);
    std::string_view chunk(all.data() + sent, n);
    std::size_t cut = chunk.rfind('\n') + 1;
    writer.write(chunk.substr(0, cut));
    sent += cut;
    co_await writer.drain();
    while (back.size() < sent)
      back += co_await reader.readline();
  }
  writer.close();
  co_await writer.wait_closed();
  co_await server;
  co_return back == all ? "same" : "different";
}

TEST_F(Streams, TlsClientAgainstAWeftTlsServerCarriesTwoMegabytes) {
  weft::test::Watchdog dog(120s);
  EXPECT_EQ(weft::run(tls_big_exchange(), {.workers = 2}), "same");
}

// ---- StreamReader semantics, on a socketpair ----

struct Pair {
  io::StreamReader reader;
  io::StreamWriter writer;
  io::UnixStream peer;  // the raw other end
};

Pair make_pair(std::size_t limit) {
  auto [a, b] = io::UnixStream::pair();
  auto [r, w] = io::make_streams(io::make_byte_stream(std::move(a)), limit);
  return Pair{std::move(r), std::move(w), std::move(b)};
}

weft::Task<void> reader_semantics() {
  {
    Pair p = make_pair(io::kDefaultStreamLimit);
    co_await p.peer.write_all("abcdef");
    EXPECT_EQ(co_await p.reader.read(0), "");
    EXPECT_EQ(co_await p.reader.read(4), "abcd");
    EXPECT_EQ(p.reader.buffered(), 2u);
    EXPECT_EQ(co_await p.reader.read(100), "ef");
    co_await p.peer.write_all("rest of it");
    p.peer.shutdown(io::Shutdown::write);
    EXPECT_EQ(co_await p.reader.read(), "rest of it");
    EXPECT_TRUE(p.reader.at_eof());
    EXPECT_EQ(co_await p.reader.read(10), "");
    EXPECT_EQ(co_await p.reader.readline(), "");
  }
  {  // readexactly and IncompleteReadError
    Pair p = make_pair(io::kDefaultStreamLimit);
    co_await p.peer.write_all("12345678");
    EXPECT_EQ(co_await p.reader.readexactly(3), "123");
    p.peer.shutdown(io::Shutdown::write);
    bool threw = false;
    try {
      co_await p.reader.readexactly(10);
    } catch (const io::IncompleteReadError& e) {
      threw = true;
      EXPECT_EQ(e.partial(), "45678");
      EXPECT_EQ(e.expected(), 10u);
    }
    EXPECT_TRUE(threw);
    EXPECT_TRUE(p.reader.at_eof());  // the partial bytes were consumed
  }
  {  // readuntil: a separator split across reads, multi-byte separators, EOF
    Pair p = make_pair(io::kDefaultStreamLimit);
    auto reading = weft::spawn(p.reader.readuntil("\r\n\r\n"));
    for (const char* piece : {"GET / HTTP/1.1\r", "\nHost: x\r\n", "\r", "\nbody"}) {
      co_await p.peer.write_all(piece);
      co_await weft::sleep(2ms);
    }
    EXPECT_EQ(co_await reading, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    p.peer.shutdown(io::Shutdown::write);
    bool threw = false;
    try {
      co_await p.reader.readuntil("\r\n");
    } catch (const io::IncompleteReadError& e) {
      threw = true;
      EXPECT_EQ(e.partial(), "body");
      EXPECT_FALSE(e.expected().has_value());
    }
    EXPECT_TRUE(threw);
    EXPECT_THROW(co_await p.reader.readuntil(""), std::invalid_argument);
  }
  {  // LimitOverrunError, asyncio's consumed values, data kept buffered
    Pair p = make_pair(8);
    co_await p.peer.write_all("0123456789\nok\n");
    bool threw = false;
    try {
      co_await p.reader.readuntil("\n");
    } catch (const io::LimitOverrunError& e) {
      threw = true;
      EXPECT_EQ(e.consumed(), 10u);  // separator found, but at 10 > limit 8
    }
    EXPECT_TRUE(threw);
    EXPECT_EQ(p.reader.buffered(), 14u);  // readuntil keeps the data
    // readline drops the overlong line through its separator (asyncio).
    EXPECT_THROW(co_await p.reader.readline(), io::LimitOverrunError);
    EXPECT_EQ(co_await p.reader.readline(), "ok\n");
    co_await p.peer.write_all("no separator in sight");
    threw = false;
    try {
      co_await p.reader.readuntil("\n");
    } catch (const io::LimitOverrunError& e) {
      threw = true;
      EXPECT_EQ(e.consumed(), 21u);  // not found: offset = buffered + 1 - separator length
    }
    EXPECT_TRUE(threw);
    // readline drops everything buffered when the separator never came.
    EXPECT_THROW(co_await p.reader.readline(), io::LimitOverrunError);
    EXPECT_EQ(p.reader.buffered(), 0u);
    co_await p.peer.write_all("fine\n");
    EXPECT_EQ(co_await p.reader.readline(), "fine\n");
  }
  {  // read_into: buffered bytes first, then straight from the transport
    Pair p = make_pair(io::kDefaultStreamLimit);
    co_await p.peer.write_all("xy\n");
    char c[2];
    EXPECT_EQ(co_await p.reader.read_into(c, 2), 2u);
    EXPECT_EQ(std::string(c, 2), "xy");
    std::vector<char> big(200 * 1024);
    co_await p.peer.write_all("z");
    std::size_t n = co_await p.reader.read_into(big.data(), big.size());
    EXPECT_EQ(std::string(big.data(), n), "\n");  // the buffered byte, not the new one
    n = co_await p.reader.read_into(big.data(), big.size());
    EXPECT_EQ(std::string(big.data(), n), "z");
  }
}

TEST_F(Streams, ReaderFollowsAsyncioSemantics) {
  weft::test::Watchdog dog(60s);
  weft::run(reader_semantics(), {.workers = 1});
}

// ---- cancellation loses nothing ----

weft::Task<void> cancelled_reads() {
  Pair p = make_pair(io::kDefaultStreamLimit);
  co_await p.peer.write_all("hel");
  EXPECT_THROW(co_await weft::wait_for(p.reader.readline(), 20ms), weft::TimeoutError);
  auto waiting = weft::spawn(p.reader.readexactly(10));
  co_await weft::sleep(5ms);
  waiting.cancel();
  EXPECT_TRUE(co_await weft::test::ends_cancelled(waiting));
  co_await p.peer.write_all("lo\n");
  EXPECT_EQ(co_await p.reader.readline(), "hello\n");  // the "hel" read before is still there
}

TEST_F(Streams, CancelledAndTimedOutReadsLoseNothing) {
  weft::test::Watchdog dog(60s);
  weft::run(cancelled_reads(), {.workers = 2});
}

// ---- writer: background flush, backpressure, errors, EOF ----

weft::Task<std::size_t> read_all_pattern(io::UnixStream* s, std::size_t total) {
  std::size_t got = 0, bad = 0;
  char buf[4096];
  while (got < total) {
    std::size_t n = co_await s->read(buf, sizeof buf);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != pattern_byte(9, got + i)) ++bad;
    got += n;
  }
  EXPECT_EQ(bad, 0u);
  co_return got;
}

weft::Task<void> writes_without_drain() {
  Pair p = make_pair(io::kDefaultStreamLimit);
  const std::size_t total = 4 * 1024 * 1024;
  std::string chunk(1000, '\0');
  for (std::size_t off = 0; off < total; off += chunk.size()) {
    const std::size_t n = std::min(chunk.size(), total - off);
    for (std::size_t i = 0; i < n; ++i)
      chunk[i] = pattern_byte(9, off + i);
    p.writer.write(std::string_view(chunk).substr(0, n));  // no drain: the flush task sends it
  }
  EXPECT_GT(p.writer.write_buffer_size(), 0u);  // more than a socket buffer was written
  EXPECT_EQ(co_await read_all_pattern(&p.peer, total), total);
  p.writer.close();
  co_await p.writer.wait_closed();
  EXPECT_EQ(p.writer.write_buffer_size(), 0u);
  char c;
  EXPECT_EQ(co_await p.peer.read(&c, 1), 0u);  // closed after the last byte
}

TEST_F(Streams, BytesWrittenWithoutDrainAreStillSent) {
  weft::test::Watchdog dog(60s);
  weft::run(writes_without_drain(), {.workers = 2});
}

weft::Task<void> backpressure() {
  Pair p = make_pair(io::kDefaultStreamLimit);
  p.writer.set_write_buffer_limits(64 * 1024);
  const std::size_t total = 2 * 1024 * 1024;
  std::string all(total, '\0');
  for (std::size_t i = 0; i < total; ++i)
    all[i] = pattern_byte(9, i);
  p.writer.write(all);
  EXPECT_GT(p.writer.write_buffer_size(), 64u * 1024);
  // Nobody reads: drain must wait.
  EXPECT_THROW(co_await weft::wait_for(p.writer.drain(), 30ms), weft::TimeoutError);
  auto reading = weft::spawn(read_all_pattern(&p.peer, total));
  co_await p.writer.drain();  // returns once the buffer is down to the low-water mark
  EXPECT_LE(p.writer.write_buffer_size(), 16u * 1024);
  EXPECT_EQ(co_await reading, total);
  EXPECT_THROW(p.writer.set_write_buffer_limits(10, 20), std::invalid_argument);
}

TEST_F(Streams, DrainAppliesBackpressureAboveTheHighWaterMark) {
  weft::test::Watchdog dog(60s);
  weft::run(backpressure(), {.workers = 2});
}

weft::Task<void> write_errors() {
  Pair p = make_pair(io::kDefaultStreamLimit);
  p.peer.close();  // the peer is gone
  std::string big(1024 * 1024, 'e');
  int err = 0;
  try {
    p.writer.write(big);
    co_await p.writer.drain();
    co_await p.writer.wait_closed();  // the flush task's failure ends the connection
  } catch (const io::IoError& e) {
    err = e.code().value();
  }
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << err;
  EXPECT_THROW(p.writer.write("more"), io::IoError);  // the error stays
  EXPECT_THROW(co_await p.reader.read(), io::IoError);

  Pair q = make_pair(io::kDefaultStreamLimit);
  q.writer.close();
  EXPECT_TRUE(q.writer.is_closing());
  EXPECT_THROW(q.writer.write("late"), weft::InvalidStateError);
  co_await q.writer.wait_closed();
}

TEST_F(Streams, WriteErrorsReachDrainWaitClosedAndLaterWrites) {
  weft::test::Watchdog dog(60s);
  weft::run(write_errors(), {.workers = 2});
}

weft::Task<void> eof_and_close() {
  Pair p = make_pair(io::kDefaultStreamLimit);
  EXPECT_TRUE(p.writer.can_write_eof());
  p.writer.write("request");
  p.writer.write_eof();
  EXPECT_THROW(p.writer.write("after eof"), weft::InvalidStateError);
  std::string got;
  char buf[64];
  for (;;) {
    std::size_t n = co_await p.peer.read(buf, sizeof buf);
    if (n == 0) break;
    got.append(buf, n);
  }
  EXPECT_EQ(got, "request");
  co_await p.peer.write_all("response");  // we can still read after our EOF
  p.peer.shutdown(io::Shutdown::write);
  EXPECT_EQ(co_await p.reader.read(), "response");

  // A reader waiting when this side closes reads EOF, not an error.
  Pair q = make_pair(io::kDefaultStreamLimit);
  auto waiting = weft::spawn(q.reader.read(100));
  co_await weft::sleep(5ms);
  q.writer.close();
  EXPECT_EQ(co_await waiting, "");
  co_await q.writer.wait_closed();
}

TEST_F(Streams, WriteEofHalfClosesAndOwnCloseReadsAsEof) {
  weft::test::Watchdog dog(60s);
  weft::run(eof_and_close(), {.workers = 2});
}

weft::Task<void> dropped_writer() {
  auto [a, b] = io::UnixStream::pair();
  {
    auto [r, w] = io::make_streams(io::make_byte_stream(std::move(a)));
    w.write(std::string(300 * 1024, 'd'));  // more than the socket takes at once
  }  // the writer goes: the buffer is still sent, then the connection closes
  std::size_t got = 0;
  char buf[8192];
  for (;;) {
    std::size_t n = co_await b.read(buf, sizeof buf);
    if (n == 0) break;
    got += n;
  }
  EXPECT_EQ(got, 300u * 1024);
}

TEST_F(Streams, ADroppedWriterFlushesThenCloses) {
  weft::test::Watchdog dog(60s);
  weft::run(dropped_writer(), {.workers = 2});
}

// ---- the server ----

std::atomic<int> handler_calls{0};

weft::Task<void> failing_handler(io::StreamReader reader, io::StreamWriter writer) {
  handler_calls.fetch_add(1);
  std::string line = co_await reader.readline();
  if (line == "fail\n") throw std::runtime_error("handler failure (expected by the test)");
  writer.write("ok\n");
  co_await writer.drain();
  // Then wait for the client to go (or to be closed by the server).
  co_await reader.read();
}

weft::Task<void> wait_closed_then_flag(io::StreamServer* s, bool* finished) {
  co_await s->wait_closed();
  *finished = true;
}

weft::Task<void> server_lifecycle() {
  auto server = co_await io::start_server(failing_handler, "127.0.0.1", 0);
  const std::uint16_t port = server.addresses().at(0).port();
  {  // a failing handler closes its connection; the server goes on
    auto [r, w] = co_await io::open_connection("127.0.0.1", port);
    w.write("fail\n");
    EXPECT_EQ(co_await r.read(), "");
  }
  auto [r1, w1] = co_await io::open_connection("127.0.0.1", port);
  auto [r2, w2] = co_await io::open_connection("127.0.0.1", port);
  w1.write("hi\n");
  w2.write("hi\n");
  EXPECT_EQ(co_await r1.readline(), "ok\n");
  EXPECT_EQ(co_await r2.readline(), "ok\n");
  // The failed handler's task ends just after its connection closed.
  while (server.active_connections() != 2)
    co_await weft::sleep(1ms);
  server.close();
  // Closed: no new connections; the running ones go on.
  int refused = 0;
  try {
    co_await io::open_connection("127.0.0.1", port);
  } catch (const io::IoError& e) {
    refused = e.code().value();
  }
  EXPECT_EQ(refused, ECONNREFUSED);
  EXPECT_EQ(server.active_connections(), 2u);
  bool finished = false;
  auto waiter = weft::spawn(wait_closed_then_flag(&server, &finished));
  co_await weft::sleep(10ms);
  EXPECT_FALSE(finished);  // two handlers still run
  server.close_clients();  // their writers close: each handler's read sees EOF
  co_await waiter;
  EXPECT_TRUE(finished);
  EXPECT_EQ(co_await r1.read(), "");
  EXPECT_EQ(co_await r2.read(), "");
}

TEST_F(Streams, ServerCloseWaitClosedAndCloseClients) {
  weft::test::Watchdog dog(60s);
  handler_calls = 0;
  weft::run(server_lifecycle(), {.workers = 2});
  EXPECT_EQ(handler_calls.load(), 3);
}

weft::Task<void> abort_and_serve_forever() {
  auto server = co_await io::start_server(failing_handler, "127.0.0.1", 0);
  const std::uint16_t port = server.addresses().at(0).port();
  auto [r, w] = co_await io::open_connection("127.0.0.1", port);
  w.write("hi\n");
  EXPECT_EQ(co_await r.readline(), "ok\n");
  server.abort_clients();
  EXPECT_EQ(co_await r.read(), "");  // the server dropped the connection
  auto serving = weft::spawn(server.serve_forever());
  // One worker (below): serve_forever() runs before this task's timer wakes
  // it (a task cancelled before its first step would never close the server).
  co_await weft::sleep(5ms);
  EXPECT_TRUE(server.is_serving());
  serving.cancel();  // asyncio: cancelling serve_forever closes the server
  EXPECT_TRUE(co_await weft::test::ends_cancelled(serving));
  EXPECT_FALSE(server.is_serving());
  co_await server.wait_closed();
}

TEST_F(Streams, AbortClientsAndCancellingServeForever) {
  weft::test::Watchdog dog(60s);
  weft::run(abort_and_serve_forever(), {.workers = 1});
}

weft::Task<void> start_errors() {
  auto server = co_await io::start_server(line_echo, "127.0.0.1", 0);
  int err = 0;
  try {
    co_await io::start_server(line_echo, "127.0.0.1", server.addresses().at(0).port());
  } catch (const io::IoError& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, EADDRINUSE);
  EXPECT_THROW(co_await io::open_connection("no-such-host.invalid", 80), io::DnsError);
  // "" listens on every interface (IPv4, and IPv6 where the host has it), one port.
  auto any = co_await io::start_server(line_echo, "", 0);
  std::vector<io::SocketAddress> addrs = any.addresses();
  EXPECT_GE(addrs.size(), 1u);
  if (addrs.empty()) co_return;
  for (const auto& a : addrs)
    EXPECT_EQ(a.port(), addrs[0].port());
  auto [r, w] = co_await io::open_connection("127.0.0.1", addrs[0].port());
  w.write("via any\n");
  EXPECT_EQ(co_await r.readline(), "via any\n");
}

TEST_F(Streams, StartErrorsAndListeningOnEveryInterface) {
  weft::test::Watchdog dog(60s);
  weft::run(start_errors(), {.workers = 2});
}

}  // namespace
