// Everything in weft::io, in one include: the epoll reactor, TCP, buffered
// reading, DNS, TLS, the HTTP/1.1 server and client with their parser pieces,
// the demo server and the crawler.
#pragma once

#include "weft/crawler.hpp"
#include "weft/http/chunked.hpp"
#include "weft/http/client.hpp"
#include "weft/http/client_errors.hpp"
#include "weft/http/demo_server.hpp"
#include "weft/http/headers.hpp"
#include "weft/http/message.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/http/response_parser.hpp"
#include "weft/http/retry.hpp"
#include "weft/http/server.hpp"
#include "weft/http/syntax.hpp"
#include "weft/http/url.hpp"
#include "weft/io/address.hpp"
#include "weft/io/buffered_reader.hpp"
#include "weft/io/dns.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/reactor.hpp"
#include "weft/io/tcp.hpp"
#include "weft/io/tls.hpp"
#include "weft/io/tls_server.hpp"
