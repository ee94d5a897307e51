// Url: parsing, normalisation and reference resolution (RFC 3986).
#include "weft/http/url.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "weft/http/client_errors.hpp"

namespace weft::http {
namespace {

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

/// A scheme followed by ':' at the start of `s` (RFC 3986 3.1); its length or 0.
std::size_t scheme_length(std::string_view s) noexcept {
  if (s.empty() || !is_alpha(s[0])) return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return i;
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

/// Path or query text: controls and spaces are errors, bytes >= 0x80 are
/// percent-encoded, the rest is kept as written.
void append_checked(std::string& out, std::string_view part, std::string_view url) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : part) {
    auto c = static_cast<unsigned char>(ch);
    if (c == ' ') throw InvalidUrl(url, "a space in the URL (percent-encode it as %20)");
    if (c < 0x20 || c == 0x7f) throw InvalidUrl(url, "a control character in the URL");
    if (c >= 0x80) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
}

void parse_host(std::string_view h, std::string_view url, Url& u) {
  if (h.empty()) throw InvalidUrl(url, "no host");
  if (h.front() == '[') {
    if (h.back() != ']') throw InvalidUrl(url, "unterminated IPv6 literal");
    std::string ip(h.substr(1, h.size() - 2));
    in6_addr a{};
    if (ip.find('%') != std::string::npos)
      throw InvalidUrl(url, "IPv6 zone identifiers are not supported");
    if (::inet_pton(AF_INET6, ip.c_str(), &a) != 1) throw InvalidUrl(url, "invalid IPv6 literal");
    for (char& c : ip)
      c = to_lower(c);
    u.host = std::move(ip);
    return;
  }
  if (h.size() > 253) throw InvalidUrl(url, "host name longer than 253 characters");
  std::size_t label = 0;
  u.host.clear();
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (static_cast<unsigned char>(c) >= 0x80)
      throw InvalidUrl(url, "non-ASCII host name (give it in punycode, xn--...)");
    if (c == '.') {
      // One trailing dot ("example.com.") is the absolute form of the name.
      if (label == 0 && !(i + 1 == h.size() && i > 0))
        throw InvalidUrl(url, "empty label in the host name");
      label = 0;
    } else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
      if (++label > 63) throw InvalidUrl(url, "host name label longer than 63 characters");
    } else {
      throw InvalidUrl(url, std::string("invalid character '") + c + "' in the host name");
    }
    u.host.push_back(to_lower(c));
  }
}

/// RFC 3986 5.2.4, on a path that starts with '/'.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  auto pop_segment = [&out] {
    std::size_t at = out.rfind('/');
    out.resize(at == std::string::npos ? 0 : at);
  };
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);
    } else if (in.substr(0, 2) == "./") {
      in.remove_prefix(2);
    } else if (in.substr(0, 3) == "/./") {
      in.remove_prefix(2);  // leaves "/..."
    } else if (in == "/.") {
      in = "/";
    } else if (in.substr(0, 4) == "/../") {
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      std::size_t next = in.find('/', in.front() == '/' ? 1 : 0);
      if (next == std::string_view::npos) next = in.size();
      out.append(in.substr(0, next));
      in.remove_prefix(next);
    }
  }
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

/// Splits "path?query#frag" (fragment dropped) into u.path / u.query.
void parse_path_query(std::string_view rest, std::string_view url, Url& u) {
  std::size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  u.path.clear();
  if (path.empty()) {
    u.path = "/";
  } else {
    append_checked(u.path, path, url);
  }
  u.has_query = q != std::string_view::npos;
  u.query.clear();
  if (u.has_query) append_checked(u.query, rest.substr(q + 1), url);
}

}  // namespace

Url Url::parse(std::string_view text) {
  Url u;
  std::size_t sl = scheme_length(text);
  if (sl == 0) throw InvalidUrl(text, "missing scheme (expected http:// or https://)");
  for (std::size_t i = 0; i < sl; ++i)
    u.scheme.push_back(to_lower(text[i]));
  if (u.scheme != "http" && u.scheme != "https")
    throw InvalidUrl(text, "unsupported scheme '" + u.scheme + "' (http and https only)");
  std::string_view rest = text.substr(sl + 1);
  if (rest.substr(0, 2) != "//") throw InvalidUrl(text, "expected '//' after the scheme");
  rest.remove_prefix(2);
  std::size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  for (char c : authority) {
    auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc == 0x7f)
      throw InvalidUrl(text, "a space or control character in the host");
  }
  if (authority.find('@') != std::string_view::npos)
    throw InvalidUrl(text, "credentials in the URL (user@host) are not supported");
  // host[:port]; an IPv6 literal's colons are inside its brackets.
  std::string_view host = authority, port;
  std::size_t colon = authority.rfind(':');
  std::size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!host.empty() && host.front() != '[' && host.find(':') != std::string_view::npos)
    throw InvalidUrl(text, "an IPv6 address must be written in brackets ([::1])");
  parse_host(host, text, u);
  u.port = u.default_port();
  if (!port.empty()) {
    unsigned v = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || !is_digit(port.front()))
      throw InvalidUrl(text, "the port is not a number");
    if (v == 0 || v > 65535) throw InvalidUrl(text, "port out of range (1-65535)");
    u.port = static_cast<std::uint16_t>(v);
  }
  parse_path_query(rest, text, u);
  u.path = remove_dot_segments(u.path);
  return u;
}

Url Url::resolve(std::string_view ref) const {
  if (ref.empty()) return *this;
  if (scheme_length(ref) != 0) return parse(ref);
  if (ref.substr(0, 2) == "//") return parse(scheme + ":" + std::string(ref));
  Url r = *this;
  if (ref.front() == '/') {
    parse_path_query(ref, ref, r);
    r.path = remove_dot_segments(r.path);
    return r;
  }
  if (ref.front() == '?' || ref.front() == '#') {
    std::string keep_path = path;
    parse_path_query(std::string("/") + std::string(ref), ref, r);
    r.path = keep_path;
    if (ref.front() == '#') {  // fragment only: same resource
      r.has_query = has_query;
      r.query = query;
    }
    return r;
  }
  // Relative path: merge with the base's directory.
  std::string merged = path.substr(0, path.rfind('/') + 1);
  merged.append(ref);
  parse_path_query(merged, ref, r);
  r.path = remove_dot_segments(r.path);
  return r;
}

std::string Url::target() const {
  std::string t = path;
  if (has_query) {
    t.push_back('?');
    t.append(query);
  }
  return t;
}

std::string Url::authority() const {
  std::string a = is_ipv6() ? "[" + host + "]" : host;
  if (port != default_port()) {
    a.push_back(':');
    a.append(std::to_string(port));
  }
  return a;
}

std::string Url::origin() const {
  return scheme + "://" + (is_ipv6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::to_string() const {
  return scheme + "://" + authority() + target();
}

}  // namespace weft::http
