// ByteStream defaults and the TCP, Unix and TLS transports.
#include "weft/io/byte_stream.hpp"

#include <sys/socket.h>

#include "weft/errors.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls.hpp"
#include "weft/io/unix.hpp"

namespace weft::io {

long ByteStream::try_write(const void*, std::size_t) {
  return kNoTryWrite;
}

Task<void> ByteStream::finish() {
  co_return;
}

std::string ByteStream::peer_name() const {
  return "";
}

std::string ByteStream::local_name() const {
  return "";
}

namespace {

/// TcpStream and UnixStream share everything but the address type.
template <class Stream>
class SocketByteStream final : public ByteStream {
 public:
  explicit SocketByteStream(Stream s) noexcept : s_(std::move(s)) {}
  // The stream's own tasks, returned as they are (no extra frame).
  Task<std::size_t> read(void* buf, std::size_t n) override { return s_.read(buf, n); }
  Task<void> write_all(const void* buf, std::size_t n) override { return s_.write_all(buf, n); }
  long try_write(const void* buf, std::size_t n) override { return s_.try_write(buf, n); }
  bool full_duplex() const noexcept override { return true; }
  bool can_write_eof() const noexcept override { return true; }
  Task<void> write_eof() override {
    s_.shutdown(Shutdown::write);
    co_return;
  }
  void close() noexcept override { s_.close(); }
  std::string peer_name() const override {
    try {
      return s_.peer_address().to_string();
    } catch (const IoError&) {
      return "";
    }
  }
  std::string local_name() const override {
    try {
      return s_.local_address().to_string();
    } catch (const IoError&) {
      return "";
    }
  }

 private:
  Stream s_;
};

class TlsByteStream final : public ByteStream {
 public:
  explicit TlsByteStream(TlsStream s) noexcept : s_(std::move(s)) {}
  Task<std::size_t> read(void* buf, std::size_t n) override { return s_.read(buf, n); }
  Task<void> write_all(const void* buf, std::size_t n) override { return s_.write_all(buf, n); }
  // TlsStream keeps one SSL state for both directions: no overlap.
  bool full_duplex() const noexcept override { return false; }
  // As asyncio's SSL transport: TLS has no half-close (close_notify ends both ways).
  bool can_write_eof() const noexcept override { return false; }
  Task<void> write_eof() override {
    throw InvalidStateError("weft::io: a TLS stream cannot write EOF and keep reading");
    co_return;
  }
  Task<void> finish() override { return s_.shutdown(); }
  void close() noexcept override { s_.close(); }
  std::string peer_name() const override {
    try {
      return s_.is_open() ? const_cast<TlsStream&>(s_).tcp().peer_address().to_string() : "";
    } catch (const IoError&) {
      return "";
    }
  }
  std::string local_name() const override {
    try {
      return s_.is_open() ? const_cast<TlsStream&>(s_).tcp().local_address().to_string() : "";
    } catch (const IoError&) {
      return "";
    }
  }

 private:
  TlsStream s_;
};

}  // namespace

std::unique_ptr<ByteStream> make_byte_stream(TcpStream stream) {
  return std::make_unique<SocketByteStream<TcpStream>>(std::move(stream));
}

std::unique_ptr<ByteStream> make_byte_stream(UnixStream stream) {
  return std::make_unique<SocketByteStream<UnixStream>>(std::move(stream));
}

std::unique_ptr<ByteStream> make_byte_stream(TlsStream stream) {
  return std::make_unique<TlsByteStream>(std::move(stream));
}

}  // namespace weft::io
