// ExceptionGroup: construction, the recursive split, and Python-style reprs.
#include "weft/exception_group.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <stdexcept>
#include <typeinfo>

#include "weft/errors.hpp"

namespace weft {

struct ExceptionGroup::Data {
  std::string message;
  std::string what;
  std::vector<std::exception_ptr> exceptions;
};

namespace {

/// The group inside `p`, or null if `p` holds something else.
const ExceptionGroup* as_group(const std::exception_ptr& p, ExceptionGroup& storage) {
  try {
    std::rethrow_exception(p);
  } catch (const ExceptionGroup& g) {
    storage = g;
    return &storage;
  } catch (...) {
    return nullptr;
  }
}

/// "(anonymous namespace)::ValueError" -> "ValueError"; template arguments stay.
std::string unqualified(const char* mangled) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = (status == 0 && demangled) ? demangled : mangled;
  std::free(demangled);
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {
    char c = name[i];
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (depth == 0 && c == ':' && name[i + 1] == ':') start = i + 2;
  }
  return name.substr(start);
}

/// Python's repr of a str: single quotes unless the text holds one and no double quote.
std::string quoted(const std::string& s) {
  char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, q);
  for (char c : s) {
    if (c == q || c == '\\') out += '\\';
    out += c;
  }
  out += q;
  return out;
}

std::string list_repr(const std::vector<std::exception_ptr>& excs, bool tuple) {
  std::string out(1, tuple ? '(' : '[');
  for (std::size_t i = 0; i < excs.size(); ++i) {
    if (i) out += ", ";
    out += exception_repr(excs[i]);
  }
  if (tuple && excs.size() == 1) out += ',';
  out += tuple ? ')' : ']';
  return out;
}

}  // namespace

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
    : d_(make_data(std::move(message), std::move(exceptions))) {}

std::shared_ptr<const ExceptionGroup::Data> ExceptionGroup::make_data(
    std::string message, std::vector<std::exception_ptr> excs) {
  if (excs.empty())
    throw std::invalid_argument("weft::ExceptionGroup: needs at least one exception");
  for (const auto& e : excs)
    if (!e) throw std::invalid_argument("weft::ExceptionGroup: null exception_ptr");
  auto d = std::make_shared<ExceptionGroup::Data>();
  d->what = message + " (" + std::to_string(excs.size()) +
            (excs.size() == 1 ? " sub-exception)" : " sub-exceptions)");
  d->message = std::move(message);
  d->exceptions = std::move(excs);
  return d;
}

const char* ExceptionGroup::what() const noexcept {
  return d_->what.c_str();
}
const std::string& ExceptionGroup::message() const noexcept {
  return d_->message;
}
const std::vector<std::exception_ptr>& ExceptionGroup::exceptions() const noexcept {
  return d_->exceptions;
}

ExceptionGroup ExceptionGroup::derive(std::vector<std::exception_ptr> exceptions) const {
  return ExceptionGroup(make_data(d_->message, std::move(exceptions)));
}

std::vector<std::exception_ptr> ExceptionGroup::leaves() const {
  std::vector<std::exception_ptr> out;
  ExceptionGroup nested = *this;
  for (const auto& e : d_->exceptions) {
    if (const ExceptionGroup* g = as_group(e, nested)) {
      auto sub = g->leaves();
      out.insert(out.end(), sub.begin(), sub.end());
    } else {
      out.push_back(e);
    }
  }
  return out;
}

bool ExceptionGroup::contains_if(const Predicate& pred) const {
  return split_if(pred).first.has_value();
}

std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> ExceptionGroup::split_if(
    const Predicate& pred) const {
  if (!pred) throw std::invalid_argument("weft::ExceptionGroup::split_if: empty predicate");
  if (pred(std::make_exception_ptr(*this))) return {*this, std::nullopt};
  std::vector<std::exception_ptr> match, rest;
  ExceptionGroup nested = *this;
  for (const auto& e : d_->exceptions) {
    if (const ExceptionGroup* g = as_group(e, nested)) {
      auto [m, r] = g->split_if(pred);
      if (m) match.push_back(std::make_exception_ptr(std::move(*m)));
      if (r) rest.push_back(std::make_exception_ptr(std::move(*r)));
    } else if (pred(e)) {
      match.push_back(e);
    } else {
      rest.push_back(e);
    }
  }
  std::pair<std::optional<ExceptionGroup>, std::optional<ExceptionGroup>> out;
  // A half equal to the whole is this group itself (Python returns self too).
  if (rest.empty()) {
    out.first = match.size() == d_->exceptions.size() && match == d_->exceptions
                    ? *this
                    : derive(std::move(match));
  } else if (match.empty()) {
    out.second = rest == d_->exceptions ? *this : derive(std::move(rest));
  } else {
    out.first = derive(std::move(match));
    out.second = derive(std::move(rest));
  }
  return out;
}

std::string ExceptionGroup::repr() const {
  return "ExceptionGroup(" + quoted(d_->message) + ", " + list_repr(d_->exceptions, false) + ")";
}

std::string ExceptionGroup::exceptions_repr() const {
  return list_repr(d_->exceptions, true);
}

std::string exception_repr(const std::exception_ptr& e) {
  if (!e) return "None";
  try {
    std::rethrow_exception(e);
  } catch (const ExceptionGroup& g) {
    return g.repr();
  } catch (const CancelledError& c) {
    std::string msg = c.what();
    return msg == CancelledError().what() ? "CancelledError()"
                                          : "CancelledError(" + quoted(msg) + ")";
  } catch (const std::exception& x) {
    return unqualified(typeid(x).name()) + "(" + quoted(x.what()) + ")";
  } catch (...) {
    std::type_info* t = abi::__cxa_current_exception_type();
    return (t ? unqualified(t->name()) : std::string("exception")) + "()";
  }
}

std::string exception_message(const std::exception_ptr& e) {
  if (!e) return "";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (const CancelledError& c) {
    std::string msg = c.what();
    return msg == CancelledError().what() ? std::string()
                                          : msg;  // Python: str(CancelledError()) == ""
  } catch (...) {
    return "";
  }
}

ExceptionGroup as_exception_group(const std::exception_ptr& e) {
  if (!e) throw std::invalid_argument("weft::as_exception_group: null exception_ptr");
  try {
    std::rethrow_exception(e);
  } catch (const ExceptionGroup& g) {
    return g;
  } catch (...) {
  }
  return ExceptionGroup("", {e});
}

}  // namespace weft
