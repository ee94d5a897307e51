// BufferedReader: read_until / read_line / read_exact over any stream with
// `Task<std::size_t> read(void*, std::size_t)` (TcpStream; later TLS streams).
//
//   weft::io::BufferedReader in(conn);
//   std::string line = co_await in.read_line();              // "GET / HTTP/1.1\r\n"
//   std::string head = co_await in.read_until("\r\n\r\n", 16 * 1024);
//
// Semantics (asyncio.StreamReader's):
//  - read_until(delim, max) returns the bytes up to and including the first
//    `delim`, which must start within the first `max` bytes; otherwise it throws
//    LimitExceeded and leaves the bytes buffered; if the stream ends first it
//    throws UnexpectedEof carrying the partial bytes (consumed).
//  - read_line(max) = read_until("\n", max), except that at the end of the
//    stream it returns what is left (an empty string once nothing is).
//  - read(buf, n) returns buffered bytes first; with an empty buffer, a large
//    read goes straight to the stream.
//  - Each method may suspend in the stream's read and is cancellable there;
//    bytes already buffered stay buffered (nothing is lost).
//
// Not thread-safe: one task uses a reader at a time. The reader refers to the
// stream, which must outlive it. Cost: the delimiter search resumes where the
// previous one stopped (O(n) over a line, not O(n^2)); the buffer grows to
// max + delimiter size at most.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "weft/io/errors.hpp"
#include "weft/task.hpp"

namespace weft::io {

template <class Stream>
class BufferedReader {
 public:
  /// Default buffer: 8 KiB, grown on demand by read_until.
  static constexpr std::size_t kDefaultCapacity = 8 * 1024;
  /// Default read_until/read_line limit: 64 KiB (asyncio's default limit).
  static constexpr std::size_t kDefaultLimit = 64 * 1024;

  explicit BufferedReader(Stream& stream, std::size_t capacity = kDefaultCapacity)
      : stream_(&stream), buf_(capacity ? capacity : 1) {}

  Stream& stream() noexcept { return *stream_; }
  /// The bytes read from the stream but not yet returned.
  std::string_view buffered() const noexcept { return {buf_.data() + begin_, end_ - begin_}; }
  /// Drops `n` buffered bytes (n <= buffered().size()).
  void consume(std::size_t n) noexcept {
    begin_ += std::min(n, end_ - begin_);
    if (begin_ == end_) begin_ = end_ = 0;
  }

  Task<std::size_t> read(void* out, std::size_t n) {
    if (n == 0) co_return 0;
    if (begin_ == end_) {
      if (n >= buf_.size()) co_return co_await stream_->read(out, n);  // bypass the buffer
      std::size_t got = co_await fill();
      if (got == 0) co_return 0;
    }
    std::size_t k = std::min(n, end_ - begin_);
    std::memcpy(out, buf_.data() + begin_, k);
    consume(k);
    co_return k;
  }

  Task<void> read_exact(void* out, std::size_t n) {
    auto* p = static_cast<char*>(out);
    std::size_t got = 0;
    while (got < n) {
      std::size_t r = co_await read(p + got, n - got);
      if (r == 0) throw UnexpectedEof("weft::io::BufferedReader::read_exact", std::string(p, got));
      got += r;
    }
  }

  Task<std::string> read_until(std::string_view delim, std::size_t max = kDefaultLimit) {
    std::string out;
    bool eof = co_await find(delim, max, out);
    if (eof) throw UnexpectedEof("weft::io::BufferedReader::read_until", std::move(out));
    co_return out;
  }

  Task<std::string> read_line(std::size_t max = kDefaultLimit) {
    std::string out;
    co_await find("\n", max, out);  // at EOF `out` holds the rest
    co_return out;
  }

  /// Reads once more from the stream into the buffer (growing it when it is
  /// full); returns the byte count, 0 at EOF. For incremental parsers that
  /// work on buffered() and consume().
  Task<std::size_t> fill() {
    if (begin_ > 0 && (end_ == buf_.size() || begin_ == end_)) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    std::size_t n = co_await stream_->read(buf_.data() + end_, buf_.size() - end_);
    end_ += n;
    co_return n;
  }

 private:
  /// Fills `out` with the bytes through `delim` (returns false), or with
  /// everything left at EOF (returns true). Throws LimitExceeded.
  Task<bool> find(std::string_view delim, std::size_t max, std::string& out) {
    if (delim.empty()) throw std::invalid_argument("weft::io::BufferedReader: empty delimiter");
    std::size_t scanned = 0;  // bytes of the buffered data already searched
    for (;;) {
      std::string_view have = buffered();
      std::size_t from = scanned >= delim.size() ? scanned - delim.size() + 1 : 0;
      std::size_t at = have.find(delim, from);
      if (at != std::string_view::npos && at <= max) {
        out.assign(have.data(), at + delim.size());
        consume(at + delim.size());
        co_return false;
      }
      // A delimiter past `max`, or more than max + delim bytes without one:
      // no acceptable match can come any more.
      if (at != std::string_view::npos || have.size() >= max + delim.size())
        throw LimitExceeded("weft::io::BufferedReader::read_until: no delimiter within " +
                            std::to_string(max) + " bytes");
      scanned = have.size();
      std::size_t n = co_await fill();
      if (n == 0) {
        out.assign(buffered());
        consume(end_ - begin_);
        co_return true;
      }
    }
  }

  Stream* stream_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace weft::io
