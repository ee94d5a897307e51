// StreamWriter: write / drain / close over the connection's write buffer and
// flush task (protocol in stream_connection.hpp).
#include "stream_connection.hpp"
#include "weft/errors.hpp"
#include "weft/io/streams.hpp"
#include "weft/yield.hpp"

namespace weft::io {

using detail::StreamConnection;

std::shared_ptr<StreamConnection> detail::connection_of(const StreamWriter& w) noexcept {
  return w.c_;
}

StreamWriter::StreamWriter() noexcept = default;
StreamWriter::StreamWriter(std::shared_ptr<StreamConnection> c) noexcept : c_(std::move(c)) {}
StreamWriter::StreamWriter(StreamWriter&&) noexcept = default;

StreamWriter& StreamWriter::operator=(StreamWriter&& o) noexcept {
  if (this != &o) {
    if (c_) detail::close_connection(c_);
    c_ = std::move(o.c_);
  }
  return *this;
}

StreamWriter::~StreamWriter() {
  if (c_) detail::close_connection(c_);
}

StreamConnection& StreamWriter::conn(const char* what) const {
  if (!c_) throw ClosedError(std::string(what) + " (empty StreamWriter)");
  return *c_;
}

void StreamWriter::write(std::string_view data) {
  StreamConnection& c = conn("weft::io::StreamWriter::write");
  if (data.empty()) return;
  std::unique_lock<std::mutex> lk(c.mu);
  if (c.error) std::rethrow_exception(c.error);
  if (c.closing || c.eof_requested)
    throw weft::InvalidStateError(c.closing ? "weft::io::StreamWriter::write after close()"
                                            : "weft::io::StreamWriter::write after write_eof()");
  if (c.closed) throw ClosedError("weft::io::StreamWriter::write");
  if (!c.flushing && c.wbuf.empty()) {
    // Nobody else writes now: try the transport at once (one send()).
    long r;
    try {
      r = c.transport->try_write(data.data(), data.size());
    } catch (...) {
      lk.unlock();
      c.fail(std::current_exception());
      throw;
    }
    if (r > 0) data.remove_prefix(static_cast<std::size_t>(r));
    if (data.empty()) return;
  }
  c.wbuf.append(data);
  c.update_pause_locked();
  detail::ensure_flush(c_, lk);
}

void StreamWriter::writelines(std::initializer_list<std::string_view> lines) {
  for (std::string_view l : lines)
    write(l);
}

void StreamWriter::writelines(const std::vector<std::string>& lines) {
  for (const std::string& l : lines)
    write(l);
}

Task<void> StreamWriter::drain() {
  StreamConnection& c = conn("weft::io::StreamWriter::drain");
  for (;;) {
    std::exception_ptr err;
    bool paused;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      err = c.error;
      paused = c.paused;
    }
    if (err) std::rethrow_exception(err);
    if (!paused) break;
    co_await c.resumed.wait();
  }
  // As asyncio's drain(), a point where others may run even when nothing waited.
  if (!weft::detail::consume_budget()) co_await weft::yield();
}

bool StreamWriter::can_write_eof() const noexcept {
  return c_ && c_->transport->can_write_eof();
}

void StreamWriter::write_eof() {
  StreamConnection& c = conn("weft::io::StreamWriter::write_eof");
  if (!c.transport->can_write_eof())
    throw weft::InvalidStateError(
        "weft::io::StreamWriter::write_eof: this transport cannot half-close (TLS); use close()");
  std::unique_lock<std::mutex> lk(c.mu);
  if (c.closing || c.eof_requested) return;
  c.eof_requested = true;
  detail::ensure_flush(c_, lk);
}

void StreamWriter::close() {
  if (c_) detail::close_connection(c_);
}

bool StreamWriter::is_closing() const noexcept {
  if (!c_) return true;
  std::lock_guard<std::mutex> lock(c_->mu);
  return c_->closing || c_->closed;
}

Task<void> StreamWriter::wait_closed() {
  StreamConnection& c = conn("weft::io::StreamWriter::wait_closed");
  co_await c.closed_event.wait();
  std::exception_ptr err;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    err = c.error;
  }
  if (err) std::rethrow_exception(err);
}

std::size_t StreamWriter::write_buffer_size() const {
  StreamConnection& c = conn("weft::io::StreamWriter::write_buffer_size");
  std::lock_guard<std::mutex> lock(c.mu);
  return c.pending_locked();
}

void StreamWriter::set_write_buffer_limits(std::size_t high, std::optional<std::size_t> low) {
  StreamConnection& c = conn("weft::io::StreamWriter::set_write_buffer_limits");
  const std::size_t lo = low ? *low : high / 4;
  if (lo > high)
    throw std::invalid_argument("weft::io::StreamWriter::set_write_buffer_limits: high (" +
                                std::to_string(high) + ") must be >= low (" + std::to_string(lo) +
                                ")");
  std::lock_guard<std::mutex> lock(c.mu);
  c.high = high;
  c.low = lo;
  c.update_pause_locked();
}

std::string StreamWriter::peer_name() const {
  return c_ ? c_->transport->peer_name() : "";
}

std::string StreamWriter::local_name() const {
  return c_ ? c_->transport->local_name() : "";
}

}  // namespace weft::io
