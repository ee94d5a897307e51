// Uses weft as an installed package: spawn, join, sleep, an Event, a TCP loopback.
#include <weft/io.hpp>
#include <weft/sync.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>

weft::Task<int> twice(int x, weft::Event* go) {
  co_await go->wait();
  co_await weft::sleep(std::chrono::milliseconds(1));
  co_return 2 * x;
}

weft::Task<int> async_main() {
  weft::Event go;
  auto h = weft::spawn(twice(21, &go));
  go.set();
  auto listener = weft::io::TcpListener::bind(weft::io::SocketAddress("127.0.0.1", 0));
  co_return co_await h;
}

int main() {
  int v = weft::run(async_main());
  std::printf("%d\n", v);
  return v == 42 ? 0 : 1;
}
