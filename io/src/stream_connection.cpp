// StreamConnection: the flush task, failure handling and the reader's
// transport reads (protocol in stream_connection.hpp), and make_streams.
#include "stream_connection.hpp"

#include <cstring>

#include "weft/errors.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/streams.hpp"
#include "weft/runtime.hpp"

namespace weft::io::detail {

char* ReadBuffer::space(std::size_t n) {
  if (begin_ > 0 && data_.size() - end_ < n) {
    std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (data_.size() - end_ < n) data_.resize(end_ + n);
  return data_.data() + end_;
}

StreamConnection::StreamConnection(std::unique_ptr<ByteStream> t, std::size_t lim)
    : transport(std::move(t)), duplex(transport->full_duplex()), limit(lim) {
  resumed.set();
}

void StreamConnection::update_pause_locked() noexcept {
  const std::size_t p = pending_locked();
  if (!paused && p > high) {
    paused = true;
    resumed.clear();
  } else if (paused && p <= low) {
    paused = false;
    resumed.set();
  }
}

void StreamConnection::fail(std::exception_ptr e) noexcept {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!error) error = e;
    wbuf.clear();
    inflight = 0;
    closed = true;
    flushing = false;
    paused = false;
  }
  transport->close();  // wakes a reader waiting in the transport
  resumed.set();
  closed_event.set();
}

namespace {
std::exception_ptr shutdown_error() {
  return std::make_exception_ptr(
      ClosedError("weft::io::StreamWriter: the runtime shut down while buffered bytes were sent"));
}
}  // namespace

Task<void> StreamConnection::flush_locked(bool data_only) {
  for (;;) {
    std::string chunk;
    bool do_eof = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (error || closed) co_return;
      if (!wbuf.empty()) {
        chunk.swap(wbuf);
        inflight = chunk.size();
      } else if (data_only) {
        co_return;
      } else if (eof_requested && !eof_sent) {
        do_eof = true;
      } else if (!closing) {
        flushing = false;  // this task's turn ends; write() starts the next
        co_return;
      }
    }
    std::exception_ptr failed;
    try {
      if (!chunk.empty())
        co_await transport->write_all(chunk.data(), chunk.size());
      else if (do_eof)
        co_await transport->write_eof();
      else
        co_await transport->finish();  // closing: close_notify (TLS)
    } catch (const weft::CancelledError&) {
      fail(shutdown_error());
      throw;
    } catch (...) {
      failed = std::current_exception();
    }
    if (failed && (chunk.size() || do_eof)) {
      fail(failed);
      co_return;
    }
    if (!chunk.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      inflight = 0;
      update_pause_locked();
      continue;
    }
    if (do_eof) {
      std::lock_guard<std::mutex> lock(mu);
      eof_sent = true;
      continue;
    }
    // Closing (a failed close_notify is not an error: the peer may be gone).
    transport->close();
    {
      std::lock_guard<std::mutex> lock(mu);
      closed = true;
      flushing = false;
      paused = false;
    }
    resumed.set();
    closed_event.set();
    co_return;
  }
}

Task<std::size_t> StreamConnection::read_transport(void* buf, std::size_t n) {
  std::exception_ptr mapped;
  try {
    co_return co_await transport->read(buf, n);
  } catch (const ClosedError&) {
    std::lock_guard<std::mutex> lock(mu);
    if (error)
      mapped = error;  // a failed write closed it: report why
    else if (!closing && !closed)
      throw;  // closed by someone else (abort_clients, the transport's owner)
  }
  if (mapped) std::rethrow_exception(mapped);
  co_return 0;  // this side closed the connection: the reader sees EOF
}

Task<std::size_t> StreamConnection::read_some(void* buf, std::size_t n) {
  if (duplex) co_return co_await read_transport(buf, n);
  auto guard = co_await io_lock.scoped();
  co_await flush_locked(true);  // the request goes out before we wait for the reply
  co_return co_await read_transport(buf, n);
}

namespace {

Task<void> flush_task(std::shared_ptr<StreamConnection> c) {
  std::shared_ptr<StreamConnection> conn = std::move(c);
  try {
    auto guard = co_await conn->io_lock.scoped();
    co_await conn->flush_locked(false);
  } catch (const weft::CancelledError&) {
    conn->fail(shutdown_error());
    throw;
  }
}

}  // namespace

void ensure_flush(const std::shared_ptr<StreamConnection>& c, std::unique_lock<std::mutex>& lk) {
  if (c->flushing || c->closed) {
    lk.unlock();
    return;
  }
  c->flushing = true;
  lk.unlock();
  weft::Runtime* rt = weft::Runtime::try_current();
  try {
    if (!rt) throw weft::RuntimeError("weft::io::StreamWriter: no runtime to flush on");
    rt->spawn(flush_task(c), "stream writer flush").detach();
  } catch (...) {
    // No runtime (a writer dropped after run() ended), or one shutting down:
    // nothing can send the buffer any more.
    c->fail(std::make_exception_ptr(
        ClosedError("weft::io::StreamWriter: no running runtime to send the buffered bytes on")));
  }
}

void close_connection(const std::shared_ptr<StreamConnection>& c) {
  std::unique_lock<std::mutex> lk(c->mu);
  if (c->closing) return;
  c->closing = true;
  ensure_flush(c, lk);
}

}  // namespace weft::io::detail

namespace weft::io {

std::pair<StreamReader, StreamWriter> make_streams(std::unique_ptr<ByteStream> transport,
                                                   std::size_t limit) {
  if (!transport) throw std::invalid_argument("weft::io::make_streams: no transport");
  auto c = std::make_shared<detail::StreamConnection>(std::move(transport), limit);
  return {StreamReader(c), StreamWriter(c)};
}

}  // namespace weft::io
