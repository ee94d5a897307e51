// Streams (issue 17): asyncio's "TCP echo client/server using streams"
// examples in one program — start_server, open_connection, StreamReader and
// StreamWriter, line by line.
//
//   async def handle_echo(reader, writer):
//       data = await reader.read(100)
//       message = data.decode()
//       addr = writer.get_extra_info('peername')
//       print(f"Received {message!r} from {addr!r}")
//       print(f"Send: {message!r}")
//       writer.write(data)
//       await writer.drain()
//       print("Close the connection")
//       writer.close()
//       await writer.wait_closed()
#include <cstdio>
#include <string>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

weft::Task<void> handle_echo(io::StreamReader reader, io::StreamWriter writer) {
  std::string data = co_await reader.read(100);
  std::string addr = writer.peer_name();
  std::printf("Received '%s' from %s\n", data.c_str(), addr.c_str());
  std::printf("Send: '%s'\n", data.c_str());
  writer.write(data);
  co_await writer.drain();
  std::printf("Close the connection\n");
  writer.close();
  co_await writer.wait_closed();
}

weft::Task<void> tcp_echo_client(std::string message, std::uint16_t port) {
  auto [reader, writer] = co_await io::open_connection("127.0.0.1", port);
  std::printf("Send: '%s'\n", message.c_str());
  writer.write(message);
  co_await writer.drain();
  std::string data = co_await reader.read(100);
  std::printf("Received: '%s'\n", data.c_str());
  std::printf("Close the connection\n");
  writer.close();
  co_await writer.wait_closed();
}

weft::Task<void> async_main() {
  // asyncio listens on 8888; port 0 (any free one) keeps the example runnable anywhere.
  io::StreamServer server = co_await io::start_server(handle_echo, "127.0.0.1", 0);
  std::printf("Serving on %s\n", server.addresses().at(0).ip().c_str());
  weft::JoinHandle<void> serving = weft::spawn(server.serve_forever());

  co_await tcp_echo_client("Hello World!", server.addresses().at(0).port());

  server.close();  // serve_forever() returns
  co_await serving;
  co_await server.wait_closed();
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
