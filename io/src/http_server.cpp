// weft::http::Server: the accept loop, the per-connection loop, graceful stop.
//
// Connection bookkeeping: every connection has a heap ConnRecord (its stream
// and an idle/busy/closing state) linked in the server's list under a mutex;
// the mutex is taken twice per connection (register, unregister) and by
// stop(), never per request. A ConnRef parameter of the connection task owns
// the record: the body unregisters it when it ends, and the parameter's
// destructor does for a task that never ran, so serve() can wait for the
// count of live connections to reach zero.
//
// Graceful stop: stop() sets `stopping`, closes the listener and closes the
// streams of connections that are idle (waiting for a next request). A
// connection marks itself idle before it waits and re-checks `stopping`
// after; stop() sets `stopping` before it looks at the states (both seq_cst:
// one of the two always sees the other). A busy connection finishes its
// request, answers with "Connection: close" and ends.
#include "weft/http/server.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>

#include "http_response_writer.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"
#include "weft/yield.hpp"

namespace weft::http {

namespace {

constexpr std::uint8_t kBusy = 0;     // reading or answering a request
constexpr std::uint8_t kIdle = 1;     // waiting for the next request
constexpr std::uint8_t kClosing = 2;  // stop() closed it while idle

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

class InputBuffer {
 public:
  InputBuffer(std::size_t initial, std::size_t max)
      : data_(new char[initial]), cap_(initial), max_(max < initial ? initial : max) {}
  std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const noexcept { return begin_ == end_; }
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Compacts / grows (up to max) so that at least `want` bytes fit at the end, if possible.
  void make_room(std::size_t want) {
    if (cap_ - end_ >= want) return;
    if (begin_ > 0) {
      std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (cap_ - end_ >= want || cap_ >= max_) return;
    std::size_t cap = std::min(std::max(cap_ * 2, end_ + want), max_);
    std::unique_ptr<char[]> bigger(new char[cap]);
    std::memcpy(bigger.get(), data_.get(), end_);
    data_ = std::move(bigger);
    cap_ = cap;
  }
  char* tail() noexcept { return data_.get() + end_; }
  std::size_t room() const noexcept { return cap_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_;
  std::size_t max_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

struct ConnRecord {
  ConnRecord* prev = nullptr;
  ConnRecord* next = nullptr;
  io::TcpStream stream;
  std::atomic<std::uint8_t> state{kBusy};
};

}  // namespace

struct Server::Impl {
  Handler handler;
  ServerOptions opts;
  ParserLimits limits;
  io::TcpListener listener;
  io::UnixListener unix_listener;  // listen(UnixAddress) instead of TCP
  std::atomic<bool> stopping{false};
  std::atomic<bool> serving{false};

  mutable std::mutex mu;
  ConnRecord head;  // sentinel of the circular list of live connections
  std::size_t active = 0;
  weft::detail::TaskHeader* drain_waiter = nullptr;

  Impl(Handler h, ServerOptions o) : handler(std::move(h)), opts(o) {
    limits.max_header_bytes = o.max_header_bytes;
    limits.max_headers = o.max_headers;
    limits.max_body_bytes = o.max_body_bytes;
    head.prev = head.next = &head;
  }

  void link(ConnRecord* r) {
    std::lock_guard<std::mutex> lock(mu);
    r->next = &head;
    r->prev = head.prev;
    head.prev->next = r;
    head.prev = r;
    ++active;
  }

  void unregister(ConnRecord* r) noexcept {
    {
      std::lock_guard<std::mutex> lock(mu);  // stop() no longer sees it
      r->prev->next = r->next;
      r->next->prev = r->prev;
    }
    // Close the socket before the count drops: once serve() returns, every
    // connection's socket is closed.
    delete r;
    weft::detail::TaskHeader* waiter = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (--active == 0) waiter = std::exchange(drain_waiter, nullptr);
    }
    if (waiter) waiter->wake();
  }
};

namespace {

using Impl = Server::Impl;

/// Owns a connection's record. The connection's body unregisters it when it
/// ends (finish(), through ConnScope); the destructor covers a task whose
/// frame is destroyed without running (cancelled before its first step, or a
/// failed spawn). The body does not wait for frame destruction: a task that
/// ends on another worker than its home one may keep its frame until that
/// worker next runs.
class ConnRef {
 public:
  ConnRef(std::shared_ptr<Impl> im, ConnRecord* rec) noexcept : im_(std::move(im)), rec_(rec) {}
  ConnRef(ConnRef&& o) noexcept : im_(std::move(o.im_)), rec_(std::exchange(o.rec_, nullptr)) {}
  ConnRef(const ConnRef&) = delete;
  ~ConnRef() { finish(); }
  void finish() noexcept {
    if (!rec_) return;
    std::shared_ptr<Impl> im = std::move(im_);  // keeps the server alive through unregister()
    im->unregister(std::exchange(rec_, nullptr));
  }
  Impl* impl() const noexcept { return im_.get(); }
  ConnRecord* record() const noexcept { return rec_; }

 private:
  std::shared_ptr<Impl> im_;
  ConnRecord* rec_;
};

/// Ends a connection when its body ends (normally or by an exception).
struct ConnScope {
  ConnRef& ref;
  ~ConnScope() { ref.finish(); }
};

/// serve()'s wait for the last connection. The list's mutex orders the
/// waiter's check of `active` against the last unregister().
struct DrainAwaiter : weft::detail::Suspension {
  Impl* im;
  bool cancelled = false;
  explicit DrainAwaiter(Impl* i) noexcept : im(i) {}

  bool await_ready() const {
    std::lock_guard<std::mutex> lock(im->mu);
    return im->active == 0;
  }
  bool await_suspend(std::coroutine_handle<> h) {
    weft::detail::TaskHeader* t = weft::detail::require_current_task("weft::http::Server::serve");
    withdraw = &withdraw_drain;
    what = "http server: waiting for connections to finish";
    t->resume_point_ = h;
    t->suspended_on_ = this;
    std::lock_guard<std::mutex> lock(im->mu);
    if (im->active == 0) {
      t->suspended_on_ = nullptr;
      return false;
    }
    im->drain_waiter = t;
    return true;
  }
  void await_resume() const {
    if (cancelled) throw weft::CancelledError();
  }
  static weft::detail::Withdraw withdraw_drain(weft::detail::Suspension* self,
                                               weft::detail::TaskHeader* task) noexcept {
    auto* a = static_cast<DrainAwaiter*>(self);
    std::lock_guard<std::mutex> lock(a->im->mu);
    if (a->im->drain_waiter != task) return weft::detail::Withdraw::too_late;
    a->im->drain_waiter = nullptr;
    a->cancelled = true;
    return weft::detail::Withdraw::withdrawn;
  }
};

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

Task<void> serve_connection(Impl* im, ConnRecord* rec) {
  io::TcpStream& s = rec->stream;
  InputBuffer in(kInitialBuffer, im->limits.max_header_bytes + kReadRoom);
  Request req;
  RequestParser parser(im->limits);
  std::string out;
  std::optional<Clock::time_point> deadline;  // for the rest of the current request
  bool close = false, linger = false, sent_continue = false;
  for (;;) {
    // 1. Answer every complete request already buffered (pipelining).
    while (!close && !in.empty()) {
      ParseResult r = parser.parse(in.view(), req);
      in.consume(r.consumed);
      if (r.status == ParseStatus::incomplete) break;
      if (r.status == ParseStatus::error) {
        detail::append_error(out, parser.error_status(), parser.error_message());
        close = linger = true;
        break;
      }
      deadline.reset();
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
      if (!detail::append_response(out, resp, head, !keep, keep && req.version_minor == 0,
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
      out.append(detail::kContinue);
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
        try {
          co_await weft::wait_for(s.readable(), im->opts.idle_timeout);
        } catch (const weft::TimeoutError&) {
          timed_out = true;
        }
        std::uint8_t expected = kIdle;
        // acq_rel: either we take the connection back, or stop() did (and closed it).
        if (!rec->state.compare_exchange_strong(expected, kBusy, std::memory_order_acq_rel))
          co_return;
        if (timed_out) co_return;  // idle keep-alive connection: close quietly
      } else {
        if (!deadline) deadline = Clock::now() + im->opts.read_timeout;
        try {
          co_await weft::timeout_at(*deadline, s.readable());
        } catch (const weft::TimeoutError&) {
          timed_out = true;
        }
        if (timed_out) {
          detail::append_error(out, 408, "the request was not received in time");
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

Task<void> connection(ConnRef ref) {
  ConnScope scope{ref};
  try {
    co_await serve_connection(ref.impl(), ref.record());
  } catch (const io::IoError&) {
    // Reset, broken pipe, closed by stop(): the connection just ends.
  }
}

}  // namespace

Server::Server(Handler handler, ServerOptions options) {
  if (!handler) throw std::invalid_argument("weft::http::Server: empty handler");
  impl_ = std::make_shared<Impl>(std::move(handler), options);
}

Server::~Server() {
  stop();
}

io::SocketAddress Server::listen(const io::SocketAddress& addr) {
  if (impl_->listener.is_open() || impl_->unix_listener.is_open())
    throw InvalidStateError("weft::http::Server::listen: already listening");
  impl_->listener = io::TcpListener::bind(
      addr, {.backlog = impl_->opts.backlog, .reuse_port = impl_->opts.reuse_port});
  return impl_->listener.local_address();
}

void Server::listen(const io::UnixAddress& addr) {
  if (impl_->listener.is_open() || impl_->unix_listener.is_open())
    throw InvalidStateError("weft::http::Server::listen: already listening");
  impl_->unix_listener = io::UnixListener::bind(addr, {.backlog = impl_->opts.backlog});
}

io::SocketAddress Server::local_address() const {
  return impl_->listener.local_address();
}

std::size_t Server::active_connections() const noexcept {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->active;
}

void Server::stop() noexcept {
  Impl* im = impl_.get();
  // seq_cst: Dekker with a connection going idle (see the file comment).
  if (im->stopping.exchange(true, std::memory_order_seq_cst)) return;
  im->listener.close();
  im->unix_listener.close();
  std::lock_guard<std::mutex> lock(im->mu);
  for (ConnRecord* r = im->head.next; r != &im->head; r = r->next) {
    std::uint8_t expected = kIdle;
    // seq_cst: the other half of the Dekker pair.
    if (r->state.compare_exchange_strong(expected, kClosing, std::memory_order_seq_cst))
      r->stream.close();  // wakes its wait; the record stays alive while linked
  }
}

namespace {
// A Unix connection is served by the same code as a TCP one: the stream
// operations the server uses (read, write_all, writev_all, shutdown, close)
// do not depend on the socket family.
Task<io::TcpStream> accept_unix(io::UnixListener& l) {
  io::UnixStream u = co_await l.accept();
  co_return io::TcpStream(u.release_source());
}
}  // namespace

Task<void> Server::serve() {
  std::shared_ptr<Impl> im = impl_;
  if (im->serving.exchange(true, std::memory_order_acq_rel))  // acq_rel: one serve() only
    throw InvalidStateError("weft::http::Server::serve: already serving");
  // acquire: pairs with stop()'s exchange (a stop before serve() is not an error).
  const bool on_unix = im->unix_listener.is_open();
  if (!im->listener.is_open() && !on_unix && !im->stopping.load(std::memory_order_acquire))
    throw InvalidStateError("weft::http::Server::serve: call listen() first");
  std::exception_ptr error;
  for (;;) {
    io::TcpStream s;
    bool closed = false;
    try {
      if (on_unix)
        s = co_await accept_unix(im->unix_listener);
      else
        s = co_await im->listener.accept();
    } catch (const io::ClosedError&) {
      closed = true;
    } catch (const io::IoError&) {
      error = std::current_exception();
    }
    // acquire: a connection accepted after stop() began is dropped.
    if (closed || error || im->stopping.load(std::memory_order_acquire)) break;
    try {
      if (!on_unix) s.set_nodelay(true);
    } catch (const io::IoError&) {
      continue;  // the client is already gone
    }
    auto* rec = new ConnRecord;
    rec->stream = std::move(s);
    im->link(rec);
    // If spawn throws (the runtime is shutting down), the task's frame is
    // destroyed with its ConnRef, which unregisters the record.
    weft::spawn(connection(ConnRef(im, rec)), "http connection").detach();
  }
  if (error) stop();
  co_await DrainAwaiter(im.get());
  if (error) std::rethrow_exception(error);
}

}  // namespace weft::http
