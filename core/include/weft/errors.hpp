// The exception types weft throws, named after their asyncio counterparts.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace weft {

/// Thrown at the suspension point where a cancellation is delivered to a task
/// (asyncio.CancelledError).
///
/// Like asyncio's CancelledError, which is a BaseException since Python 3.8, it
/// does *not* derive from std::exception: a `catch (const std::exception&)` that
/// handles ordinary failures does not swallow a cancellation by accident. Catch
/// it by name (or with `catch (...)`), clean up, and rethrow with `throw;`.
///
/// what() is the message given to cancel(msg) (JoinHandle::cancel,
/// this_task::cancel), or "task was cancelled" without one.
class CancelledError {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}
  CancelledError(const CancelledError&) = default;
  CancelledError& operator=(const CancelledError&) = default;
  /// Virtual, so that weft::cause() finds a cause attached with std::throw_with_nested.
  virtual ~CancelledError() = default;
  const char* what() const noexcept {
    return message_.empty() ? "task was cancelled" : message_.c_str();
  }

 private:
  std::string message_;
};

/// A deadline passed (asyncio.TimeoutError): thrown by wait_for() and at the edge
/// of a timeout() scope.
///
/// When it replaces the CancelledError the deadline caused (asyncio: `raise
/// TimeoutError from exc`), it is thrown with std::throw_with_nested: catch it
/// as `const weft::TimeoutError&` as always, and weft::cause(e) (or
/// std::rethrow_if_nested(e)) gives that CancelledError, its __cause__.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("operation timed out") {}
  using std::runtime_error::runtime_error;
};

/// Exception causes (asyncio's __cause__ and __context__), the standard C++
/// way: an exception thrown with std::throw_with_nested inside a handler
/// carries the exception being handled (std::nested_exception). weft does so
/// for the TimeoutError that replaces a CancelledError; do the same for an
/// exception your cleanup throws while a cancellation unwinds, and it keeps
/// the cancellation as its cause:
///
///   catch (const weft::CancelledError&) {
///     std::throw_with_nested(CleanupFailed("flush"));   // cause(e): the CancelledError
///   }
///
/// Debug mode's "exception was never retrieved" report prints the whole chain.
///
/// The exception `e` was thrown in the place of (the one nested in it), or
/// null if it carries none. Never throws; constant time.
inline std::exception_ptr cause(const std::exception_ptr& e) noexcept {
  if (!e) return nullptr;
  try {
    std::rethrow_exception(e);
  } catch (const std::nested_exception& n) {
    return n.nested_ptr();
  } catch (...) {
  }
  return nullptr;
}
/// cause() of a caught exception (a TimeoutError, a CancelledError, any
/// polymorphic type): null if it carries none.
template <class E>
std::exception_ptr cause(const E& e) noexcept {
  if constexpr (std::is_polymorphic_v<E>) {
    if (auto* n = dynamic_cast<const std::nested_exception*>(&e)) return n->nested_ptr();
  }
  return nullptr;
}

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
