// UnixAddress: paths, abstract names and the unnamed address (sockaddr_un).
#include <cstddef>
#include <cstring>
#include <stdexcept>

#include "weft/io/unix.hpp"

namespace weft::io {

namespace {
constexpr socklen_t kHeader = offsetof(sockaddr_un, sun_path);
/// sun_path holds 108 bytes: a path needs its NUL, an abstract name its leading NUL.
constexpr std::size_t kMaxName = sizeof(sockaddr_un::sun_path) - 1;

[[noreturn]] void bad(std::string_view what, std::string_view name, const std::string& why) {
  throw std::invalid_argument("weft::io::UnixAddress::" + std::string(what) + "('" +
                              std::string(name) + "'): " + why);
}
}  // namespace

UnixAddress::UnixAddress() noexcept : addr_{}, len_(kHeader) {
  addr_.sun_family = AF_UNIX;
}

UnixAddress UnixAddress::path(std::string_view p) {
  if (p.empty()) bad("path", p, "an empty path (use abstract() or an unbound socket)");
  if (p.find('\0') != std::string_view::npos) bad("path", p, "a path cannot hold a NUL byte");
  if (p.size() > kMaxName)
    bad("path", p,
        "is " + std::to_string(p.size()) + " bytes long; a socket path is at most " +
            std::to_string(kMaxName) + " bytes (bind in a shorter directory, or use abstract())");
  UnixAddress a;
  std::memcpy(a.addr_.sun_path, p.data(), p.size());
  a.len_ = static_cast<socklen_t>(kHeader + p.size() + 1);
  return a;
}

UnixAddress UnixAddress::abstract(std::string_view name) {
  if (name.size() > kMaxName)
    bad("abstract", name,
        "is " + std::to_string(name.size()) + " bytes long; an abstract name is at most " +
            std::to_string(kMaxName) + " bytes");
  UnixAddress a;
  a.addr_.sun_path[0] = '\0';
  std::memcpy(a.addr_.sun_path + 1, name.data(), name.size());
  a.len_ = static_cast<socklen_t>(kHeader + 1 + name.size());
  return a;
}

UnixAddress::UnixAddress(const sockaddr* sa, socklen_t len) : addr_{}, len_(kHeader) {
  addr_.sun_family = AF_UNIX;
  if (!sa || len < static_cast<socklen_t>(sizeof(sa_family_t)) || sa->sa_family != AF_UNIX ||
      len > static_cast<socklen_t>(sizeof(sockaddr_un)))
    throw std::invalid_argument("weft::io::UnixAddress: not a Unix socket address");
  std::memcpy(&addr_, sa, len);
  len_ = len < kHeader ? kHeader : len;
  // A path as the kernel reports it may or may not count its NUL: keep one form.
  if (is_path()) len_ = static_cast<socklen_t>(kHeader + name().size() + 1);
}

bool UnixAddress::is_unnamed() const noexcept {
  return len_ <= kHeader;
}

bool UnixAddress::is_abstract() const noexcept {
  return len_ > kHeader && addr_.sun_path[0] == '\0';
}

std::string UnixAddress::name() const {
  if (is_unnamed()) return "";
  const std::size_t n = len_ - kHeader;
  if (is_abstract()) return std::string(addr_.sun_path + 1, n - 1);
  return std::string(addr_.sun_path, strnlen(addr_.sun_path, n));
}

std::string UnixAddress::to_string() const {
  if (is_unnamed()) return "(unnamed)";
  if (is_abstract()) return "@" + name();
  return name();
}

bool operator==(const UnixAddress& a, const UnixAddress& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.addr_, &b.addr_, a.len_) == 0;
}

}  // namespace weft::io
