// The client's connection pool: connections (plain or TLS, with their read
// buffer), one HostPool per origin (the per-host limit and its idle
// connections), and the Pool that owns them all with a global LRU of idle
// connections.
//
// Locking: one mutex per Pool guards the origin map, every idle list and the
// LRU. It is held for a few pointer moves per request (take, put), never
// across I/O or a co_await; connections are closed after it is released.
// The per-host limit is a weft::Semaphore (waiters queue FIFO, cancellable),
// held by a request from before it takes a connection until after it has
// returned or dropped it, so busy + idle connections of an origin never
// exceed the limit.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "weft/http/response_parser.hpp"
#include "weft/io/buffered_reader.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls.hpp"
#include "weft/semaphore.hpp"
#include "weft/time.hpp"

namespace weft::http::detail {

/// Plain TCP or TLS behind one interface (the BufferedReader's Stream).
class ClientStream {
 public:
  explicit ClientStream(io::TcpStream tcp) noexcept : tcp_(std::move(tcp)) {}
  explicit ClientStream(io::TlsStream tls)
      : tls_(std::make_unique<io::TlsStream>(std::move(tls))) {}

  Task<std::size_t> read(void* buf, std::size_t n) {
    return tls_ ? tls_->read(buf, n) : tcp_.read(buf, n);
  }
  Task<void> write_all(const void* buf, std::size_t n) {
    return tls_ ? tls_->write_all(buf, n) : tcp_.write_all(buf, n);
  }
  io::TcpStream& tcp() noexcept { return tls_ ? tls_->tcp() : tcp_; }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  /// TLS: the stream ended without close_notify (see TlsStream::truncated()).
  bool truncated() const noexcept { return tls_ && tls_->truncated(); }

 private:
  io::TcpStream tcp_;
  std::unique_ptr<io::TlsStream> tls_;
};

struct HostPool;

/// Links of the Pool's LRU list of idle connections (guarded by Pool's mutex).
struct LruLink {
  LruLink* lru_prev = nullptr;
  LruLink* lru_next = nullptr;
};

/// One connection to an origin. Heap-only (the reader points at the stream).
struct Connection : LruLink {
  explicit Connection(ClientStream s) : stream(std::move(s)), reader(stream) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Whether an idle connection is still usable: the peer has not closed it
  /// and has sent nothing unasked (the reactor's readiness word, and a
  /// non-blocking peek when it shows an edge).
  bool idle_and_alive() noexcept;

  ClientStream stream;
  io::BufferedReader<ClientStream> reader;
  ResponseParser parser;
  /// Its origin's pool entry (alive while the connection is idle or a
  /// request that holds the entry uses it).
  HostPool* host = nullptr;
  Clock::time_point idle_since{};
};

struct HostPool {
  HostPool(std::string o, std::size_t limit)
      : origin(std::move(o)), slots(static_cast<std::int64_t>(limit)) {}
  const std::string origin;
  /// Connections of this origin, busy or idle.
  Semaphore slots;
  /// Idle connections, most recently used last (guarded by Pool::mu).
  std::vector<Connection*> idle;
};

class Pool {
 public:
  Pool(std::size_t per_host, std::size_t max_idle, Clock::duration idle_timeout);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// The origin's HostPool, created on first use.
  std::shared_ptr<HostPool> host(const std::string& origin);
  /// The most recently used live idle connection of `h`, or null. Expired and
  /// dead connections found on the way are closed.
  std::unique_ptr<Connection> take(HostPool& h);
  /// Returns a connection whose response was read to its end.
  void put(std::unique_ptr<Connection> c);
  /// Closes every idle connection.
  void close_idle() noexcept;
  std::size_t idle_count() const;

 private:
  /// Removes `c` from its host's idle list and the LRU (mu_ held).
  void detach(Connection* c) noexcept;

  const std::size_t per_host_;
  const std::size_t max_idle_;
  const Clock::duration idle_timeout_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<HostPool>> hosts_;
  std::size_t prune_at_;  // origin count at which unused entries are dropped
  LruLink lru_;           // sentinel: lru_.lru_next is the oldest idle connection
  std::size_t idle_ = 0;
};

}  // namespace weft::http::detail
