// weft-crawl's command-line behaviour, on the built program (its path comes
// from the environment variable WEFT_CRAWL_BIN, set by CTest): --help, usage
// errors (exit 2, one line on stderr), URLs from a FILE and from standard
// input ('#' comments and blank lines skipped), the seed-style human output
// and the summary, --json lines that are valid JSON whatever bytes the URLs
// hold, the progress bar only when stderr is a terminal (a pseudo-terminal
// here), exit 0 for a crawl with failed URLs, --demo, and --serve stopped by
// SIGTERM (also one that arrives during start-up).
//
// The URLs point at a weft::http::DemoServer run by this test process on
// 127.0.0.1 (its own runtime on a thread), plus a port nobody listens on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "weft/io.hpp"
#include "weft/weft.hpp"
#include "weft_test.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;

// ---- running the program ----

struct Result {
  int rc = -1;
  std::string out, err;
};

std::string crawl_bin() {
  const char* p = std::getenv("WEFT_CRAWL_BIN");
  return p ? p : "";
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

/// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "weft-crawl-test-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  fs::path path_;
};

struct RunSpec {
  std::vector<std::string> args;
  std::string input;        ///< standard input (a file)
  bool stderr_tty = false;  ///< stderr on a pseudo-terminal (captured in Result::err)
  bool stdin_tty = false;   ///< standard input on the same pseudo-terminal
};

/// Runs weft-crawl with `spec`, waits for it, returns its exit code and
/// output. stdout and stderr go to files (or stderr to a pseudo-terminal
/// whose master side a thread drains).
Result run_crawl(const RunSpec& spec) {
  TempDir dir;
  const fs::path in = dir.write("stdin", spec.input);
  const fs::path out = dir.path() / "stdout";
  const fs::path err = dir.path() / "stderr";
  std::vector<std::string> argv_s = {crawl_bin()};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int master = -1, slave = -1;
  std::string slave_name;
  const bool pty = spec.stderr_tty || spec.stdin_tty;
  if (pty) {
    master = ::posix_openpt(O_RDWR | O_NOCTTY);
    EXPECT_GE(master, 0) << std::strerror(errno);
    EXPECT_EQ(::grantpt(master), 0);
    EXPECT_EQ(::unlockpt(master), 0);
    slave_name = ::ptsname(master);
    // Held open by this process until the child has exited, so that nothing
    // it wrote is dropped when its side closes.
    slave = ::open(slave_name.c_str(), O_RDWR | O_NOCTTY);
    EXPECT_GE(slave, 0) << std::strerror(errno);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, spec.stdin_tty ? slave_name.c_str() : in.c_str(),
                                   spec.stdin_tty ? O_RDWR | O_NOCTTY : O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(
      &fa, 2, spec.stderr_tty ? slave_name.c_str() : err.c_str(),
      spec.stderr_tty ? O_RDWR | O_NOCTTY : O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (pty) posix_spawn_file_actions_addclose(&fa, master);
  if (pty) posix_spawn_file_actions_addclose(&fa, slave);
  pid_t pid = 0;
  int e = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  Result r;
  if (e != 0) {
    ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(e);
    if (pty) ::close(master), ::close(slave);
    return r;
  }
  std::string tty_text;
  std::thread drain;
  if (pty) {
    drain = std::thread([master, &tty_text] {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n > 0) {
          tty_text.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;  // EIO: every slave descriptor is closed
      }
    });
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (pty) {
    ::close(slave);
    drain.join();
    ::close(master);
  }
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = spec.stderr_tty ? tty_text : slurp(err);
  return r;
}

Result run_args(std::vector<std::string> args, std::string input = "") {
  RunSpec s;
  s.args = std::move(args);
  s.input = std::move(input);
  return run_crawl(s);
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream s(text);
  std::string l;
  while (std::getline(s, l))
    v.push_back(l);
  return v;
}

bool starts_with(const std::string& s, std::string_view p) {
  return s.compare(0, p.size(), p) == 0;
}

bool contains(const std::string& s, std::string_view p) {
  return s.find(p) != std::string::npos;
}

// ---- a strict JSON reader (RFC 8259) for the --json lines ----

struct Json {
  enum Type { null, boolean, number, string, array, object } type = null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> fields;
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view t) : t_(t) {}

  /// The value `t` holds, or an error (what()) for anything not JSON.
  Json document() {
    Json v = value();
    ws();
    if (i_ != t_.size()) fail("trailing bytes");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) {
    throw std::runtime_error("invalid JSON at byte " + std::to_string(i_) + ": " + why);
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(std::string_view lit) {
    if (t_.substr(i_, lit.size()) != lit) return false;
    i_ += lit.size();
    return true;
  }
  Json value() {
    ws();
    if (i_ >= t_.size()) fail("value expected");
    Json v;
    char c = t_[i_];
    if (c == '{') {
      v.type = Json::object;
      ++i_;
      ws();
      if (eat("}")) return v;
      for (;;) {
        ws();
        if (i_ >= t_.size() || t_[i_] != '"') fail("member name expected");
        std::string name = string();
        ws();
        if (!eat(":")) fail("':' expected");
        if (v.fields.count(name)) fail("duplicate member " + name);
        v.fields[name] = value();
        ws();
        if (eat("}")) return v;
        if (!eat(",")) fail("',' or '}' expected");
      }
    }
    if (c == '[') {
      v.type = Json::array;
      ++i_;
      ws();
      if (eat("]")) return v;
      for (;;) {
        v.items.push_back(value());
        ws();
        if (eat("]")) return v;
        if (!eat(",")) fail("',' or ']' expected");
      }
    }
    if (c == '"') {
      v.type = Json::string;
      v.str = string();
      return v;
    }
    if (eat("true") || eat("false")) {
      v.type = Json::boolean;
      v.b = t_[i_ - 1] == 'e' && t_[i_ - 2] == 'u';
      return v;
    }
    if (eat("null")) return v;
    v.type = Json::number;
    v.num = number();
    return v;
  }
  double number() {
    std::size_t s = i_;
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    auto digits = [&] {
      std::size_t d = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9')
        ++i_;
      return i_ - d;
    };
    std::size_t int_start = i_;
    if (digits() == 0) fail("number expected");
    if (t_[int_start] == '0' && i_ - int_start > 1) fail("leading zero");
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (digits() == 0) fail("digits expected after '.'");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (digits() == 0) fail("exponent expected");
    }
    return std::stod(std::string(t_.substr(s, i_ - s)));
  }
  unsigned hex4() {
    if (i_ + 4 > t_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char h = t_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<unsigned>(h - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }
  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  /// A string (at its opening quote); raw bytes must be well-formed UTF-8.
  std::string string() {
    ++i_;
    std::string out;
    for (;;) {
      if (i_ >= t_.size()) fail("unterminated string");
      auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) fail("raw control character in a string");
      if (c == '\\') {
        ++i_;
        if (i_ >= t_.size()) fail("unterminated escape");
        char e = t_[i_++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out.push_back(e);
            break;
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'u': {
            unsigned cp = hex4();
            if (cp >= 0xd800 && cp <= 0xdbff) {
              if (!eat("\\u")) fail("lone high surrogate");
              unsigned lo = hex4();
              if (lo < 0xdc00 || lo > 0xdfff) fail("bad low surrogate");
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
              fail("lone low surrogate");
            }
            put_utf8(out, cp);
            break;
          }
          default:
            fail("bad escape");
        }
        continue;
      }
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++i_;
        continue;
      }
      // Well-formed UTF-8 only (RFC 3629).
      std::size_t n = c >= 0xc2 && c <= 0xdf   ? 2
                      : c >= 0xe0 && c <= 0xef ? 3
                      : c >= 0xf0 && c <= 0xf4 ? 4
                                               : 0;
      if (n == 0 || i_ + n > t_.size()) fail("invalid UTF-8");
      auto b1 = static_cast<unsigned char>(t_[i_ + 1]);
      if ((c == 0xe0 && b1 < 0xa0) || (c == 0xed && b1 > 0x9f) || (c == 0xf0 && b1 < 0x90) ||
          (c == 0xf4 && b1 > 0x8f))
        fail("invalid UTF-8");
      for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(t_[i_ + k]) & 0xc0) != 0x80) fail("invalid UTF-8");
      out.append(t_.substr(i_, n));
      i_ += n;
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

Json parse_json(const std::string& line) {
  return JsonReader(line).document();
}

// ---- the demo server, on its own runtime ----

class DemoThread {
 public:
  DemoThread() {
    std::promise<std::string> ready;
    std::future<std::string> base = ready.get_future();
    thread_ = std::thread([this, &ready] {
      weft::RunOptions ro;
      ro.workers = 2;
      weft::run(serve(this, &ready), ro);
    });
    base_ = base.get();
  }
  ~DemoThread() {
    {
      // The server (and its runtime) live until stop() has returned: serve()
      // can return, and the runtime end, while stop() is still closing.
      std::lock_guard<std::mutex> lock(mu_);
      server_->stop();  // set before `ready`: visible here through the future
    }
    thread_.join();
  }
  const std::string& base() const { return base_; }

 private:
  static weft::Task<void> serve(DemoThread* self, std::promise<std::string>* ready) {
    weft::http::DemoServer demo;
    demo.listen();
    self->server_ = &demo;
    ready->set_value(demo.base_url());
    co_await demo.serve();
    std::lock_guard<std::mutex> lock(self->mu_);  // stop() has returned
  }

  std::mutex mu_;
  std::thread thread_;
  weft::http::DemoServer* server_ = nullptr;
  std::string base_;
};

/// A loopback port with no listener (bound, then closed).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

class WeftCrawl : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(crawl_bin().empty()) << "WEFT_CRAWL_BIN is not set (CTest sets it)";
    ASSERT_TRUE(fs::exists(crawl_bin())) << crawl_bin();
  }
  weft::test::Watchdog watchdog_{std::chrono::seconds(240)};
};

/// A URL file with comments, blank lines and surrounding whitespace, and the
/// URLs it holds, in order.
struct UrlFile {
  std::string text;
  std::vector<std::string> urls;
};

UrlFile sample_file(const std::string& base, int refused_port) {
  UrlFile f;
  f.urls = {base + "/get",         base + "/status/404",
            base + "/bytes/1000",  "http://127.0.0.1:" + std::to_string(refused_port) + "/",
            "ftp://example.org/x", base + "/chunked/3000"};
  f.text = "# weft-crawl test list\n\n" + f.urls[0] + "\n   \n  " + f.urls[1] + "  \n" +
           "\t# an indented comment\n" + f.urls[2] + "\r\n" + f.urls[3] + "\n#" + base +
           "/status/500\n" + f.urls[4] + "\n\n" + f.urls[5];  // no final newline
  return f;
}

/// Checks the human output of a crawl of sample_file().
void check_human(const Result& r, const UrlFile& f) {
  EXPECT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> out = lines(r.out);
  ASSERT_GE(out.size(), f.urls.size()) << r.out;
  const std::vector<std::string> expected = {
      "✅ " + f.urls[0] + ": 200 (",
      "✅ " + f.urls[1] + ": 404 (0 bytes)",
      "✅ " + f.urls[2] + ": 200 (1000 bytes)",
      "❌ " + f.urls[3] + ": cannot connect to ",
      "❌ " + f.urls[4] + ": invalid URL",
      "✅ " + f.urls[5] + ": 200 (3000 bytes)",
  };
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_TRUE(starts_with(out[i], expected[i])) << out[i] << "\nwanted: " << expected[i];
  EXPECT_TRUE(contains(out[3], "Connection refused")) << out[3];
  EXPECT_TRUE(contains(out[0], " bytes)")) << out[0];
  // The summary: counts by status, errors by kind, percentiles, bytes, time.
  const std::string summary = r.out.substr(r.out.find("--- weft-crawl:"));
  EXPECT_TRUE(contains(summary, "--- weft-crawl: 6 URLs in ")) << summary;
  EXPECT_TRUE(contains(summary, "status:   200 x 3, 404 x 1")) << summary;
  EXPECT_TRUE(contains(summary, "errors:   connect-refused x 1, invalid-url x 1")) << summary;
  EXPECT_TRUE(contains(summary, "latency:  p50 ")) << summary;
  EXPECT_TRUE(contains(summary, " ms, p95 ")) << summary;
  EXPECT_TRUE(contains(summary, " ms, p99 ")) << summary;
  EXPECT_TRUE(contains(summary, "received: ")) << summary;
  EXPECT_EQ(lines(r.out).size(), f.urls.size() + 5) << r.out;
  EXPECT_FALSE(contains(r.err, "\r[")) << "progress bar on a stderr that is not a terminal";
}

TEST_F(WeftCrawl, HelpDocumentsEveryOption) {
  Result r = run_args({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_TRUE(starts_with(r.out, "usage: weft-crawl [options] [FILE|-]")) << r.out;
  for (const char* opt :
       {"--concurrency N", "--timeout S", "--retries N", "--deadline S", "up to 10 s",
        "Retry-After", "--follow-redirects", "--insecure", "--json", "--demo", "--help", "'#'",
        "exit code is 0", "2 on usage errors", "progress", "p50", "p95", "p99"})
    EXPECT_TRUE(contains(r.out, opt)) << "--help does not mention " << opt;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(run_args({"-h"}).out, r.out);
}

TEST_F(WeftCrawl, UsageErrorsExitTwoWithOneLine) {
  TempDir dir;
  const std::string missing = (dir.path() / "no-such-file.txt").string();
  const fs::path a = dir.write("a.txt", "http://127.0.0.1:1/\n");
  const fs::path b = dir.write("b.txt", "http://127.0.0.1:1/\n");
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--frobnicate"}, "unknown option --frobnicate"},
      {{"-x", a.string()}, "unknown option -x"},
      {{"--concurrency", "ten", a.string()}, "--concurrency wants a whole number"},
      {{"--concurrency", "0", a.string()}, "--concurrency wants a whole number"},
      {{"-c", "5x", a.string()}, "-c wants a whole number"},
      {{"--concurrency"}, "--concurrency needs a value"},
      {{"--timeout", "-1", a.string()}, "--timeout wants seconds"},
      {{"--timeout", "soon", a.string()}, "--timeout wants seconds"},
      {{"--timeout", "nan", a.string()}, "--timeout wants seconds"},
      {{"--retries", "-2", a.string()}, "--retries wants a whole number"},
      {{"--deadline", "0", a.string()}, "--deadline wants seconds"},
      {{"--deadline", "later", a.string()}, "--deadline wants seconds"},
      {{"--max-redirects", "many", a.string()}, "--max-redirects wants a whole number"},
      {{missing}, "cannot read " + missing + ": No such file or directory"},
      {{dir.path().string()}, "cannot read " + dir.path().string()},
      {{a.string(), b.string()}, "more than one FILE given"},
      {{"--demo", a.string()}, "--demo crawls its own list"},
      {{"--demo", "--serve"}, "--demo and --serve do not go together"},
  };
  for (const Case& c : cases) {
    std::string cmd;
    for (const auto& s : c.args)
      cmd += s + " ";
    SCOPED_TRACE(cmd);
    Result r = run_args(c.args);
    EXPECT_EQ(r.rc, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(starts_with(r.err, "weft-crawl: " + c.says)) << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_TRUE(r.err.ends_with("(see weft-crawl --help)\n")) << r.err;
  }
}

TEST_F(WeftCrawl, UrlsFromFileAndFromStandardInput) {
  DemoThread demo;
  const UrlFile f = sample_file(demo.base(), closed_port());
  TempDir dir;
  const fs::path file = dir.write("urls.txt", f.text);
  {
    SCOPED_TRACE("FILE");
    check_human(run_args({"--concurrency", "3", "--timeout", "10", file.string()}), f);
  }
  {
    SCOPED_TRACE("- (standard input)");
    check_human(run_args({"-t", "10", "-"}, f.text), f);
  }
  {
    SCOPED_TRACE("no FILE: standard input");
    check_human(run_args({"-c", "1"}, f.text), f);
  }
  {
    SCOPED_TRACE("empty list");
    Result r = run_args({"-"}, "# nothing here\n\n");
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(starts_with(r.out, "--- weft-crawl: 0 URLs in ")) << r.out;
  }
  {
    SCOPED_TRACE("--quiet");
    Result r = run_args({"--quiet", file.string()});
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_TRUE(starts_with(r.out, "--- weft-crawl: 6 URLs in ")) << r.out;
  }
}

TEST_F(WeftCrawl, JsonLinesAreValidJson) {
  DemoThread demo;
  const int refused = closed_port();
  // URLs that need escaping: quotes, backslashes, control characters (a
  // TAB and \x01 inside), well-formed UTF-8, and bytes that are not UTF-8.
  const std::vector<std::string> urls = {
      demo.base() + "/get?q=\"quoted\"&b=back\\slash",
      demo.base() + "/status/503",
      demo.base() + "/bytes/4096",
      "http://127.0.0.1:" + std::to_string(refused) + "/x",
      "http://exa\tmple.org/tab",
      "http://example.org/\x01"
      "ctl\"",
      demo.base() + "/get?name=caf\xc3\xa9",
      "http://h.invalid/\xff\xfe"
      "bad-utf8",  // a valid URL (percent-encoded when sent)
      "not a url",
  };
  std::string text;
  for (const auto& u : urls)
    text += u + "\n";
  Result r = run_args({"--json", "-c", "4"}, text);
  EXPECT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> out = lines(r.out);
  ASSERT_EQ(out.size(), urls.size()) << r.out;
  std::vector<Json> rows;
  for (const std::string& line : out) {
    try {
      rows.push_back(parse_json(line));
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << line;
      return;
    }
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(out[i]);
    const Json& j = rows[i];
    ASSERT_EQ(j.type, Json::object);
    for (const char* k : {"url", "status", "content_length", "elapsed_ms", "error", "error_kind"})
      EXPECT_EQ(j.fields.count(k), 1u) << k;
    EXPECT_EQ(j.fields.size(), 6u);
    EXPECT_EQ(j.fields.at("url").type, Json::string);
    EXPECT_EQ(j.fields.at("status").type, Json::number);
    EXPECT_EQ(j.fields.at("content_length").type, Json::number);
    EXPECT_EQ(j.fields.at("elapsed_ms").type, Json::number);
    EXPECT_GE(j.fields.at("elapsed_ms").num, 0.0);
    const bool failed = j.fields.at("error").type == Json::string;
    EXPECT_EQ(j.fields.at("error_kind").type, failed ? Json::string : Json::null);
    if (failed) {
      EXPECT_EQ(j.fields.at("status").num, 0.0);
    }
  }
  // Well-formed URLs come back byte for byte; the bad bytes as U+FFFD.
  for (std::size_t i : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 8u})
    EXPECT_EQ(rows[i].fields.at("url").str, urls[i]);
  EXPECT_EQ(rows[7].fields.at("url").str,
            "http://h.invalid/\xef\xbf\xbd\xef\xbf\xbd"
            "bad-utf8");
  auto kind = [&](std::size_t i) { return rows[i].fields.at("error_kind").str; };
  EXPECT_EQ(rows[0].fields.at("status").num, 200);
  EXPECT_EQ(rows[1].fields.at("status").num, 503);
  EXPECT_EQ(rows[1].fields.at("error").type, Json::null);
  EXPECT_EQ(rows[2].fields.at("content_length").num, 4096);
  EXPECT_EQ(kind(3), "connect-refused");
  EXPECT_EQ(kind(4), "invalid-url");
  EXPECT_EQ(kind(5), "invalid-url");
  EXPECT_EQ(rows[6].fields.at("status").num, 200);
  EXPECT_EQ(kind(7), "dns");
  EXPECT_EQ(kind(8), "invalid-url");
  // The error text keeps the URL, escaped.
  EXPECT_TRUE(contains(rows[5].fields.at("error").str,
                       "\x01"
                       "ctl\""))
      << r.out;
  // With --json the summary goes to stderr.
  EXPECT_TRUE(contains(r.err, "--- weft-crawl: 9 URLs in ")) << r.err;
  EXPECT_TRUE(contains(r.err, "errors:   connect-refused x 1, dns x 1, invalid-url x 3")) << r.err;
}

TEST_F(WeftCrawl, ProgressBarOnlyWhenStderrIsATerminal) {
  DemoThread demo;
  std::string text;
  for (int i = 0; i < 40; ++i)
    text += demo.base() + (i % 10 == 9 ? "/status/500" : "/delay/0.02") + "\n";
  text += "http://host.invalid/\n";

  RunSpec tty;
  tty.args = {"-c", "4", "-"};
  tty.input = text;
  tty.stderr_tty = true;
  Result r = run_crawl(tty);
  EXPECT_EQ(r.rc, 0) << r.err;
  // done/total, rate, errors; the final state is drawn before the output.
  EXPECT_TRUE(contains(r.err, "\r[")) << r.err;
  EXPECT_TRUE(contains(r.err, "] 41/41  ")) << r.err;
  EXPECT_TRUE(contains(r.err, "/s  errors 1")) << r.err;
  EXPECT_EQ(lines(r.out).size(), 41u + 5u) << r.out;

  tty.args = {"-c", "4", "--no-progress", "-"};
  r = run_crawl(tty);
  EXPECT_EQ(r.rc, 0);
  EXPECT_FALSE(contains(r.err, "\r[")) << r.err;

  // A pipe or file: no bar (check_human also checks this).
  r = run_args({"-c", "4", "-"}, text);
  EXPECT_EQ(r.rc, 0);
  EXPECT_FALSE(contains(r.err, "\r[")) << r.err;
  EXPECT_FALSE(contains(r.out, "\r[")) << r.out;

  // No FILE and a terminal on standard input: a usage error, not a hang.
  RunSpec interactive;
  interactive.stdin_tty = true;
  r = run_crawl(interactive);
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(starts_with(r.err, "weft-crawl: no FILE given and standard input is a terminal"))
      << r.err;
}

TEST_F(WeftCrawl, DemoRunsWithoutNetwork) {
  Result r = run_args({"--demo"});
  EXPECT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> out = lines(r.out);
  ASSERT_GE(out.size(), 4u) << r.out;
  // The seed's four URLs first, on the embedded server.
  EXPECT_TRUE(starts_with(out[0], "✅ http://127.0.0.1:")) << out[0];
  EXPECT_TRUE(contains(out[0], "/get: 200 (")) << out[0];
  EXPECT_TRUE(contains(out[1], "/delay/1: 200 (")) << out[1];
  EXPECT_TRUE(contains(out[2], "/status/404: 404 (0 bytes)")) << out[2];
  EXPECT_TRUE(starts_with(out[3], "❌ http://invalid-url.example.invalid/: cannot resolve host"))
      << out[3];
  std::size_t ok = 0, failed = 0;
  for (const std::string& l : out) {
    if (starts_with(l, "✅ ")) ++ok;
    if (starts_with(l, "❌ ")) ++failed;
  }
  EXPECT_EQ(failed, 1u) << r.out;
  EXPECT_GE(ok, 300u);
  EXPECT_TRUE(contains(r.out, "--- weft-crawl: " + std::to_string(ok + failed) + " URLs in "));
  EXPECT_TRUE(contains(r.out, "errors:   dns x 1")) << r.out;
  EXPECT_TRUE(contains(r.err, "weft-crawl --demo: the embedded demo server")) << r.err;
}

// ---- --serve and SIGTERM ----

/// Starts `weft-crawl --serve 127.0.0.1:0` with stderr on a pipe, SIGTERM
/// blocked in the child from its first instruction if `term_blocked`.
pid_t start_server(bool term_blocked, int* err_fd) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  std::string bin = crawl_bin(), flag = "--serve", where = "127.0.0.1:0";
  char* argv[] = {bin.data(), flag.data(), where.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t mask;
  sigemptyset(&mask);
  if (term_blocked) sigaddset(&mask, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int e = ::posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(p[1]);
  EXPECT_EQ(e, 0) << std::strerror(e);
  *err_fd = p[0];
  return pid;
}

/// Everything the child writes on stderr until it closes it.
std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fd);
  return text;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

TEST_F(WeftCrawl, ServeStopsGracefullyOnSigterm) {
  int err = -1;
  pid_t pid = start_server(false, &err);
  ASSERT_GT(pid, 0);
  std::string text;
  char buf[512];
  while (!contains(text, "SIGINT or SIGTERM stops it")) {
    ssize_t n = ::read(err, buf, sizeof buf);
    ASSERT_GT(n, 0) << "weft-crawl --serve ended before it listened: " << text;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  text += read_all(err);
  int status = wait_status(pid);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status) << ": " << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
}

// The race the private helper had: a SIGTERM in the first instant of the
// process, before any listener exists. Started with SIGTERM blocked, the
// child keeps such a signal pending (deterministically, however early it
// comes), and its handler takes it as soon as it is installed.
TEST_F(WeftCrawl, ServeStopsGracefullyOnASigtermThatArrivesDuringStartUp) {
  int err = -1;
  pid_t pid = start_server(true, &err);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGTERM), 0);  // at once: the child has barely started
  std::string text = read_all(err);
  int status = wait_status(pid);
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status) << ": " << text;
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
}

}  // namespace
