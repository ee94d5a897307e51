// Everything in weft::io, in one include: the epoll reactor, TCP, buffered
// reading, DNS, and the HTTP/1.1 server with its parser pieces.
#pragma once

#include "weft/http/chunked.hpp"
#include "weft/http/headers.hpp"
#include "weft/http/message.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/http/server.hpp"
#include "weft/http/syntax.hpp"
#include "weft/io/address.hpp"
#include "weft/io/buffered_reader.hpp"
#include "weft/io/dns.hpp"
#include "weft/io/errors.hpp"
#include "weft/io/reactor.hpp"
#include "weft/io/tcp.hpp"
