// ChunkedDecoder: the chunked transfer coding as a byte-driven state machine.
#include "weft/http/chunked.hpp"

#include <algorithm>

#include "weft/http/syntax.hpp"

namespace weft::http {

void ChunkedDecoder::reset() noexcept {
  remaining_ = 0;
  digits_ = 0;
  line_ = 0;
  trailer_ = 0;
  state_ = State::size;
  error_status_ = 0;
  error_message_ = "";
}

ParseResult ChunkedDecoder::fail(std::size_t at, int status, const char* message) noexcept {
  state_ = State::failed;
  error_status_ = status;
  error_message_ = message;
  return {ParseStatus::error, at};
}

namespace {
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool ChunkedDecoder::ext_may_end() const noexcept {
  // CRLF may follow a name or a value, never BWS or a ";" (nor the inside of a string).
  return state_ == State::ext_name || state_ == State::ext_token || state_ == State::ext_quoted_end;
}

bool ChunkedDecoder::ext_step(unsigned char c) noexcept {
  const bool ws = c == ' ' || c == '\t';
  const bool tchar = syntax::is_tchar(c);
  switch (state_) {
    case State::size_bws:
      if (c == ';') state_ = State::ext_name_pre;
      return ws || c == ';';
    case State::ext_name_pre:
      if (tchar) state_ = State::ext_name;
      return ws || tchar;
    case State::ext_name:
      if (tchar) return true;
      if (ws) state_ = State::ext_name_bws;
      if (c == '=') state_ = State::ext_value_pre;
      if (c == ';') state_ = State::ext_name_pre;
      return ws || c == '=' || c == ';';
    case State::ext_name_bws:
      if (c == '=') state_ = State::ext_value_pre;
      if (c == ';') state_ = State::ext_name_pre;
      return ws || c == '=' || c == ';';
    case State::ext_value_pre:
      if (c == '"') state_ = State::ext_quoted;
      if (tchar) state_ = State::ext_token;
      return ws || c == '"' || tchar;
    case State::ext_token:
      if (tchar) return true;
      if (ws) state_ = State::ext_value_bws;
      if (c == ';') state_ = State::ext_name_pre;
      return ws || c == ';';
    case State::ext_quoted:
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (c == '"') state_ = State::ext_quoted_end;
      if (c == '\\') state_ = State::ext_quoted_pair;
      return c == '\t' || (c >= 0x20 && c != 0x7f);
    case State::ext_quoted_pair:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      state_ = State::ext_quoted;
      return c == '\t' || (c >= 0x20 && c != 0x7f);
    case State::ext_quoted_end:
      if (ws) state_ = State::ext_value_bws;
      if (c == ';') state_ = State::ext_name_pre;
      return ws || c == ';';
    case State::ext_value_bws:
      if (c == ';') state_ = State::ext_name_pre;
      return ws || c == ';';
    default:
      return false;
  }
}

ParseResult ChunkedDecoder::feed(std::string_view in, std::string& body) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    const char c = in[i];
    switch (state_) {
      case State::size: {
        int h = hex_value(c);
        if (h >= 0) {
          if (++digits_ > 16) return fail(i, 400, "chunk size has more than 16 hex digits");
          remaining_ = (remaining_ << 4) | static_cast<std::uint64_t>(h);
          ++line_;
          ++i;
          break;
        }
        if (digits_ == 0) return fail(i, 400, "chunk size is not a hex number");
        if (c == '\r') {
          state_ = State::size_lf;
          ++i;
          break;
        }
        if (c == ' ' || c == '\t') {
          state_ = State::size_bws;
        } else if (c == ';') {
          state_ = State::ext_name_pre;
        } else {
          return fail(i, 400, "invalid character after the chunk size");
        }
        if (++line_ > kMaxLine) return fail(i, 400, "chunk extension too long");
        ++i;
        break;
      }
      case State::size_bws:
      case State::ext_name_pre:
      case State::ext_name:
      case State::ext_name_bws:
      case State::ext_value_pre:
      case State::ext_token:
      case State::ext_quoted:
      case State::ext_quoted_pair:
      case State::ext_quoted_end:
      case State::ext_value_bws: {
        // chunk-ext: checked against the grammar, bounded, then discarded.
        if (c == '\r' && ext_may_end()) {
          state_ = State::size_lf;
          ++i;
          break;
        }
        if (!ext_step(static_cast<unsigned char>(c)))
          return fail(i, 400, "malformed chunk extension (RFC 9112 7.1.1)");
        if (++line_ > kMaxLine) return fail(i, 400, "chunk extension too long");
        ++i;
        break;
      }
      case State::size_lf:
        if (c != '\n') return fail(i, 400, "chunk size line does not end with CRLF");
        ++i;
        line_ = 0;
        digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::trailer_start;
        } else {
          if (remaining_ > max_body_ || body.size() > max_body_ - remaining_)
            return fail(i, 413, "chunked body exceeds the size limit");
          state_ = State::data;
        }
        break;
      case State::data: {
        std::size_t take = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(n - i)));
        body.append(in.data() + i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_cr;
        break;
      }
      case State::data_cr:
        if (c != '\r') return fail(i, 400, "chunk data is not followed by CRLF");
        state_ = State::data_lf;
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') return fail(i, 400, "chunk data is not followed by CRLF");
        state_ = State::size;
        ++i;
        break;
      case State::trailer_start:
        if (c == '\r') {
          state_ = State::final_lf;
          ++i;
          break;
        }
        state_ = State::trailer;
        line_ = 0;
        [[fallthrough]];
      case State::trailer: {
        auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
          state_ = State::trailer_lf;
        } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return fail(i, 400, "control character in a trailer field");
        }
        if (++trailer_ > kMaxTrailer) return fail(i, 431, "trailer section too large");
        ++i;
        break;
      }
      case State::trailer_lf:
        if (c != '\n') return fail(i, 400, "trailer line does not end with CRLF");
        state_ = State::trailer_start;
        ++i;
        break;
      case State::final_lf:
        if (c != '\n') return fail(i, 400, "chunked body does not end with CRLF");
        state_ = State::done;
        return {ParseStatus::complete, i + 1};
      case State::done:
        return {ParseStatus::complete, i};
      case State::failed:
        return {ParseStatus::error, i};
    }
  }
  if (state_ == State::done) return {ParseStatus::complete, i};
  if (state_ == State::failed) return {ParseStatus::error, i};
  return {ParseStatus::incomplete, i};
}

}  // namespace weft::http
