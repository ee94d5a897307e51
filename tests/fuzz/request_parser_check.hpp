// The request parser's fuzz property, shared by the libFuzzer target
// (request_parser_fuzz.cpp, built by tools/fuzz.sh) and the gtest that
// replays the seed corpus and every regression input
// (tests/io/http_parser_test.cpp).
//
// Input: one flags byte, then the bytes a client sends. They are parsed as
// the server does (pipelined requests on a keep-alive connection, until an
// error or a request that ends the connection) twice: all at once, and in
// pieces of 1-64 bytes chosen by the flags. Both runs must see exactly the
// same requests and the same final outcome (the error status and message, or
// the state the input ended in); every ParseResult must stay within its input
// and every request within the limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/request_parser.hpp"

namespace weft::fuzz {

/// What a run saw, as text (compared between the two runs).
inline std::string run_request_parser(std::string_view wire, std::size_t step,
                                      std::string& violation) {
  http::ParserLimits limits;
  limits.max_header_bytes = 512;  // small limits, so that the fuzzer reaches them
  limits.max_headers = 16;
  limits.max_body_bytes = 4096;
  http::RequestParser p(limits);
  http::Request req;
  std::string buf, log;
  bool stopped = false;
  for (std::size_t at = 0; at < wire.size() && !stopped; at += step) {
    buf.append(wire.substr(at, step));
    for (;;) {
      http::ParseResult r = p.parse(buf, req);
      if (r.consumed > buf.size()) {
        violation = "consumed more than the input";
        return log;
      }
      buf.erase(0, r.consumed);
      if (r.status == http::ParseStatus::incomplete) {
        // An incomplete head never keeps more than the limit (plus its line end).
        if (!p.idle() && !p.in_body() && buf.size() > limits.max_header_bytes + 2)
          violation = "an incomplete head kept more bytes than the limit";
        break;
      }
      if (r.status == http::ParseStatus::error) {
        log += "error " + std::to_string(p.error_status()) + " " + p.error_message() + "\n";
        if (p.error_status() < 400 || p.error_status() > 505) violation = "odd error status";
        stopped = true;
        break;
      }
      log += "request " + req.method + " " + req.target + " 1." +
             std::to_string(req.version_minor) + " keep=" + std::to_string(req.keep_alive);
      for (const auto& h : req.headers)
        log += " [" + h.name + ": " + h.value + "]";
      log += " body=" + req.body + "\n";
      if (req.headers.size() > limits.max_headers) violation = "more headers than the limit";
      if (req.body.size() > limits.max_body_bytes) violation = "body over the limit";
      if (req.method.empty() || req.target.empty()) violation = "an empty method or target";
      if (!req.keep_alive) {
        stopped = true;  // the server closes after this response
        log += "close\n";
        break;
      }
    }
  }
  if (!stopped) {
    // The input ended: where the parser is must not depend on the pieces.
    log += p.idle() ? "end: idle\n" : p.in_body() ? "end: in a body\n" : "end: in a head\n";
  }
  return log;
}

/// "" when the property holds; otherwise what went wrong.
inline std::string check_request_parser(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return "";
  const std::size_t step = static_cast<std::size_t>(data[0] >> 2) + 1;  // 1..64
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string v1, v2;
  std::string whole = run_request_parser(wire, wire.size() ? wire.size() : 1, v1);
  std::string pieces = run_request_parser(wire, step, v2);
  if (!v1.empty()) return "all at once: " + v1;
  if (!v2.empty()) return "in pieces of " + std::to_string(step) + ": " + v2;
  if (whole != pieces)
    return "the runs differ\n--- all at once:\n" + whole + "--- in pieces of " +
           std::to_string(step) + ":\n" + pieces;
  return "";
}

}  // namespace weft::fuzz
