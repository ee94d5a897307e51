// The exception types of weft::sync, named after their asyncio counterparts.
// (Cancellation and timeouts use weft::CancelledError and weft::TimeoutError.)
#pragma once

#include <stdexcept>

#include "weft/errors.hpp"

namespace weft {

/// A value outside what the operation accepts (Python's ValueError): a negative
/// semaphore value, a BoundedSemaphore released too often, task_done() called
/// more times than items were put.
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// get_nowait() on an empty queue (asyncio.QueueEmpty).
class QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("weft::Queue: the queue is empty") {}
  using std::runtime_error::runtime_error;
};

/// put_nowait() on a full queue (asyncio.QueueFull).
class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("weft::Queue: the queue is full") {}
  using std::runtime_error::runtime_error;
};

/// A put or get on a queue that was shut down (asyncio.QueueShutDown, Python 3.13).
class QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("weft::Queue: the queue was shut down") {}
  using std::runtime_error::runtime_error;
};

}  // namespace weft
