// The chunked decoder's fuzz property, shared by the libFuzzer target
// (chunked_fuzz.cpp, built by tools/fuzz.sh) and the gtest that replays the
// seed corpus and every regression input (tests/io/http_parser_test.cpp).
//
// Input: one flags byte, then a chunked body (and whatever follows it). It is
// decoded twice: all at once, and in pieces of 1-64 bytes chosen by the
// flags. Both runs must end the same way (complete with the same body and
// the same bytes consumed, or the same error status and message, or
// incomplete); no call may consume more than it was given, the body never
// passes the limit, and a finished decoder consumes nothing more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/chunked.hpp"

namespace weft::fuzz {

inline std::string run_chunked(std::string_view wire, std::size_t step, std::string& violation) {
  constexpr std::uint64_t kMaxBody = 1024;
  http::ChunkedDecoder d(kMaxBody);
  std::string body;
  std::size_t used = 0;  // bytes of `wire` consumed
  http::ParseStatus last = http::ParseStatus::incomplete;
  std::string pending;  // offered but not consumed (the decoder takes bytes as they come)
  for (std::size_t at = 0; at < wire.size() && last == http::ParseStatus::incomplete; at += step) {
    pending.append(wire.substr(at, step));
    http::ParseResult r = d.feed(pending, body);
    if (r.consumed > pending.size()) {
      violation = "consumed more than the input";
      return "";
    }
    used += r.consumed;
    pending.erase(0, r.consumed);
    last = r.status;
    if (body.size() > kMaxBody) violation = "body over the limit";
  }
  std::string log;
  switch (last) {
    case http::ParseStatus::complete: {
      std::string more;
      if (d.feed("0\r\n\r\n", more).consumed != 0 || !more.empty())
        violation = "a finished decoder consumed more";
      log = "complete after " + std::to_string(used) + " bytes, body=" + body;
      break;
    }
    case http::ParseStatus::error:
      // Where an error is noticed may differ by a few bytes with the pieces;
      // the status and the message may not.
      log = "error " + std::to_string(d.error_status()) + " " + d.error_message();
      if (d.error_status() != 400 && d.error_status() != 413 && d.error_status() != 431)
        violation = "odd error status";
      break;
    case http::ParseStatus::incomplete:
      log = "incomplete, body=" + body;
      break;
  }
  return log;
}

/// "" when the property holds; otherwise what went wrong.
inline std::string check_chunked(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return "";
  const std::size_t step = static_cast<std::size_t>(data[0] >> 2) + 1;  // 1..64
  std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string v1, v2;
  std::string whole = run_chunked(wire, wire.size() ? wire.size() : 1, v1);
  std::string pieces = run_chunked(wire, step, v2);
  if (!v1.empty()) return "all at once: " + v1;
  if (!v2.empty()) return "in pieces of " + std::to_string(step) + ": " + v2;
  if (whole != pieces)
    return "the runs differ\n--- all at once:\n" + whole + "\n--- in pieces of " +
           std::to_string(step) + ":\n" + pieces;
  return "";
}

}  // namespace weft::fuzz
