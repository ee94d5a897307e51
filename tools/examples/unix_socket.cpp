// Unix domain sockets (issue 17): an echo server on a socket file and a
// client, with the peer's credentials — asyncio's start_unix_server /
// open_unix_connection pair, on weft::io::UnixListener and UnixStream (the
// StreamReader/StreamWriter form is tools/examples/streams_echo.cpp).
//
//   server = await asyncio.start_unix_server(handle, path)
//   reader, writer = await asyncio.open_unix_connection(path)
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

weft::Task<void> handle(io::UnixStream conn) {
  io::UnixStream s = std::move(conn);
  io::PeerCredentials who = s.peer_credentials();
  std::printf("server: a client connected (uid %s, pid %s)\n",
              who.uid == ::getuid() ? "same as mine" : "other",
              who.pid == ::getpid() ? "this process" : "other");
  char buf[256];
  std::size_t n = co_await s.read(buf, sizeof buf);
  std::printf("server: received %zu bytes, echoing them\n", n);
  co_await s.write_all(buf, n);
}

weft::Task<void> serve_one(io::UnixListener* listener) {
  co_await handle(co_await listener->accept());
}

weft::Task<void> async_main() {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("weft-example-" + std::to_string(::getpid()) + ".sock"))
                               .string();
  auto listener = io::UnixListener::bind(io::UnixAddress::path(path));
  std::printf("listening on a socket file: %s\n",
              std::filesystem::exists(path) ? "created" : "missing");
  auto server = weft::spawn(serve_one(&listener));

  io::UnixStream client = co_await io::UnixStream::connect(io::UnixAddress::path(path));
  co_await client.write_all("Hello over a Unix socket!");
  char buf[256];
  std::size_t n = co_await client.read(buf, sizeof buf);
  std::printf("client: received '%s'\n", std::string(buf, n).c_str());
  co_await server;
  listener.close();
  std::printf("closed; the socket file is %s\n",
              std::filesystem::exists(path) ? "still there" : "removed");

  // A connected pair needs no address at all (socketpair).
  auto [a, b] = io::UnixStream::pair();
  co_await a.write_all("ping");
  n = co_await b.read(buf, sizeof buf);
  std::printf("socketpair: '%s'\n", std::string(buf, n).c_str());
}

int main() {
  weft::run(async_main(), {.workers = 1});
}
