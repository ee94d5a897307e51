// weft-crawl: the seed's AsyncCrawler as a command-line tool (weft::AsyncCrawler
// on weft::http::Client). `weft-crawl --help` documents every option;
// `weft-crawl --demo` crawls the embedded demo server, no network needed.
//
//   weft-crawl urls.txt                        # one URL per line, '#' comments
//   weft-crawl --concurrency 100 --timeout 2 --json - < urls.txt
//   weft-crawl --demo                          # the README's first command
//   weft-crawl --serve 127.0.0.1:8080          # only the demo server (benchmarks)
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weft/io.hpp"
#include "weft/weft.hpp"

using namespace std::chrono_literals;
namespace http = weft::http;

namespace {

constexpr const char* kHelp = R"(usage: weft-crawl [options] [FILE|-]
       weft-crawl --demo [options]
       weft-crawl --serve [HOST:PORT]

Fetches every URL of FILE (or standard input: '-' or no FILE), one per line;
empty lines and lines starting with '#' are skipped. Each URL gets a line of
output like the seed's crawler, in input order:
  ✅ URL: STATUS (BYTES bytes)
  ❌ URL: ERROR
then a summary: counts by status, errors by kind, latency percentiles (p50,
p95, p99 over every URL), bytes received and the total time. While it runs, a
progress bar (done/total, rate, errors) is drawn on stderr if stderr is a
terminal. Failed URLs are results, not failures: the exit code is 0 whenever
the crawl ran, 2 on usage errors (bad options, unreadable FILE), 1 if the
runtime failed.

Options
  -c, --concurrency N   fetches in flight at once (default 10; --demo: 20)
  -t, --timeout S       seconds each attempt of a URL may take in all:
                        connect, send, read (default 30; --demo: 5)
  -r, --retries N       retry after connect errors, 5xx and 429 answers, N
                        times, waiting 0.2 s, 0.4 s, ... doubling up to 10 s
                        (jittered: between half and all of it), or what the
                        answer's Retry-After asks when that is at most 10 s
                        (more: no retry) (default 0)
      --deadline S      seconds the whole URL may take, every attempt and
                        wait included (default: --timeout x (1 + --retries))
  -L, --follow-redirects
                        follow 301/302/303/307/308 (at most --max-redirects;
                        more is a too-many-redirects error). --demo follows.
      --max-redirects N redirects followed per URL (default 10)
  -k, --insecure        https: do not verify certificates (verification
                        against the system store is on by default)
      --json            one JSON object per URL on stdout instead of the
                        lines above: {"url", "status", "content_length",
                        "elapsed_ms", "error", "error_kind"}; status 0 and a
                        string error when the fetch failed, else error null.
                        The summary goes to stderr.
      --summary-json    print the summary as one JSON object on stdout
                        (last line): urls, seconds, status_counts,
                        error_kinds, latency_ms, bytes, rss_kb, concurrency
  -q, --quiet           no per-URL output (the summary only)
      --no-progress     never draw the progress bar
      --workers N       worker threads (default: the CPUs available)
      --demo            start the embedded httpbin-like server on 127.0.0.1
                        (a free port) and crawl a built-in list on it: the
                        seed's four URLs (/get, /delay/1, /status/404, a host
                        that does not resolve) and 300 more over /get,
                        /delay/S, /status/N, /bytes/N, /chunked/N,
                        /redirect/N. No network is needed. FILE is not read.
      --serve [ADDR]    only run the demo server on ADDR (default
                        127.0.0.1:8080) until SIGINT or SIGTERM
  -h, --help            this text

Error kinds: invalid-url, dns, connect-refused, connect, timeout, tls,
protocol, body-too-large, too-many-redirects, connection.
)";

struct Args {
  std::size_t concurrency = 10;
  double timeout_s = 30;
  double deadline_s = 0;  // 0: timeout x (1 + retries)
  int retries = 0;
  bool follow = false;
  int max_redirects = 10;
  bool insecure = false;
  bool json = false;
  bool summary_json = false;
  bool quiet = false;
  bool progress = true;
  unsigned workers = 0;
  bool demo = false;
  bool serve = false;
  std::string serve_addr = "127.0.0.1:8080";
  std::string file;  // "" or "-": standard input
  bool concurrency_set = false, timeout_set = false, follow_set = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "weft-crawl: %s (see weft-crawl --help)\n", msg.c_str());
  std::exit(2);
}

long parse_int(const std::string& opt, const char* v, long min, long max) {
  long n = 0;
  const char* end = v + std::strlen(v);
  auto r = std::from_chars(v, end, n);
  if (r.ec != std::errc() || r.ptr != end || n < min || n > max)
    usage_error(opt + " wants a whole number between " + std::to_string(min) + " and " +
                std::to_string(max) + ", not '" + v + "'");
  return n;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string o = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(o + " needs a value");
      return argv[++i];
    };
    if (o == "-h" || o == "--help") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    } else if (o == "-c" || o == "--concurrency") {
      a.concurrency = static_cast<std::size_t>(parse_int(o, value(), 1, 100000));
      a.concurrency_set = true;
    } else if (o == "-t" || o == "--timeout") {
      const char* v = value();
      char* end = nullptr;
      a.timeout_s = std::strtod(v, &end);
      if (*v == '\0' || *end != '\0' || !(a.timeout_s > 0 && a.timeout_s <= 86400))
        usage_error(o + " wants seconds (a number > 0), not '" + v + "'");
      a.timeout_set = true;
    } else if (o == "--deadline") {
      const char* v = value();
      char* end = nullptr;
      a.deadline_s = std::strtod(v, &end);
      if (*v == '\0' || *end != '\0' || !(a.deadline_s > 0 && a.deadline_s <= 86400 * 30))
        usage_error(o + " wants seconds (a number > 0), not '" + v + "'");
    } else if (o == "-r" || o == "--retries") {
      a.retries = static_cast<int>(parse_int(o, value(), 0, 100));
    } else if (o == "-L" || o == "--follow-redirects") {
      a.follow = true;
      a.follow_set = true;
    } else if (o == "--max-redirects") {
      a.max_redirects = static_cast<int>(parse_int(o, value(), 1, 1000));
    } else if (o == "-k" || o == "--insecure") {
      a.insecure = true;
    } else if (o == "--json") {
      a.json = true;
    } else if (o == "--summary-json") {
      a.summary_json = true;
    } else if (o == "-q" || o == "--quiet") {
      a.quiet = true;
    } else if (o == "--no-progress") {
      a.progress = false;
    } else if (o == "--workers") {
      a.workers = static_cast<unsigned>(parse_int(o, value(), 1, 1024));
    } else if (o == "--demo") {
      a.demo = true;
    } else if (o == "--serve") {
      a.serve = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') a.serve_addr = argv[++i];
    } else if (o.size() > 1 && o[0] == '-' && o != "-") {
      usage_error("unknown option " + o);
    } else {
      if (!a.file.empty()) usage_error("more than one FILE given");
      a.file = o;
    }
  }
  if (a.demo && a.serve) usage_error("--demo and --serve do not go together");
  if (a.demo && !a.file.empty()) usage_error("--demo crawls its own list; drop FILE");
  if (a.demo) {
    if (!a.concurrency_set) a.concurrency = 20;
    if (!a.timeout_set) a.timeout_s = 5;
    if (!a.follow_set) a.follow = true;
  }
  return a;
}

std::vector<std::string> read_urls(const std::string& file) {
  std::ifstream f;
  std::istream* in = &std::cin;
  if (!file.empty() && file != "-") {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
      usage_error("cannot read " + file + ": " + std::strerror(EISDIR));
    f.open(file);
    if (!f) usage_error("cannot read " + file + ": " + std::strerror(errno));
    in = &f;
  } else if (file.empty() && ::isatty(0)) {  // an explicit '-' reads the terminal
    usage_error("no FILE given and standard input is a terminal (give FILE, '-', or --demo)");
  }
  std::vector<std::string> urls;
  std::string line;
  while (std::getline(*in, line)) {
    std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    std::size_t e = line.find_last_not_of(" \t\r");
    urls.push_back(line.substr(b, e - b + 1));
  }
  if (in->bad()) usage_error("cannot read " + (in == &f ? file : std::string("standard input")));
  return urls;
}

// ---- output ----

/// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629:
/// no overlong forms, no surrogates, at most U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) > 0x9f)) return 0;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) > 0x8f)) return 0;
    return 4;
  }
  return 0;
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped,
/// well-formed UTF-8 kept, any other byte replaced by U+FFFD (so every line
/// is valid JSON whatever bytes the URL file or a server sent).
void json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (std::size_t n = utf8_sequence(s.substr(i)); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out.push_back('"');
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double ms(std::chrono::microseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}

void print_results(const std::vector<weft::FetchResult>& results, bool json) {
  std::string out;
  out.reserve(results.size() * 96);
  for (const auto& r : results) {
    if (json) {
      out += "{\"url\":";
      json_string(out, r.url);
      out += ",\"status\":" + std::to_string(r.status);
      out += ",\"content_length\":" + std::to_string(r.content_length);
      out += ",\"elapsed_ms\":" + fixed(ms(r.elapsed), 3);
      out += ",\"error\":";
      if (r.error)
        json_string(out, *r.error);
      else
        out += "null";
      out += ",\"error_kind\":";
      if (r.error)
        json_string(out, http::to_string(r.error_kind));
      else
        out += "null";
      out += "}\n";
    } else if (r.error) {
      out += "❌ " + r.url + ": " + *r.error + "\n";
    } else {
      out += "✅ " + r.url + ": " + std::to_string(r.status) + " (" +
             std::to_string(r.content_length) + " bytes)\n";
    }
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

struct Summary {
  std::size_t urls = 0;
  double seconds = 0;
  std::map<int, std::size_t> statuses;
  std::map<std::string, std::size_t> errors;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
  std::uint64_t bytes = 0;
  long rss_kb = 0;
};

Summary summarise(const std::vector<weft::FetchResult>& results, double seconds) {
  Summary s;
  s.urls = results.size();
  s.seconds = seconds;
  std::vector<double> lat;
  lat.reserve(results.size());
  for (const auto& r : results) {
    s.statuses[r.status]++;
    if (r.error) s.errors[std::string(http::to_string(r.error_kind))]++;
    s.bytes += r.content_length;
    lat.push_back(ms(r.elapsed));
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    if (lat.empty()) return 0.0;
    auto k = static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1) + 0.5);
    return lat[std::min(k, lat.size() - 1)];
  };
  s.p50 = pct(0.50);
  s.p95 = pct(0.95);
  s.p99 = pct(0.99);
  s.max = lat.empty() ? 0 : lat.back();
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  s.rss_kb = ru.ru_maxrss;
  return s;
}

std::string bytes_text(std::uint64_t b) {
  if (b >= 1024 * 1024) return fixed(static_cast<double>(b) / (1024.0 * 1024.0), 2) + " MiB";
  if (b >= 1024) return fixed(static_cast<double>(b) / 1024.0, 1) + " KiB";
  return std::to_string(b) + " bytes";
}

void print_summary(FILE* to, const Summary& s, std::size_t concurrency) {
  std::string out = "--- weft-crawl: " + std::to_string(s.urls) + " URLs in " +
                    fixed(s.seconds, 2) + " s (" +
                    fixed(s.seconds > 0 ? static_cast<double>(s.urls) / s.seconds : 0, 1) +
                    " URLs/s), concurrency " + std::to_string(concurrency) + "\n";
  out += "status:   ";
  bool first = true;
  for (auto [code, n] : s.statuses) {
    if (code == 0) continue;
    out += (first ? "" : ", ") + std::to_string(code) + " x " + std::to_string(n);
    first = false;
  }
  out += first ? "(none)\n" : "\n";
  out += "errors:   ";
  first = true;
  for (const auto& [kind, n] : s.errors) {
    out += (first ? "" : ", ") + kind + " x " + std::to_string(n);
    first = false;
  }
  out += first ? "none\n" : "\n";
  out += "latency:  p50 " + fixed(s.p50, 1) + " ms, p95 " + fixed(s.p95, 1) + " ms, p99 " +
         fixed(s.p99, 1) + " ms, max " + fixed(s.max, 1) + " ms\n";
  out += "received: " + bytes_text(s.bytes) + "\n";
  std::fputs(out.c_str(), to);
}

void print_summary_json(const Summary& s, std::size_t concurrency, unsigned workers) {
  std::string out = "{\"urls\":" + std::to_string(s.urls) + ",\"seconds\":" + fixed(s.seconds, 6);
  out += ",\"status_counts\":{";
  bool first = true;
  for (auto [code, n] : s.statuses) {
    out += (first ? "\"" : ",\"") + std::to_string(code) + "\":" + std::to_string(n);
    first = false;
  }
  out += "},\"error_kinds\":{";
  first = true;
  for (const auto& [kind, n] : s.errors) {
    out += (first ? "\"" : ",\"") + kind + "\":" + std::to_string(n);
    first = false;
  }
  out += "},\"latency_ms\":{\"p50\":" + fixed(s.p50, 3) + ",\"p95\":" + fixed(s.p95, 3) +
         ",\"p99\":" + fixed(s.p99, 3) + ",\"max\":" + fixed(s.max, 3) + "}";
  out += ",\"bytes\":" + std::to_string(s.bytes) + ",\"rss_kb\":" + std::to_string(s.rss_kb);
  out += ",\"concurrency\":" + std::to_string(concurrency) +
         ",\"workers\":" + std::to_string(workers) + "}\n";
  std::fputs(out.c_str(), stdout);
}

// ---- progress bar (stderr, terminals only) ----

struct Progress {
  std::size_t total = 0;
  std::atomic<std::size_t> done{0};
  std::atomic<std::size_t> errors{0};
  weft::Clock::time_point start = weft::Clock::now();

  void draw() const {
    // relaxed: a display value; any recent count will do.
    std::size_t d = done.load(std::memory_order_relaxed);
    std::size_t e = errors.load(std::memory_order_relaxed);
    constexpr int kWidth = 30;
    int filled = total ? static_cast<int>(kWidth * d / total) : kWidth;
    double secs = std::chrono::duration<double>(weft::Clock::now() - start).count();
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '-');
    std::fprintf(stderr, "\r[%s] %zu/%zu  %.1f/s  errors %zu\033[K", bar.c_str(), d, total,
                 secs > 0 ? static_cast<double>(d) / secs : 0.0, e);
    std::fflush(stderr);
  }
};

weft::Task<void> draw_progress(Progress* p) {
  for (;;) {
    co_await weft::sleep(100ms);
    p->draw();
  }
}

// ---- the crawl ----

weft::Task<int> crawl(const Args& a, std::vector<std::string> urls, http::DemoServer* demo) {
  Progress progress;
  progress.total = urls.size();
  const bool bar = a.progress && ::isatty(2);
  weft::CrawlerOptions o;
  o.max_concurrent = a.concurrency;
  o.timeout =
      std::chrono::duration_cast<weft::Clock::duration>(std::chrono::duration<double>(a.timeout_s));
  o.retries = a.retries;
  if (a.deadline_s > 0)
    o.deadline = std::chrono::duration_cast<weft::Clock::duration>(
        std::chrono::duration<double>(a.deadline_s));
  o.follow_redirects = a.follow;
  o.max_redirects = a.max_redirects;
  o.verify_tls = !a.insecure;
  o.on_result = [&progress](const weft::FetchResult& r) {
    // relaxed: counters for the display only.
    progress.done.fetch_add(1, std::memory_order_relaxed);
    if (r.error) progress.errors.fetch_add(1, std::memory_order_relaxed);
  };
  weft::AsyncCrawler crawler(std::move(o));

  weft::JoinHandle<void> drawer;
  if (bar) drawer = weft::spawn(draw_progress(&progress), "progress bar");
  const auto start = weft::Clock::now();
  std::vector<weft::FetchResult> results = co_await crawler.crawl(std::move(urls));
  const double seconds = std::chrono::duration<double>(weft::Clock::now() - start).count();
  if (bar) {
    drawer.cancel();
    try {
      co_await drawer;
    } catch (const weft::CancelledError&) {
    }
    progress.draw();
    std::fputs("\n", stderr);
  }
  if (demo) demo->stop();

  if (!a.quiet) print_results(results, a.json);
  Summary s = summarise(results, seconds);
  unsigned workers = weft::Runtime::current().workers();
  if (!a.summary_json || a.json) print_summary(a.json ? stderr : stdout, s, a.concurrency);
  if (a.summary_json) {
    std::fflush(stdout);
    print_summary_json(s, a.concurrency, workers);
  }
  co_return 0;
}

weft::Task<int> run_demo(const Args& a) {
  http::DemoServer demo;
  demo.listen();
  weft::JoinHandle<void> serving = weft::spawn(demo.serve(), "demo server");
  std::vector<std::string> urls = http::DemoServer::demo_urls(demo.base_url());
  std::fprintf(stderr,
               "weft-crawl --demo: the embedded demo server (weft::http::DemoServer) listens on "
               "%s/; crawling %zu URLs, %zu at a time\n",
               demo.base_url().c_str(), urls.size(), a.concurrency);
  int rc = co_await crawl(a, std::move(urls), &demo);
  demo.stop();
  co_await serving;
  co_return rc;
}

// ---- --serve: the demo server alone, stopped by SIGINT / SIGTERM ----

weft::Task<int> run_server(std::string addr) {
  // Shared with the signal handlers, which may still run while serve() returns.
  auto demo = std::make_shared<http::DemoServer>();
  weft::io::SocketAddress where = weft::io::SocketAddress::parse(addr);
  demo->listen(where);
  std::fprintf(stderr, "weft-crawl --serve: demo server on %s/ (SIGINT or SIGTERM stops it)\n",
               demo->base_url().c_str());
  auto stop = [demo] { demo->stop(); };  // a signal during start-up stops it at once
  weft::io::add_signal_handler(SIGINT, stop);
  weft::io::add_signal_handler(SIGTERM, stop);
  co_await demo->serve();
  weft::io::remove_signal_handler(SIGINT);
  weft::io::remove_signal_handler(SIGTERM);
  co_return 0;
}

int serve_main(const Args& a) {
  int rc = 0;
  try {
    weft::RunOptions ro;
    ro.workers = a.workers ? a.workers : 1;
    rc = weft::run(run_server(a.serve_addr), ro);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "weft-crawl: --serve: %s\n", e.what());
    rc = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-crawl: --serve: %s\n", e.what());
    rc = 1;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread starts: with --serve, a SIGINT/SIGTERM that comes
  // before the handlers are installed waits for them (weft/io/signal.hpp).
  weft::io::block_signals({SIGINT, SIGTERM});
  Args a = parse_args(argc, argv);
  if (a.serve) return serve_main(a);
  // A crawl installs no handler: give the signals their default action back
  // (one that came meanwhile is delivered now).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  std::vector<std::string> urls;
  if (!a.demo) urls = read_urls(a.file);
  try {
    weft::RunOptions ro;
    ro.workers = a.workers;
    if (a.demo) return weft::run(run_demo(a), ro);
    return weft::run(crawl(a, std::move(urls), nullptr), ro);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-crawl: %s\n", e.what());
    return 1;
  }
}
