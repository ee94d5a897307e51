// weft::ExceptionGroup: several exceptions raised together (Python's
// ExceptionGroup), as thrown by weft::TaskGroup, and the `except*` idioms.
//
//   try {
//     co_await weft::task_group(body);
//   } catch (const weft::ExceptionGroup& e) {
//     // except* ValueError as eg:  print(f"捕獲異常: {eg.exceptions}")
//     e.handle<ValueError>([](const weft::ExceptionGroup& eg) {
//       std::cout << "捕獲異常: " << eg.exceptions_repr() << "\n";
//     });  // like except*, whatever did not match is rethrown afterwards
//   }
//
// Semantics (Python 3.11's BaseExceptionGroup, except that weft's group holds
// any exception, CancelledError included, though TaskGroup never puts one in):
//  - exceptions() are the sub-exceptions in the order given (TaskGroup: the
//    order the children failed in, the group's own body last). Nested groups
//    stay nested, as in Python: a failing inner TaskGroup is one sub-exception
//    of the outer one. leaves() flattens them for iteration.
//  - contains<E>(), split<E>(), subgroup<E>() and rethrow_rest<E>() look
//    through nested groups at the leaves (Python's split/subgroup: a leaf
//    matches if it is an E; nesting and messages are kept in both halves). A
//    group that is itself an E (E = ExceptionGroup or std::exception) matches
//    as a whole.
//  - handle<E>(f) is one `except* E` clause: f gets the matching part (if any),
//    then the rest (if any) is rethrown. If f throws, its exception is combined
//    with the rest in a new group (message ""), as Python combines exceptions
//    raised in except* clauses with the unhandled ones.
//  - An ExceptionGroup is a std::exception (asyncio's ExceptionGroup is an
//    Exception): what() is Python's str(eg), "<message> (N sub-exception[s])".
//
// Cost: copying a group copies one shared pointer (nothrow); matching rethrows
// each leaf once (exceptions are the slow path). Thread-safety: a group is
// immutable and may be read from any number of threads.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

class ExceptionGroup : public std::exception {
 public:
  using Predicate = std::function<bool(const std::exception_ptr&)>;

  /// Throws std::invalid_argument if `exceptions` is empty or holds a null
  /// exception_ptr (Python raises ValueError / TypeError).
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);

  const char* what() const noexcept override;
  const std::string& message() const noexcept;
  const std::vector<std::exception_ptr>& exceptions() const noexcept;
  /// Number of direct sub-exceptions.
  std::size_t size() const noexcept { return exceptions().size(); }
  /// Every non-group exception, nested groups flattened, in depth-first order.
  std::vector<std::exception_ptr> leaves() const;

  /// A leaf (or the group itself) satisfies `pred`.
  bool contains_if(const Predicate& pred) const;
  /// (matching, rest), nesting and messages kept; an empty half is nullopt.
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> split_if(
      const Predicate& pred) const;

  template <class E>
  bool contains() const {
    if constexpr (std::is_base_of_v<E, ExceptionGroup>) return true;
    return contains_if(&is_a<E>);
  }
  template <class E>
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> split() const {
    if constexpr (std::is_base_of_v<E, ExceptionGroup>) return {*this, std::nullopt};
    return split_if(&is_a<E>);
  }
  /// The part that matches E (Python's subgroup), or nullopt.
  template <class E>
  std::optional<ExceptionGroup> subgroup() const {
    return split<E>().first;
  }
  /// Throws the part that does not match E, if any (what `except* E` re-raises).
  template <class E>
  void rethrow_rest() const {
    auto rest = split<E>().second;
    if (rest) throw std::move(*rest);
  }
  /// One `except* E` clause: calls f(matching group) if anything matches, then
  /// rethrows the rest if there is any.
  template <class E, class F>
  void handle(F&& f) const {
    auto [match, rest] = split<E>();
    if (match) {
      std::exception_ptr raised;
      try {
        std::forward<F>(f)(static_cast<const ExceptionGroup&>(*match));
      } catch (...) {
        raised = std::current_exception();
      }
      if (raised) {
        if (!rest) std::rethrow_exception(raised);
        throw ExceptionGroup("", {raised, std::make_exception_ptr(std::move(*rest))});
      }
    }
    if (rest) throw std::move(*rest);
  }

  /// Python's repr: ExceptionGroup('message', [ValueError('x'), ...]).
  std::string repr() const;
  /// Python's repr of eg.exceptions (a tuple): (ValueError('x'),).
  std::string exceptions_repr() const;

 private:
  struct Data;
  template <class E>
  static bool is_a(const std::exception_ptr& p) {
    try {
      std::rethrow_exception(p);
    } catch (const E&) {
      return true;
    } catch (...) {
      return false;
    }
  }
  explicit ExceptionGroup(std::shared_ptr<const Data> d) noexcept : d_(std::move(d)) {}
  static std::shared_ptr<const Data> make_data(std::string message,
                                               std::vector<std::exception_ptr> exceptions);
  ExceptionGroup derive(std::vector<std::exception_ptr> exceptions) const;

  std::shared_ptr<const Data> d_;
};

/// Python-style repr of any exception: its (unqualified) type name and message,
/// e.g. ValueError('C 失敗'); a group gives its repr(); a null pointer "None".
std::string exception_repr(const std::exception_ptr& e);
/// Python's str(exc): the message (what()), "" if there is none.
std::string exception_message(const std::exception_ptr& e);
/// `e` if it is an ExceptionGroup, else a group (message "") holding just `e`
/// (what `except*` does with a naked exception). Throws std::invalid_argument for null.
ExceptionGroup as_exception_group(const std::exception_ptr& e);

}  // namespace weft
