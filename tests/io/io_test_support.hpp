// Helpers for the weft::io tests: open-descriptor counting (leak checks) and
// a connected pair of loopback TcpStreams.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "weft/io.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

namespace weft::iotest {

/// A test server's accept loop: runs `start(stream)` (which spawns the
/// connection's task and returns its JoinHandle) for every connection until
/// `listener` is closed, then cancels and awaits every connection task.
template <class Start>
Task<void> serve_until_closed(io::TcpListener& listener, Start start) {
  std::vector<JoinHandle<void>> conns;
  for (;;) {
    io::TcpStream s;
    bool closed = false;
    try {
      s = co_await listener.accept();
    } catch (const io::IoError&) {
      closed = true;
    }
    if (closed) break;
    conns.push_back(start(std::move(s)));
  }
  co_await weft::test::cancel_and_wait_all(conns);
}

/// Open file descriptors of this process.
inline int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return -1;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

/// Fails the test if it leaves descriptors open (runtimes included: every
/// test runs its runtime to completion inside the test body).
class FdLeakCheck : public ::testing::Test {
 protected:
  void SetUp() override { before_ = open_fds(); }
  void TearDown() override { EXPECT_EQ(open_fds(), before_) << "file descriptors leaked"; }

 private:
  int before_ = 0;
};

/// A connected (client, server) pair on `where` (port 0: any).
inline Task<std::pair<io::TcpStream, io::TcpStream>> connected_pair(
    io::SocketAddress where = io::SocketAddress::loopback_v4(0)) {
  auto listener = io::TcpListener::bind(where);
  io::TcpStream client = co_await io::TcpStream::connect(listener.local_address());
  io::TcpStream server = co_await listener.accept();
  co_return std::pair<io::TcpStream, io::TcpStream>(std::move(client), std::move(server));
}

/// Byte `i` of the deterministic test pattern of stream `id`.
inline char pattern_byte(std::uint64_t id, std::uint64_t i) {
  return static_cast<char>((i * 31 + id * 7 + (i >> 9)) & 0xff);
}

}  // namespace weft::iotest
