// The response parser's fuzz property, shared by the libFuzzer target
// (response_parser_fuzz.cpp, built by tools/fuzz.sh) and the gtest that
// replays the seed corpus and every regression input
// (tests/io/response_parser_test.cpp).
//
// Input: one flags byte, then the bytes a server sends. The bytes are parsed
// as a client would (pipelined responses on a keep-alive connection, then the
// end of the stream) twice: all at once, and in pieces of 1-64 bytes chosen
// by the flags. Both runs must see exactly the same responses and the same
// final outcome; every ParseResult must stay within its input, and every
// response must respect the limits and its own framing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/response_parser.hpp"

namespace weft::fuzz {

/// What a run saw, as text (compared between the two runs).
inline std::string run_response_parser(std::string_view wire, bool head_request, bool keep_body,
                                       std::size_t step, std::string& violation) {
  http::ResponseLimits limits;
  limits.max_header_bytes = 512;  // small limits, so that the fuzzer reaches them
  limits.max_headers = 16;
  limits.max_body_bytes = 4096;
  http::ResponseParser p(limits);
  p.reset(head_request);
  http::ResponseHead head;
  std::string body, buf, log;
  bool stopped = false;
  auto record = [&](const char* what) {
    log += what;
    log += " status=" + std::to_string(head.status) + " v=1." + std::to_string(head.version_minor);
    log += " reason=" + head.reason + " framing=" + std::to_string(static_cast<int>(head.framing));
    log += " keep=" + std::to_string(head.keep_alive) + " n=" + std::to_string(p.body_bytes());
    for (const auto& h : head.headers)
      log += " [" + h.name + ": " + h.value + "]";
    if (keep_body) log += " body=" + body;
    log += "\n";
    if (head.headers.size() > limits.max_headers) violation = "more headers than the limit";
    if (p.body_bytes() > limits.max_body_bytes) violation = "body over the limit";
    if (keep_body && body.size() != p.body_bytes()) violation = "body size != body_bytes()";
    if (head.framing == http::BodyFraming::content_length &&
        p.body_bytes() != head.content_length && std::string_view(what) == "response")
      violation = "Content-Length body of the wrong size";
  };
  auto fail_log = [&]() {
    // The excerpt depends on how much has arrived; the kind and message do not.
    log += "error " + std::to_string(static_cast<int>(p.error())) + " " + p.error_message() + "\n";
    if (p.excerpt().size() > 48 * 4 + 3) violation = "excerpt too long";
    stopped = true;
  };
  for (std::size_t at = 0; at < wire.size() && !stopped; at += step) {
    buf.append(wire.substr(at, step));
    for (;;) {
      http::ParseResult r = p.parse(buf, head, body);
      if (r.consumed > buf.size()) {
        violation = "consumed more than the input";
        return log;
      }
      buf.erase(0, r.consumed);
      if (!keep_body) body.clear();
      if (r.status == http::ParseStatus::incomplete) break;
      if (r.status == http::ParseStatus::error) {
        fail_log();
        break;
      }
      record("response");
      if (!head.keep_alive) {
        stopped = true;
        log += "not reusable: the client closes\n";  // what is left depends on arrival
        break;
      }
      p.reset(head_request);
      body.clear();
    }
  }
  if (!stopped) {
    // Whatever stays unconsumed: an incomplete head never grows past the limit.
    if (!p.head_done() && buf.size() > limits.max_header_bytes + 2 && !p.idle())
      violation = "an incomplete head kept more bytes than the limit";
    http::ParseStatus s = p.finish(head, body);
    if (s == http::ParseStatus::complete) {
      record("eof-complete");
    } else {
      fail_log();
    }
  }
  return log;
}

/// "" when the property holds; otherwise what went wrong.
inline std::string check_response_parser(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return "";
  const std::uint8_t flags = data[0];
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool head_request = flags & 1;
  const bool keep_body = !(flags & 2);
  const std::size_t step = static_cast<std::size_t>(flags >> 2) + 1;  // 1..64
  std::string v1, v2;
  std::string whole =
      run_response_parser(wire, head_request, keep_body, wire.size() ? wire.size() : 1, v1);
  std::string pieces = run_response_parser(wire, head_request, keep_body, step, v2);
  if (!v1.empty()) return "all at once: " + v1;
  if (!v2.empty()) return "in pieces of " + std::to_string(step) + ": " + v2;
  if (whole != pieces)
    return "the runs differ\n--- all at once:\n" + whole + "--- in pieces of " +
           std::to_string(step) + ":\n" + pieces;
  return "";
}

}  // namespace weft::fuzz
