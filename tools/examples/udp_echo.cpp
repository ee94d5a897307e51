// UDP (issue 17): asyncio's "UDP Echo Server" and "UDP Echo Client" examples
// in one program, on weft::io::UdpSocket.
//
//   class EchoServerProtocol:
//       def datagram_received(self, data, addr):
//           message = data.decode()
//           print('Received %r from %s' % (message, addr))
//           print('Send %r to %s' % (message, addr))
//           self.transport.sendto(data, addr)
//
//   class EchoClientProtocol:                 # sends "Hello World!", prints the reply
#include <cstdio>
#include <string>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

std::string python_addr(const io::SocketAddress& a) {
  return "('" + a.ip() + "', " + std::to_string(a.port()) + ")";
}

weft::Task<void> echo_server(io::UdpSocket* transport) {
  char data[2048];
  io::UdpReceived d = co_await transport->recv_from(data, sizeof data);
  std::string message(data, d.size);
  std::printf("Received '%s' from %s\n", message.c_str(), python_addr(d.from).c_str());
  std::printf("Send '%s' to %s\n", message.c_str(), python_addr(d.from).c_str());
  co_await transport->send_to(data, d.size, d.from);
}

weft::Task<void> async_main() {
  std::printf("Starting UDP server\n");
  // asyncio binds port 9999; port 0 (any free one) keeps the example runnable anywhere.
  auto server = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  auto serving = weft::spawn(echo_server(&server));

  auto client = io::UdpSocket::bind(io::SocketAddress::loopback_v4(0));
  client.connect(server.local_address());  // remote_addr=(server address)
  std::string message = "Hello World!";
  std::printf("Send: %s\n", message.c_str());
  co_await client.send(message);
  char data[2048];
  io::UdpReceived d = co_await client.recv(data, sizeof data);
  std::printf("Received: %s\n", std::string(data, d.size).c_str());
  std::printf("Close the socket\n");
  client.close();
  co_await serving;
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
