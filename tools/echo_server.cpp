// echo-server [PORT] [WORKERS]: a TCP echo server on 127.0.0.1 (default port
// 7777, one worker per CPU). Every connection is a task that writes back what
// it reads until the client closes.
//
//   build/release/tools/echo-server 7777 &
//   printf 'hello\n' | nc -q1 127.0.0.1 7777
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

weft::Task<void> echo(io::TcpStream stream) {
  io::TcpStream conn = std::move(stream);  // a local closes when the body ends
  char buf[16 * 1024];
  try {
    for (;;) {
      std::size_t n = co_await conn.read(buf, sizeof buf);
      if (n == 0) break;  // the client closed its side
      co_await conn.write_all(buf, n);
    }
  } catch (const io::IoError& e) {
    std::fprintf(stderr, "echo-server: %s\n", e.what());
  }
}

weft::Task<void> serve(std::uint16_t port) {
  auto listener = io::TcpListener::bind(io::SocketAddress::loopback_v4(port));
  std::fprintf(stderr, "echo-server: listening on %s\n",
               listener.local_address().to_string().c_str());
  for (;;) {
    io::TcpStream conn = co_await listener.accept();
    weft::spawn(echo(std::move(conn))).detach();
  }
}

int main(int argc, char** argv) {
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7777);
  unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  try {
    weft::run(serve(port), {.workers = workers});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo-server: %s\n", e.what());
    return 1;
  }
}
