// FaultServer: an HTTP server that misbehaves on purpose, for the client's
// and the crawler's robustness tests. The request path picks the fault:
//
//   /ok                  200 "ok" (keep-alive)
//   /garbage-status      "HTTX/1.1 200 OK"
//   /binary-garbage      TLS-looking bytes instead of HTTP
//   /bad-status-code     "HTTP/1.1 2x0 OK"
//   /http2               "HTTP/2 200"
//   /no-length-close     a body without framing, then close (valid: 12 bytes)
//   /no-length-open      a body without framing, never closed (a timeout)
//   /duplicate-length    Content-Length: 5 twice (valid)
//   /contradicting-length  Content-Length: 5 and 7
//   /length-list         Content-Length: 5, 7
//   /negative-length     Content-Length: -5
//   /length-and-chunked  Content-Length and Transfer-Encoding: chunked
//   /truncated           Content-Length: 100, 10 bytes, close
//   /truncated-chunked   a chunk cut short, close
//   /bad-chunk-size      chunk size "zz"
//   /huge-chunk-size     a 17-digit chunk size
//   /endless-chunk       a 2 GiB chunk, streamed (over any sane body limit)
//   /length-over-limit   Content-Length: 100 GB
//   /huge-header         a 1 MiB header line
//   /many-headers        10,000 header fields
//   /endless-empty-lines 4 MiB of empty lines instead of a status line
//   /obs-fold            a folded header line
//   /bad-header          a header line without a colon
//   /switching           101 Switching Protocols
//   /interim             100 Continue, then 200 (valid)
//   /reset-mid-body      Content-Length: 1000, 100 bytes, then a TCP reset
//   /close-immediately   closes without a byte
//   /never-answers       reads the request, sends nothing
//   /drip                a valid response, one byte every 100 ms
//   /redirect-loop       302 to itself
//   /stale               200 (keep-alive) for the first request on a
//                        connection; closes without answering a second one
//
// The server runs on the test's own runtime: serve() until stop(), which
// closes the listener and cancels every connection task (also those that
// hang on purpose), then waits for them. Connections stay open only while
// their task runs, so fd counts return to their start once serve() returns.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "io_test_support.hpp"
#include "weft/io.hpp"
#include "weft/weft.hpp"

namespace weft::iotest {

class FaultServer {
 public:
  /// Binds 127.0.0.1 on a free port. Call inside a task.
  FaultServer() : listener_(io::TcpListener::bind(io::SocketAddress::loopback_v4(0))) {}

  std::string url(std::string_view path) const {
    return "http://" + listener_.local_address().to_string() + std::string(path);
  }

  /// Accepts until stop(); then cancels and awaits every connection.
  Task<void> serve() {
    co_await iotest::serve_until_closed(listener_, [](io::TcpStream s) {
      return spawn(connection(std::move(s)), "fault connection");
    });
  }

  void stop() noexcept { listener_.close(); }

 private:
  static std::string head(std::string_view status, std::string_view fields = "") {
    return "HTTP/1.1 " + std::string(status) + "\r\n" + std::string(fields) + "\r\n";
  }

  /// Writes all of `s`.
  static Task<void> send(io::TcpStream& c, std::string_view s) { co_await c.write_all(s); }

  static void reset(io::TcpStream& c) {
    linger l{1, 0};  // close() sends RST instead of FIN
    ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    c.close();
  }

  static Task<void> hang() { co_await weft::sleep(std::chrono::hours(1)); }

  /// One connection: read a request head, misbehave as its path says.
  static Task<void> connection(io::TcpStream param) {
    // A local, not the parameter: the frame (and so the parameter) lives as
    // long as serve() keeps the JoinHandle; the socket must close at the end.
    io::TcpStream c = std::move(param);
    io::BufferedReader<io::TcpStream> in(c);
    int served = 0;
    try {
      for (;;) {
        std::string req = co_await in.read_until("\r\n\r\n", 64 * 1024);
        std::size_t sp1 = req.find(' ');
        std::size_t sp2 = req.find(' ', sp1 + 1);
        std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
        ++served;
        bool keep = co_await answer(c, path, served);
        if (!keep) break;
      }
    } catch (const io::IoError&) {
      // The client went away (or read_until hit EOF): the connection ends.
    }
  }

  /// Answers one request; false when the connection is to end.
  static Task<bool> answer(io::TcpStream& c, const std::string& path, int served) {
    using namespace std::chrono_literals;
    if (path == "/ok") {
      co_await send(c, head("200 OK", "Content-Length: 2\r\n") + "ok");
      co_return true;
    }
    if (path == "/stale") {
      if (served > 1) co_return false;  // closes without an answer
      co_await send(c, head("200 OK", "Content-Length: 5\r\n") + "fresh");
      co_return true;
    }
    if (path == "/garbage-status") co_await send(c, "HTTX/1.1 200 OK\r\n\r\n");
    if (path == "/binary-garbage")
      co_await send(c, std::string("\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00\r\n\r\n", 14));
    if (path == "/bad-status-code") co_await send(c, "HTTP/1.1 2x0 OK\r\n\r\n");
    if (path == "/http2") co_await send(c, "HTTP/2 200\r\n\r\n");
    if (path == "/no-length-close") co_await send(c, head("200 OK") + "hello, world");
    if (path == "/no-length-open") {
      co_await send(c, head("200 OK") + "hello");
      co_await hang();
    }
    if (path == "/duplicate-length") {
      co_await send(c, head("200 OK", "Content-Length: 5\r\nContent-Length: 5\r\n") + "hello");
      co_return true;
    }
    if (path == "/contradicting-length")
      co_await send(c, head("200 OK", "Content-Length: 5\r\nContent-Length: 7\r\n") + "hello!!");
    if (path == "/length-list")
      co_await send(c, head("200 OK", "Content-Length: 5, 7\r\n") + "hello!!");
    if (path == "/negative-length") co_await send(c, head("200 OK", "Content-Length: -5\r\n"));
    if (path == "/length-and-chunked")
      co_await send(
          c, head("200 OK", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n");
    if (path == "/truncated")
      co_await send(c, head("200 OK", "Content-Length: 100\r\n") + "ten bytes!");
    if (path == "/truncated-chunked")
      co_await send(c, head("200 OK", "Transfer-Encoding: chunked\r\n") + "a\r\n12345");
    if (path == "/bad-chunk-size")
      co_await send(c, head("200 OK", "Transfer-Encoding: chunked\r\n") + "zz\r\nhello\r\n");
    if (path == "/huge-chunk-size")
      co_await send(c, head("200 OK", "Transfer-Encoding: chunked\r\n") + "10000000000000000\r\n");
    if (path == "/endless-chunk") {
      co_await send(c, head("200 OK", "Transfer-Encoding: chunked\r\n") + "80000000\r\n");
      std::string block(64 * 1024, 'x');
      for (int i = 0; i < 32 * 1024; ++i)
        co_await send(c, block);  // ends with EPIPE once the client gives up
    }
    if (path == "/length-over-limit")
      co_await send(c, head("200 OK", "Content-Length: 100000000000\r\n"));
    if (path == "/huge-header")
      co_await send(c, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n");
    if (path == "/endless-empty-lines") {
      std::string crlf(64 * 1024, '\n');
      for (int i = 0; i < 64; ++i)
        co_await send(c, crlf);  // ends with EPIPE once the client gives up
    }
    if (path == "/many-headers") {
      std::string h;
      for (int i = 0; i < 10000; ++i)
        h += "X-" + std::to_string(i) + ": v\r\n";
      co_await send(c, head("200 OK", h));
    }
    if (path == "/obs-fold")
      co_await send(c, head("200 OK", "X-Folded: a\r\n b\r\nContent-Length: 0\r\n"));
    if (path == "/bad-header")
      co_await send(c, head("200 OK", "Bad Header Line\r\nContent-Length: 0\r\n"));
    if (path == "/switching") co_await send(c, head("101 Switching Protocols", "Upgrade: x\r\n"));
    if (path == "/interim") {
      co_await send(c, head("100 Continue") + head("200 OK", "Content-Length: 2\r\n") + "ok");
      co_return true;
    }
    if (path == "/reset-mid-body") {
      co_await send(c, head("200 OK", "Content-Length: 1000\r\n") + std::string(100, 'r'));
      co_await weft::sleep(50ms);  // let the client read the start of the body
      reset(c);
      co_return false;
    }
    if (path == "/never-answers") co_await hang();
    if (path == "/drip") {
      std::string all = head("200 OK", "Content-Length: 100\r\n") + std::string(100, 'd');
      for (char ch : all) {
        co_await send(c, std::string_view(&ch, 1));
        co_await weft::sleep(100ms);
      }
      co_return true;
    }
    if (path == "/redirect-loop") {
      co_await send(c, head("302 Found", "Location: /redirect-loop\r\nContent-Length: 0\r\n"));
      co_return true;
    }
    co_return false;  // every other fault ends with a close (FIN)
  }

  io::TcpListener listener_;
};

}  // namespace weft::iotest
