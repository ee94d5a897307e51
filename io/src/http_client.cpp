// weft::http::Client: request building, connection set-up (DNS, TCP, TLS),
// one exchange on a pooled connection with the stale-connection retry,
// redirects, and the timeouts around each step.
//
// Error conversion happens at the step that knows what failed: resolve ->
// ResolveError, connect -> ConnectError, the connect/read/total deadlines ->
// RequestTimeout, OpenSSL -> TlsError, socket errors mid-exchange ->
// ConnectionError, the parser -> ProtocolError / BodyTooLarge. From there the
// failure travels up as a weft::Outcome, never rethrown on the way (send()
// throws it once, at the top). A weft TimeoutError never leaves a step
// unconverted, so the total deadline's TimeoutError is always the outer
// scope's own. CancelledError is never caught: it propagates as itself.
#include "weft/http/client.hpp"

#include <netdb.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>

#include "http_client_pool.hpp"
#include "weft/http/syntax.hpp"
#include "weft/io/dns.hpp"
#include "weft/io/errors.hpp"

namespace weft::http {

using detail::Connection;
using detail::HostPool;
using ConnPtr = std::unique_ptr<Connection>;

namespace {

/// Bodies up to this size go out in the same write as the head.
constexpr std::size_t kInlineBody = 64 * 1024;

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool idempotent(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

/// RFC 6761 6.4: names under "invalid" never resolve; answer without asking.
bool reserved_invalid(std::string_view host) noexcept {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host == "invalid" || (host.size() > 8 && host.substr(host.size() - 8) == ".invalid");
}

bool skipped_request_field(std::string_view name) noexcept {
  // Framing is the client's: it computes Content-Length from the body.
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding");
}

void check_request(const ClientRequest& r) {
  if (!syntax::is_token(r.method))
    throw std::invalid_argument("weft::http::Client: invalid method \"" + r.method + "\"");
  for (const Header& h : r.headers) {
    if (!syntax::is_token(h.name))
      throw std::invalid_argument("weft::http::Client: invalid header name \"" + h.name + "\"");
    if (!syntax::is_field_value(h.value))
      throw std::invalid_argument("weft::http::Client: invalid value for header " + h.name +
                                  " (control characters or CR/LF)");
  }
}

std::string describe(const ClientRequest& r, const Url& u) {
  return r.method + " " + u.to_string();
}

/// A failure as a value: failures travel up the client's coroutines as
/// Outcomes, not as exceptions rethrown at every level (an exception costs
/// one unwind per coroutine it crosses; a crawl meets thousands of them).
template <class E, class... A>
std::exception_ptr make(A&&... args) {
  return std::make_exception_ptr(E(std::forward<A>(args)...));
}

/// The same, as an Outcome of any type (converts to Outcome<T>).
template <class E>
struct failure {
  std::exception_ptr error;
  template <class... A>
  explicit failure(A&&... args) : error(make<E>(std::forward<A>(args)...)) {}
  template <class T>
  operator Outcome<T>() const {
    return Outcome<T>(error);
  }
};

/// What one request needs to know below try_send().
struct Plan {
  bool keep_body;
  Clock::duration connect_timeout;  ///< 0: none of its own
  Clock::duration read_timeout;     ///< 0: none of its own
};

}  // namespace

struct Client::Impl {
  ClientOptions opts;
  detail::Pool pool;
  std::once_flag tls_once;
  std::optional<io::TlsContext> tls;
  // relaxed: statistics only; nothing is ordered by them.
  std::atomic<std::uint64_t> opened{0}, reused{0}, stale_retries{0};

  explicit Impl(ClientOptions o)
      : opts(std::move(o)),
        pool(opts.max_connections_per_host, opts.max_idle_total, opts.idle_timeout) {}

  const io::TlsContext& tls_context() {
    std::call_once(tls_once, [this] {
      tls.emplace(io::TlsContext::client({.verify = opts.verify_tls,
                                          .system_store = true,
                                          .ca_file = opts.ca_file,
                                          .ca_pem = opts.ca_pem}));
    });
    return *tls;
  }

  std::string build_head(const ClientRequest& r, const Url& u) const {
    std::string h;
    h.reserve(128 + u.path.size() + u.query.size());
    h.append(r.method).push_back(' ');
    h.append(u.path);
    if (u.has_query) h.append("?").append(u.query);
    h.append(" HTTP/1.1\r\n");
    if (!r.headers.contains("Host")) h.append("Host: ").append(u.authority()).append("\r\n");
    if (!r.headers.contains("User-Agent") && !opts.user_agent.empty())
      h.append("User-Agent: ").append(opts.user_agent).append("\r\n");
    if (!r.headers.contains("Accept")) h.append("Accept: */*\r\n");
    for (const Header& f : r.headers) {
      if (skipped_request_field(f.name)) continue;
      h.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH")
      h.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
    h.append("\r\n");
    return h;
  }

  /// TCP connect to each address in turn, then the TLS handshake for https.
  Task<Outcome<ConnPtr>> open(Url u, std::string where) {
    std::vector<io::SocketAddress> addrs;
    int gai = 0;
    try {
      addrs = co_await io::resolve(u.host, u.port);
    } catch (const io::DnsError& e) {
      gai = e.gai_code();
    }
    if (gai != 0) co_return failure<ResolveError>(gai, where, u.host);
    io::TcpStream tcp;
    int err = 0;
    std::string target;
    for (const io::SocketAddress& a : addrs) {
      try {
        tcp = co_await io::TcpStream::connect(a);
      } catch (const io::IoError& e) {
        err = e.code().value();
        target = a.to_string();
      }
      if (tcp.is_open()) break;
    }
    if (!tcp.is_open()) co_return failure<ConnectError>(err, where, target);
    try {
      tcp.set_nodelay(true);
    } catch (const io::IoError&) {
      // A peer that is already gone shows up at the first write or read.
    }
    ConnPtr c;
    if (u.is_https()) {
      std::string why;
      io::TlsStream tls;
      try {
        tls = co_await io::TlsStream::connect(std::move(tcp), tls_context(), u.host);
      } catch (const io::TlsError& e) {
        why = e.what();
      } catch (const io::IoError& e) {
        why = std::string("TLS handshake: ") + e.what();
      }
      if (!why.empty()) co_return failure<TlsError>(where, why);
      c = std::make_unique<Connection>(detail::ClientStream(std::move(tls)));
    } else {
      c = std::make_unique<Connection>(detail::ClientStream(std::move(tcp)));
    }
    c->parser = ResponseParser({.max_header_bytes = opts.max_header_bytes,
                                .max_headers = 100,
                                .max_body_bytes = opts.max_body_bytes});
    opened.fetch_add(1, std::memory_order_relaxed);
    co_return Outcome<ConnPtr>(std::move(c));
  }

  /// open() under `limit` (0: no limit of its own).
  Task<Outcome<ConnPtr>> connect(const Url& u, const std::string& where, Clock::duration limit) {
    if (limit <= Clock::duration::zero()) co_return co_await open(u, where);
    bool timed_out = false;
    std::optional<Outcome<ConnPtr>> c;
    try {
      c.emplace(co_await weft::wait_for(open(u, where), limit));
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    if (timed_out) co_return failure<RequestTimeout>(TimeoutPhase::connect, limit, where);
    co_return std::move(*c);
  }

  /// Sends the request on `c`; null, or why it failed (`connection_failed`:
  /// the socket failed, which a stale pooled connection does).
  Task<std::exception_ptr> send_request(Connection& c, const std::string& head,
                                        const std::string& body, const std::string& where,
                                        bool& connection_failed) {
    try {
      if (body.size() <= kInlineBody) {
        if (body.empty()) {
          co_await c.stream.write_all(head.data(), head.size());
        } else {
          std::string wire = head + body;
          co_await c.stream.write_all(wire.data(), wire.size());
        }
      } else {
        co_await c.stream.write_all(head.data(), head.size());
        co_await c.stream.write_all(body.data(), body.size());
      }
    } catch (const io::TlsError& e) {
      co_return make<TlsError>(where, e.what());
    } catch (const io::IoError& e) {
      connection_failed = true;
      co_return make<ConnectionError>(e.code().value(), where,
                                      std::string("sending the request failed: ") + e.what());
    }
    co_return nullptr;
  }

  static std::exception_ptr parse_error(const ResponseParser& p, const std::string& where) {
    if (p.error() == ResponseError::body_too_large)
      return make<BodyTooLarge>(p.limits().max_body_bytes, where);
    return make<ProtocolError>(where, p.error_message(), p.excerpt());
  }

  /// Reads the response to the request just sent. `started` turns true at
  /// the first byte, `connection_failed` when the socket fails or ends
  /// before a response (a stale connection does that before the first byte).
  Task<Outcome<ClientResponse>> read_response(Connection& c, bool head_request, Plan plan,
                                              const std::string& where, bool& started,
                                              bool& connection_failed) {
    ResponseParser& p = c.parser;
    p.reset(head_request);
    ResponseHead head;
    ClientResponse out;
    for (;;) {
      ParseResult r = p.parse(c.reader.buffered(), head, out.body);
      c.reader.consume(r.consumed);
      if (!plan.keep_body) out.body.clear();
      if (r.status == ParseStatus::complete) break;
      if (r.status == ParseStatus::error) co_return Outcome<ClientResponse>(parse_error(p, where));
      // One more read under read_timeout (0: at the end of the stream).
      std::size_t n = 0;
      std::exception_ptr err;
      try {
        if (plan.read_timeout <= Clock::duration::zero())
          n = co_await c.reader.fill();
        else
          n = co_await weft::wait_for(c.reader.fill(), plan.read_timeout);
      } catch (const weft::TimeoutError&) {
        err = make<RequestTimeout>(TimeoutPhase::read, plan.read_timeout, where);
      } catch (const io::TlsError& e) {
        err = make<TlsError>(where, e.what());
      } catch (const io::IoError& e) {
        connection_failed = true;
        err = make<ConnectionError>(e.code().value(), where,
                                    std::string("reading the response failed: ") + e.what());
      }
      if (err) co_return Outcome<ClientResponse>(err);
      if (n > 0) {
        started = true;
        continue;
      }
      if (p.idle()) {
        connection_failed = true;
        co_return failure<ConnectionError>(0, where,
                                           "the server closed the connection without a response");
      }
      if (p.finish(head, out.body) != ParseStatus::complete)
        co_return Outcome<ClientResponse>(parse_error(p, where));
      // A body framed by the end of the stream is complete only if the TLS
      // stream ended cleanly: a TCP FIN alone may be an attacker's cut.
      if (head.framing == BodyFraming::until_close && c.stream.truncated())
        co_return failure<TlsError>(
            where, "the connection ended without TLS close_notify after " +
                       std::to_string(p.body_bytes()) +
                       " bytes of a body delimited by the end of the connection: the body "
                       "may be truncated");
      head.keep_alive = false;  // the stream has ended
      break;
    }
    out.status = head.status;
    out.version_minor = head.version_minor;
    out.reason = std::move(head.reason);
    out.headers = std::move(head.headers);
    out.body_bytes = p.body_bytes();
    // Reusable only if both sides agree and nothing unasked-for follows.
    if (!head.keep_alive || !c.reader.buffered().empty()) c.stream.tcp().close();
    co_return Outcome<ClientResponse>(std::move(out));
  }

  /// One request and its response on a pooled or new connection, within the
  /// origin's connection limit. A pooled connection that fails before the
  /// first response byte is replaced by a fresh one, once, for idempotent
  /// requests.
  Task<Outcome<ClientResponse>> exchange(const ClientRequest& req, const Url& u, Plan plan) {
    const std::string where = describe(req, u);
    if (reserved_invalid(u.host)) co_return failure<ResolveError>(EAI_NONAME, where, u.host);
    std::shared_ptr<HostPool> host = pool.host(u.origin());
    Semaphore::Guard slot = co_await host->slots.scoped();
    const std::string head = build_head(req, u);
    bool fresh_only = false;
    for (;;) {
      ConnPtr c;
      if (!fresh_only) c = pool.take(*host);
      const bool reused_conn = c != nullptr;
      if (reused_conn) {
        reused.fetch_add(1, std::memory_order_relaxed);
      } else {
        Outcome<ConnPtr> fresh = co_await connect(u, where, plan.connect_timeout);
        if (fresh.has_error()) co_return Outcome<ClientResponse>(fresh.error());
        c = std::move(fresh).value();
      }
      c->host = host.get();
      bool started = false, connection_failed = false;
      std::exception_ptr sent = co_await send_request(*c, head, req.body, where, connection_failed);
      std::optional<Outcome<ClientResponse>> resp;
      if (!sent)
        resp.emplace(co_await read_response(*c, req.method == "HEAD", plan, where, started,
                                            connection_failed));
      if (sent || resp->has_error()) {
        c.reset();  // closes it
        if (connection_failed && reused_conn && !started && idempotent(req.method)) {
          stale_retries.fetch_add(1, std::memory_order_relaxed);
          fresh_only = true;
          continue;
        }
        co_return sent ? Outcome<ClientResponse>(sent) : std::move(*resp);
      }
      if (c->stream.tcp().is_open()) pool.put(std::move(c));
      co_return std::move(*resp);
    }
  }

  /// exchange() and the redirects after it.
  Task<Outcome<ClientResponse>> follow(ClientRequest req, Url u, Plan plan) {
    int redirects = 0;
    for (;;) {
      Outcome<ClientResponse> o = co_await exchange(req, u, plan);
      if (o.has_error()) co_return o;
      ClientResponse& r = o.value();
      std::optional<std::string_view> location = r.headers.get("Location");
      if (opts.max_redirects <= 0 || !is_redirect(r.status) || !location) {
        r.url = u.to_string();
        r.redirects = redirects;
        co_return o;
      }
      if (redirects == opts.max_redirects)
        co_return failure<TooManyRedirects>(redirects, describe(req, u));
      ++redirects;
      std::optional<Url> next;
      std::exception_ptr bad;
      try {
        next.emplace(u.resolve(*location));
      } catch (const InvalidUrl&) {
        bad = std::current_exception();
      }
      if (bad) co_return Outcome<ClientResponse>(bad);
      const bool to_get =
          r.status == 303 || ((r.status == 301 || r.status == 302) && req.method == "POST");
      if (to_get) {
        if (req.method != "HEAD") req.method = "GET";
        req.body.clear();
        req.headers.remove("Content-Type");
      }
      if (next->origin() != u.origin()) {
        // Credentials are for the origin they were given to.
        req.headers.remove("Authorization");
        req.headers.remove("Cookie");
        req.headers.remove("Host");
      }
      u = std::move(*next);
    }
  }
};

Client::Client(ClientOptions options) {
  if (options.max_connections_per_host == 0)
    throw std::invalid_argument("weft::http::Client: max_connections_per_host must be at least 1");
  impl_ = std::make_unique<Impl>(std::move(options));
}

Client::~Client() = default;

Task<ClientResponse> Client::get(std::string url, RequestOptions options) {
  ClientRequest r;
  r.url = std::move(url);
  return send(std::move(r), options);
}

Task<ClientResponse> Client::head(std::string url, RequestOptions options) {
  ClientRequest r;
  r.method = "HEAD";
  r.url = std::move(url);
  return send(std::move(r), options);
}

Task<ClientResponse> Client::post(std::string url, std::string body, std::string content_type,
                                  RequestOptions options) {
  ClientRequest r;
  r.method = "POST";
  r.url = std::move(url);
  r.body = std::move(body);
  if (!content_type.empty()) r.headers.add("Content-Type", content_type);
  return send(std::move(r), options);
}

Task<ClientResponse> Client::send(ClientRequest request, RequestOptions options) {
  Outcome<ClientResponse> o = co_await try_send(std::move(request), options);
  co_return std::move(o).value();  // throws the failure
}

Task<Outcome<ClientResponse>> Client::try_send(ClientRequest request, RequestOptions options) {
  Impl& im = *impl_;
  std::optional<Url> u;
  std::exception_ptr bad;
  try {
    check_request(request);
    u.emplace(Url::parse(request.url));
  } catch (const std::invalid_argument&) {
    bad = std::current_exception();
  } catch (const InvalidUrl&) {
    bad = std::current_exception();
  }
  if (bad) co_return Outcome<ClientResponse>(bad);
  const Clock::duration total = options.total_timeout.value_or(im.opts.total_timeout);
  const bool has_total = total > Clock::duration::zero();
  // A phase deadline no shorter than the total one starts later and so can
  // never pass first: no timer for it.
  auto phase = [&](Clock::duration d) {
    return has_total && d >= total ? Clock::duration::zero() : d;
  };
  const Plan plan{options.keep_body, phase(im.opts.connect_timeout), phase(im.opts.read_timeout)};
  if (!has_total) co_return co_await im.follow(std::move(request), std::move(*u), plan);
  const std::string where = describe(request, *u);
  std::optional<Outcome<ClientResponse>> r;
  bool timed_out = false;
  try {
    r.emplace(co_await weft::wait_for(im.follow(std::move(request), std::move(*u), plan), total));
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  if (timed_out) co_return failure<RequestTimeout>(TimeoutPhase::total, total, where);
  co_return std::move(*r);
}

ClientStats Client::stats() const {
  ClientStats s;
  s.connections_opened = impl_->opened.load(std::memory_order_relaxed);
  s.connections_reused = impl_->reused.load(std::memory_order_relaxed);
  s.stale_retries = impl_->stale_retries.load(std::memory_order_relaxed);
  s.idle = impl_->pool.idle_count();
  return s;
}

void Client::close_idle() noexcept {
  impl_->pool.close_idle();
}

const ClientOptions& Client::options() const noexcept {
  return impl_->opts;
}

}  // namespace weft::http
