// weft::http::ResponseParser: framing (Content-Length, chunked, close-
// delimited, none), interim responses, keep-alive, limits, the table of
// malformed responses (each an error with a message and an excerpt), byte-
// by-byte parsing, and the replay of the fuzz seed corpus and every fuzz
// regression input (tests/fuzz/) through the fuzz property.
#include "weft/http/response_parser.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../fuzz/response_parser_check.hpp"

namespace http = weft::http;
using namespace std::string_literals;

namespace {

struct Parsed {
  http::ParseStatus status;
  http::ResponseHead head;
  std::string body;
  std::size_t consumed = 0;
};

/// Parses `wire` in one piece, then (if still incomplete and `eof`) finishes.
Parsed parse_all(std::string_view wire, bool head_request = false, bool eof = true,
                 http::ResponseLimits limits = {}) {
  http::ResponseParser p(limits);
  p.reset(head_request);
  Parsed out;
  auto r = p.parse(wire, out.head, out.body);
  out.status = r.status;
  out.consumed = r.consumed;
  if (r.status == http::ParseStatus::incomplete && eof) out.status = p.finish(out.head, out.body);
  return out;
}

TEST(ResponseParser, ContentLength) {
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloEXTRA";
  Parsed r = parse_all(wire, false, false);
  ASSERT_EQ(r.status, http::ParseStatus::complete);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "OK");
  EXPECT_EQ(r.head.version_minor, 1);
  EXPECT_EQ(r.head.framing, http::BodyFraming::content_length);
  EXPECT_EQ(r.head.content_length, 5u);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.consumed, wire.size() - 5);  // stops at the message's end
  EXPECT_EQ(r.head.headers.get("x-a").value_or(""), "b");
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
  Parsed r = parse_all(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "5;name=val\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n",
      false, false);
  ASSERT_EQ(r.status, http::ParseStatus::complete);
  EXPECT_EQ(r.head.framing, http::BodyFraming::chunked);
  EXPECT_EQ(r.body, "hello world");
}

TEST(ResponseParser, CloseDelimitedAndHttp10) {
  Parsed r = parse_all("HTTP/1.0 200 OK\r\n\r\nall of this", false, false);
  EXPECT_EQ(r.status, http::ParseStatus::incomplete);
  EXPECT_EQ(r.head.framing, http::BodyFraming::until_close);
  EXPECT_FALSE(r.head.keep_alive);
  r = parse_all("HTTP/1.0 200 OK\r\n\r\nall of this");
  ASSERT_EQ(r.status, http::ParseStatus::complete);
  EXPECT_EQ(r.body, "all of this");
  r = parse_all("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", false,
                false);
  EXPECT_TRUE(r.head.keep_alive);
  r = parse_all("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false, false);
  EXPECT_FALSE(r.head.keep_alive);
}

TEST(ResponseParser, NoBodyCases) {
  for (const char* wire : {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                           "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}) {
    Parsed r = parse_all(wire, false, false);
    EXPECT_EQ(r.status, http::ParseStatus::complete) << wire;
    EXPECT_TRUE(r.body.empty());
  }
  Parsed r = parse_all("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, false);
  EXPECT_EQ(r.status, http::ParseStatus::complete);
  EXPECT_EQ(r.head.framing, http::BodyFraming::none);
}

TEST(ResponseParser, SkipsInterimResponses) {
  Parsed r = parse_all(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      false, false);
  ASSERT_EQ(r.status, http::ParseStatus::complete);
  EXPECT_EQ(r.head.status, 201);
  EXPECT_FALSE(r.head.headers.contains("Link"));
  EXPECT_EQ(r.body, "ok");
  std::string many;
  for (int i = 0; i <= http::ResponseParser::kMaxInterim; ++i)
    many += "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_EQ(parse_all(many).status, http::ParseStatus::error);
}

TEST(ResponseParser, AcceptsWhatServersSend) {
  EXPECT_EQ(parse_all("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head.reason, "");
  EXPECT_EQ(parse_all("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").head.status, 200);
  EXPECT_EQ(parse_all("HTTP/1.1 404 Not Found\nContent-Length: 0\n\n").head.status, 404);
  EXPECT_EQ(parse_all("\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").status,
            http::ParseStatus::complete);
  Parsed r = parse_all("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc");
  EXPECT_EQ(r.status, http::ParseStatus::complete);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(parse_all("HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n").head.status, 599);
}

TEST(ResponseParser, MalformedResponsesTable) {
  struct Case {
    const char* name;
    std::string wire;
    http::ResponseError error;
    const char* message;  // a piece of it
  };
  const Case cases[] = {
      {"garbage status", "HTTX/1.1 200 OK\r\n\r\n", http::ResponseError::malformed, "status line"},
      {"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n"s, http::ResponseError::malformed,
       "status line"},
      {"http2", "HTTP/2 200\r\n\r\n", http::ResponseError::malformed, "HTTP version"},
      {"http 2.0", "HTTP/2.0 200 OK\r\n\r\n", http::ResponseError::malformed, "HTTP version"},
      {"bad code", "HTTP/1.1 2x0 OK\r\n\r\n", http::ResponseError::malformed, "three-digit"},
      {"short code", "HTTP/1.1 20 OK\r\n\r\n", http::ResponseError::malformed, "status line"},
      {"code range", "HTTP/1.1 999 Huh\r\n\r\n", http::ResponseError::malformed, "out of range"},
      {"code 042", "HTTP/1.1 042 Huh\r\n\r\n", http::ResponseError::malformed, "out of range"},
      {"no space", "HTTP/1.1 200OK\r\n\r\n", http::ResponseError::malformed, "status line"},
      {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", http::ResponseError::malformed,
       "reason"},
      {"bare CR", "HTTP/1.1 200 OK\rX\r\n\r\n", http::ResponseError::malformed, "bare CR"},
      {"101", "HTTP/1.1 101 Switching Protocols\r\n\r\n", http::ResponseError::malformed, "101"},
      {"no colon", "HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n", http::ResponseError::malformed,
       "header field"},
      {"space before colon", "HTTP/1.1 200 OK\r\nName : v\r\n\r\n", http::ResponseError::malformed,
       "header field"},
      {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", http::ResponseError::malformed,
       "folding"},
      {"conflicting length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
       http::ResponseError::malformed, "conflicting"},
      {"length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
       http::ResponseError::malformed, "conflicting"},
      {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
       http::ResponseError::malformed, "invalid Content-Length"},
      {"empty length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
       http::ResponseError::malformed, "invalid Content-Length"},
      {"hex length", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
       http::ResponseError::malformed, "invalid Content-Length"},
      {"te and cl", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       http::ResponseError::malformed, "both"},
      {"gzip te", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       http::ResponseError::malformed, "transfer coding"},
      {"te 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       http::ResponseError::malformed, "HTTP/1.0"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       http::ResponseError::malformed, "chunk"},
      {"17 hex digits",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
       http::ResponseError::malformed, "16 hex digits"},
      {"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy",
       http::ResponseError::malformed, "CRLF"},
      {"length over limit", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
       http::ResponseError::body_too_large, "larger than"},
      {"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes!",
       http::ResponseError::truncated, "10 of 100"},
      {"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n12345",
       http::ResponseError::truncated, "chunked body"},
      {"truncated head", "HTTP/1.1 200 OK\r\nContent-Le", http::ResponseError::truncated,
       "response head"},
      {"nothing", "", http::ResponseError::truncated, "before a response"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    http::ResponseParser p;
    p.reset(false);
    http::ResponseHead head;
    std::string body;
    auto r = p.parse(c.wire, head, body);
    if (r.status == http::ParseStatus::incomplete) {
      EXPECT_EQ(p.finish(head, body), http::ParseStatus::error);
    } else {
      EXPECT_EQ(r.status, http::ParseStatus::error);
    }
    EXPECT_EQ(p.error(), c.error);
    EXPECT_NE(p.error_message().find(c.message), std::string::npos) << p.error_message();
    // Stays failed.
    EXPECT_EQ(p.parse("HTTP/1.1 200 OK\r\n\r\n", head, body).status, http::ParseStatus::error);
  }
}

TEST(ResponseParser, ExcerptShowsTheOffendingBytes) {
  http::ResponseParser p;
  p.reset();
  http::ResponseHead head;
  std::string body;
  p.parse("HTTX/1.1 200 \"OK\"\x01\r\n\r\n"s, head, body);
  EXPECT_EQ(p.excerpt(), "HTTX/1.1 200 \\\"OK\\\"\\x01");
  EXPECT_EQ(http::ResponseParser::escape(std::string(100, 'a')).size(), 48u + 3u);
}

TEST(ResponseParser, Limits) {
  http::ResponseLimits lim;
  lim.max_header_bytes = 64;
  lim.max_headers = 2;
  lim.max_body_bytes = 10;
  Parsed r = parse_all("HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'a') + "\r\n\r\n", false,
                       true, lim);
  EXPECT_EQ(r.status, http::ParseStatus::error);
  // A 1 MiB header line fails once the limit is passed, without the end of the line.
  http::ResponseParser p(lim);
  p.reset();
  http::ResponseHead head;
  std::string body;
  std::string big = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(1 << 20, 'a');
  EXPECT_EQ(p.parse(big, head, body).status, http::ParseStatus::error);
  EXPECT_EQ(p.error(), http::ResponseError::head_too_large);
  r = parse_all("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", false, true, lim);
  EXPECT_EQ(r.status, http::ParseStatus::error);
  // Endless empty lines are not skipped forever.
  r = parse_all(std::string(65, '\n'), false, false, lim);
  EXPECT_EQ(r.status, http::ParseStatus::error);
  // Chunked and close-delimited bodies are counted as they arrive.
  p.reset();
  EXPECT_EQ(p.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n"
                    "12345678\r\n",
                    head, body)
                .status,
            http::ParseStatus::error);
  EXPECT_EQ(p.error(), http::ResponseError::body_too_large);
  p.reset();
  body.clear();
  EXPECT_EQ(p.parse("HTTP/1.0 200 OK\r\n\r\n0123456789abc", head, body).status,
            http::ParseStatus::error);
  EXPECT_EQ(p.error(), http::ResponseError::body_too_large);
}

TEST(ResponseParser, ByteByByteEqualsWhole) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
      "X-Long: " +
      std::string(300, 'v') + "\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n";
  http::ResponseParser p;
  p.reset();
  http::ResponseHead head;
  std::string body, buf;
  http::ParseStatus last = http::ParseStatus::incomplete;
  for (char c : wire) {
    buf.push_back(c);
    auto r = p.parse(buf, head, body);
    buf.erase(0, r.consumed);
    last = r.status;
  }
  EXPECT_EQ(last, http::ParseStatus::complete);
  EXPECT_EQ(body, "wxyz");
  EXPECT_EQ(head.headers.get("X-Long")->size(), 300u);
  EXPECT_TRUE(buf.empty());
}

/// Every file of a fuzz input directory satisfies the fuzz property.
void replay(const std::filesystem::path& dir, std::size_t& count) {
  if (!std::filesystem::exists(dir)) return;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::string problem = weft::fuzz::check_response_parser(
        reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    EXPECT_EQ(problem, "") << e.path();
    ++count;
  }
}

TEST(ResponseParser, FuzzCorpusAndRegressionsReplay) {
  const auto fuzz = std::filesystem::path(__FILE__).parent_path().parent_path() / "fuzz";
  std::size_t seeds = 0, regressions = 0;
  replay(fuzz / "corpus" / "response_parser", seeds);
  replay(fuzz / "regressions" / "response_parser", regressions);
  EXPECT_GE(seeds, 10u) << "seed corpus missing at " << fuzz;
  std::printf("[replay] %zu seed inputs, %zu regression inputs\n", seeds, regressions);
}

}  // namespace
