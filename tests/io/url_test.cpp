// weft::http::Url: what parses (and how it is normalised), what is rejected
// (with a message that says why), and reference resolution for redirects
// (RFC 3986 5.4's examples).
#include "weft/http/url.hpp"

#include <gtest/gtest.h>

#include <string>

#include "weft/http/client_errors.hpp"

namespace http = weft::http;

namespace {

struct Good {
  const char* text;
  const char* scheme;
  const char* host;
  int port;
  const char* target;
  const char* authority;
};

TEST(Url, ParsesAndNormalises) {
  const Good cases[] = {
      {"http://example.com", "http", "example.com", 80, "/", "example.com"},
      {"http://example.com/", "http", "example.com", 80, "/", "example.com"},
      {"HTTPS://Example.COM/A/b?X=Y", "https", "example.com", 443, "/A/b?X=Y", "example.com"},
      {"http://example.com:8080/p", "http", "example.com", 8080, "/p", "example.com:8080"},
      {"https://example.com:443/", "https", "example.com", 443, "/", "example.com"},
      {"http://example.com:/p", "http", "example.com", 80, "/p", "example.com"},
      {"http://127.0.0.1:9/x", "http", "127.0.0.1", 9, "/x", "127.0.0.1:9"},
      {"http://[::1]:8080/a", "http", "::1", 8080, "/a", "[::1]:8080"},
      {"http://[2001:DB8::1]/", "http", "2001:db8::1", 80, "/", "[2001:db8::1]"},
      {"http://h/a/./b/../c", "http", "h", 80, "/a/c", "h"},
      {"http://h/a/b/..", "http", "h", 80, "/a/", "h"},
      {"http://h/../../x", "http", "h", 80, "/x", "h"},
      {"http://h?q=1", "http", "h", 80, "/?q=1", "h"},
      {"http://h/p?", "http", "h", 80, "/p?", "h"},
      {"http://h/p#frag", "http", "h", 80, "/p", "h"},
      {"http://h/p?a=1#frag?x", "http", "h", 80, "/p?a=1", "h"},
      {"http://h/caf\xc3\xa9", "http", "h", 80, "/caf%C3%A9", "h"},
      {"http://my_host.example./", "http", "my_host.example.", 80, "/", "my_host.example."},
      {"http://h:65535/", "http", "h", 65535, "/", "h:65535"},
  };
  for (const Good& g : cases) {
    SCOPED_TRACE(g.text);
    http::Url u = http::Url::parse(g.text);
    EXPECT_EQ(u.scheme, g.scheme);
    EXPECT_EQ(u.host, g.host);
    EXPECT_EQ(u.port, g.port);
    EXPECT_EQ(u.target(), g.target);
    EXPECT_EQ(u.authority(), g.authority);
    // Normalised text parses back to the same URL.
    EXPECT_EQ(http::Url::parse(u.to_string()).to_string(), u.to_string());
  }
  EXPECT_EQ(http::Url::parse("http://[::1]/").origin(), "http://[::1]:80");
  EXPECT_EQ(http::Url::parse("https://a.b/").origin(), "https://a.b:443");
}

TEST(Url, RejectsWithAReason) {
  struct Bad {
    const char* text;
    const char* why;  // a piece of the message
  };
  const Bad cases[] = {
      {"", "missing scheme"},
      {"example.com/path", "missing scheme"},
      {"/relative", "missing scheme"},
      {"ftp://example.com/", "unsupported scheme 'ftp'"},
      {"mailto:x@y", "unsupported scheme"},
      {"http:example.com", "expected '//'"},
      {"http://", "no host"},
      {"http:///path", "no host"},
      {"http://user:pass@example.com/", "credentials"},
      {"http://user@example.com/", "credentials"},
      {"http://example.com:0/", "port out of range"},
      {"http://example.com:65536/", "port out of range"},
      {"http://example.com:99999999999999/", "not a number"},
      {"http://example.com:8x/", "not a number"},
      {"http://example.com:-1/", "not a number"},
      {"http://exa mple.com/", "space or control"},
      {"http://example.com/a b", "a space"},
      {"http://example.com/a\tb", "control character"},
      {"http://example.com/a\x7f", "control character"},
      {"http://ex!ample.com/", "invalid character '!'"},
      {"http://a..b/", "empty label"},
      {"http://.a/", "empty label"},
      {"http://b\xc3\xbc\x63her.de/", "punycode"},
      {"http://[::1/", "unterminated IPv6"},
      {"http://[zz::1]/", "invalid IPv6"},
      {"http://[fe80::1%25eth0]/", "zone"},
      {"http://::1/", "brackets"},
      {"http://a.b:80:80/", "brackets"},
  };
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.text);
    try {
      http::Url::parse(b.text);
      ADD_FAILURE() << "accepted";
    } catch (const http::InvalidUrl& e) {
      EXPECT_EQ(e.kind(), http::ErrorKind::invalid_url);
      EXPECT_NE(std::string(e.what()).find(b.why), std::string::npos) << e.what();
    }
  }
  std::string long_label = "http://" + std::string(64, 'a') + ".com/";
  EXPECT_THROW(http::Url::parse(long_label), http::InvalidUrl);
  std::string long_host = "http://" + std::string(250, 'a').insert(60, ".").insert(120, ".") + "." +
                          std::string(10, 'b') + "/";
  EXPECT_THROW(http::Url::parse(long_host), http::InvalidUrl);
}

TEST(Url, ResolvesReferences) {
  // RFC 3986 5.4.1 (normal examples) with http: base.
  const http::Url base = http::Url::parse("http://a/b/c/d;p?q");
  const std::pair<const char*, const char*> cases[] = {
      {"g", "http://a/b/c/g"},      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},    {"/g", "http://a/g"},
      {"//g", "http://g/"},         {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},  {"#s", "http://a/b/c/d;p?q"},
      {"g#s", "http://a/b/c/g"},    {";x", "http://a/b/c/;x"},
      {"", "http://a/b/c/d;p?q"},   {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},      {"..", "http://a/b/"},
      {"../", "http://a/b/"},       {"../g", "http://a/b/g"},
      {"../..", "http://a/"},       {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"}, {"/./g", "http://a/g"},
      {"g.", "http://a/b/c/g."},    {"g..", "http://a/b/c/g.."},
      {"./../g", "http://a/b/g"},   {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"}, {"https://other:8443/x", "https://other:8443/x"},
  };
  for (const auto& [ref, want] : cases) {
    SCOPED_TRACE(ref);
    EXPECT_EQ(base.resolve(ref).to_string(), want);
  }
  EXPECT_THROW(base.resolve("ftp://x/"), http::InvalidUrl);
  EXPECT_THROW(base.resolve("/a b"), http::InvalidUrl);
}

}  // namespace
