// Unix domain sockets: stream echo over a path and an abstract name,
// socketpair, peer credentials, python3 on the other end both ways, a stale
// socket file replaced and a live or foreign one refused, the file removed on
// close only while it is ours, bad addresses refused with a message, accept
// cancelled and woken by close, datagram sockets (paths, abstract names,
// pairs, truncation, oversized datagrams, cancellation) — and no descriptor
// or registration left behind.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io_test_support.hpp"
#include "peer_process.hpp"
#include "weft/io/unix.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace io = weft::io;
namespace fs = std::filesystem;
using weft::iotest::pattern_byte;

namespace {

/// A fresh directory under /tmp for socket files, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/weft-unix-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class Unix : public weft::iotest::FdLeakCheck {
 protected:
  TempDir dir;
};

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

std::string unique_abstract(const char* tag) {
  return std::string("weft-test-") + tag + "-" + std::to_string(::getpid());
}

// ---- stream echo ----

weft::Task<void> echo_conn(io::UnixStream conn) {
  io::UnixStream s = std::move(conn);
  char buf[4096];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    co_await s.write_all(buf, n);
  }
}

weft::Task<void> accept_n(io::UnixListener* l, int n) {
  std::vector<weft::JoinHandle<void>> conns;
  for (int i = 0; i < n; ++i) {
    io::UnixStream s = co_await l->accept();
    conns.push_back(weft::spawn(echo_conn(std::move(s))));
  }
  for (auto& h : conns)
    co_await h;
}

weft::Task<bool> echo_client(io::UnixAddress addr, int id) {
  io::UnixStream s = co_await io::UnixStream::connect(addr);
  std::string msg(300 + static_cast<std::size_t>(id) * 977, '\0');
  for (std::size_t i = 0; i < msg.size(); ++i)
    msg[i] = pattern_byte(static_cast<std::uint64_t>(id), i);
  co_await s.write_all(msg);
  s.shutdown(io::Shutdown::write);
  std::string got;
  char buf[1000];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    got.append(buf, n);
  }
  co_return got == msg;
}

weft::Task<int> echo_many(io::UnixAddress addr, int n) {
  auto l = io::UnixListener::bind(addr);
  EXPECT_EQ(l.local_address(), addr);
  auto server = weft::spawn(accept_n(&l, n));
  std::vector<weft::JoinHandle<bool>> clients;
  for (int i = 0; i < n; ++i)
    clients.push_back(weft::spawn(echo_client(addr, i)));
  int ok = 0;
  for (auto& c : clients)
    ok += (co_await c) ? 1 : 0;
  co_await server;
  EXPECT_EQ(io::detail::registered_sources(), 1);  // the listener only
  co_return ok;
}

TEST_F(Unix, StreamEchoOverAFilesystemPath) {
  weft::test::Watchdog dog(60s);
  const std::string path = dir.file("echo.sock");
  EXPECT_EQ(weft::run(echo_many(io::UnixAddress::path(path), 100), {.workers = 2}), 100);
  EXPECT_FALSE(exists(path)) << "the listener left its socket file behind";
}

TEST_F(Unix, StreamEchoOverAnAbstractName) {
  weft::test::Watchdog dog(60s);
  auto addr = io::UnixAddress::abstract(unique_abstract("echo"));
  EXPECT_TRUE(addr.is_abstract());
  EXPECT_EQ(addr.to_string(), "@" + unique_abstract("echo"));
  EXPECT_EQ(weft::run(echo_many(addr, 100), {.workers = 2}), 100);
}

// ---- socketpair, big transfers, credentials ----

weft::Task<void> write_pattern(io::UnixStream* s, std::size_t total) {
  std::string chunk(64 * 1024, '\0');
  for (std::size_t off = 0; off < total; off += chunk.size()) {
    std::size_t n = std::min(chunk.size(), total - off);
    for (std::size_t i = 0; i < n; ++i)
      chunk[i] = pattern_byte(3, off + i);
    co_await s->write_all(chunk.data(), n);
  }
  s->shutdown(io::Shutdown::write);
}

weft::Task<std::size_t> read_pattern(io::UnixStream* s) {
  std::size_t got = 0, bad = 0;
  char buf[1531];
  for (;;) {
    std::size_t n = co_await s->read(buf, sizeof buf);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i)
      if (buf[i] != pattern_byte(3, got + i)) ++bad;
    got += n;
  }
  EXPECT_EQ(bad, 0u);
  co_return got;
}

weft::Task<void> pair_transfer() {
  auto [a, b] = io::UnixStream::pair();
  int snd = 4096;
  EXPECT_EQ(setsockopt(a.native_handle(), SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd), 0);
  const std::size_t total = 8 * 1024 * 1024;
  auto w = weft::spawn(write_pattern(&a, total));
  EXPECT_EQ(co_await read_pattern(&b), total);
  co_await w;
  io::PeerCredentials c = b.peer_credentials();
  EXPECT_EQ(c.pid, ::getpid());
  EXPECT_EQ(c.uid, ::getuid());
  EXPECT_EQ(c.gid, ::getgid());
  EXPECT_TRUE(a.local_address().is_unnamed());
}

TEST_F(Unix, SocketpairCarriesEightMegabytesThroughATinyBuffer) {
  weft::test::Watchdog dog(120s);
  weft::run(pair_transfer(), {.workers = 2});
}

weft::Task<void> credentials_of_connections(io::UnixAddress addr) {
  auto l = io::UnixListener::bind(addr);
  io::UnixStream c = co_await io::UnixStream::connect(addr);
  io::UnixStream s = co_await l.accept();
  for (io::PeerCredentials p : {c.peer_credentials(), s.peer_credentials()}) {
    EXPECT_EQ(p.pid, ::getpid());
    EXPECT_EQ(p.uid, ::getuid());
    EXPECT_EQ(p.gid, ::getgid());
  }
  EXPECT_EQ(c.peer_address(), addr);
  EXPECT_TRUE(s.peer_address().is_unnamed());  // the client did not bind
}

TEST_F(Unix, PeerCredentialsOfAcceptedAndConnectedStreams) {
  weft::test::Watchdog dog(60s);
  weft::run(credentials_of_connections(io::UnixAddress::path(dir.file("cred.sock"))),
            {.workers = 1});
}

// ---- python3 on the other end ----

constexpr const char* kPythonClient = R"(
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
for i in range(50):
    m = ('line %d ' % i).encode() * (i + 1) + b'\n'
    s.sendall(m)
    got = b''
    while len(got) < len(m):
        got += s.recv(65536)
    if got != m:
        sys.exit('bad echo %d' % i)
s.close()
)";

int run_python_client(std::string path) {
  weft::iotest::PeerProcess py({"python3", "-c", kPythonClient, path});
  return py.wait();
}

weft::Task<int> python_client_in_a_thread(std::string path) {
  co_return co_await weft::to_thread(run_python_client, path);
}

weft::Task<int> python_client(std::string path) {
  auto l = io::UnixListener::bind(io::UnixAddress::path(path));
  auto peer = weft::spawn(python_client_in_a_thread(path));
  io::UnixStream s = co_await l.accept();
  io::PeerCredentials c = s.peer_credentials();
  EXPECT_NE(c.pid, ::getpid());  // the python process
  EXPECT_EQ(c.uid, ::getuid());
  co_await echo_conn(std::move(s));
  co_return co_await peer;
}

TEST_F(Unix, PythonClientAgainstAWeftServer) {
  weft::test::Watchdog dog(60s);
  EXPECT_EQ(weft::run(python_client(dir.file("py.sock")), {.workers = 2}), 0);
}

constexpr const char* kPythonServer = R"(
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
print('ready', flush=True)
c, _ = s.accept()
data = b''
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
c.sendall(data.upper() + ('pid %d' % os.getpid()).encode())
c.close()
)";

weft::Task<std::string> talk_to_python(std::string path) {
  io::UnixStream s = co_await io::UnixStream::connect(io::UnixAddress::path(path));
  co_await s.write_all("hello from weft");
  s.shutdown(io::Shutdown::write);
  std::string got;
  char buf[256];
  for (;;) {
    std::size_t n = co_await s.read(buf, sizeof buf);
    if (n == 0) break;
    got.append(buf, n);
  }
  co_return got;
}

TEST_F(Unix, WeftClientAgainstAPythonServer) {
  weft::test::Watchdog dog(60s);
  const std::string path = dir.file("pyserver.sock");
  weft::iotest::PeerProcess py({"python3", "-c", kPythonServer, path});
  ASSERT_EQ(py.read_line(), "ready");
  std::string got = weft::run(talk_to_python(path), {.workers = 1});
  EXPECT_EQ(got, "HELLO FROM WEFTpid " + std::to_string(py.pid()));
  EXPECT_EQ(py.wait(), 0);
}

// ---- socket files: stale, live, foreign, cleanup ----

/// Leaves a socket file nobody listens on (a server that died without unlinking).
void make_stale(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
  ASSERT_TRUE(exists(path));
}

weft::Task<void> socket_files(TempDir* d) {
  const std::string stale = d->file("stale.sock");
  make_stale(stale);
  {
    auto l = io::UnixListener::bind(io::UnixAddress::path(stale));  // replaced
    io::UnixStream c = co_await io::UnixStream::connect(io::UnixAddress::path(stale));
    // A second listener on a live socket is refused, and does not remove it.
    try {
      io::UnixListener::bind(io::UnixAddress::path(stale));
      ADD_FAILURE() << "bound over a live listener";
    } catch (const io::IoError& e) {
      EXPECT_EQ(e.code().value(), EADDRINUSE);
      EXPECT_NE(std::string(e.what()).find("accepts connections"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(exists(stale));
    l.close();
    EXPECT_FALSE(exists(stale));  // close() removes it at once
    EXPECT_THROW(co_await l.accept(), io::ClosedError);
  }
  // Without remove_stale, a stale file is refused.
  make_stale(stale);
  EXPECT_THROW(io::UnixListener::bind(io::UnixAddress::path(stale), {.remove_stale = false}),
               io::IoError);
  ::unlink(stale.c_str());

  // A regular file is never removed.
  const std::string regular = d->file("regular");
  std::fclose(std::fopen(regular.c_str(), "w"));
  try {
    io::UnixListener::bind(io::UnixAddress::path(regular));
    ADD_FAILURE() << "bound over a regular file";
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not a socket"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(exists(regular));

  // A file that replaced ours after bind is not ours to remove.
  const std::string moved = d->file("moved.sock");
  {
    auto l = io::UnixListener::bind(io::UnixAddress::path(moved));
    ::unlink(moved.c_str());
    std::fclose(std::fopen(moved.c_str(), "w"));
  }
  EXPECT_TRUE(exists(moved));

  // cleanup = false leaves the file.
  const std::string kept = d->file("kept.sock");
  { auto l = io::UnixListener::bind(io::UnixAddress::path(kept), {.cleanup = false}); }
  EXPECT_TRUE(exists(kept));
  // ... which is then stale, and replaced by the next bind.
  { auto l = io::UnixListener::bind(io::UnixAddress::path(kept)); }
  EXPECT_FALSE(exists(kept));

  // Bad places.
  try {
    io::UnixListener::bind(io::UnixAddress::path(d->file("no/such/dir.sock")));
    ADD_FAILURE() << "bound in a missing directory";
  } catch (const io::IoError& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("no/such/dir.sock"), std::string::npos) << e.what();
  }
  co_return;
}

TEST_F(Unix, StaleSocketFilesAreReplacedLiveAndForeignOnesRefused) {
  weft::test::Watchdog dog(60s);
  weft::run(socket_files(&dir), {.workers = 1});
}

TEST_F(Unix, BadAddressesAreRefusedWithAMessage) {
  EXPECT_THROW(io::UnixAddress::path(""), std::invalid_argument);
  EXPECT_THROW(io::UnixAddress::path(std::string("a\0b", 3)), std::invalid_argument);
  try {
    io::UnixAddress::path("/tmp/" + std::string(200, 'x'));
    ADD_FAILURE() << "accepted a 205-byte path";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at most 107 bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::UnixAddress::abstract(std::string(108, 'y')), std::invalid_argument);
  EXPECT_NO_THROW(io::UnixAddress::path(std::string(107, 'z')));
  EXPECT_TRUE(io::UnixAddress().is_unnamed());
  EXPECT_EQ(io::UnixAddress().to_string(), "(unnamed)");
}

weft::Task<void> connect_errors(TempDir* d) {
  int err = 0;
  try {
    co_await io::UnixStream::connect(io::UnixAddress::path(d->file("missing.sock")));
  } catch (const io::IoError& e) {
    err = e.code().value();
    EXPECT_NE(std::string(e.what()).find("missing.sock"), std::string::npos) << e.what();
  }
  EXPECT_EQ(err, ENOENT);
  make_stale(d->file("dead.sock"));
  err = 0;
  try {
    co_await io::UnixStream::connect(io::UnixAddress::path(d->file("dead.sock")));
  } catch (const io::IoError& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECONNREFUSED);
  err = 0;
  try {
    co_await io::UnixStream::connect(io::UnixAddress::abstract(unique_abstract("nobody")));
  } catch (const io::IoError& e) {
    err = e.code().value();
  }
  EXPECT_EQ(err, ECONNREFUSED);
}

TEST_F(Unix, ConnectErrorsNameTheAddress) {
  weft::test::Watchdog dog(60s);
  weft::run(connect_errors(&dir), {.workers = 1});
}

// ---- accept: cancellation and close ----

weft::Task<io::UnixStream> accept_one(io::UnixListener* l) {
  co_return co_await l->accept();
}

weft::Task<void> accept_cancel_and_close(io::UnixAddress addr) {
  auto l = io::UnixListener::bind(addr);
  EXPECT_THROW(co_await weft::wait_for(l.accept(), 20ms), weft::TimeoutError);
  auto waiting = weft::spawn(accept_one(&l));
  co_await weft::sleep(5ms);
  waiting.cancel();
  EXPECT_TRUE(co_await weft::test::ends_cancelled(waiting));
  // Nothing was lost: a connection made now is accepted.
  io::UnixStream c = co_await io::UnixStream::connect(addr);
  io::UnixStream s = co_await l.accept();
  EXPECT_TRUE(s.is_open());
  auto again = weft::spawn(accept_one(&l));
  co_await weft::sleep(5ms);
  l.close();
  EXPECT_THROW(co_await again, io::ClosedError);
}

TEST_F(Unix, AcceptIsCancellableAndWokenByClose) {
  weft::test::Watchdog dog(60s);
  weft::run(accept_cancel_and_close(io::UnixAddress::abstract(unique_abstract("accept"))),
            {.workers = 2});
}

// ---- datagrams ----

weft::Task<void> datagrams(TempDir* d) {
  const std::string spath = d->file("dgram.sock");
  auto server = io::UnixDatagram::bind(io::UnixAddress::path(spath));
  auto client = io::UnixDatagram::bind(io::UnixAddress::abstract(unique_abstract("dgram")));
  co_await client.send_to("ping", 4, io::UnixAddress::path(spath));
  char buf[64];
  io::UnixReceived r = co_await server.recv_from(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, r.size), "ping");
  EXPECT_EQ(r.from, io::UnixAddress::abstract(unique_abstract("dgram")));
  co_await server.send_to("pong", 4, r.from);
  r = co_await client.recv_from(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, r.size), "pong");
  EXPECT_EQ(r.from, io::UnixAddress::path(spath));

  // Truncation.
  std::string big(1000, 'b');
  co_await client.send_to(big.data(), big.size(), io::UnixAddress::path(spath));
  r = co_await server.recv_from(buf, sizeof buf);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.size, sizeof buf);
  EXPECT_EQ(r.datagram_size, 1000u);

  // An unbound sender is unnamed; connect() sets the default peer.
  auto anon = io::UnixDatagram::unbound();
  anon.connect(io::UnixAddress::path(spath));
  co_await anon.send("anon", 4);
  r = co_await server.recv_from(buf, sizeof buf);
  EXPECT_TRUE(r.from.is_unnamed());

  // Errors name the destination and the sizes.
  int err = 0;
  try {
    co_await client.send_to("x", 1, io::UnixAddress::path(d->file("nobody.sock")));
  } catch (const io::IoError& e) {
    err = e.code().value();
    EXPECT_NE(std::string(e.what()).find("nobody.sock"), std::string::npos) << e.what();
  }
  EXPECT_EQ(err, ENOENT);
  std::string huge(16 * 1024 * 1024, 'h');
  err = 0;
  try {
    co_await client.send_to(huge.data(), huge.size(), io::UnixAddress::path(spath));
  } catch (const io::IoError& e) {
    err = e.code().value();
    EXPECT_NE(std::string(e.what()).find("16777216 bytes"), std::string::npos) << e.what();
  }
  EXPECT_EQ(err, EMSGSIZE);

  // Cancellation consumes nothing.
  EXPECT_THROW(co_await weft::wait_for(server.recv_from(buf, sizeof buf), 20ms),
               weft::TimeoutError);
  co_await client.send_to("kept", 4, io::UnixAddress::path(spath));
  r = co_await server.recv_from(buf, sizeof buf);
  EXPECT_EQ(std::string(buf, r.size), "kept");

  server.close();
  EXPECT_FALSE(exists(spath));
  EXPECT_THROW(co_await server.recv(buf, sizeof buf), io::ClosedError);
}

TEST_F(Unix, DatagramsOverPathsAndAbstractNames) {
  weft::test::Watchdog dog(60s);
  weft::run(datagrams(&dir), {.workers = 1});
}

weft::Task<void> datagram_pair() {
  auto [a, b] = io::UnixDatagram::pair();
  for (int i = 0; i < 100; ++i) {
    std::string m = "message " + std::to_string(i);
    co_await a.send(m);
  }
  char buf[64];
  for (int i = 0; i < 100; ++i) {
    io::UnixReceived r = co_await b.recv(buf, sizeof buf);
    EXPECT_EQ(std::string(buf, r.size), "message " + std::to_string(i));
  }
  io::PeerCredentials c = b.peer_credentials();
  EXPECT_EQ(c.pid, ::getpid());
  EXPECT_EQ(c.uid, ::getuid());
}

TEST_F(Unix, DatagramPairKeepsOrderAndKnowsItsPeer) {
  weft::test::Watchdog dog(60s);
  weft::run(datagram_pair(), {.workers = 2});
}

weft::Task<void> send_many(io::UnixDatagram* s, int count) {
  std::string m(512, 'q');
  for (int i = 0; i < count; ++i)
    co_await s->send(m);
}

// A full receive queue makes the sender wait (Unix datagrams are not dropped).
weft::Task<void> datagram_backpressure() {
  auto [a, b] = io::UnixDatagram::pair();
  const int n = 2000;
  auto sender = weft::spawn(send_many(&a, n));
  co_await weft::sleep(20ms);  // let the queue fill
  char buf[1024];
  for (int i = 0; i < n; ++i) {
    io::UnixReceived r = co_await b.recv(buf, sizeof buf);
    EXPECT_EQ(r.size, 512u);
  }
  co_await sender;
}

TEST_F(Unix, AFullDatagramQueueMakesTheSenderWaitNotDrop) {
  weft::test::Watchdog dog(60s);
  weft::run(datagram_backpressure(), {.workers = 2});
}

}  // namespace
