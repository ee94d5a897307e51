// One HTTP/1.1 connection of weft::http::Server: read, parse, call the
// handler, write, for every request of a keep-alive connection.
//
// The loop: answer every complete request already buffered (pipelining),
// then write what is pending in one send, then read more. Reads and writes
// are non-blocking attempts first; the task waits for readiness only when an
// attempt would block, under an absolute deadline: the idle deadline
// (idle_timeout after the last response; empty lines do not move it), the
// request deadline (read_timeout after a request's first byte) or the write
// deadline (write_timeout per batch).
#include <optional>

#include "http_input_buffer.hpp"
#include "http_response_writer.hpp"
#include "http_server_impl.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"

namespace weft::http::detail {

namespace {

/// First input buffer of a connection (2 KiB: a typical request head fits,
/// and 10,000 idle connections stay within the W11 memory target).
constexpr std::size_t kInitialBuffer = 2 * 1024;
/// Room guaranteed before each read.
constexpr std::size_t kReadRoom = 1024;
/// Pipelined responses are written once this much is pending.
constexpr std::size_t kFlushThreshold = 64 * 1024;
/// After an error response: how long, and how much, unread input is drained
/// before closing (closing with unread input sends RST, which can destroy the
/// response before the client reads it).
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 64 * 1024;

/// Writes `out` (after the fast attempt wrote `done` bytes) within `limit`.
/// False if it timed out.
Task<bool> write_rest(io::TcpStream& s, const std::string& out, std::size_t done,
                      std::chrono::milliseconds limit) {
  bool timed_out = false;
  try {
    co_await weft::wait_for(s.write_all(out.data() + done, out.size() - done), limit);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  co_return !timed_out;
}

/// Shuts our side down and discards what the client still sends, for a
/// bounded time, so that the error response is not lost to a reset.
Task<void> lingering_close(io::TcpStream& s) {
  s.shutdown(io::Shutdown::write);
  const auto deadline = Clock::now() + kLingerTime;
  char sink[2048];
  std::size_t total = 0;
  while (total < kLingerBytes) {
    long n = s.try_read(sink, sizeof sink);
    if (n == 0) break;
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    bool timed_out = false;
    try {
      co_await weft::timeout_at(deadline, s.readable());
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    if (timed_out) break;
  }
}

Task<void> serve_connection(Server::Impl* im, ConnRecord* rec) {
  io::TcpStream& s = rec->stream;
  InputBuffer in(kInitialBuffer, im->limits.max_header_bytes + kReadRoom);
  Request req;
  RequestParser parser(im->limits);
  std::string out;
  // Absolute deadlines: for the rest of the current request, and for the
  // next request to begin (from the end of the last response, or the accept).
  std::optional<Clock::time_point> request_deadline, idle_deadline;
  bool close = false, linger = false, sent_continue = false;
  for (;;) {
    // 1. Answer every complete request already buffered (pipelining).
    while (!close && !in.empty()) {
      ParseResult r = parser.parse(in.view(), req);
      in.consume(r.consumed);
      if (r.status == ParseStatus::incomplete) break;
      if (r.status == ParseStatus::error) {
        append_error(out, parser.error_status(), parser.error_message());
        close = linger = true;
        break;
      }
      request_deadline.reset();
      idle_deadline.reset();
      sent_continue = false;
      // The handler: a failure becomes a 500; a cancellation ends the connection.
      Response resp;
      bool failed = false;
      try {
        Task<Response> handled = im->handler(req);
        resp = co_await handled;
      } catch (const weft::CancelledError&) {
        throw;
      } catch (...) {
        failed = true;
      }
      if (failed) resp = Response(500, "internal server error\n");
      // After the handler: a stop() that came while it ran marks this the last response.
      bool keep = req.keep_alive && !im->stopping.load(std::memory_order_seq_cst);
      const bool head = req.method == "HEAD";
      if (!append_response(out, resp, head, !keep, keep && req.version_minor == 0,
                           req.version_minor == 1))
        keep = false;
      if (!keep) close = true;
      if (out.size() >= kFlushThreshold) {
        long w = s.try_write(out.data(), out.size());
        std::size_t done = w == io::detail::kWouldBlock ? 0 : static_cast<std::size_t>(w);
        if (done < out.size()) {
          bool ok = co_await write_rest(s, out, done, im->opts.write_timeout);
          if (!ok) co_return;
        }
        out.clear();
      }
    }
    if (!close && parser.expects_continue() && !sent_continue) {
      out.append(kContinue);
      sent_continue = true;
    }
    // 2. Write what is pending: one send for the whole batch when the socket takes it.
    if (!out.empty()) {
      long w = s.try_write(out.data(), out.size());
      std::size_t done = w == io::detail::kWouldBlock ? 0 : static_cast<std::size_t>(w);
      if (done < out.size()) {
        bool ok = co_await write_rest(s, out, done, im->opts.write_timeout);
        if (!ok) co_return;
      }
      out.clear();
    }
    if (close) {
      if (linger) co_await lingering_close(s);
      co_return;
    }
    // 3. Read more.
    in.make_room(kReadRoom);
    long n = s.try_read(in.tail(), in.room());
    if (n == io::detail::kWouldBlock) {
      bool timed_out = false;
      if (parser.idle()) {
        // seq_cst: Dekker with stop() (store our state, then read `stopping`).
        rec->state.store(kIdle, std::memory_order_seq_cst);
        if (im->stopping.load(std::memory_order_seq_cst)) co_return;
        in.shrink_if_empty();
        // Set once per wait for a request: empty lines (which leave the
        // parser idle) come back here without moving it.
        if (!idle_deadline) idle_deadline = Clock::now() + im->opts.idle_timeout;
        try {
          co_await weft::timeout_at(*idle_deadline, s.readable());
        } catch (const weft::TimeoutError&) {
          timed_out = true;
        }
        std::uint8_t expected = kIdle;
        // acq_rel: either we take the connection back, or stop() / the cap did (and closed it).
        if (!rec->state.compare_exchange_strong(expected, kBusy, std::memory_order_acq_rel))
          co_return;
        if (timed_out) co_return;  // idle keep-alive connection: close quietly
      } else {
        if (!request_deadline) request_deadline = Clock::now() + im->opts.read_timeout;
        try {
          co_await weft::timeout_at(*request_deadline, s.readable());
        } catch (const weft::TimeoutError&) {
          timed_out = true;
        }
        if (timed_out) {
          append_error(out, 408, "the request was not received in time");
          close = linger = true;
        }
      }
      continue;
    }
    if (n == 0) co_return;  // the client closed (a partial request is dropped)
    in.commit(static_cast<std::size_t>(n));
    if (!weft::detail::consume_budget()) co_await weft::yield();
  }
}

}  // namespace

Task<void> connection(ConnRef ref) {
  // Ends the connection (unregisters it) when the body ends, normally or by an exception.
  struct Scope {
    ConnRef& ref;
    ~Scope() { ref.finish(); }
  } scope{ref};
  try {
    co_await serve_connection(ref.impl(), ref.record());
  } catch (const io::IoError&) {
    // Reset, broken pipe, closed by stop(): the connection just ends.
  }
}

}  // namespace weft::http::detail
