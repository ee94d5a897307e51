// start_server / start_unix_server and StreamServer: one accept task per
// listening socket, one task per connection running the user's callback.
//
// TLS (StreamServerOptions::tls): the connection's task first runs the
// server handshake (TlsAcceptor: under its timeout), then the callback. While
// it handshakes there is no StreamConnection to close, so the task has a
// Handshake record in the state, holding its JoinHandle: close_clients() and
// abort_clients() mark the record and cancel the task (a cancelled handshake
// closes its socket). The record is handed over under the state's mutex: the
// spawner stores the handle unless the task is already past its handshake,
// and the task, when its handshake ends, either erases the record (handle
// stored) or leaves it for the spawner to erase; in the same critical
// section it sees whether it was aborted and, if not, registers its
// connection, so every connection is reachable by exactly one of the two
// lists at any time. A task cancelled before its first step never runs its
// body (weft's rule), so only a task whose body has begun (`started`) is
// cancelled; one not started yet finds the record aborted when it begins.
#include <atomic>
#include <cstdio>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "stream_connection.hpp"
#include "weft/io/dns.hpp"
#include "weft/io/streams.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls_server.hpp"
#include "weft/io/unix.hpp"
#include "weft/runtime.hpp"

namespace weft::io {

namespace detail {

/// The connection list is swept once it holds this many entries and twice the
/// live ones (O(1) amortised per connection).
constexpr std::size_t kSweepConnections = 64;

/// A TLS connection in its handshake (see the file comment). Guarded by the state's mu.
struct Handshake {
  JoinHandle<void> task;  ///< set by the spawner once spawn() returned
  bool stored = false;    ///< `task` is set
  bool started = false;   ///< the task's body runs (a task cancelled before that never runs it)
  bool finished = false;  ///< the handshake ended before the handle was stored
  bool aborted = false;   ///< close_clients() / abort_clients() dropped it
};

struct StreamServerState {
  ClientConnected cb;
  StreamServerOptions opts;
  std::vector<TcpListener> tcp;
  std::optional<UnixListener> unix_listener;
  std::vector<SocketAddress> addresses;
  std::atomic<std::uint64_t> tls_failures{0};

  mutable std::mutex mu;
  bool closed = false;                                 // guarded by mu
  std::size_t active = 0;                              // guarded by mu
  std::vector<std::weak_ptr<StreamConnection>> conns;  // guarded by mu (live ones are swept)
  std::list<Handshake> handshakes;                     // guarded by mu
  weft::Event closed_event;                            // set by close()
  weft::Event idle_event;                              // set while closed and no handler runs

  void close() noexcept {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (closed) return;
      closed = true;
      if (active == 0) idle_event.set();
    }
    for (TcpListener& l : tcp)
      l.close();
    if (unix_listener) unix_listener->close();
    closed_event.set();
  }

  /// Registers a new connection; false if the server closed meanwhile.
  bool add(const std::shared_ptr<StreamConnection>& c) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return false;
    ++active;
    track_locked(c);
    return true;
  }

  void track_locked(const std::shared_ptr<StreamConnection>& c) {
    // Sweep the dead entries now and then, so the list stays O(live connections).
    if (conns.size() >= kSweepConnections && conns.size() >= 2 * active) {
      std::vector<std::weak_ptr<StreamConnection>> live;
      for (auto& w : conns)
        if (!w.expired()) live.push_back(std::move(w));
      conns.swap(live);
    }
    conns.push_back(c);
  }

  /// A TLS connection starts its handshake: counted as active; none if closed.
  std::optional<std::list<Handshake>::iterator> begin_handshake() {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return std::nullopt;
    ++active;
    return handshakes.emplace(handshakes.end());
  }

  /// The spawner's half of the hand-over.
  void store_handshake(std::list<Handshake>::iterator hs, JoinHandle<void> task) {
    bool cancel = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (hs->finished) {
        handshakes.erase(hs);
      } else {
        hs->task = task;
        hs->stored = true;
        cancel = hs->aborted && hs->started;  // aborted before its handle was here
      }
    }
    if (cancel) task.cancel();
  }

  /// The task's body begins: false if it was aborted before (then it drops
  /// the connection without a handshake). Only a started task is ever
  /// cancelled by abort_handshakes(): one cancelled before its first step
  /// would never run its body, and so never end its record.
  bool start_handshake(std::list<Handshake>::iterator hs) {
    std::lock_guard<std::mutex> lock(mu);
    hs->started = true;
    return !hs->aborted;
  }

  /// The task's half: its handshake is over (`c` set if it succeeded).
  /// True if the connection goes on to the callback (registered for
  /// close_clients); false if close_clients() / abort_clients() dropped it.
  bool end_handshake(std::list<Handshake>::iterator hs,
                     const std::shared_ptr<StreamConnection>& c) {
    JoinHandle<void> own;  // released after the lock (our own handle)
    std::lock_guard<std::mutex> lock(mu);
    const bool go_on = c && !hs->aborted;
    if (hs->stored) {
      own = std::move(hs->task);
      handshakes.erase(hs);
    } else {
      hs->finished = true;  // the spawner erases it
    }
    if (go_on) track_locked(c);
    return go_on;
  }

  /// The spawner could not start the task: forgets the record.
  void forget_handshake(std::list<Handshake>::iterator hs) noexcept {
    {
      std::lock_guard<std::mutex> lock(mu);
      handshakes.erase(hs);
    }
    done();
  }

  /// close_clients() / abort_clients(): drops the connections in their handshake.
  void abort_handshakes() noexcept {
    std::vector<JoinHandle<void>> cancel;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (Handshake& hs : handshakes) {
        if (hs.aborted || hs.finished) continue;
        hs.aborted = true;
        // Not started: start_handshake() sees `aborted`. Not stored: store_handshake() cancels.
        if (hs.stored && hs.started) cancel.push_back(hs.task);
      }
    }
    for (JoinHandle<void>& h : cancel)
      h.cancel();
  }

  void done() noexcept {
    std::lock_guard<std::mutex> lock(mu);
    --active;
    if (closed && active == 0) idle_event.set();
  }

  std::vector<std::shared_ptr<StreamConnection>> live() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::shared_ptr<StreamConnection>> v;
    for (auto& w : conns)
      if (auto c = w.lock()) v.push_back(std::move(c));
    return v;
  }
};

}  // namespace detail

namespace {

using detail::StreamServerState;

void report(const char* what) {
  std::fprintf(stderr,
               "weft: a start_server client handler raised: %s (its connection is closed)\n", what);
}

Task<void> run_client(std::shared_ptr<StreamServerState> st, StreamReader r, StreamWriter w) {
  std::shared_ptr<StreamServerState> state = std::move(st);
  try {
    co_await state->cb(std::move(r), std::move(w));
  } catch (const std::exception& e) {
    report(e.what());
  } catch (const weft::CancelledError&) {
    state->done();
    throw;
  } catch (...) {
    report("an exception that is not a std::exception");
  }
  state->done();
}

/// Starts a connection's task: its StreamWriter (and so the connection) is
/// closed when the callback's frame lets go of it.
void start_client(const std::shared_ptr<StreamServerState>& st, std::unique_ptr<ByteStream> t) {
  auto [reader, writer] = make_streams(std::move(t), st->opts.limit);
  std::shared_ptr<detail::StreamConnection> c = detail::connection_of(writer);
  if (!st->add(c)) return;  // closed meanwhile: the streams close here
  try {
    weft::spawn(run_client(st, std::move(reader), std::move(writer)), "stream server client")
        .detach();
  } catch (...) {
    st->done();  // the runtime is shutting down
  }
}

/// A TLS connection's task: the handshake, then the callback (see the file
/// comment). The state comes as a weak reference: the Handshake record keeps
/// this frame alive, and a frame whose body never ran (cancelled before its
/// first step, at the runtime's shutdown) must not keep the state alive in
/// turn; its socket is closed when the state goes and releases the frame.
Task<void> run_tls_client(std::weak_ptr<StreamServerState> st, TcpStream param,
                          std::list<detail::Handshake>::iterator hs) {
  TcpStream tcp = std::move(param);  // a local: closed when the body ends
  std::shared_ptr<StreamServerState> state = st.lock();
  if (!state) co_return;  // the server is gone (and `hs` with it): the socket closes
  if (!state->start_handshake(hs)) {
    state->end_handshake(hs, nullptr);  // dropped by close_clients() / abort_clients()
    state->done();
    co_return;
  }
  std::optional<TlsStream> tls;
  bool cancelled = false;
  try {
    tls.emplace(co_await state->opts.tls->accept(std::move(tcp)));
  } catch (const TlsError&) {
    // Garbage instead of a ClientHello, a failed or late (TlsHandshakeTimeout) handshake.
  } catch (const IoError&) {
    // A reset, a closed socket.
  } catch (const std::exception&) {
    // Anything else (memory): a failed handshake too, so that the record still ends.
  } catch (const weft::CancelledError&) {
    cancelled = true;  // close_clients() / abort_clients(), or the runtime's shutdown
  }
  StreamReader reader;
  StreamWriter writer;
  std::shared_ptr<detail::StreamConnection> c;
  if (tls) {
    std::tie(reader, writer) = make_streams(make_byte_stream(std::move(*tls)), state->opts.limit);
    c = detail::connection_of(writer);
  } else if (!cancelled) {
    state->tls_failures.fetch_add(1, std::memory_order_relaxed);  // a statistic
  }
  // The failed socket is closed already; a dropped connection closes with `writer`.
  if (!state->end_handshake(hs, c)) {
    state->done();
    if (cancelled) weft::detail::throw_cancelled_at_resume();
    co_return;
  }
  co_await run_client(std::move(state), std::move(reader), std::move(writer));
}

/// Starts a TLS connection's task (its handshake, then the callback).
void start_tls_client(const std::shared_ptr<StreamServerState>& st, TcpStream tcp) {
  std::optional<std::list<detail::Handshake>::iterator> hs = st->begin_handshake();
  if (!hs) return;  // closed meanwhile: the socket closes here
  JoinHandle<void> task;
  try {
    task = weft::spawn(run_tls_client(st, std::move(tcp), *hs), "stream server tls client");
  } catch (...) {
    st->forget_handshake(*hs);  // the runtime is shutting down
    return;
  }
  st->store_handshake(*hs, std::move(task));
}

template <class Listener>
Task<void> accept_loop(std::shared_ptr<StreamServerState> st, Listener* l) {
  using Stream = std::conditional_t<std::is_same_v<Listener, TcpListener>, TcpStream, UnixStream>;
  std::shared_ptr<StreamServerState> state = std::move(st);
  for (;;) {
    Stream s;
    try {
      s = co_await l->accept();
    } catch (const ClosedError&) {
      co_return;
    }
    if constexpr (std::is_same_v<Stream, TcpStream>) {
      if (state->opts.tls) {
        start_tls_client(state, std::move(s));
        continue;
      }
    }
    start_client(state, make_byte_stream(std::move(s)));
  }
}

/// `resolved` without repeats, in order.
std::vector<SocketAddress> distinct(const std::vector<SocketAddress>& resolved) {
  std::vector<SocketAddress> out;
  for (const SocketAddress& a : resolved) {
    bool dup = false;
    for (const SocketAddress& b : out)
      dup = dup || b == a;
    if (!dup) out.push_back(a);
  }
  return out;
}

}  // namespace

Task<StreamServer> start_server(ClientConnected cb, std::string host, std::uint16_t port,
                                StreamServerOptions options) {
  auto st = std::make_shared<StreamServerState>();
  st->cb = std::move(cb);
  st->opts = options;
  std::vector<SocketAddress> candidates;
  if (host.empty()) {
    candidates = {SocketAddress::any_v4(port), SocketAddress::any_v6(port)};
  } else {
    candidates = co_await resolve(host, port);
  }
  candidates = distinct(candidates);
  for (SocketAddress a : candidates) {
    // Port 0 on several addresses: the later ones take the first one's port.
    if (port == 0 && !st->addresses.empty()) a.set_port(st->addresses.front().port());
    ListenOptions lo;
    lo.backlog = options.backlog;
    lo.reuse_port = options.reuse_port;
    lo.v6_only = true;  // "::" next to "0.0.0.0": each family on its own socket
    try {
      st->tcp.push_back(TcpListener::bind(a, lo));
    } catch (const IoError& e) {
      // A host without IPv6 keeps its IPv4 listener ("" binds both).
      const int err = e.code().value();
      if (host.empty() && a.is_v6() && (err == EAFNOSUPPORT || err == EADDRNOTAVAIL)) continue;
      throw;
    }
    st->addresses.push_back(st->tcp.back().local_address());
  }
  for (TcpListener& l : st->tcp)
    weft::spawn(accept_loop(st, &l), "stream server accept").detach();
  StreamServer s;
  s.st_ = std::move(st);
  co_return s;
}

Task<StreamServer> start_unix_server(ClientConnected cb, UnixAddress path,
                                     StreamServerOptions options) {
  if (options.tls)
    throw std::invalid_argument(
        "weft::io::start_unix_server: TLS over a Unix socket is not offered (leave "
        "StreamServerOptions::tls empty; start_server serves TLS over TCP)");
  auto st = std::make_shared<StreamServerState>();
  st->cb = std::move(cb);
  st->opts = options;
  UnixListenOptions lo;
  lo.backlog = options.backlog;
  st->unix_listener.emplace(UnixListener::bind(path, lo));
  weft::spawn(accept_loop(st, &*st->unix_listener), "stream server accept").detach();
  StreamServer s;
  s.st_ = std::move(st);
  co_return s;
}

StreamServer::StreamServer() noexcept = default;
StreamServer::StreamServer(StreamServer&&) noexcept = default;

StreamServer& StreamServer::operator=(StreamServer&& o) noexcept {
  if (this != &o) {
    close();
    st_ = std::move(o.st_);
  }
  return *this;
}

StreamServer::~StreamServer() {
  close();
}

void StreamServer::close() noexcept {
  if (st_) st_->close();
}

Task<void> StreamServer::wait_closed() {
  if (!st_) co_return;
  std::shared_ptr<StreamServerState> st = st_;
  co_await st->closed_event.wait();
  co_await st->idle_event.wait();
}

Task<void> StreamServer::serve_forever() {
  if (!st_) throw InvalidStateError("weft::io::StreamServer::serve_forever: empty server");
  std::shared_ptr<StreamServerState> st = st_;
  bool cancelled = false;
  try {
    co_await st->closed_event.wait();
  } catch (const weft::CancelledError&) {
    cancelled = true;  // asyncio: cancelling serve_forever() closes the server
  }
  if (cancelled) {
    st->close();
    weft::detail::throw_cancelled_at_resume();
  }
}

void StreamServer::close_clients() {
  if (!st_) return;
  st_->abort_handshakes();
  for (auto& c : st_->live())
    detail::close_connection(c);
}

void StreamServer::abort_clients() noexcept {
  if (!st_) return;
  st_->abort_handshakes();
  for (auto& c : st_->live())
    c->fail(std::make_exception_ptr(
        ClosedError("weft::io::StreamServer::abort_clients: the server aborted the connection")));
}

bool StreamServer::is_serving() const noexcept {
  if (!st_) return false;
  std::lock_guard<std::mutex> lock(st_->mu);
  return !st_->closed;
}

std::size_t StreamServer::active_connections() const noexcept {
  if (!st_) return 0;
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->active;
}

std::uint64_t StreamServer::tls_handshake_failures() const noexcept {
  return st_ ? st_->tls_failures.load(std::memory_order_relaxed) : 0;  // a statistic
}

std::vector<SocketAddress> StreamServer::addresses() const {
  return st_ ? st_->addresses : std::vector<SocketAddress>{};
}

std::optional<UnixAddress> StreamServer::unix_address() const {
  if (!st_ || !st_->unix_listener) return std::nullopt;
  return st_->unix_listener->local_address();
}

}  // namespace weft::io
