// PipeByteStream (see pipe_stream.hpp).
#include "pipe_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "stream_ops.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/reactor.hpp"
#include "weft/yield.hpp"

namespace weft::io::detail {

namespace {

constexpr const char* kRead = "weft::io::Process: reading a pipe";
constexpr const char* kWrite = "weft::io::Process: writing a pipe";

class PipeByteStream final : public ByteStream {
 public:
  explicit PipeByteStream(IoSource* s) noexcept : s_(s) {}
  ~PipeByteStream() override { s_->release(); }

  Task<std::size_t> read(void* buf, std::size_t n) override {
    return stream_read(s_, buf, n, kRead);
  }

  Task<void> write_all(const void* buf, std::size_t n) override {
    auto* p = static_cast<const char*>(buf);
    std::size_t done = 0;
    if (!weft::detail::consume_budget()) co_await weft::yield();
    while (done < n) {
      long r = s_->try_pipe_write(p + done, n - done, kWrite);
      if (r == kWouldBlock) {
        co_await s_->wait(Direction::write);
        continue;
      }
      done += static_cast<std::size_t>(r);
    }
  }

  long try_write(const void* buf, std::size_t n) override {
    return s_->try_pipe_write(buf, n, kWrite);
  }
  bool full_duplex() const noexcept override { return true; }  // one direction each
  bool can_write_eof() const noexcept override { return true; }
  Task<void> write_eof() override {
    s_->close();  // the child reads EOF
    co_return;
  }
  void close() noexcept override { s_->close(); }

 private:
  IoSource* s_;
};

}  // namespace

std::unique_ptr<ByteStream> make_pipe_stream(int fd, bool write_end) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int e = errno;
    ::close(fd);
    throw IoError(e, "weft::io::Process: making a pipe non-blocking");
  }
  // A fresh write end has room; a read end may already hold the child's output.
  IoSource* s = IoSource::open(fd, write_end ? kWritable : kReadable);
  return std::make_unique<PipeByteStream>(s);
}

}  // namespace weft::io::detail
