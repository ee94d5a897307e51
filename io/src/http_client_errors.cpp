// The client's exception types: constructors that build the messages, and
// the names of the error kinds.
#include <netdb.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "weft/http/client_errors.hpp"

namespace weft::http {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::none:
      return "none";
    case ErrorKind::invalid_url:
      return "invalid-url";
    case ErrorKind::dns:
      return "dns";
    case ErrorKind::connect_refused:
      return "connect-refused";
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::tls:
      return "tls";
    case ErrorKind::protocol:
      return "protocol";
    case ErrorKind::body_too_large:
      return "body-too-large";
    case ErrorKind::too_many_redirects:
      return "too-many-redirects";
    case ErrorKind::connection:
      return "connection";
    case ErrorKind::other:
      return "other";
  }
  return "unknown";
}

std::string_view to_string(TimeoutPhase phase) noexcept {
  switch (phase) {
    case TimeoutPhase::connect:
      return "connect";
    case TimeoutPhase::read:
      return "read";
    case TimeoutPhase::total:
      return "total";
  }
  return "unknown";
}

namespace {
std::string seconds_text(std::chrono::nanoseconds d) {
  double s = std::chrono::duration<double>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}
}  // namespace

InvalidUrl::InvalidUrl(std::string_view url, std::string_view why)
    : Error(ErrorKind::invalid_url, "",
            "invalid URL \"" + std::string(url) + "\": " + std::string(why)) {}

ResolveError::ResolveError(int gai_code, const std::string& where, const std::string& host)
    : Error(ErrorKind::dns, where,
            "cannot resolve host '" + host + "': " + ::gai_strerror(gai_code)),
      gai_code_(gai_code) {}

ConnectError::ConnectError(int err, const std::string& where, const std::string& target)
    : Error(err == ECONNREFUSED ? ErrorKind::connect_refused : ErrorKind::connect, where,
            "cannot connect to " + target + ": " + std::strerror(err)),
      code_(err) {}

RequestTimeout::RequestTimeout(TimeoutPhase phase, std::chrono::nanoseconds limit,
                               const std::string& where)
    : Error(ErrorKind::timeout, where,
            phase == TimeoutPhase::connect ? "timeout: no connection within " + seconds_text(limit)
            : phase == TimeoutPhase::read
                ? "timeout: the server sent nothing for " + seconds_text(limit)
                : "timeout: no complete response within " + seconds_text(limit)),
      phase_(phase) {}

ProtocolError::ProtocolError(const std::string& where, const std::string& what, std::string excerpt)
    : Error(ErrorKind::protocol, where, excerpt.empty() ? what : what + ": \"" + excerpt + "\""),
      excerpt_(std::move(excerpt)) {}

BodyTooLarge::BodyTooLarge(std::uint64_t limit, const std::string& where)
    : Error(ErrorKind::body_too_large, where,
            "response body larger than the limit of " + std::to_string(limit) + " bytes"),
      limit_(limit) {}

TooManyRedirects::TooManyRedirects(int limit, const std::string& where)
    : Error(ErrorKind::too_many_redirects, where,
            "more than " + std::to_string(limit) + " redirects (a redirect loop?)") {}

}  // namespace weft::http
