// Back-off and Retry-After (see weft/http/retry.hpp).
#include "weft/http/retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <ctime>

#include "weft/http/syntax.hpp"

namespace weft::http {

Clock::duration Backoff::wait(int retry, double jitter) const noexcept {
  const Clock::duration ceiling = std::max(max, Clock::duration::zero());
  Clock::duration w = std::min(std::max(base, Clock::duration::zero()), ceiling);
  // Doubling until the ceiling: at most 63 steps whatever `retry` is.
  for (int i = 0; i < retry && w < ceiling; ++i)
    w = w > ceiling / 2 ? ceiling : w * 2;
  if (!(jitter >= 0.0)) jitter = 0.0;  // NaN too
  if (jitter >= 1.0) jitter = 1.0;
  return std::chrono::duration_cast<Clock::duration>(w * (1.0 - jitter / 2.0));
}

namespace {

bool digits(std::string_view s, int n, int& out) {
  if (s.size() < static_cast<std::size_t>(n)) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    if (s[static_cast<std::size_t>(i)] < '0' || s[static_cast<std::size_t>(i)] > '9') return false;
    v = v * 10 + (s[static_cast<std::size_t>(i)] - '0');
  }
  out = v;
  return true;
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (kMonths[static_cast<std::size_t>(i)] == m) return i;
  return -1;
}

bool day_name(std::string_view d, bool long_form) {
  static constexpr std::array<std::string_view, 7> kShort = {"Mon", "Tue", "Wed", "Thu",
                                                             "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> kLong = {
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  for (std::size_t i = 0; i < 7; ++i)
    if ((long_form ? kLong[i] : kShort[i]) == d) return true;
  return false;
}

/// "HH:MM:SS" at the start of `s`.
bool time_of_day(std::string_view s, std::tm& tm) {
  return s.size() >= 8 && digits(s, 2, tm.tm_hour) && s[2] == ':' &&
         digits(s.substr(3), 2, tm.tm_min) && s[5] == ':' && digits(s.substr(6), 2, tm.tm_sec) &&
         tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec <= 60;
}

/// One of the three HTTP-date formats, as UTC.
bool parse_http_date(std::string_view s, std::tm& tm) {
  tm = {};
  std::size_t comma = s.find(',');
  if (comma == 3 || comma == std::string_view::npos) {
    if (comma == 3) {
      // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      if (!day_name(s.substr(0, 3), false) || s.size() != 29 || s[4] != ' ') return false;
      std::string_view r = s.substr(5);
      if (!digits(r, 2, tm.tm_mday) || r[2] != ' ') return false;
      tm.tm_mon = month_index(r.substr(3, 3));
      if (tm.tm_mon < 0 || r[6] != ' ' || !digits(r.substr(7), 4, tm.tm_year) || r[11] != ' ')
        return false;
      tm.tm_year -= 1900;
      return time_of_day(r.substr(12), tm) && r.substr(20) == " GMT";
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    if (s.size() != 24 || !day_name(s.substr(0, 3), false) || s[3] != ' ') return false;
    tm.tm_mon = month_index(s.substr(4, 3));
    if (tm.tm_mon < 0 || s[7] != ' ') return false;
    std::string_view day = s.substr(8, 2);
    if (day[0] == ' ') {
      if (!digits(day.substr(1), 1, tm.tm_mday)) return false;
    } else if (!digits(day, 2, tm.tm_mday)) {
      return false;
    }
    if (s[10] != ' ' || !time_of_day(s.substr(11), tm) || s[19] != ' ' ||
        !digits(s.substr(20), 4, tm.tm_year))
      return false;
    tm.tm_year -= 1900;
    return true;
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year: RFC 9110
  // 5.6.7 reads one more than 50 years ahead as the past century's).
  if (!day_name(s.substr(0, comma), true)) return false;
  std::string_view r = s.substr(comma + 1);
  if (r.size() != 23 || r[0] != ' ' || !digits(r.substr(1), 2, tm.tm_mday) || r[3] != '-')
    return false;
  tm.tm_mon = month_index(r.substr(4, 3));
  int yy = 0;
  if (tm.tm_mon < 0 || r[7] != '-' || !digits(r.substr(8), 2, yy) || r[10] != ' ') return false;
  tm.tm_year = yy + 100;  // 20yy, years since 1900
  if (!time_of_day(r.substr(11), tm) || r.substr(19) != " GMT") return false;
  std::time_t now = std::time(nullptr);
  std::tm now_tm{};
  gmtime_r(&now, &now_tm);
  if (tm.tm_year > now_tm.tm_year + 50) tm.tm_year -= 100;
  return true;
}

}  // namespace

std::optional<Clock::duration> parse_retry_after(std::string_view value,
                                                 std::chrono::system_clock::time_point now) {
  value = syntax::trim_ows(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delay-seconds; anything past a year is a year (no overflow).
    constexpr std::int64_t kYear = 365LL * 24 * 3600;
    std::int64_t secs = 0;
    for (char c : value) {
      secs = secs * 10 + (c - '0');
      if (secs > kYear) {
        secs = kYear;
        break;
      }
    }
    return std::chrono::seconds(secs);
  }
  std::tm tm{};
  if (!parse_http_date(value, tm) || tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
  const std::time_t when = timegm(&tm);
  if (when == static_cast<std::time_t>(-1)) return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(when);
  if (at <= now) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(at - now);
}

}  // namespace weft::http
