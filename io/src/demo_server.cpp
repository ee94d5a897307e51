// DemoServer: the httpbin-like endpoints and the demo's URL list.
#include "weft/http/demo_server.hpp"

#include <charconv>
#include <chrono>
#include <cmath>

#include "weft/time.hpp"

namespace weft::http {

namespace {

constexpr std::string_view kIndex =
    "weft demo server (httpbin-like)\n"
    "  /get  /post  /delay/S  /status/N  /bytes/N  /chunked/N  /redirect/N\n";

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c >= 0x7f) {  // non-ASCII bytes too: the output stays ASCII JSON
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

/// httpbin's echo: {"args": {...}, "headers": {...}, "url": "...", ["data": "..."]}.
Response echo(const Request& req, bool with_data) {
  std::string j = "{\"args\":{";
  std::string_view q = req.query();
  bool first = true;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (kv.empty()) continue;
    std::size_t eq = kv.find('=');
    if (!first) j.push_back(',');
    first = false;
    append_json_string(j, kv.substr(0, eq));
    j.push_back(':');
    append_json_string(j, eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1));
  }
  j += "},\"headers\":{";
  first = true;
  for (const Header& h : req.headers) {
    if (!first) j.push_back(',');
    first = false;
    append_json_string(j, h.name);
    j.push_back(':');
    append_json_string(j, h.value);
  }
  j += "},\"url\":";
  std::string url = "http://";
  url += req.headers.get("Host").value_or("localhost");
  url += req.target;
  append_json_string(j, url);
  if (with_data) {
    j += ",\"data\":";
    append_json_string(j, req.body);
  }
  j += "}\n";
  return Response(200, std::move(j), "application/json");
}

/// The unsigned number after `prefix` in `path`, or -1.
long long number_after(std::string_view path, std::string_view prefix) {
  std::string_view s = path.substr(prefix.size());
  long long v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 0) return -1;
  return v;
}

Response bad_request(std::string message) {
  return Response(400, std::move(message) + "\n");
}

Response bytes(std::size_t n, bool chunked) {
  std::string body(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    body[i] = DemoServer::pattern_byte(i);
  Response r(200, std::move(body), "application/octet-stream");
  if (chunked) r.headers.add("Transfer-Encoding", "chunked");
  return r;
}

}  // namespace

DemoServer::DemoServer(ServerOptions options) : server_(&DemoServer::handle, options) {}

io::SocketAddress DemoServer::listen(const io::SocketAddress& addr) {
  return server_.listen(addr);
}

std::string DemoServer::base_url() const {
  return "http://" + server_.local_address().to_string();
}

char DemoServer::pattern_byte(std::size_t i) noexcept {
  // A multiplicative hash: looks random, costs one multiply per byte.
  return static_cast<char>((static_cast<std::uint64_t>(i) * 0x9E3779B97F4A7C15ull) >> 56);
}

Task<Response> DemoServer::handle(Request& req) {
  const std::string_view path = req.path();
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == "/post") {
    if (req.method != "POST") co_return Response(405, "use POST\n");
    co_return echo(req, true);
  }
  if (path.starts_with("/status/")) {  // any method, as httpbin's
    long long n = number_after(path, "/status/");
    if (n < 200 || n > 599) co_return bad_request("status: a code between 200 and 599");
    Response r(static_cast<int>(n), "");
    r.headers.remove("Content-Type");
    if (n >= 300 && n < 400) r.headers.add("Location", "/get");
    co_return r;
  }
  if (!get) co_return Response(405, "method not allowed\n");
  if (path == "/") co_return Response(200, std::string(kIndex));
  if (path == "/get") co_return echo(req, false);
  if (path.starts_with("/delay/")) {
    std::string text(path.substr(7));
    char* end = nullptr;
    double s = text.empty() ? -1 : std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !(s >= 0 && s <= kMaxDelay))
      co_return bad_request("delay: seconds between 0 and 10");
    co_await weft::sleep(
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)));
    co_return echo(req, false);
  }
  if (path.starts_with("/bytes/") || path.starts_with("/chunked/")) {
    const bool chunked = path[1] == 'c';
    long long n = number_after(path, chunked ? "/chunked/" : "/bytes/");
    if (n < 0 || static_cast<unsigned long long>(n) > kMaxBytes)
      co_return bad_request("bytes: a count up to 16777216");
    co_return bytes(static_cast<std::size_t>(n), chunked);
  }
  if (path.starts_with("/redirect/")) {
    long long n = number_after(path, "/redirect/");
    if (n < 1 || n > 100) co_return bad_request("redirect: a count between 1 and 100");
    Response r(302, "");
    r.headers.remove("Content-Type");
    r.headers.add("Location", n == 1 ? std::string("/get") : "/redirect/" + std::to_string(n - 1));
    co_return r;
  }
  co_return Response(404, "not found\n");
}

std::vector<std::string> DemoServer::demo_urls(const std::string& base, std::size_t extra) {
  std::vector<std::string> urls = {
      base + "/get",
      base + "/delay/1",
      base + "/status/404",
      "http://invalid-url.example.invalid/",
  };
  static constexpr int kStatuses[] = {200, 201, 204, 301, 404, 418, 429, 500, 503};
  for (std::size_t i = 0; i < extra; ++i) {
    std::string u = base;
    switch (i % 8) {
      case 0:
        u += "/get?page=" + std::to_string(i);
        break;
      case 1:
        u += "/bytes/" + std::to_string((i * 97) % 8192 + 1);
        break;
      case 2:
        u += "/status/" + std::to_string(kStatuses[(i / 8) % std::size(kStatuses)]);
        break;
      case 3:
        u += "/chunked/" + std::to_string((i * 131) % 16384 + 1);
        break;
      case 4:
        u += "/redirect/" + std::to_string((i / 8) % 3 + 1);
        break;
      case 5:
        u += "/delay/0." + std::to_string((i / 8) % 3 + 1);
        break;
      case 6:
        u += "/get?q=weft&i=" + std::to_string(i);
        break;
      default:
        u += "/bytes/" + std::to_string(1024 * ((i / 8) % 64 + 1));
        break;
    }
    urls.push_back(std::move(u));
  }
  return urls;
}

}  // namespace weft::http
