// Retry timing for HTTP clients: an exponential back-off with a ceiling and
// jitter, and the Retry-After field (RFC 9110 10.2.3). The crawler
// (weft/crawler.hpp) waits by them between attempts.
//
//   weft::http::Backoff b{.base = 200ms, .max = 10s};
//   auto wait = b.wait(retry, jitter);   // retry 0, 1, 2...: 200 ms, 400 ms, ... 10 s
//   if (auto ra = weft::http::parse_retry_after("120", std::chrono::system_clock::now())) ...
//
// Pure functions: thread-safe, no allocation, O(1) / O(length of the value).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "weft/time.hpp"

namespace weft::http {

struct Backoff {
  /// The wait before the first retry.
  Clock::duration base = std::chrono::milliseconds(200);
  /// No wait is longer than this.
  Clock::duration max = std::chrono::seconds(10);

  /// The wait before retry `retry` (0: the first): min(max, base x 2^retry),
  /// scaled by (1 - jitter / 2), so that jitter in [0, 1) gives between half
  /// and all of it ("equal jitter": clients that failed together do not
  /// retry together, and none waits less than half its share). Never
  /// overflows, whatever `retry` is; a negative retry counts as 0.
  Clock::duration wait(int retry, double jitter) const noexcept;
};

/// The wait a Retry-After value asks for, counted from `now`: delay-seconds
/// (1*DIGIT), or an HTTP-date in any of RFC 9110's three formats
/// (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
/// "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6 08:49:37 1994"); a
/// date in the past gives 0. nullopt when the value is neither.
std::optional<Clock::duration> parse_retry_after(std::string_view value,
                                                 std::chrono::system_clock::time_point now);

}  // namespace weft::http
