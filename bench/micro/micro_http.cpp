// The HTTP server's per-request CPU path without I/O: parse wrk's request,
// build the hello-world response a handler returns, serialize it; next to
// the floor the minimal servers pay (the W11 Asio peer: find "\r\n\r\n",
// append a constant response), which does no parsing at all.
//
//   build/release/bench/micro_http --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "http_response_writer.hpp"
#include "weft/http/message.hpp"
#include "weft/http/request_parser.hpp"

namespace http = weft::http;

namespace {

// What `wrk -t1 -c64 http://127.0.0.1:18080/` sends.
constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n";

void BM_Weft_Parse(benchmark::State& s) {
  http::RequestParser p;
  http::Request req;
  for (auto _ : s) {
    http::ParseResult r = p.parse(kRequest, req);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Weft_Parse);

void BM_Weft_Respond(benchmark::State& s) {
  std::string out;
  for (auto _ : s) {
    http::Response r(200, "hello world", "text/plain");
    auto a = http::detail::append_response(out, r, {.chunked_ok = true, .inline_body_max = 16384});
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
}
BENCHMARK(BM_Weft_Respond);

void BM_Weft_ParseAndRespond(benchmark::State& s) {
  http::RequestParser p;
  http::Request req;
  std::string out;
  for (auto _ : s) {
    http::ParseResult r = p.parse(kRequest, req);
    benchmark::DoNotOptimize(r);
    http::Response resp = req.path() == "/" ? http::Response(200, "hello world", "text/plain")
                                            : http::Response(404, "not found\n");
    auto a =
        http::detail::append_response(out, resp, {.chunked_ok = true, .inline_body_max = 16384});
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
}
BENCHMARK(BM_Weft_ParseAndRespond);

void BM_Floor_FindAndCopy(benchmark::State& s) {
  static constexpr std::string_view kOk =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";
  std::string out;
  for (auto _ : s) {
    std::string_view data = kRequest;
    std::size_t end = data.find("\r\n\r\n");
    benchmark::DoNotOptimize(end);
    bool root = data.starts_with("GET / ");
    out.append(root ? kOk : std::string_view("HTTP/1.1 404 Not Found\r\n\r\n"));
    benchmark::DoNotOptimize(out.data());
    out.clear();
  }
}
BENCHMARK(BM_Floor_FindAndCopy);

}  // namespace

BENCHMARK_MAIN();
