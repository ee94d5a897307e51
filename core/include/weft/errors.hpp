// The exception types weft throws, named after their asyncio counterparts.
#pragma once

#include <stdexcept>
#include <string>

namespace weft {

/// Thrown at the suspension point where a cancellation is delivered to a task
/// (asyncio.CancelledError).
///
/// Like asyncio's CancelledError, which is a BaseException since Python 3.8, it
/// does *not* derive from std::exception: a `catch (const std::exception&)` that
/// handles ordinary failures does not swallow a cancellation by accident. Catch
/// it by name (or with `catch (...)`), clean up, and rethrow with `throw;`.
class CancelledError {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept {
    return message_.empty() ? "task was cancelled" : message_.c_str();
  }

 private:
  std::string message_;
};

/// A deadline passed (asyncio.TimeoutError): thrown by wait_for() and at the edge
/// of a timeout() scope.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("operation timed out") {}
  using std::runtime_error::runtime_error;
};

/// An object was used in a state that does not allow the operation
/// (asyncio.InvalidStateError): a Task awaited twice, a result taken twice, ...
class InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A lookup found nothing (Python's LookupError): ContextVar::get() of a
/// variable that has no value in the current context and no default. The
/// message names the variable.
class LookupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The operation needs a running weft runtime and there is none on this thread
/// (asyncio's "RuntimeError: no running event loop"), or the runtime is shutting down.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A Barrier was aborted, or reset or aborted while the caller waited in it
/// (asyncio.BrokenBarrierError, a RuntimeError in asyncio too). The messages
/// carry asyncio's wording: "Barrier aborted" for a wait() that found the
/// barrier broken, "Abort or reset of barrier" for one that was waiting.
class BrokenBarrierError : public RuntimeError {
 public:
  BrokenBarrierError() : RuntimeError("Barrier aborted") {}
  using RuntimeError::RuntimeError;
};

}  // namespace weft
