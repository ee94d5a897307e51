// PipeByteStream: one end of a pipe as a ByteStream (the stdio pipes of
// subprocesses). Reads and writes go through the fd's IoSource; writes never
// raise SIGPIPE (IoSource::try_pipe_write); write_eof() closes the pipe,
// which is how a child's stdin gets its EOF.
#pragma once

#include <memory>

#include "weft/io/byte_stream.hpp"

namespace weft::io::detail {

/// Takes `fd` (made non-blocking here) over; throws IoError (and closes it) if
/// it cannot be registered.
std::unique_ptr<ByteStream> make_pipe_stream(int fd, bool write_end);

}  // namespace weft::io::detail
