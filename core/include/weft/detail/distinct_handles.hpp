// distinct_handles(): a set of JoinHandles as asyncio sees the futures given to
// wait() and as_completed(): each task once, in the order first given.
#pragma once

#include <unordered_set>
#include <utility>
#include <vector>

#include "weft/join_handle.hpp"

namespace weft::detail {

/// Throws InvalidStateError("<who>: empty JoinHandle") for an empty handle.
/// O(n) expected.
template <class T>
std::vector<JoinHandle<T>> distinct_handles(std::vector<JoinHandle<T>> handles, const char* who) {
  for (const auto& h : handles)
    if (!h) throw InvalidStateError(std::string(who) + ": empty JoinHandle");
  std::unordered_set<const TaskHeader*> seen;
  std::vector<JoinHandle<T>> out;
  out.reserve(handles.size());
  for (auto& h : handles)
    if (seen.insert(h.header()).second) out.push_back(std::move(h));
  return out;
}

}  // namespace weft::detail
