// Streams over TLS (issue 17): the echo pair of streams_echo.cpp with ssl=
// on both sides — start_server with StreamServerOptions::tls (a TlsAcceptor:
// certificate + key, TLS 1.2+, a handshake timeout) and open_connection
// with OpenConnectionOptions::tls.
//
//   server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
//   server_ctx.load_cert_chain('cert.pem', 'key.pem')
//   server = await asyncio.start_server(handle_echo, '127.0.0.1', 8443, ssl=server_ctx)
//   client_ctx = ssl.create_default_context(cafile='cert.pem')
//   reader, writer = await asyncio.open_connection('localhost', 8443, ssl=client_ctx)
//
//   streams_tls_echo                  makes a throw-away self-signed
//                                     certificate, runs the echo pair, prints
//   streams_tls_echo CERT KEY [PORT]  echo server on 127.0.0.1:PORT (default
//                                     8443) with the PEM files until SIGINT
//                                     or SIGTERM (try: openssl s_client
//                                     -connect 127.0.0.1:8443 -CAfile CERT)
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "self_signed.hpp"
#include "weft/event.hpp"
#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace io = weft::io;

namespace {

weft::Task<void> handle_echo(io::StreamReader reader, io::StreamWriter writer) {
  std::string data = co_await reader.read(100);
  std::string addr = writer.peer_name();
  std::printf("Received '%s' from %s\n", data.c_str(), addr.c_str());
  std::printf("Send: '%s'\n", data.c_str());
  writer.write(data);
  co_await writer.drain();
  std::printf("Close the connection\n");
  writer.close();  // close_notify, then the socket
  co_await writer.wait_closed();
}

weft::Task<void> tls_echo_client(std::string message, std::uint16_t port, std::string ca_pem) {
  io::TlsClientOptions trust;
  trust.ca_pem = ca_pem;  // the throw-away certificate (and the system store)
  io::OpenConnectionOptions o;
  o.tls = io::TlsContext::client(trust);
  o.server_hostname = "localhost";  // the name the certificate is checked for
  auto [reader, writer] = co_await io::open_connection("127.0.0.1", port, std::move(o));
  std::printf("Send: '%s'\n", message.c_str());
  writer.write(message);
  co_await writer.drain();
  std::string data = co_await reader.read(100);
  std::printf("Received: '%s'\n", data.c_str());
  std::printf("Close the connection\n");
  writer.close();
  co_await writer.wait_closed();
}

io::StreamServerOptions tls_options(io::TlsServerOptions tls) {
  tls.alpn = {};  // not HTTP: no ALPN name to offer
  io::StreamServerOptions o;
  o.tls.emplace(tls);
  return o;
}

weft::Task<void> self_test() {
  auto [cert, key] = example::self_signed();
  // A named object, not a temporary inside the co_await (see OpenConnectionOptions).
  io::StreamServerOptions o = tls_options({.cert_pem = cert, .key_pem = key});
  io::StreamServer server = co_await io::start_server(handle_echo, "127.0.0.1", 0, std::move(o));
  std::printf("Serving on %s over TLS\n", server.addresses().at(0).ip().c_str());
  weft::JoinHandle<void> serving = weft::spawn(server.serve_forever());

  co_await tls_echo_client("Hello World!", server.addresses().at(0).port(), cert);

  server.close();  // serve_forever() returns
  co_await serving;
  co_await server.wait_closed();
  std::printf("handshake failures: %llu\n",
              static_cast<unsigned long long>(server.tls_handshake_failures()));
}

weft::Task<void> serve_files(std::string cert, std::string key, int port) {
  weft::Event stop;
  for (int sig : {SIGINT, SIGTERM})
    io::add_signal_handler(sig, [&stop] { stop.set(); });
  io::StreamServerOptions o = tls_options({.cert_file = cert, .key_file = key});
  io::StreamServer server = co_await io::start_server(
      handle_echo, "127.0.0.1", static_cast<std::uint16_t>(port), std::move(o));
  std::printf("serving TLS echo on %s until SIGINT or SIGTERM\n",
              server.addresses().at(0).to_string().c_str());
  std::fflush(stdout);
  co_await stop.wait();
  io::remove_signal_handler(SIGINT);
  io::remove_signal_handler(SIGTERM);
  server.close();
  server.close_clients();
  co_await server.wait_closed();
  std::printf("handshake failures: %llu\n",
              static_cast<unsigned long long>(server.tls_handshake_failures()));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3) {
      io::block_signals({SIGINT, SIGTERM});  // before the runtime's threads start
      weft::run(serve_files(argv[1], argv[2], argc > 3 ? std::atoi(argv[3]) : 8443));
    } else {
      weft::run(self_test(), {.workers = 1});
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streams_tls_echo: %s\n", e.what());
    return 1;
  }
}
