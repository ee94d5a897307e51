// weft::http::Url: an absolute http/https URL, parsed and checked (RFC 3986),
// and reference resolution for redirects.
//
//   auto u = weft::http::Url::parse("http://[::1]:8080/a/b?x=1#frag");
//   u.scheme == "http"; u.host == "::1"; u.port == 8080; u.target() == "/a/b?x=1"
//   u.authority() == "[::1]:8080"             // the Host header
//   auto v = u.resolve("../c");               // http://[::1]:8080/c
//
// What is accepted
//  - scheme http or https (case-insensitive), then "//" and an authority;
//  - host: a DNS name (letters, digits, '-', '_', '.'; lower-cased; no empty
//    labels), an IPv4 address, or an IPv6 literal in brackets; non-ASCII hosts
//    must be given in their punycode form;
//  - port 1-65535 (default 80 / 443);
//  - path and query: printable ASCII; bytes >= 0x80 are percent-encoded; the
//    fragment is dropped (it is never sent).
// Rejected with InvalidUrl (the message says why): other schemes, missing
// scheme or host, userinfo ("user:pass@host": credentials are not supported),
// bad ports, spaces or control characters anywhere.
//
// A value type; not thread-safe (copy it instead). Parsing is O(length).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weft::http {

struct Url {
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< lower-case name, IPv4 text, or IPv6 text without brackets
  std::uint16_t port = 0;
  std::string path;        ///< starts with '/'
  std::string query;       ///< without the '?'
  bool has_query = false;  ///< a '?' was present (possibly with an empty query)

  /// Parses an absolute URL; throws weft::http::InvalidUrl.
  static Url parse(std::string_view text);

  /// Resolves a reference against this URL (RFC 3986 5.2): absolute URLs,
  /// "//host/p", "/p", "p", "../p", "?q". Throws InvalidUrl.
  Url resolve(std::string_view reference) const;

  bool is_https() const noexcept { return scheme == "https"; }
  bool is_ipv6() const noexcept { return host.find(':') != std::string::npos; }
  std::uint16_t default_port() const noexcept { return is_https() ? 443 : 80; }
  /// The request target: path and "?query".
  std::string target() const;
  /// host[:port] as the Host header wants it (port omitted when default).
  std::string authority() const;
  /// "scheme://host:port" with the port always present: the connection pool key.
  std::string origin() const;
  /// The whole URL, normalised (no fragment).
  std::string to_string() const;
};

}  // namespace weft::http
