// weft::http::Server: listen, the accept loop with the connection cap,
// graceful stop, statistics. The bookkeeping protocol is described in
// http_server_impl.hpp; one connection's loop is in http_connection.cpp.
#include "weft/http/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "http_response_writer.hpp"
#include "http_server_impl.hpp"
#include "weft/detail/thread_context.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"
#include "weft/time.hpp"

namespace weft::http {

using detail::ConnRecord;
using detail::kClosing;
using detail::kIdle;

namespace {

/// Descriptors kept out of the automatic connection cap: a quarter of the
/// limit, at most this many (the listener, log files, DNS, the client side of
/// a program that also makes requests).
constexpr std::size_t kReservedFds = 256;

/// serve() keeps the JoinHandle of every connection task (to cancel them at
/// the shutdown deadline) and drops the finished ones whenever their count
/// has doubled since the last sweep, from this many on: O(1) amortised per
/// connection, at most twice the live count of finished frames kept.
constexpr std::size_t kPruneConnections = 256;

/// The idle sweeper runs every idle_timeout / 8, between 1 ms and 500 ms: a
/// connection is closed at most 2 periods (a quarter of idle_timeout, at most
/// 1 s) late, and 10,000 idle connections cost one walk of the list every
/// half second.
constexpr int kSweepsPerTimeout = 8;
constexpr auto kMinSweepPeriod = std::chrono::milliseconds(1);
constexpr auto kMaxSweepPeriod = std::chrono::milliseconds(500);

std::size_t automatic_max_connections() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 20;
  const auto soft = static_cast<std::size_t>(rl.rlim_cur);
  return std::max<std::size_t>(1, soft - std::min(kReservedFds, soft / 4));
}

/// A connection refused at the cap: a 503 (if the socket takes it at once),
/// our side shut, what the client already sent drained (closing with unread
/// input would send RST, which can destroy the 503), then closed. Never waits.
void refuse(io::TcpStream& s) noexcept {
  static constexpr std::string_view kBusyResponse =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "
      "45\r\nRetry-After: 1\r\nConnection: close\r\n\r\nthe server is at its connection limit; "
      "retry\n";
  try {
    s.try_write(kBusyResponse.data(), kBusyResponse.size());
    s.shutdown(io::Shutdown::write);
    char sink[2048];
    for (int i = 0; i < 8 && s.try_read(sink, sizeof sink) > 0; ++i) {
    }
  } catch (const io::IoError&) {
    // The client is gone already.
  }
  s.close();
}

/// serve()'s wait for the last connection. The list's mutex orders the
/// waiter's check of `active` against the last unregister().
struct DrainAwaiter : weft::detail::Suspension {
  Server::Impl* im;
  bool cancelled = false;
  explicit DrainAwaiter(Server::Impl* i) noexcept : im(i) {}

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
    if (cancelled) weft::detail::throw_cancelled_at_resume();
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

}  // namespace

Server::Impl::Impl(Handler h, ServerOptions o) : handler(std::move(h)), opts(o) {
  limits.max_header_bytes = o.max_header_bytes;
  limits.max_headers = o.max_headers;
  limits.max_body_bytes = o.max_body_bytes;
  head.prev = head.next = &head;
}

void Server::Impl::link(ConnRecord* r) {
  std::lock_guard<std::mutex> lock(mu);
  r->next = &head;
  r->prev = head.prev;
  head.prev->next = r;
  head.prev = r;
  ++active;
}

void Server::Impl::unregister(ConnRecord* r) noexcept {
  {
    std::lock_guard<std::mutex> lock(mu);  // stop() and the cap no longer see it
    r->prev->next = r->next;
    r->next->prev = r->prev;
    // relaxed: the state was last written by this connection, or by a closer under mu.
    if (r->state.load(std::memory_order_relaxed) == kClosing) --closing;
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

bool Server::Impl::try_charge(std::size_t n) noexcept {
  // relaxed: the budget only bounds a count; nothing is published through it.
  std::size_t cur = buffered.load(std::memory_order_relaxed);
  do {
    if (n > opts.max_buffered_bytes || cur > opts.max_buffered_bytes - n) return false;
  } while (!buffered.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  std::size_t peak = peak_buffered.load(std::memory_order_relaxed);  // a statistic
  while (cur + n > peak &&
         !peak_buffered.compare_exchange_weak(peak, cur + n, std::memory_order_relaxed)) {
  }
  return true;
}

void Server::Impl::uncharge(std::size_t n) noexcept {
  buffered.fetch_sub(n, std::memory_order_relaxed);  // relaxed: see try_charge()
}

bool Server::Impl::close_if_idle(ConnRecord* r) noexcept {
  std::uint8_t expected = kIdle;
  // seq_cst: the other half of the Dekker pair with a connection going idle.
  if (!r->state.compare_exchange_strong(expected, kClosing, std::memory_order_seq_cst))
    return false;
  r->close_streams();  // wakes its wait; the record stays alive while linked
  ++closing;
  return true;
}

void Server::Impl::sweep_idle(std::int64_t now_ns) {
  const std::int64_t limit =
      std::chrono::duration_cast<std::chrono::nanoseconds>(opts.idle_timeout).count();
  std::lock_guard<std::mutex> lock(mu);
  for (ConnRecord* r = head.next; r != &head; r = r->next) {
    // acquire: pairs with the connection's seq_cst store of kIdle, which
    // publishes the idle_period it bumped just before.
    if (r->state.load(std::memory_order_acquire) != kIdle) continue;
    const std::uint32_t period = r->idle_period.load(std::memory_order_relaxed);
    if (period != r->swept_period) {
      r->swept_period = period;  // a new wait: timed from now
      r->swept_since_ns = now_ns;
    } else if (now_ns - r->swept_since_ns >= limit && close_if_idle(r)) {
      idle_timeouts.fetch_add(1, std::memory_order_relaxed);  // a statistic
    }
  }
}

bool Server::Impl::make_room() {
  std::lock_guard<std::mutex> lock(mu);
  // Streams closed from outside no longer hold a descriptor.
  if (active - closing < max_connections) return true;
  for (ConnRecord* r = head.next; r != &head; r = r->next) {
    if (close_if_idle(r)) {
      idle_closed.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

namespace detail {

Task<void> idle_sweeper(std::shared_ptr<Server::Impl> param) {
  // A local, not the parameter: the frame outlives the body while serve()
  // holds the JoinHandle.
  std::shared_ptr<Server::Impl> im = std::move(param);
  const auto period = std::clamp<Clock::duration>(im->opts.idle_timeout / kSweepsPerTimeout,
                                                  kMinSweepPeriod, kMaxSweepPeriod);
  // acquire: pairs with stop()'s exchange.
  while (!im->stopping.load(std::memory_order_acquire)) {
    co_await weft::sleep(period);
    im->sweep_idle(weft::detail::to_ns(Clock::now()));
  }
}

}  // namespace detail

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
  impl_->max_connections =
      impl_->opts.max_connections ? impl_->opts.max_connections : automatic_max_connections();
  return impl_->listener.local_address();
}

void Server::listen(const io::UnixAddress& addr) {
  if (impl_->listener.is_open() || impl_->unix_listener.is_open())
    throw InvalidStateError("weft::http::Server::listen: already listening");
  impl_->unix_listener = io::UnixListener::bind(addr, {.backlog = impl_->opts.backlog});
  impl_->max_connections =
      impl_->opts.max_connections ? impl_->opts.max_connections : automatic_max_connections();
}

io::SocketAddress Server::local_address() const {
  return impl_->listener.local_address();
}

std::size_t Server::active_connections() const noexcept {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->active;
}

ServerStats Server::stats() const {
  const Impl* im = impl_.get();
  ServerStats st;
  st.connections_accepted = im->accepted.load(std::memory_order_relaxed);
  st.idle_closed_for_room = im->idle_closed.load(std::memory_order_relaxed);
  st.rejected_at_capacity = im->rejected.load(std::memory_order_relaxed);
  st.max_connections = im->max_connections;
  st.rejected_for_memory = im->rejected_memory.load(std::memory_order_relaxed);
  st.buffered_bytes = im->buffered.load(std::memory_order_relaxed);
  st.peak_buffered_bytes = im->peak_buffered.load(std::memory_order_relaxed);
  st.requests_dropped = im->dropped.load(std::memory_order_relaxed);
  st.tls_handshake_failures = im->tls_failures.load(std::memory_order_relaxed);
  st.idle_timeouts = im->idle_timeouts.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(im->mu);
  st.active_connections = im->active;
  for (const ConnRecord* r = im->head.next; r != &im->head; r = r->next)
    // relaxed: a reading for statistics.
    if (r->state.load(std::memory_order_relaxed) == kIdle) ++st.idle_connections;
  return st;
}

void Server::stop() noexcept {
  Impl* im = impl_.get();
  // The first stop() sets the time the shutdown deadline counts from. Before
  // `stopping`: serve() reads it after seeing `stopping` or the listener
  // closed (acquire), both written after it.
  std::int64_t unset = 0;
  im->stop_ns.compare_exchange_strong(unset, weft::detail::to_ns(Clock::now()),
                                      std::memory_order_relaxed);
  // seq_cst: Dekker with a connection going idle (see http_server_impl.hpp).
  if (im->stopping.exchange(true, std::memory_order_seq_cst)) return;
  im->listener.close();
  im->unix_listener.close();
  std::lock_guard<std::mutex> lock(im->mu);
  for (ConnRecord* r = im->head.next; r != &im->head; r = r->next)
    im->close_if_idle(r);
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
  // The connection tasks, to cancel the ones still running at the shutdown
  // deadline; finished ones are dropped whenever the list has doubled.
  std::vector<JoinHandle<void>> conns;
  std::size_t prune_at = kPruneConnections;
  JoinHandle<void> sweeper = weft::spawn(detail::idle_sweeper(im), "http idle sweeper");
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
    im->accepted.fetch_add(1, std::memory_order_relaxed);
    if (!im->make_room()) {
      im->rejected.fetch_add(1, std::memory_order_relaxed);
      if (im->opts.tls)
        s.close();  // a plain-text 503 would be garbage to a TLS client
      else
        refuse(s);
      continue;
    }
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
    conns.push_back(weft::spawn(detail::connection(detail::ConnRef(im, rec)), "http connection"));
    if (conns.size() >= prune_at) {
      std::erase_if(conns, [](const JoinHandle<void>& h) { return h.done(); });
      prune_at = std::max(kPruneConnections, 2 * conns.size());
    }
  }
  if (error) stop();
  sweeper.cancel();  // stop() closed every idle connection; none will go idle now
  try {
    co_await sweeper;
  } catch (const weft::CancelledError&) {
  }
  // Graceful: until the deadline; then cancel what is left and wait for it.
  const auto deadline = weft::detail::from_ns(im->stop_ns.load(std::memory_order_relaxed)) +
                        im->opts.shutdown_timeout;
  bool late = false;
  try {
    co_await weft::timeout_at(deadline, DrainAwaiter(im.get()));
  } catch (const weft::TimeoutError&) {
    late = true;
  }
  if (late) {
    for (JoinHandle<void>& h : conns)
      h.cancel();  // a finished one ignores it
    co_await DrainAwaiter(im.get());
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace weft::http
