// StreamReader: asyncio's read / readline / readexactly / readuntil over the
// connection's buffer (stream_connection.hpp).
#include <cstring>
#include <stdexcept>

#include "stream_connection.hpp"
#include "weft/io/streams.hpp"

namespace weft::io {

using detail::StreamConnection;

namespace {
/// Bytes asked of the transport per read (asyncio's selector transport reads 256 KiB;
/// 64 KiB keeps one connection's buffer at about the limit).
constexpr std::size_t kReadChunk = 64 * 1024;

/// Reads once more into the buffer; false at EOF.
Task<bool> fill(StreamConnection& c) {
  if (c.eof) co_return false;
  char* space = c.rbuf.space(kReadChunk);
  std::size_t n = co_await c.read_some(space, kReadChunk);
  if (n == 0) {
    c.eof = true;
    co_return false;
  }
  c.rbuf.commit(n);
  co_return true;
}
}  // namespace

IncompleteReadError::IncompleteReadError(const std::string& what, std::string partial,
                                         std::optional<std::size_t> expected)
    : UnexpectedEof(what, std::move(partial)), expected_(expected) {}

StreamReader::StreamReader() noexcept = default;
StreamReader::StreamReader(std::shared_ptr<StreamConnection> c) noexcept : c_(std::move(c)) {}
StreamReader::StreamReader(StreamReader&&) noexcept = default;
StreamReader& StreamReader::operator=(StreamReader&&) noexcept = default;
StreamReader::~StreamReader() = default;

StreamConnection& StreamReader::conn(const char* what) const {
  if (!c_) throw ClosedError(std::string(what) + " (empty StreamReader)");
  return *c_;
}

Task<std::string> StreamReader::read(long n) {
  StreamConnection& c = conn("weft::io::StreamReader::read");
  if (n == 0) co_return std::string();
  if (n < 0) {
    while (co_await fill(c)) {
    }
    co_return c.rbuf.take(c.rbuf.size());
  }
  if (c.rbuf.size() == 0) co_await fill(c);
  co_return c.rbuf.take(static_cast<std::size_t>(n));
}

Task<std::size_t> StreamReader::read_into(void* buf, std::size_t n) {
  StreamConnection& c = conn("weft::io::StreamReader::read_into");
  if (n == 0) co_return 0;
  if (c.rbuf.size() == 0) {
    if (c.eof) co_return 0;
    if (n >= kReadChunk) {  // large: straight from the transport, no copy
      std::size_t got = co_await c.read_some(buf, n);
      if (got == 0) c.eof = true;
      co_return got;
    }
    co_await fill(c);
  }
  std::string_view have = c.rbuf.view();
  std::size_t k = have.size() < n ? have.size() : n;
  std::memcpy(buf, have.data(), k);
  c.rbuf.consume(k);
  co_return k;
}

Task<std::string> StreamReader::readexactly(std::size_t n) {
  StreamConnection& c = conn("weft::io::StreamReader::readexactly");
  while (c.rbuf.size() < n) {
    if (!co_await fill(c)) {
      std::size_t got = c.rbuf.size();
      throw IncompleteReadError("weft::io::StreamReader::readexactly: the stream ended after " +
                                    std::to_string(got) + " of " + std::to_string(n) + " bytes",
                                c.rbuf.take(got), n);
    }
  }
  co_return c.rbuf.take(n);
}

Task<std::string> StreamReader::readuntil(std::string_view separator) {
  StreamConnection& c = conn("weft::io::StreamReader::readuntil");
  if (separator.empty())
    throw std::invalid_argument("weft::io::StreamReader::readuntil: empty separator");
  const std::size_t seplen = separator.size();
  // asyncio's algorithm: resume the search where the previous one stopped.
  std::size_t offset = 0;
  std::size_t isep = std::string_view::npos;
  for (;;) {
    std::string_view have = c.rbuf.view();
    if (have.size() - offset >= seplen) {
      isep = have.find(separator, offset);
      if (isep != std::string_view::npos) break;
      offset = have.size() + 1 - seplen;
      if (offset > c.limit)
        throw LimitOverrunError(
            "weft::io::StreamReader::readuntil: separator is not found, and the chunk exceeds "
            "the limit (" +
                std::to_string(c.limit) + " bytes)",
            offset);
    }
    if (!co_await fill(c)) {
      std::size_t got = c.rbuf.size();
      throw IncompleteReadError("weft::io::StreamReader::readuntil: the stream ended after " +
                                    std::to_string(got) + " bytes without the separator",
                                c.rbuf.take(got), std::nullopt);
    }
  }
  if (isep > c.limit)
    throw LimitOverrunError(
        "weft::io::StreamReader::readuntil: separator is found, but the chunk is longer than the "
        "limit (" +
            std::to_string(c.limit) + " bytes)",
        isep);
  co_return c.rbuf.take(isep + seplen);
}

Task<std::string> StreamReader::readline() {
  StreamConnection& c = conn("weft::io::StreamReader::readline");
  std::string line;
  std::exception_ptr overrun;
  try {
    line = co_await readuntil("\n");
  } catch (const IncompleteReadError& e) {
    line = e.partial();  // at EOF: what is left
  } catch (const LimitOverrunError& e) {
    // As asyncio: drop the overlong line (through its separator if it came).
    std::string_view have = c.rbuf.view();
    if (e.consumed() < have.size() && have[e.consumed()] == '\n')
      c.rbuf.consume(e.consumed() + 1);
    else
      c.rbuf.consume(have.size());
    overrun = std::current_exception();
  }
  if (overrun) std::rethrow_exception(overrun);
  co_return line;
}

bool StreamReader::at_eof() const noexcept {
  return c_ && c_->eof && c_->rbuf.size() == 0;
}

std::size_t StreamReader::limit() const noexcept {
  return c_ ? c_->limit : kDefaultStreamLimit;
}

std::size_t StreamReader::buffered() const noexcept {
  return c_ ? c_->rbuf.size() : 0;
}

}  // namespace weft::io
