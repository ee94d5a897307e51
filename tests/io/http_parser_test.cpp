// RequestParser and ChunkedDecoder, pure: a table of requests (valid and
// malformed, each with the expected result or status), split-invariance (the
// same bytes in every split give the same result), pipelining, and a fuzz
// loop of mutated inputs that must never crash, hang or over-consume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "../fuzz/chunked_check.hpp"
#include "../fuzz/request_parser_check.hpp"
#include "weft/http/chunked.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/http/syntax.hpp"
#include "weft_test.hpp"

namespace http = weft::http;
using namespace std::string_literals;
using http::ParseStatus;

namespace {

struct Outcome {
  ParseStatus status = ParseStatus::incomplete;
  int error = 0;
  std::size_t consumed = 0;
  http::Request req;
};

/// Feeds `input` in pieces of `piece` bytes (0: all at once), as a server
/// does: the unconsumed bytes are presented again with the new ones.
Outcome feed(const std::string& input, std::size_t piece, http::ParserLimits limits = {}) {
  http::RequestParser p(limits);
  Outcome o;
  std::string pending;
  std::size_t offered = 0;
  while (true) {
    std::size_t take =
        piece == 0 ? input.size() - offered : std::min(piece, input.size() - offered);
    pending.append(input, offered, take);
    offered += take;
    http::ParseResult r = p.parse(pending, o.req);
    EXPECT_LE(r.consumed, pending.size());
    pending.erase(0, r.consumed);
    o.consumed += r.consumed;
    o.status = r.status;
    if (r.status != ParseStatus::incomplete) break;
    if (offered == input.size()) break;
  }
  if (o.status == ParseStatus::error) o.error = p.error_status();
  return o;
}

struct Case {
  const char* name;
  std::string input;
  int expect;  // 0: complete; -1: incomplete; else the error status
  std::string body = {};
};

std::vector<Case> cases() {
  const std::string big_header(20000, 'a');
  std::string many_headers = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 150; ++i)
    many_headers += "X-" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  return {
      {"simple get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 0},
      {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"http/1.0 without host", "GET / HTTP/1.0\r\n\r\n", 0},
      {"content-length body", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 0,
       "hello"},
      {"chunked body",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
       "6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
       0, "hello world"},
      {"chunked, upper-case hex and coding",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
       "CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
       0, "0123456789"},
      {"same content-length twice",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 0, "ok"},
      {"unknown method is fine", "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"http/1.2 is treated as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0},
      {"incomplete head", "GET / HTTP/1.1\r\nHost: a\r\n", -1},
      {"incomplete body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", -1},
      // malformed -> 400
      {"no version", "GET /\r\nHost: a\r\n\r\n", 400},
      {"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"bad version", "GET / HTTP/x.1\r\nHost: a\r\n\r\n", 400},
      {"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"bad method char", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"control char in target", std::string("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), 400},
      {"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},
      {"empty header name", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400},
      {"bare CR in header", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},
      {"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"s, 400},
      {"negative length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
      {"length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", 400},
      {"conflicting lengths",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"length and chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400},
      {"chunked twice",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
      {"chunked in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       400},
      {"chunk size overflow",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
       400},
      {"chunk without CRLF",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n",
       400},
      {"chunk size bare LF",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", 400},
      // unsupported -> 501 / 505
      {"gzip coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       501},
      {"http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"http/0.9 style version", "GET / HTTP/0.9\r\n\r\n", 505},
      // limits -> 413 / 414 / 431
      {"huge header", "GET / HTTP/1.1\r\nHost: a\r\nX: " + big_header + "\r\n\r\n", 431},
      {"huge target", "GET /" + big_header + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
      {"too many headers", many_headers, 431},
      {"body over limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9000000\r\n\r\n", 413},
      {"absurd length",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
      {"chunked over limit",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFF\r\n", 413},
  };
}

TEST(HttpParser, TableOfRequestsInEverySplit) {
  for (const Case& c : cases()) {
    for (std::size_t piece :
         {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(7), std::size_t(64)}) {
      Outcome o = feed(c.input, piece);
      SCOPED_TRACE(std::string(c.name) + ", piece " + std::to_string(piece));
      if (c.expect == 0) {
        ASSERT_EQ(o.status, ParseStatus::complete);
        EXPECT_EQ(o.consumed, c.input.size());
        EXPECT_EQ(o.req.body, c.body);
      } else if (c.expect < 0) {
        EXPECT_EQ(o.status, ParseStatus::incomplete);
      } else {
        ASSERT_EQ(o.status, ParseStatus::error);
        EXPECT_EQ(o.error, c.expect);
      }
    }
  }
}

TEST(HttpParser, FieldsAndKeepAlive) {
  Outcome o = feed(
      "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Thing:   padded value \t\r\n"
      "Connection: Upgrade, close\r\n\r\n",
      0);
  ASSERT_EQ(o.status, ParseStatus::complete);
  EXPECT_EQ(o.req.method, "GET");
  EXPECT_EQ(o.req.path(), "/a/b");
  EXPECT_EQ(o.req.query(), "x=1&y=2");
  EXPECT_EQ(o.req.version_minor, 1);
  EXPECT_EQ(o.req.headers.get("x-thing"), "padded value");
  EXPECT_EQ(o.req.headers.get("HOST"), "example.com");
  EXPECT_FALSE(o.req.keep_alive);
  EXPECT_TRUE(feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0).req.keep_alive);
  EXPECT_FALSE(feed("GET / HTTP/1.0\r\n\r\n", 0).req.keep_alive);
  EXPECT_TRUE(feed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0).req.keep_alive);
}

TEST(HttpParser, PipelinedRequestsAndReuse) {
  std::string three =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n";
  http::RequestParser p;
  http::Request req;
  std::string_view in = three;
  std::vector<std::string> seen;
  while (!in.empty()) {
    auto r = p.parse(in, req);
    ASSERT_EQ(r.status, ParseStatus::complete);
    seen.push_back(req.method + " " + req.target + " " + req.body);
    in.remove_prefix(r.consumed);
    EXPECT_TRUE(p.idle());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /1 ", "POST /2 abc", "PUT /3 z"}));
}

TEST(HttpParser, ExpectContinueIsReportedUntilTheBodyStarts) {
  http::RequestParser p;
  http::Request req;
  std::string head =
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  auto r = p.parse(head, req);
  EXPECT_EQ(r.status, ParseStatus::incomplete);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_TRUE(p.expects_continue());
  r = p.parse("o", req);
  EXPECT_FALSE(p.expects_continue());
  r = p.parse("k", req);
  EXPECT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(req.body, "ok");
}

TEST(HttpParser, FailedParserStaysFailedUntilReset) {
  http::RequestParser p;
  http::Request req;
  EXPECT_EQ(p.parse("BAD\r\n\r\n", req).status, ParseStatus::error);
  EXPECT_EQ(p.error_status(), 400);
  EXPECT_FALSE(p.error_message().empty());
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", req).status, ParseStatus::error);
  p.reset();
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", req).status, ParseStatus::complete);
}

// Empty lines before a request line are skipped (RFC 9112 2.2), but they are
// not progress: more than max_header_bytes of them is a 400, in any split.
TEST(HttpParser, EmptyLinesBeforeARequestAreBounded) {
  http::ParserLimits limits;
  limits.max_header_bytes = 64;
  std::string ok(64, '\n');
  ok += "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string bad;
  for (int i = 0; i < 33; ++i)
    bad += "\r\n";  // 66 bytes
  for (std::size_t piece : {0, 1, 2, 7}) {
    EXPECT_EQ(feed(ok, piece, limits).status, ParseStatus::complete) << piece;
    Outcome o = feed(bad, piece, limits);
    EXPECT_EQ(o.status, ParseStatus::error) << piece;
    EXPECT_EQ(o.error, 400) << piece;
  }
  // The count starts again with every request.
  http::RequestParser p(limits);
  http::Request req;
  std::string one(60, '\n');
  one += "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (int i = 0; i < 5; ++i) {
    http::ParseResult r = p.parse(one, req);
    ASSERT_EQ(r.status, ParseStatus::complete) << i;
    EXPECT_EQ(r.consumed, one.size());
  }
}

TEST(ChunkedDecoder, DecodesInAnySplitAndStopsAtTheEnd) {
  std::string body = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nNEXT";
  for (std::size_t piece = 1; piece <= body.size(); ++piece) {
    http::ChunkedDecoder d;
    std::string out;
    std::size_t used = 0;
    http::ParseResult r{ParseStatus::incomplete, 0};
    while (used < body.size() && r.status == ParseStatus::incomplete) {
      std::string_view part(body.data() + used, std::min(piece, body.size() - used));
      r = d.feed(part, out);
      used += r.consumed;
    }
    ASSERT_EQ(r.status, ParseStatus::complete) << piece;
    EXPECT_EQ(out, "Wikipedia in\r\n\r\nchunks.");
    EXPECT_EQ(body.substr(used), "NEXT");
  }
}

TEST(ChunkedDecoder, LimitsAndGarbage) {
  http::ChunkedDecoder d(10);
  std::string out;
  EXPECT_EQ(d.feed("B\r\n", out).status, ParseStatus::error);
  EXPECT_EQ(d.error_status(), 413);
  http::ChunkedDecoder e;
  EXPECT_EQ(e.feed("5;\x01\r\n", out).status, ParseStatus::error);
  EXPECT_EQ(e.error_status(), 400);
  http::ChunkedDecoder f;
  EXPECT_EQ(f.feed("\r\n", out).status, ParseStatus::error);
}

/// Feeds `line` + "x\r\n0\r\n\r\n" (a 1-byte chunk) split at every point:
/// the status of the whole body, the same in every split.
ParseStatus chunk_line_status(const std::string& line) {
  const std::string body = line + "x\r\n0\r\n\r\n";
  ParseStatus whole = ParseStatus::incomplete;
  for (std::size_t piece = 1; piece <= body.size(); ++piece) {
    http::ChunkedDecoder d;
    std::string out;
    std::size_t used = 0;
    http::ParseResult r{ParseStatus::incomplete, 0};
    while (used < body.size() && r.status == ParseStatus::incomplete) {
      std::string_view part(body.data() + used, std::min(piece, body.size() - used));
      r = d.feed(part, out);
      used += r.consumed;
    }
    if (piece == 1) whole = r.status;
    EXPECT_EQ(r.status, whole) << "split " << piece << " of " << line;
    if (r.status == ParseStatus::complete) {
      EXPECT_EQ(out, "x") << line;
    }
    if (r.status == ParseStatus::error) {
      EXPECT_EQ(d.error_status(), 400) << line;
    }
  }
  return whole;
}

// RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF, chunk-ext = *( BWS ";" BWS
// name [ BWS "=" BWS ( token / quoted-string ) ] ). "1 2" was read as size 1.
TEST(ChunkedDecoder, ChunkSizeLineIsStrict) {
  for (const char* ok : {"1\r\n", "1;a\r\n", "1 ;a\r\n", "1\t; a = b\r\n", "1;a=b;c=d\r\n",
                         "1;a=\"q \\\" ;x\"\r\n", "01\r\n", "1;a=b ;c\r\n"})
    EXPECT_EQ(chunk_line_status(ok), ParseStatus::complete) << ok;
  for (const char* bad : {"1 2\r\n", "1 \r\n", "1\t\r\n", "1 x\r\n", "1;\r\n", "1; \r\n",
                          "1;=b\r\n", "1;a=\r\n", "1;a=\"open\r\n", "1;a b\r\n", "1;a=b c\r\n",
                          "1;a=\"x\"y\r\n", "1;a@b\r\n", "1,2\r\n", " 1\r\n", "1;a\rb\r\n"})
    EXPECT_EQ(chunk_line_status(bad), ParseStatus::error) << bad;
}

TEST(HttpSyntax, Helpers) {
  using namespace http::syntax;
  EXPECT_EQ(parse_content_length("0"), 0u);
  EXPECT_EQ(parse_content_length("123"), 123u);
  EXPECT_FALSE(parse_content_length("+1"));
  EXPECT_FALSE(parse_content_length(""));
  EXPECT_FALSE(parse_content_length("1 "));
  EXPECT_TRUE(list_contains("a, Keep-Alive ,b", "keep-alive"));
  EXPECT_FALSE(list_contains("keep-alives", "keep-alive"));
  EXPECT_EQ(list_last("gzip,  chunked "), "chunked");
  EXPECT_TRUE(is_token("X-Custom_1"));
  EXPECT_FALSE(is_token("a b"));
}

TEST(HttpParser, FuzzedInputsNeverCrashOrOverConsume) {
  weft::test::Watchdog dog(std::chrono::seconds(120));
  std::vector<std::string> seeds;
  for (const Case& c : cases())
    seeds.push_back(c.input);
  std::mt19937 rng(20240611);
  const long rounds = weft::test::stress_iterations(20000);
  long completes = 0, errors = 0;
  for (long i = 0; i < rounds; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      std::size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[at] = static_cast<char>(rng() & 0xff);
          break;
        case 1:
          s.erase(at, 1 + rng() % 8);
          break;
        case 2:
          s.insert(at, 1, "\r\n: \t0;"[rng() % 7]);
          break;
        default:
          s.insert(at, s.substr(at, rng() % 16));
          break;
      }
    }
    http::ParserLimits limits{.max_header_bytes = 512, .max_headers = 8, .max_body_bytes = 64};
    Outcome whole = feed(s, 0, limits);
    Outcome split = feed(s, 1 + rng() % 9, limits);
    // The result never depends on how the bytes were split.
    ASSERT_EQ(whole.status, split.status) << s;
    ASSERT_EQ(whole.error, split.error) << s;
    if (whole.status == ParseStatus::complete) {
      ASSERT_EQ(whole.consumed, split.consumed);
      ASSERT_EQ(whole.req.body, split.req.body);
      ASSERT_LE(whole.req.body.size(), 64u);
      ++completes;
    } else if (whole.status == ParseStatus::error) {
      ASSERT_TRUE(whole.error == 400 || whole.error == 413 || whole.error == 414 ||
                  whole.error == 431 || whole.error == 501 || whole.error == 505)
          << whole.error;
      ++errors;
    }
  }
  weft::test::report_iterations("http parser fuzz", rounds);
  EXPECT_GT(completes, 0);
  EXPECT_GT(errors, 0);
}

// ---- the fuzz properties (tests/fuzz/): the seed corpora, every regression
// input, and mutations of the seeds, through the same checks as libFuzzer ----

using Check = std::string (*)(const std::uint8_t*, std::size_t);

std::vector<std::string> read_dir(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().starts_with(".")) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return out;
}

std::string check(Check c, const std::string& data) {
  return c(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
}

void replay_and_mutate(const char* name, Check c) {
  const auto fuzz = std::filesystem::path(__FILE__).parent_path().parent_path() / "fuzz";
  std::vector<std::string> seeds = read_dir(fuzz / "corpus" / name);
  std::vector<std::string> regressions = read_dir(fuzz / "regressions" / name);
  EXPECT_GE(seeds.size(), 10u) << "seed corpus missing at " << fuzz / "corpus" / name;
  for (const std::string& s : seeds)
    EXPECT_EQ(check(c, s), "") << name << " seed";
  for (const std::string& s : regressions)
    EXPECT_EQ(check(c, s), "") << name << " regression";
  if (seeds.empty()) return;
  std::mt19937 rng(20250101);
  const long rounds = weft::test::stress_iterations(20000);
  for (long i = 0; i < rounds; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    for (int k = 0, edits = 1 + static_cast<int>(rng() % 4); k < edits && s.size() > 1; ++k) {
      std::size_t at = 1 + rng() % (s.size() - 1);  // byte 0 is the flags
      switch (rng() % 4) {
        case 0:
          s[at] = static_cast<char>(rng() & 0xff);
          break;
        case 1:
          s.erase(at, 1 + rng() % 8);
          break;
        case 2:
          s.insert(at, 1, "\r\n: \t0;=\""[rng() % 9]);
          break;
        default:
          s.insert(at, s.substr(at, rng() % 16));
          break;
      }
    }
    s[0] = static_cast<char>(rng() & 0xff);  // another split
    std::string problem = check(c, s);
    ASSERT_EQ(problem, "") << name << " mutation " << i;
  }
  std::printf("[replay] %s: %zu seeds, %zu regressions, %ld mutations\n", name, seeds.size(),
              regressions.size(), rounds);
}

TEST(HttpParser, FuzzPropertyOnCorpusRegressionsAndMutations) {
  weft::test::Watchdog dog(std::chrono::seconds(120));
  replay_and_mutate("request_parser", &weft::fuzz::check_request_parser);
}

TEST(ChunkedDecoder, FuzzPropertyOnCorpusRegressionsAndMutations) {
  weft::test::Watchdog dog(std::chrono::seconds(120));
  replay_and_mutate("chunked", &weft::fuzz::check_chunked);
}

}  // namespace
