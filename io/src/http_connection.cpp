// One HTTP/1.1 connection of weft::http::Server: read, parse, call the
// handler, write, for every request of a keep-alive connection.
//
// The loop: answer every complete request already buffered (pipelining),
// then write what is pending in one send, then read more. Reads and writes
// are non-blocking attempts first; the task waits for readiness only when an
// attempt would block. A wait for the next request has no timer (the
// server's idle sweeper ends it); a request in progress waits under its
// absolute deadline (read_timeout after its first byte), a write under
// write_timeout per batch.
#include <sys/uio.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "http_input_buffer.hpp"
#include "http_response_writer.hpp"
#include "http_server_impl.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/io/tls_server.hpp"
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
/// Request and response bodies up to this size are neither charged to the
/// memory budget nor written apart from their head; a body buffer larger
/// than this is freed after its response.
constexpr std::size_t kSmallBody = 16 * 1024;
/// An output buffer grown past this (a large chunked response) is freed
/// after it was written.
constexpr std::size_t kKeepOutput = 2 * kFlushThreshold;
/// When the server closes a connection the client may still send on (after
/// an error, or a "Connection: close" of the server's): how long, and how
/// much, unread input is drained before closing (closing with unread input
/// sends RST, which can destroy the response before the client reads it).
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 64 * 1024;

/// Awaits a handler's Task: its Response, or a 500 when it threw anything
/// but a cancellation. The Response is built straight into the awaiting
/// frame's variable (no copy of the handler's result on the way).
struct Guarded {
  Task<Response>::Awaiter inner;

  bool await_ready() { return inner.await_ready(); }
  void await_suspend(std::coroutine_handle<> h) { inner.await_suspend(h); }
  Response await_resume() {
    try {
      return inner.await_resume();
    } catch (const weft::CancelledError&) {
      throw;
    } catch (...) {
      return Response(500, "internal server error\n");
    }
  }
};

/// Plain TCP, as serve_connection() uses a transport: non-blocking
/// attempts, readiness waits, and the awaiting rest of a write.
struct PlainIo {
  io::TcpStream& s;

  long try_read(char* p, std::size_t n) { return s.try_read(p, n); }
  io::detail::ReadinessAwaiter readable() { return s.readable(); }
  /// One attempt to send `a` then `b` (b may be empty); `done` gets the
  /// bytes sent. True if everything went.
  bool try_send(std::string_view a, std::string_view b, std::size_t& done) {
    long w;
    if (b.empty()) {
      w = s.try_write(a.data(), a.size());
    } else {
      iovec iov[2] = {{const_cast<char*>(a.data()), a.size()},
                      {const_cast<char*>(b.data()), b.size()}};
      w = s.source()->try_writev(iov, 2, "weft::http::Server: writing responses");
    }
    done = w == io::detail::kWouldBlock ? 0 : static_cast<std::size_t>(w);
    return done == a.size() + b.size();
  }
  /// The rest of `a` then `b`, after try_send() sent `done` bytes.
  Task<void> send_rest(std::string_view a, std::string_view b, std::size_t done) {
    return write_rest(s, a, b, done);
  }
  io::TcpStream& tcp() { return s; }
  void close_notify() noexcept {}

  static Task<void> write_rest(io::TcpStream& s, std::string_view a, std::string_view b,
                               std::size_t done) {
    iovec iov[2];
    int n = 0;
    if (done < a.size()) iov[n++] = {const_cast<char*>(a.data() + done), a.size() - done};
    std::size_t b_done = done > a.size() ? done - a.size() : 0;
    if (b_done < b.size()) iov[n++] = {const_cast<char*>(b.data() + b_done), b.size() - b_done};
    co_await s.writev_all(iov, n);
  }
};

/// TLS: the same through a TlsStream (try_send() counts plaintext bytes
/// taken; what it encrypted but could not send waits in the stream).
struct TlsIo {
  io::TlsStream& t;

  long try_read(char* p, std::size_t n) { return t.try_read(p, n); }
  io::detail::ReadinessAwaiter readable() { return t.readable(); }
  bool try_send(std::string_view a, std::string_view b, std::size_t& done) {
    done = 0;
    long w = t.try_write(a.data(), a.size());
    if (w > 0) done += static_cast<std::size_t>(w);
    if (done == a.size() && !b.empty()) {
      w = t.try_write(b.data(), b.size());
      if (w > 0) done += static_cast<std::size_t>(w);
    }
    return done == a.size() + b.size() && t.pending_output() == 0;
  }
  Task<void> send_rest(std::string_view a, std::string_view b, std::size_t done) {
    return write_rest(t, a, b, done);
  }
  io::TcpStream& tcp() { return t.tcp(); }
  void close_notify() noexcept { t.try_shutdown(); }

  static Task<void> write_rest(io::TlsStream& t, std::string_view a, std::string_view b,
                               std::size_t done) {
    if (done < a.size()) co_await t.write_all(a.data() + done, a.size() - done);
    std::size_t b_done = done > a.size() ? done - a.size() : 0;
    if (b_done < b.size()) co_await t.write_all(b.data() + b_done, b.size() - b_done);
    co_await t.flush();
  }
};

/// The rest of a send within `limit`; false if it timed out.
template <class Io>
Task<bool> send_within(Io io, std::string_view a, std::string_view b, std::size_t done,
                       std::chrono::milliseconds limit) {
  bool timed_out = false;
  try {
    co_await weft::wait_for(io.send_rest(a, b, done), limit);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  co_return !timed_out;
}

/// Frees a body buffer that grew past kSmallBody (the next request starts
/// from nothing instead of pinning the largest body ever received).
void release_large(std::string& body) noexcept {
  if (body.capacity() > kSmallBody) std::string().swap(body);
}

/// What a body being received holds against the memory budget: nothing for
/// a small one; for a large one its announced length or its buffer, whichever
/// is larger.
std::size_t body_need(const RequestParser& p, const Request& req) noexcept {
  std::size_t need = req.body.capacity();
  if (p.in_body())
    need = std::max<std::size_t>(
        need, static_cast<std::size_t>(std::min<std::uint64_t>(p.content_length(), SIZE_MAX)));
  return need > kSmallBody ? need : 0;
}

/// Shuts our side down and discards what the client still sends, for a
/// bounded time, so that the last response is not lost to a reset (a close
/// with unread input sends RST, and the peer's kernel then drops what it has
/// not handed to the client yet).
template <class Io>
Task<void> lingering_close(Io io) {
  io.close_notify();
  io::TcpStream& s = io.tcp();
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

template <class Io>
Task<void> serve_connection(Server::Impl* im, ConnRecord* rec, Io io) {
  InputBuffer in(kInitialBuffer, im->limits.max_header_bytes + kReadRoom);
  Request req;
  RequestParser parser(im->limits);
  std::string out;
  // The memory budget's share of this connection: the request body being
  // received, and a large response while the socket has not taken it.
  Charge body_charge(im), response_charge(im);
  // Absolute deadlines: for the rest of the current request, and for the
  // next request to begin (from the end of the last response, or the accept).
  std::optional<Clock::time_point> request_deadline;
  // A new wait for a request begins (at the accept, and after each
  // response): the idle sweeper times it from its first sighting.
  bool new_idle_period = true;
  bool close = false, linger = false, sent_continue = false;
  std::uint64_t pending = 0;  // responses in `out` (or being sent) not yet written whole
  for (;;) {
    // 1. Answer every complete request already buffered (pipelining).
    while (!close && !in.empty()) {
      const bool was_idle = parser.idle();
      ParseResult r = parser.parse(in.view(), req);
      in.consume(r.consumed);
      if (was_idle && (r.status != ParseStatus::incomplete || !parser.idle())) ++rec->started;
      if (r.status == ParseStatus::error) {
        append_error(out, parser.error_status(), parser.error_message());
        ++pending;
        close = linger = true;
        break;
      }
      if (!body_charge.resize(body_need(parser, req))) {
        // Over the memory budget: refuse the request before (more of) its
        // body is read.
        im->rejected_memory.fetch_add(1, std::memory_order_relaxed);  // a statistic
        release_large(req.body);
        body_charge.resize(0);
        append_error(out, 503, "the server is short of memory for request bodies; retry later");
        ++pending;
        close = linger = true;
        break;
      }
      if (r.status == ParseStatus::incomplete) break;
      request_deadline.reset();
      new_idle_period = true;
      sent_continue = false;
      // The handler: a failure becomes a 500; a cancellation ends the connection.
      Task<Response> call = im->handler(req);
      Guarded guarded{call.operator co_await()};  // g++ 12: a named awaiter, not a temporary
      Response resp = co_await guarded;
      release_large(req.body);
      body_charge.resize(0);
      // After the handler: a stop() that came while it ran marks this the last response.
      bool keep = req.keep_alive && !im->stopping.load(std::memory_order_seq_cst);
      const bool head = req.method == "HEAD";
      if (head || !status_has_body(resp.status)) release_large(resp.body);
      if (resp.body.size() > kSmallBody && !response_charge.resize(resp.body.size())) {
        im->rejected_memory.fetch_add(1, std::memory_order_relaxed);  // a statistic
        resp = Response(503, "the server is short of memory for responses; retry later\n");
        resp.headers.add("Retry-After", "1");
        keep = false;
      }
      const Appended a = append_response(out, resp,
                                         {.head = head,
                                          .close = !keep,
                                          .keep_alive_10 = keep && req.version_minor == 0,
                                          .chunked_ok = req.version_minor == 1,
                                          .inline_body_max = kSmallBody});
      ++pending;
      if (!a.keep) keep = false;
      if (!keep) {
        close = true;
        // The server ends a connection the client meant to keep (stop(), the
        // handler's "Connection: close", an HTTP/1.0 keep-alive ended): the
        // client may be sending its next request right now. Closing with
        // unread input sends RST, which destroys what the socket has not
        // delivered yet of this response: linger instead.
        if (req.keep_alive) linger = true;
      }
      if (out.size() >= kFlushThreshold || a.body_separate) {
        // A large body goes out right after the pending heads, without a copy.
        const std::string_view body = a.body_separate ? std::string_view(resp.body) : "";
        std::size_t done = 0;
        if (!io.try_send(out, body, done)) {
          bool ok = co_await send_within(io, out, body, done, im->opts.write_timeout);
          if (!ok) co_return;
        }
        rec->answered += std::exchange(pending, 0);
        out.clear();
        if (out.capacity() > kKeepOutput) std::string().swap(out);
      }
      release_large(resp.body);
      response_charge.resize(0);
    }
    if (!close && parser.expects_continue() && !sent_continue) {
      out.append(kContinue);
      sent_continue = true;
    }
    // 2. Write what is pending: one send for the whole batch when the socket takes it.
    if (!out.empty()) {
      std::size_t done = 0;
      if (!io.try_send(out, {}, done)) {
        bool ok = co_await send_within(io, out, {}, done, im->opts.write_timeout);
        if (!ok) co_return;
      }
      rec->answered += std::exchange(pending, 0);
      out.clear();
    }
    if (close) {
      // Pipelined requests after the last response are unread input too.
      if (linger || !in.empty()) co_await lingering_close(io);
      co_return;
    }
    // 3. Read more.
    in.make_room(kReadRoom);
    long n = io.try_read(in.tail(), in.room());
    if (n == io::detail::kWouldBlock) {
      bool timed_out = false;
      if (parser.idle()) {
        // Waiting for a request: no timer of our own. The server's sweeper
        // closes connections idle past idle_timeout (http_server_impl.hpp),
        // counting from the first wait after the last response: empty lines
        // wake us (and leave the parser idle) without starting a new period.
        if (new_idle_period) {
          new_idle_period = false;
          // relaxed: published by the seq_cst store of the state just below.
          rec->idle_period.store(rec->idle_period.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
        }
        // seq_cst: Dekker with stop() (store our state, then read `stopping`).
        rec->state.store(kIdle, std::memory_order_seq_cst);
        if (im->stopping.load(std::memory_order_seq_cst)) co_return;
        in.shrink_if_empty();
        co_await io.readable();
        std::uint8_t expected = kIdle;
        // acq_rel: either we take the connection back, or stop(), the cap or
        // the sweeper did (and closed it: an idle close is quiet).
        if (!rec->state.compare_exchange_strong(expected, kBusy, std::memory_order_acq_rel))
          co_return;
      } else {
        if (!request_deadline) request_deadline = Clock::now() + im->opts.read_timeout;
        try {
          co_await weft::timeout_at(*request_deadline, io.readable());
        } catch (const weft::TimeoutError&) {
          timed_out = true;
        }
        if (timed_out) {
          append_error(out, 408, "the request was not received in time");
          ++pending;
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

/// The TLS handshake, then the connection over TLS; false if the handshake failed.
Task<bool> serve_tls(Server::Impl* im, ConnRecord* rec) {
  bool ok = true;
  try {
    rec->tls = co_await im->opts.tls->accept(std::move(rec->stream));
  } catch (const io::TlsError&) {
    ok = false;  // garbage instead of a ClientHello, a failed or late handshake
  } catch (const io::IoError&) {
    ok = false;
  }
  if (!ok) {
    im->tls_failures.fetch_add(1, std::memory_order_relaxed);  // a statistic
    co_return false;
  }
  co_await serve_connection(im, rec, TlsIo{rec->tls});
  rec->tls.try_shutdown();  // close_notify, best effort: the connection ends cleanly
  co_return true;
}

}  // namespace

Task<void> connection(ConnRef ref) {
  // Ends the connection (unregisters it) when the body ends, normally or by an exception.
  struct Scope {
    ConnRef& ref;
    ~Scope() { ref.finish(); }
  } scope{ref};
  Server::Impl* im = ref.impl();
  ConnRecord* rec = ref.record();
  try {
    if (im->opts.tls)
      co_await serve_tls(im, rec);
    else
      co_await serve_connection(im, rec, PlainIo{rec->stream});
  } catch (const io::IoError&) {
    // Reset, broken pipe, closed by stop(): the connection just ends.
  } catch (const io::TlsError&) {
    // A bad record from the client: likewise.
  } catch (const weft::CancelledError&) {
    // The shutdown deadline (or the runtime's end): what was begun is lost.
    im->dropped.fetch_add(rec->started - rec->answered,
                          std::memory_order_relaxed);  // a statistic
    throw;
  }
}

}  // namespace weft::http::detail
