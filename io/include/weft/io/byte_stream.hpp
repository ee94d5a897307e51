// ByteStream: the transport under StreamReader / StreamWriter
// (weft/io/streams.hpp) — a connected byte stream that can read, write, end
// its write side and close. weft provides it for TcpStream, UnixStream,
// TlsStream and subprocess pipes; a program may implement it for its own
// transports and hand it to weft::io::make_streams().
//
//   std::unique_ptr<weft::io::ByteStream> t = weft::io::make_byte_stream(std::move(tcp));
//
// Contract for implementations
//  - read(), write_all(), write_eof() and finish() are awaited by one task at
//    a time each. If full_duplex() is true, a read may run in one task while
//    a write runs in another (TCP, Unix sockets, pipes); if it is false (TLS:
//    both directions share the SSL state), the streams layer never overlaps
//    two operations.
//  - try_write() never suspends: the bytes written, detail::kWouldBlock, or
//    kNoTryWrite when the transport cannot write without a coroutine (the
//    streams layer then always writes from its flush task).
//  - close() may be called from any thread at any time and must wake
//    operations waiting in the transport (with ClosedError).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "weft/task.hpp"

namespace weft::io {

class TcpStream;
class UnixStream;
class TlsStream;

class ByteStream {
 public:
  /// try_write(): this transport has no non-suspending write.
  static constexpr long kNoTryWrite = -2;

  virtual ~ByteStream() = default;

  /// At most `n` bytes; 0 at the end of the stream.
  virtual Task<std::size_t> read(void* buf, std::size_t n) = 0;
  /// All `n` bytes.
  virtual Task<void> write_all(const void* buf, std::size_t n) = 0;
  /// One attempt that never suspends (see above).
  virtual long try_write(const void* buf, std::size_t n);
  /// A read and a write may run at the same time in two tasks.
  virtual bool full_duplex() const noexcept = 0;
  /// write_eof() is supported (a half-close: the peer reads EOF, we may still read).
  virtual bool can_write_eof() const noexcept = 0;
  virtual Task<void> write_eof() = 0;
  /// What a clean close sends before close() (TLS: close_notify). Default: nothing.
  virtual Task<void> finish();
  /// Closes at once. Any thread; idempotent.
  virtual void close() noexcept = 0;
  /// The peer's and our own address, as text ("127.0.0.1:8080", "/run/app.sock");
  /// "" when there is none (pipes).
  virtual std::string peer_name() const;
  virtual std::string local_name() const;
};

/// The standard transports. Each takes the stream over.
std::unique_ptr<ByteStream> make_byte_stream(TcpStream stream);
std::unique_ptr<ByteStream> make_byte_stream(UnixStream stream);
std::unique_ptr<ByteStream> make_byte_stream(TlsStream stream);

}  // namespace weft::io
