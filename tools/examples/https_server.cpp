// An https server: weft::http::Server with ServerOptions::tls (a
// weft::io::TlsAcceptor on OpenSSL: certificate + key, ALPN http/1.1,
// TLS 1.2+, a handshake timeout).
//
//   https_server                     makes a throw-away self-signed
//                                    certificate, serves on 127.0.0.1, asks
//                                    itself for / with weft's client (which
//                                    trusts that certificate), prints, stops
//   https_server CERT KEY [PORT]     serves 127.0.0.1:PORT (default 8443) with
//                                    the PEM files until SIGTERM or SIGINT
//                                    (try: curl --cacert CERT https://localhost:8443/)
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "self_signed.hpp"
#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace http = weft::http;
namespace io = weft::io;

namespace {

weft::Task<http::Response> hello(http::Request& req) {
  if (req.path() != "/") co_return http::Response(404, "not found\n");
  co_return http::Response(200, "hello over TLS\n");
}

weft::Task<void> self_test() {
  auto [cert, key] = example::self_signed();
  http::ServerOptions o;
  o.tls.emplace(io::TlsServerOptions{.cert_pem = cert, .key_pem = key});
  http::Server server(hello, o);
  const io::SocketAddress addr = server.listen(io::SocketAddress::loopback_v4(0));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  http::ClientOptions co;
  co.ca_pem = cert;  // trust the throw-away certificate (and the system store)
  http::Client client(co);
  const std::string url = "https://localhost:" + std::to_string(addr.port()) + "/";
  http::ClientResponse r = co_await client.get(url);
  std::printf("GET https://localhost/ -> %d %s", r.status, r.body.c_str());
  server.stop();
  co_await serving;
  std::printf("handshake failures: %llu\n",
              static_cast<unsigned long long>(server.stats().tls_handshake_failures));
}

weft::Task<void> serve_files(std::string cert, std::string key, int port) {
  http::ServerOptions o;
  o.tls.emplace(io::TlsServerOptions{.cert_file = cert, .key_file = key});
  http::Server server(hello, o);
  const io::SocketAddress addr =
      server.listen(io::SocketAddress::loopback_v4(static_cast<std::uint16_t>(port)));
  std::printf("serving https://%s/ until SIGTERM or SIGINT\n", addr.to_string().c_str());
  std::fflush(stdout);
  // The signal, the plain POSIX way: blocked everywhere (main() did, before
  // the runtime started), taken by one thread, which stops the server.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  std::thread waiter([&server, set] {
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  });
  std::exception_ptr error;
  try {
    co_await server.serve();
  } catch (...) {
    error = std::current_exception();
    pthread_kill(waiter.native_handle(), SIGTERM);  // ends its sigwait()
  }
  waiter.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGINT);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts
      weft::run(serve_files(argv[1], argv[2], argc > 3 ? std::atoi(argv[3]) : 8443));
    } else {
      weft::run(self_test());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "https_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
