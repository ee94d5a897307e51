// start_server / start_unix_server and StreamServer: one accept task per
// listening socket, one task per connection running the user's callback.
#include <cstdio>
#include <mutex>

#include "stream_connection.hpp"
#include "weft/io/dns.hpp"
#include "weft/io/streams.hpp"
#include "weft/io/tcp.hpp"
#include "weft/runtime.hpp"

namespace weft::io {

namespace detail {

struct StreamServerState {
  ClientConnected cb;
  StreamServerOptions opts;
  std::vector<TcpListener> tcp;
  std::optional<UnixListener> unix_listener;
  std::vector<SocketAddress> addresses;

  mutable std::mutex mu;
  bool closed = false;                                 // guarded by mu
  std::size_t active = 0;                              // guarded by mu
  std::vector<std::weak_ptr<StreamConnection>> conns;  // guarded by mu (live ones are swept)
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
    // Sweep the dead entries now and then, so the list stays O(live connections).
    if (conns.size() >= 64 && conns.size() >= 2 * active) {
      std::vector<std::weak_ptr<StreamConnection>> live;
      for (auto& w : conns)
        if (!w.expired()) live.push_back(std::move(w));
      conns.swap(live);
    }
    conns.push_back(c);
    return true;
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

template <class Listener>
Task<void> accept_loop(std::shared_ptr<StreamServerState> st, Listener* l) {
  std::shared_ptr<StreamServerState> state = std::move(st);
  for (;;) {
    std::unique_ptr<ByteStream> t;
    try {
      t = make_byte_stream(co_await l->accept());
    } catch (const ClosedError&) {
      co_return;
    }
    start_client(state, std::move(t));
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
  for (auto& c : st_->live())
    detail::close_connection(c);
}

void StreamServer::abort_clients() noexcept {
  if (!st_) return;
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

std::vector<SocketAddress> StreamServer::addresses() const {
  return st_ ? st_->addresses : std::vector<SocketAddress>{};
}

std::optional<UnixAddress> StreamServer::unix_address() const {
  if (!st_ || !st_->unix_listener) return std::nullopt;
  return st_->unix_listener->local_address();
}

}  // namespace weft::io
