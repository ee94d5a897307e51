// weft::ContextVar<T>: context variables (Python's contextvars.ContextVar, as
// asyncio uses them; Tokio's task_local!).
//
//   inline weft::ContextVar<std::string> request_id("request_id");
//
//   weft::Task<> handle(std::string id) {
//     auto token = request_id.set(id);         // this task's context only
//     co_await weft::spawn(log_step());        // the child sees a copy: request_id == id
//     co_await weft::to_thread([] { return request_id.get(); });  // so does the thread
//     request_id.reset(token);                 // back to what it was before set()
//   }
//
// Semantics (asyncio's)
//  - Every task has its own Context: a map from variables to values. get()
//    reads the current one, set() changes it for the calling task only.
//  - A spawned task starts with a *copy* of its spawner's context, taken at
//    spawn (asyncio.create_task copies the current context): weft::spawn,
//    Runtime::spawn, TaskGroup::spawn, gather() of Tasks. What the child sets
//    is never seen by its parent or its siblings, and what the parent sets
//    after the spawn is not seen by the child.
//  - A nested Task (`co_await child()`, not spawned) runs in its awaiter's
//    context, as an awaited coroutine does in asyncio: its set() is seen by
//    the awaiter.
//  - to_thread and run_in_executor run the callable in a copy of the awaiting
//    task's context (asyncio.to_thread copies it; asyncio's run_in_executor
//    does not, weft's does). What the callable sets stays in that copy; a
//    Token made in the task is foreign to it (a different Context).
//  - Code outside any task (a plain thread, main() before run()) has its
//    thread's own context, so get/set/reset work there too; a task spawned or
//    block_on()-ed from there starts with a copy of it (asyncio.run does the
//    same with the calling thread's context). The thread's context is released
//    when the thread exits.
//  - get() returns a copy of the value (T must be copy-constructible); store
//    a std::shared_ptr<const U> to share a large value cheaply.
//  - Unset and no default: get() throws weft::LookupError.
//  - reset(token) restores the variable to what it was before the set() that
//    made the token, in the current context. A Token is good for one reset,
//    by the variable that made it, in the context that made it; otherwise
//    reset() throws with asyncio's wording: weft::RuntimeError "<Token ...>
//    has already been used once", std::invalid_argument (asyncio's
//    ValueError) "<Token ...> was created by a different ContextVar" or
//    "<Token ...> was created in a different Context". An empty (moved-from)
//    Token throws weft::InvalidStateError.
//
// Thread-safety: a ContextVar is immutable after construction and may be used
// from any number of threads at once; each thread or task only ever touches
// its own context. A Token belongs to the code that got it (not thread-safe).
// Values are shared, immutable, between the contexts that copied them, and
// destroyed by whichever thread drops the last reference (the one that
// destroys the last task frame or job holding it): T's destructor must be
// safe to run on any thread.
//
// Lifetime: a task's context is released when its frame is destroyed (after
// the task finished and its last JoinHandle went away); a job's copy when the
// callable returns (or with the job, if it never ran). A ContextVar must
// outlive its uses and its Tokens (declare it at namespace scope, as Python
// programs do at module level); the values it set live on in contexts
// independently of it.
//
// Cost and progress (all wait-free apart from allocation):
//   get()           no allocation; a TLS load, two dependent loads and a scan
//                   of the variables set in the context (under 5 ns: bench/RESULTS.md)
//   set(), reset()  one allocation for the new map (copy-on-write), one for the
//                   value (set); O(n) in the variables set in the context
//   spawn           until the process's first set(): one load and a branch;
//                   then an empty context costs a few loads more; a non-empty
//                   one O(1): a reference count and the child's TaskInfo
//                   (one allocation)
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/detail/context_map.hpp"
#include "weft/detail/current_context.hpp"
#include "weft/errors.hpp"

namespace weft {

template <class T>
class ContextVar;

/// What set() returns: reset(token) restores the variable's previous value
/// (asyncio's contextvars.Token). Move-only; good for one reset().
template <class T>
class Token {
 public:
  Token(Token&& o) noexcept
      : var_(std::exchange(o.var_, nullptr)),
        context_(o.context_),
        old_(std::exchange(o.old_, nullptr)),
        used_(o.used_) {}
  Token& operator=(Token&& o) noexcept {
    if (this != &o) {
      detail::ContextValue::release(old_);
      var_ = std::exchange(o.var_, nullptr);
      context_ = o.context_;
      old_ = std::exchange(o.old_, nullptr);
      used_ = o.used_;
    }
    return *this;
  }
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  ~Token() { detail::ContextValue::release(old_); }

  /// The variable that made this token (Token.var). InvalidStateError if empty.
  const ContextVar<T>& var() const {
    if (!var_) throw InvalidStateError("weft::Token: empty (moved-from) Token");
    return *var_;
  }
  /// The value before set(), or nullopt if it had none (Token.old_value,
  /// Token.MISSING). InvalidStateError if empty.
  std::optional<T> old_value() const {
    (void)var();
    if (!old_) return std::nullopt;
    return static_cast<const detail::ContextValueOf<T>*>(old_)->value;
  }
  /// True once reset() used it.
  bool used() const noexcept { return used_; }

 private:
  friend class ContextVar<T>;
  Token(const ContextVar<T>* var, std::uint64_t context, detail::ContextValue* old) noexcept
      : var_(var), context_(context), old_(old) {}

  const ContextVar<T>* var_;
  std::uint64_t context_;      ///< identity of the context set() ran in
  detail::ContextValue* old_;  ///< previous value, one reference; null: none
  bool used_ = false;
};

template <class T>
class ContextVar {
  static_assert(std::copy_constructible<T>, "weft::ContextVar<T>: T must be copy-constructible");

 public:
  /// A variable without a default: get() throws LookupError where it is unset.
  explicit ContextVar(std::string name)
      : name_(std::move(name)), key_(detail::new_context_var_key()) {}
  /// A variable whose get() returns `default_value` where it is unset.
  ContextVar(std::string name, T default_value)
      : name_(std::move(name)),
        key_(detail::new_context_var_key()),
        default_(std::move(default_value)) {}
  ContextVar(const ContextVar&) = delete;
  ContextVar& operator=(const ContextVar&) = delete;

  const std::string& name() const noexcept { return name_; }

  /// The value in the current context; else the variable's default; else
  /// throws weft::LookupError.
  T get() const {
    if (const detail::ContextValue* v = find()) return value_of(v);
    if (default_) return *default_;
    throw LookupError("<ContextVar name='" + name_ +
                      "'>: no value in the current context, and no default");
  }
  /// The value in the current context, else `fallback` (it wins over the
  /// variable's default, as in asyncio's get(default)).
  template <class U>
  requires std::constructible_from<T, U&&> T get(U&& fallback)
  const {
    if (const detail::ContextValue* v = find()) return value_of(v);
    return T(std::forward<U>(fallback));
  }

  /// Sets the variable in the current context to T(args...); returns the
  /// Token that reset() takes to undo it. Throws what T's constructor throws,
  /// or std::bad_alloc; either way nothing changed.
  template <class... Args>
  requires std::constructible_from<T, Args&&...> Token<T> set(Args&&... args) {
    detail::ContextValue* v = new detail::ContextValueOf<T>(std::forward<Args>(args)...);
    std::uint64_t context = 0;
    detail::ContextValue* old = detail::context_set(key_, v, context);
    return Token<T>(this, context, old);
  }

  /// Restores the variable to its value before the set() that made `token`
  /// (or to unset), in the current context. Errors: see the top of the file.
  void reset(Token<T>& token) {
    if (!token.var_) throw InvalidStateError("weft::ContextVar::reset: empty (moved-from) Token");
    if (token.used_) throw RuntimeError(token_repr(token) + " has already been used once");
    if (token.var_ != this)
      throw std::invalid_argument(token_repr(token) + " was created by a different ContextVar");
    if (token.context_ != detail::current_context_id())
      throw std::invalid_argument(token_repr(token) + " was created in a different Context");
    detail::context_restore(key_, token.old_);
    token.used_ = true;
  }

 private:
  const detail::ContextValue* find() const noexcept {
    const detail::ContextMap* m = detail::current_context_map();
    return m ? m->find(key_) : nullptr;
  }
  static const T& value_of(const detail::ContextValue* v) noexcept {
    return static_cast<const detail::ContextValueOf<T>*>(v)->value;
  }
  static std::string token_repr(const Token<T>& t) {
    return std::string(t.used_ ? "<Token used" : "<Token") + " var=<ContextVar name='" +
           t.var_->name_ + "'>>";
  }

  std::string name_;
  std::uint64_t key_;
  std::optional<T> default_;
};

}  // namespace weft
