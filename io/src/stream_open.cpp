// open_connection / open_unix_connection: connect (and TLS-handshake), then
// make_streams over the transport.
#include "weft/io/dns.hpp"
#include "weft/io/streams.hpp"
#include "weft/io/tcp.hpp"
#include "weft/time.hpp"

namespace weft::io {

namespace {

Task<std::unique_ptr<ByteStream>> connect_transport(std::string host, std::uint16_t port,
                                                    OpenConnectionOptions o) {
  TcpStream tcp = co_await TcpStream::connect(host, port);
  if (!o.tls) co_return make_byte_stream(std::move(tcp));
  std::string name = o.server_hostname.empty() ? host : o.server_hostname;
  TlsStream tls = co_await TlsStream::connect(std::move(tcp), *o.tls, std::move(name));
  co_return make_byte_stream(std::move(tls));
}

}  // namespace

Task<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, std::uint16_t port,
                                                            OpenConnectionOptions options) {
  const std::size_t limit = options.limit;
  std::unique_ptr<ByteStream> t;
  if (options.timeout > Clock::duration::zero()) {
    const Clock::duration limit_time = options.timeout;
    t = co_await weft::wait_for(connect_transport(std::move(host), port, std::move(options)),
                                limit_time);
  } else {
    t = co_await connect_transport(std::move(host), port, std::move(options));
  }
  co_return make_streams(std::move(t), limit);
}

Task<std::pair<StreamReader, StreamWriter>> open_unix_connection(UnixAddress path,
                                                                 std::size_t limit) {
  UnixStream s = co_await UnixStream::connect(path);
  co_return make_streams(make_byte_stream(std::move(s)), limit);
}

}  // namespace weft::io
