// The exceptions weft::io throws. Every one says which operation failed and why,
// in words a user can act on; system failures keep their errno in code().
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace weft::io {

/// A socket or file operation failed; code() is the errno
/// (std::generic_category), what() names the operation and the peer.
class IoError : public std::system_error {
 public:
  IoError(int err, const std::string& what)
      : std::system_error(err, std::generic_category(), what) {}
};

/// The socket was closed (by close() or the destruction of its owner) before
/// or while the operation waited. code() is EBADF.
class ClosedError : public IoError {
 public:
  explicit ClosedError(const std::string& what);
};

/// The peer closed the connection before the requested bytes arrived
/// (read_exact, read_until at end of stream). code() is 0; partial() holds
/// the bytes that did arrive (asyncio's IncompleteReadError).
class UnexpectedEof : public IoError {
 public:
  UnexpectedEof(const std::string& what, std::string partial);
  const std::string& partial() const noexcept { return partial_; }

 private:
  std::string partial_;
};

/// read_until() found no delimiter within its limit (asyncio's LimitOverrunError).
class LimitExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Name resolution failed: unknown host, no address of the wanted family, or
/// the resolver failed. gai_code() is getaddrinfo's EAI_* value.
class DnsError : public std::runtime_error {
 public:
  DnsError(int gai_code, const std::string& what) : std::runtime_error(what), gai_code_(gai_code) {}
  int gai_code() const noexcept { return gai_code_; }

 private:
  int gai_code_;
};

}  // namespace weft::io
