// TLS: weft::io::TlsStream directly (a 1 MiB echo in both directions over
// memory BIOs and the reactor), and https through weft::http::Client:
// verification on by default (a self-signed server fails with the
// verifier's reason), trusting an extra CA, name and IP checks, --insecure,
// keep-alive over TLS, a handshake timeout, and TLS spoken to a plain HTTP
// server. Self-signed certificates are generated at run time: no network.
#include "weft/io/tls.hpp"

#include <gtest/gtest.h>

#include <string>

#include "io_test_support.hpp"
#include "tls_test_support.hpp"
#include "weft_test.hpp"

using namespace std::chrono_literals;
namespace http = weft::http;
namespace io = weft::io;
using weft::iotest::TestCert;

namespace {

class Tls : public weft::iotest::FdLeakCheck {};

weft::Task<void> echo_peer(io::TcpStream tcp, io::TlsContext ctx) {
  io::TlsStream tls = co_await io::TlsStream::accept(std::move(tcp), ctx);
  char buf[5000];
  for (;;) {
    std::size_t n = co_await tls.read(buf, sizeof buf);
    if (n == 0) break;
    co_await tls.write_all(buf, n);
  }
  co_await tls.shutdown();
}

weft::Task<void> stream_echo(TestCert cert) {
  auto [client_tcp, server_tcp] = co_await weft::iotest::connected_pair();
  io::TlsContext server_ctx = io::TlsContext::server(cert.cert_pem, cert.key_pem);
  weft::JoinHandle<void> peer = weft::spawn(echo_peer(std::move(server_tcp), server_ctx));
  io::TlsClientOptions o;
  o.system_store = false;
  o.ca_pem = cert.cert_pem;
  io::TlsStream tls = co_await io::TlsStream::connect(std::move(client_tcp),
                                                      io::TlsContext::client(o), "localhost");
  EXPECT_FALSE(tls.version().empty());
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = weft::iotest::pattern_byte(3, i);
  auto writer = [](io::TlsStream* t, const std::string* d) -> weft::Task<void> {
    co_await t->write_all(*d);
  };
  // One task at a time per TlsStream: write everything, then read it back
  // (the peer echoes as it reads; socket buffers hold what is in flight).
  std::string back;
  back.reserve(data.size());
  char buf[16384];
  std::size_t sent = 0;
  while (sent < data.size()) {
    std::size_t n = std::min<std::size_t>(64 * 1024, data.size() - sent);
    std::string piece = data.substr(sent, n);
    co_await writer(&tls, &piece);
    sent += n;
    while (back.size() < sent) {
      std::size_t got = co_await tls.read(buf, sizeof buf);
      EXPECT_GT(got, 0u);
      if (got == 0) break;
      back.append(buf, got);
    }
  }
  EXPECT_TRUE(back == data);
  co_await tls.shutdown();
  tls.tcp().shutdown(io::Shutdown::write);
  co_await peer;
}

TEST_F(Tls, StreamEchoesAMegabyte) {
  weft::test::Watchdog wd(60s);
  TestCert cert = weft::iotest::make_cert("DNS:localhost");
  weft::run(stream_echo(cert), {.workers = 2});
}

/// Runs `body(port)` against a TlsServer with `cert`.
template <class F>
void with_tls_server(const TestCert& cert, F body, bool handshake = true) {
  auto main = [&]() -> weft::Task<void> {
    weft::iotest::TlsServer server(cert, "hello", handshake);
    weft::JoinHandle<void> serving = weft::spawn(server.serve());
    std::exception_ptr err;
    try {
      co_await body(server.port(), &server);
    } catch (...) {
      err = std::current_exception();
    }
    server.stop();
    co_await serving;
    if (err) std::rethrow_exception(err);
  };
  weft::run(main(), {.workers = 2});
}

TEST_F(Tls, ClientVerifiesByDefault) {
  weft::test::Watchdog wd(60s);
  TestCert cert = weft::iotest::make_cert("DNS:localhost,IP:127.0.0.1");
  auto body = [&cert](std::uint16_t port, weft::iotest::TlsServer* server) -> weft::Task<void> {
    const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/";
    // The system store does not know this certificate.
    http::Client strict;
    std::string why;
    try {
      co_await strict.get(url);
    } catch (const http::TlsError& e) {
      why = e.what();
      EXPECT_EQ(e.kind(), http::ErrorKind::tls);
    }
    EXPECT_NE(why.find("certificate verify failed"), std::string::npos) << why;
    EXPECT_NE(why.find("self-signed"), std::string::npos) << why;

    // Trusting it: by IP and by name; keep-alive over TLS.
    http::ClientOptions o;
    o.ca_pem = cert.cert_pem;
    http::Client trusted(o);
    for (int i = 0; i < 3; ++i) {
      http::ClientResponse r = co_await trusted.get(url);
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, "hello");
    }
    http::ClientResponse r =
        co_await trusted.get("https://localhost:" + std::to_string(port) + "/x");
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(trusted.stats().connections_opened, 2u);  // one per origin
    int before = server->handshakes();

    // --insecure accepts anything.
    http::ClientOptions k;
    k.verify_tls = false;
    http::Client insecure(k);
    EXPECT_EQ((co_await insecure.get(url)).status, 200);
    EXPECT_EQ(server->handshakes(), before + 1);
  };
  with_tls_server(cert, body);
}

TEST_F(Tls, NameMismatchFails) {
  weft::test::Watchdog wd(60s);
  TestCert cert = weft::iotest::make_cert("DNS:other.example");
  auto body = [&cert](std::uint16_t port, weft::iotest::TlsServer*) -> weft::Task<void> {
    http::ClientOptions o;
    o.ca_pem = cert.cert_pem;
    http::Client c(o);
    for (std::string host : {"127.0.0.1", "localhost"}) {
      std::string why;
      try {
        co_await c.get("https://" + host + ":" + std::to_string(port) + "/");
      } catch (const http::TlsError& e) {
        why = e.what();
      }
      EXPECT_NE(why.find("certificate verify failed"), std::string::npos) << host << ": " << why;
      EXPECT_NE(why.find("mismatch"), std::string::npos) << host << ": " << why;
    }
  };
  with_tls_server(cert, body);
}

TEST_F(Tls, HandshakeTimeoutIsAConnectTimeout) {
  weft::test::Watchdog wd(60s);
  TestCert cert = weft::iotest::make_cert("DNS:localhost");
  auto body = [](std::uint16_t port, weft::iotest::TlsServer*) -> weft::Task<void> {
    http::ClientOptions o;
    o.connect_timeout = 200ms;
    o.verify_tls = false;
    http::Client c(o);
    std::optional<http::TimeoutPhase> phase;
    try {
      co_await c.get("https://127.0.0.1:" + std::to_string(port) + "/");
    } catch (const http::RequestTimeout& e) {
      phase = e.phase();
    }
    EXPECT_EQ(phase, http::TimeoutPhase::connect);
  };
  with_tls_server(cert, body, /*handshake=*/false);
}

/// A plain-text server that answers every connection at once with an HTTP
/// 400 and closes (as an HTTP server answers a TLS ClientHello).
weft::Task<void> plain_answer(io::TcpListener* l, int connections) {
  for (int i = 0; i < connections; ++i) {
    io::TcpStream s = co_await l->accept();
    co_await s.write_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    s.shutdown(io::Shutdown::write);
    char sink[4096];
    try {
      while (co_await s.read(sink, sizeof sink) > 0) {
      }
    } catch (const io::IoError&) {
    }
  }
}

weft::Task<void> tls_to_plain_http() {
  auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
  weft::JoinHandle<void> server = weft::spawn(plain_answer(&l, 1));
  http::ClientOptions o;
  o.verify_tls = false;
  http::Client c(o);
  std::string why;
  try {
    co_await c.get("https://" + l.local_address().to_string() + "/get");
  } catch (const http::TlsError& e) {
    why = e.what();
  }
  EXPECT_NE(why.find("TLS handshake"), std::string::npos) << why;
  co_await server;
}

TEST_F(Tls, TlsToAPlainHttpServerFails) {
  weft::test::Watchdog wd(60s);
  weft::run(tls_to_plain_http(), {.workers = 2});
}

// Issue 18, item 5: a close-delimited https body (no Content-Length, no
// chunks) ended by a TCP FIN without TLS close_notify was reported as a
// complete response. An attacker who can cut the TCP stream truncates the
// body that way; a careful client reports it.
weft::Task<void> close_delimited_peer(io::TcpListener* l, io::TlsContext ctx, bool close_notify) {
  io::TcpStream tcp = co_await l->accept();
  io::TlsStream tls = co_await io::TlsStream::accept(std::move(tcp), ctx);
  io::BufferedReader<io::TlsStream> in(tls);
  co_await in.read_until("\r\n\r\n", 64 * 1024);
  co_await tls.write_all("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial body");
  if (close_notify) co_await tls.shutdown();
  tls.tcp().shutdown(io::Shutdown::write);  // FIN; with or without close_notify before it
  char sink[256];
  try {
    while (co_await tls.tcp().read(sink, sizeof sink) > 0) {
    }
  } catch (const io::IoError&) {
  }
}

weft::Task<void> truncated_close_delimited(TestCert cert) {
  io::TlsContext server_ctx = io::TlsContext::server(cert.cert_pem, cert.key_pem);
  http::ClientOptions o;
  o.ca_pem = cert.cert_pem;
  http::Client client(o);
  for (bool close_notify : {false, true}) {
    auto l = io::TcpListener::bind(io::SocketAddress::loopback_v4(0));
    weft::JoinHandle<void> peer = weft::spawn(close_delimited_peer(&l, server_ctx, close_notify));
    const std::string url = "https://localhost:" + std::to_string(l.local_address().port()) + "/";
    std::string why;
    std::optional<http::ClientResponse> r;
    try {
      r.emplace(co_await client.get(url));
    } catch (const http::TlsError& e) {
      why = e.what();
    }
    if (close_notify) {
      EXPECT_TRUE(r.has_value()) << why;
      if (r) {
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "partial body");
      }
    } else {
      EXPECT_FALSE(r.has_value()) << "a body cut without close_notify was reported complete";
      EXPECT_NE(why.find("close_notify"), std::string::npos) << why;
      EXPECT_NE(why.find("truncated"), std::string::npos) << why;
    }
    co_await peer;
  }
}

TEST_F(Tls, CloseDelimitedBodyWithoutCloseNotifyIsATruncation) {
  weft::test::Watchdog wd(60s);
  TestCert cert = weft::iotest::make_cert("DNS:localhost");
  weft::run(truncated_close_delimited(cert), {.workers = 2});
}

TEST(TlsContext, BadConfigurationIsAClearError) {
  io::TlsClientOptions o;
  o.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(io::TlsContext::client(o), io::TlsError);
  o.ca_file.clear();
  o.ca_pem = "not a certificate";
  EXPECT_THROW(io::TlsContext::client(o), io::TlsError);
  EXPECT_THROW(io::TlsContext::server("junk", "junk"), io::TlsError);
  TestCert a = weft::iotest::make_cert("DNS:a");
  TestCert b = weft::iotest::make_cert("DNS:b");
  try {
    io::TlsContext::server(a.cert_pem, b.key_pem);
    ADD_FAILURE() << "a key that does not match was accepted";
  } catch (const io::TlsError& e) {
    EXPECT_NE(std::string(e.what()).find("mismatch"), std::string::npos) << e.what();
  }
}

}  // namespace
