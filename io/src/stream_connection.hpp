// StreamConnection: what a StreamReader and its StreamWriter share — the
// transport, the reader's buffer, and the writer's buffer with its flush task
// (weft/io/streams.hpp has the user-facing rules).
//
// Writer protocol. `mu` guards the write-side fields and is never held across
// I/O or a co_await. write() either sends at once (nothing buffered, no flush
// task, a transport that can try) or appends to `wbuf` and makes sure a flush
// task exists (`flushing`). The flush task takes `io_lock`, then repeatedly
// swaps `wbuf` out and writes it; when it finds nothing left it performs a
// requested write_eof / close, or clears `flushing` and ends. Exactly one of
// write() and the task decides that the task ends (both under `mu`), so bytes
// appended afterwards always get a new task. Backpressure: `paused` is set
// when the unsent bytes exceed `high` (clearing the `resumed` event) and
// cleared when they drop to `low` (setting it); drain() waits on `resumed`.
//
// Half-duplex transports (TLS): every transport operation runs under
// `io_lock`, and a read first flushes what the writer buffered (same lock),
// so a request written and then awaited in one task always goes out.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weft/event.hpp"
#include "weft/io/byte_stream.hpp"
#include "weft/lock.hpp"

namespace weft::io::detail {

/// The reader's buffer: bytes [begin, end) of `data`.
class ReadBuffer {
 public:
  std::string_view view() const noexcept { return {data_.data() + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  void consume(std::size_t n) noexcept {
    begin_ += n < size() ? n : size();
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Room for at least `n` more bytes at the end (compacting or growing).
  char* space(std::size_t n);
  void commit(std::size_t n) noexcept { end_ += n; }
  std::string take(std::size_t n) {
    std::string s(view().substr(0, n));
    consume(s.size());
    return s;
  }

 private:
  std::vector<char> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

struct StreamConnection {
  StreamConnection(std::unique_ptr<ByteStream> t, std::size_t lim);

  const std::unique_ptr<ByteStream> transport;
  const bool duplex;
  const std::size_t limit;
  /// The flush task's (and, half-duplex, every transport operation's) lock.
  weft::Lock io_lock;

  // ---- reader side: the reader's task only ----
  ReadBuffer rbuf;
  bool eof = false;

  // ---- writer side: guarded by mu ----
  mutable std::mutex mu;
  std::string wbuf;
  std::size_t inflight = 0;  ///< bytes the flush task is writing now
  bool flushing = false;     ///< a flush task exists
  bool eof_requested = false;
  bool eof_sent = false;
  bool closing = false;
  bool closed = false;  ///< the transport is closed
  bool paused = false;
  std::size_t high = 64 * 1024;
  std::size_t low = 16 * 1024;
  std::exception_ptr error;  ///< the first write failure
  weft::Event resumed;       ///< set while not paused
  weft::Event closed_event;  ///< set once closed

  std::size_t pending_locked() const noexcept { return wbuf.size() + inflight; }
  void update_pause_locked() noexcept;
  /// Records the first error, drops what is buffered and closes the transport.
  void fail(std::exception_ptr e) noexcept;
  /// Under io_lock: writes what is buffered; unless `data_only`, then the
  /// requested write_eof / close, and ends the task's turn (`flushing`).
  Task<void> flush_locked(bool data_only);
  /// A read for the reader: EOF when this side closed the connection; the
  /// writer's error when a failed flush closed it.
  Task<std::size_t> read_some(void* buf, std::size_t n);
  Task<std::size_t> read_transport(void* buf, std::size_t n);
};

/// Makes sure a flush task runs for `c` (call with `lk` held; it is released).
/// Outside a runtime the transport is closed at once instead (for close()).
void ensure_flush(const std::shared_ptr<StreamConnection>& c, std::unique_lock<std::mutex>& lk);

/// StreamWriter::close(): flush, then close (idempotent).
void close_connection(const std::shared_ptr<StreamConnection>& c);

}  // namespace weft::io::detail
