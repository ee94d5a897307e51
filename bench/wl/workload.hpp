// The standard workloads (shared/bench/WORKLOADS.md) as weft runs them.
//
// Each workload lives in its own file and registers itself with
// WEFT_WORKLOAD(id, name, function); weft-wl prints one JSON line per workload:
//   {"workload":"spawn_many","impl":"weft","threads":2,"ops":1000000,
//    "seconds":0.123,"ns_per_op":123.0,"rss_kb":12345,"ok":true}
// plus workload-specific fields (p99_late_ms, bytes_per_task, ...).
#pragma once

#include <map>
#include <string>

namespace weft::wl {

struct Context {
  unsigned threads = 2;  ///< env THREADS
  double scale = 1.0;    ///< env SCALE: multiplies the op counts
  long scaled(long n) const {
    long v = static_cast<long>(static_cast<double>(n) * scale);
    return v < 1 ? 1 : v;
  }
};

struct Result {
  long ops = 0;
  double seconds = 0;
  bool ok = false;
  std::map<std::string, double> extra;  ///< extra numeric fields for the JSON line
  std::map<std::string, long> counts;   ///< extra integer fields (a tree's size, a result)
};

using Function = Result (*)(const Context&);

struct Registrar {
  Registrar(const char* id, const char* name, Function fn);
};

/// Peak resident set size of the process so far (getrusage ru_maxrss), in KiB.
long peak_rss_kb();
/// Current resident set size (from /proc/self/statm), in KiB.
long current_rss_kb();

}  // namespace weft::wl

#define WEFT_WL_CONCAT2(a, b) a##b
#define WEFT_WL_CONCAT(a, b) WEFT_WL_CONCAT2(a, b)
#define WEFT_WORKLOAD(id, name, fn) \
  static ::weft::wl::Registrar WEFT_WL_CONCAT(weft_wl_registrar_, __LINE__)(id, name, fn)
