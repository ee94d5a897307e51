// echo-server [PORT] [WORKERS]: a TCP echo server on 127.0.0.1 (default port
// 7777, one worker per CPU). Every connection is a task that writes back what
// it reads until the client closes. SIGINT/SIGTERM stop it (the listener
// closes; open connections are cancelled when the runtime shuts down).
//
//   build/release/tools/echo-server 7777 &
//   printf 'hello\n' | nc -q1 127.0.0.1 7777
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

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
  // Shared with the signal handlers, which may still run while serve() returns.
  auto listener = std::make_shared<io::TcpListener>(
      io::TcpListener::bind(io::SocketAddress::loopback_v4(port)));
  std::fprintf(stderr, "echo-server: listening on %s\n",
               listener->local_address().to_string().c_str());
  auto stop = [listener] { listener->close(); };  // accept() then throws ClosedError
  io::add_signal_handler(SIGINT, stop);
  io::add_signal_handler(SIGTERM, stop);
  for (;;) {
    io::TcpStream conn;
    try {
      conn = co_await listener->accept();
    } catch (const io::ClosedError&) {
      break;
    }
    weft::spawn(echo(std::move(conn))).detach();
  }
  io::remove_signal_handler(SIGINT);
  io::remove_signal_handler(SIGTERM);
  std::fprintf(stderr, "echo-server: stopped by a signal\n");
}

int main(int argc, char** argv) {
  // First, before any thread starts: a SIGINT/SIGTERM that comes before the
  // handlers are installed waits for them (weft/io/signal.hpp).
  io::block_signals({SIGINT, SIGTERM});
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7777);
  unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 0;
  try {
    weft::run(serve(port), {.workers = workers});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo-server: %s\n", e.what());
    return 1;
  }
}
