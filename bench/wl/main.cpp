// weft-wl: runs the standard workloads and prints one JSON line per workload.
//
//   weft-wl all                 W1-W10 (and W8b, W9b) and W13-W15
//   weft-wl skynet_newest       a comparison form (id X..., not part of `all`)
//   weft-wl fib spawn_many      by name
//   weft-wl W1 W5               by id
// Env: THREADS (worker threads, default 2), SCALE (op-count factor, default 1).
// Only JSON goes to stdout; diagnostics go to stderr.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "workload.hpp"

namespace weft::wl {
namespace {

struct Entry {
  std::string id;
  std::string name;
  Function fn;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}

// Workload ids sort as W1 < W2 < ... < W8 < W8b < W9 < W9b < W10.
bool id_less(const std::string& a, const std::string& b) {
  long na = std::strtol(a.c_str() + 1, nullptr, 10);
  long nb = std::strtol(b.c_str() + 1, nullptr, 10);
  if (na != nb) return na < nb;
  return a < b;
}

void print(const Entry& e, const Context& ctx, const Result& r) {
  double ns = r.ops > 0 ? r.seconds * 1e9 / static_cast<double>(r.ops) : 0.0;
  std::printf(
      "{\"workload\":\"%s\",\"impl\":\"weft\",\"threads\":%u,\"ops\":%ld,\"seconds\":%.6f,"
      "\"ns_per_op\":%.2f,\"rss_kb\":%ld,\"ok\":%s",
      e.name.c_str(), ctx.threads, r.ops, r.seconds, ns, peak_rss_kb(), r.ok ? "true" : "false");
  for (auto& [k, v] : r.extra)
    std::printf(",\"%s\":%.3f", k.c_str(), v);
  for (auto& [k, v] : r.counts)
    std::printf(",\"%s\":%ld", k.c_str(), v);
  std::printf("}\n");
  std::fflush(stdout);
}

int usage() {
  std::fprintf(stderr, "usage: weft-wl all | WORKLOAD...\nworkloads:\n");
  for (auto& e : registry())
    std::fprintf(stderr, "  %-4s %s\n", e.id.c_str(), e.name.c_str());
  return 2;
}

}  // namespace

Registrar::Registrar(const char* id, const char* name, Function fn) {
  registry().push_back({id, name, fn});
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long current_rss_kb() {
  std::ifstream f("/proc/self/statm");
  long size = 0, resident = 0;
  f >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace weft::wl

int main(int argc, char** argv) {
  using namespace weft::wl;
  auto& reg = registry();
  std::sort(reg.begin(), reg.end(),
            [](const Entry& a, const Entry& b) { return id_less(a.id, b.id); });
  Context ctx;
  if (const char* t = std::getenv("THREADS")) ctx.threads = static_cast<unsigned>(std::atoi(t));
  if (ctx.threads == 0) ctx.threads = 2;
  if (const char* s = std::getenv("SCALE")) ctx.scale = std::atof(s);
  if (!(ctx.scale > 0)) ctx.scale = 1.0;
  if (argc < 2) return usage();
  std::vector<const Entry*> chosen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "all") {
      for (auto& e : reg)
        if (e.id[0] == 'W') chosen.push_back(&e);
      continue;
    }
    if (arg == "-h" || arg == "--help") return usage(), 0;
    const Entry* found = nullptr;
    for (auto& e : reg)
      if (e.name == arg || e.id == arg) found = &e;
    if (!found) {
      std::fprintf(stderr, "weft-wl: unknown workload '%s'\n", arg.c_str());
      return usage();
    }
    chosen.push_back(found);
  }
  bool all_ok = true;
  for (const Entry* e : chosen) {
    Result r = e->fn(ctx);
    all_ok = all_ok && r.ok;
    print(*e, ctx, r);
  }
  return all_ok ? 0 : 1;
}
