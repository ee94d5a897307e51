// udp-echo-server [PORT] [WORKERS]: a UDP echo server on 127.0.0.1 (default
// port 9999, one worker thread): one task receives each datagram and sends it
// back to its sender. SIGINT/SIGTERM stop it. bench/udp_echo.sh loads it.
//
//   build/release/tools/udp-echo-server 9999 &
//   python3 -c "import socket; s=socket.socket(2,2); s.sendto(b'hi',('127.0.0.1',9999));
//   print(s.recv(9))"
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

weft::Task<void> serve(std::uint16_t port) {
  // Shared with the signal handlers, which may still run while serve() returns.
  auto sock =
      std::make_shared<io::UdpSocket>(io::UdpSocket::bind(io::SocketAddress::loopback_v4(port)));
  std::fprintf(stderr, "udp-echo-server: listening on %s\n",
               sock->local_address().to_string().c_str());
  auto stop = [sock] { sock->close(); };  // the receive then throws ClosedError
  io::add_signal_handler(SIGINT, stop);
  io::add_signal_handler(SIGTERM, stop);
  char buf[65536];
  try {
    for (;;) {
      io::UdpReceived d = co_await sock->recv_from(buf, sizeof buf);
      co_await sock->send_to(buf, d.size, d.from);
    }
  } catch (const io::ClosedError&) {
  }
  io::remove_signal_handler(SIGINT);
  io::remove_signal_handler(SIGTERM);
}

int main(int argc, char** argv) {
  // First, before any thread starts: a SIGINT/SIGTERM that comes before the
  // handlers are installed waits for them (weft/io/signal.hpp).
  io::block_signals({SIGINT, SIGTERM});
  auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 9999);
  unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1;
  try {
    weft::run(serve(port), {.workers = workers ? workers : 1});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "udp-echo-server: %s\n", e.what());
    return 1;
  }
}
