// The HTTP server's shared state (Server::Impl), the per-connection record,
// and the connection task's entry point. http_server.cpp runs the accept
// loop, the cap and stop(); http_connection.cpp runs each connection.
//
// Connection bookkeeping: every connection has a heap ConnRecord (its stream
// and an idle/busy/closing state) linked in the server's list under a mutex;
// the mutex is taken twice per connection (register, unregister), by stop(),
// stats() and by an accept at the connection cap, never per request. A
// ConnRef parameter of the connection task owns the record: the body
// unregisters it when it ends, and the parameter's destructor does for a
// task that never ran, so serve() can wait for the count of live connections
// to reach zero.
//
// Idle timeout without a timer per request: a sweeper task (started by
// serve()) walks the list every idle_timeout / 8 (1 ms to 500 ms) and closes
// the connections whose current idle period it has seen for idle_timeout
// already. A connection only bumps its idle_period counter when it starts
// waiting after a response; so it is closed between idle_timeout and
// idle_timeout + 2 sweep periods after its last response, never earlier.
//
// Closing an idle connection from outside (stop(), the cap, the sweeper):
// a connection marks itself idle before it waits for its next request and
// takes itself back (CAS idle -> busy) after the wait; the closer claims it
// with CAS idle -> closing and closes its stream, which ends the wait. One
// CAS decides, so a connection is never closed while it handles a request.
// stop() sets `stopping` before it looks at the states and a connection
// re-checks `stopping` after marking itself idle (both seq_cst: one of the
// two always sees the other).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "weft/detail/task_header.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/http/server.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls.hpp"
#include "weft/task.hpp"

namespace weft::http {

namespace detail {

inline constexpr std::uint8_t kBusy = 0;     // reading or answering a request
inline constexpr std::uint8_t kIdle = 1;     // waiting for the next request
inline constexpr std::uint8_t kClosing = 2;  // closed from outside while idle

struct ConnRecord {
  ConnRecord* prev = nullptr;
  ConnRecord* next = nullptr;
  io::TcpStream stream;  // plain HTTP; with TLS, until the handshake takes it
  io::TlsStream tls;     // https: set when the handshake is done
  std::atomic<std::uint8_t> state{kBusy};
  /// Closes whichever stream the connection uses (any thread; the record
  /// must be idle or not yet started: see close_if_idle()).
  void close_streams() noexcept {
    stream.close();
    tls.close();
  }
  /// Counts the connection's waits for a request (bumped by the connection
  /// before it marks itself idle after a response; empty lines in between do
  /// not bump it).
  std::atomic<std::uint32_t> idle_period{0};
  // The sweeper's notes (mu held): the period it last saw, and since when.
  std::uint32_t swept_period = 0;
  std::int64_t swept_since_ns = 0;
  // Requests begun, and answered (response written completely); only the
  // connection's own task touches them.
  std::uint64_t started = 0;
  std::uint64_t answered = 0;
};

}  // namespace detail

struct Server::Impl {
  Handler handler;
  ServerOptions opts;
  ParserLimits limits;
  io::TcpListener listener;
  io::UnixListener unix_listener;  // listen(UnixAddress) instead of TCP
  std::atomic<bool> stopping{false};
  /// When stop() was called (steady clock, ns); the shutdown deadline counts from it.
  std::atomic<std::int64_t> stop_ns{0};
  std::atomic<bool> serving{false};
  std::size_t max_connections = 0;  // set by listen(), read by the accept loop

  mutable std::mutex mu;
  detail::ConnRecord head;  // sentinel of the circular list of live connections (accept order)
  std::size_t active = 0;   // linked records
  std::size_t closing = 0;  // linked records whose stream was closed from outside
  weft::detail::TaskHeader* drain_waiter = nullptr;

  // Statistics: relaxed, nothing is ordered by them.
  std::atomic<std::uint64_t> accepted{0}, idle_closed{0}, rejected{0}, rejected_memory{0},
      dropped{0}, tls_failures{0}, idle_timeouts{0};

  // The memory budget (max_buffered_bytes): bytes charged now and the peak.
  std::atomic<std::size_t> buffered{0}, peak_buffered{0};
  /// Adds `n` to the charged bytes unless that passes the budget. Lock-free.
  bool try_charge(std::size_t n) noexcept;
  void uncharge(std::size_t n) noexcept;

  Impl(Handler h, ServerOptions o);

  void link(detail::ConnRecord* r);
  void unregister(detail::ConnRecord* r) noexcept;
  /// Claims an idle connection (CAS idle -> closing) and closes its stream;
  /// false if it is busy. mu held.
  bool close_if_idle(detail::ConnRecord* r) noexcept;
  /// At the cap: closes the longest-waiting idle connection. False if the
  /// server is at the cap and none is idle (the new one must be refused).
  bool make_room();
  /// One pass of the idle sweeper at `now_ns` (steady clock).
  void sweep_idle(std::int64_t now_ns);
};

namespace detail {

/// Owns a connection's record. The connection's body unregisters it when it
/// ends (finish()); the destructor covers a task whose frame is destroyed
/// without running (cancelled before its first step, or a failed spawn). The
/// body does not wait for frame destruction: a task that ends on another
/// worker than its home one may keep its frame until that worker next runs.
class ConnRef {
 public:
  ConnRef(std::shared_ptr<Server::Impl> im, ConnRecord* rec) noexcept
      : im_(std::move(im)), rec_(rec) {}
  ConnRef(ConnRef&& o) noexcept : im_(std::move(o.im_)), rec_(std::exchange(o.rec_, nullptr)) {}
  ConnRef(const ConnRef&) = delete;
  ~ConnRef() { finish(); }
  void finish() noexcept {
    if (!rec_) return;
    std::shared_ptr<Server::Impl> im = std::move(im_);  // keeps the server alive through it
    im->unregister(std::exchange(rec_, nullptr));
  }
  Server::Impl* impl() const noexcept { return im_.get(); }
  ConnRecord* record() const noexcept { return rec_; }

 private:
  std::shared_ptr<Server::Impl> im_;
  ConnRecord* rec_;
};

/// Bytes one buffer of a connection holds against the server's memory
/// budget; resize() follows the buffer as it grows and shrinks.
class Charge {
 public:
  explicit Charge(Server::Impl* im) noexcept : im_(im) {}
  Charge(const Charge&) = delete;
  Charge& operator=(const Charge&) = delete;
  ~Charge() { resize(0); }
  /// Charges `want` bytes in all (0: release). False, with nothing changed,
  /// when growing to `want` would pass the budget.
  bool resize(std::size_t want) noexcept {
    if (want > n_) {
      if (!im_->try_charge(want - n_)) return false;
    } else if (want < n_) {
      im_->uncharge(n_ - want);
    }
    n_ = want;
    return true;
  }

 private:
  Server::Impl* im_;
  std::size_t n_ = 0;
};

/// serve()'s idle sweeper: sweep_idle() every period until stop().
Task<void> idle_sweeper(std::shared_ptr<Server::Impl> im);

/// The task that serves one accepted connection (http_connection.cpp).
Task<void> connection(ConnRef ref);

}  // namespace detail
}  // namespace weft::http
