// Items that report their own fate, for the Queue model tests
// (sync_queue_shutdown_test.cpp, sync_queue_handover_test.cpp): a Tok is a
// move-only item with an id; a getter that receives it calls take(), and a
// Tok destroyed while it still holds its id (a refused or cancelled put's
// item, one dropped by shutdown(immediate=true), one left in the queue) counts
// as destroyed. At the end of an execution every id has exactly one fate, so
// an item lost in a hand-off (destroyed inside a cancelled getter's awaiter)
// or delivered twice shows up in the Ledger, independently of the queue's
// own counters.
#pragma once

#include <utility>

#include "weft/model.hpp"

namespace weft_test {

struct Ledger {
  static constexpr int kIds = 16;
  int got[kIds] = {};        ///< taken by a getter (or by the test's final drain)
  int destroyed[kIds] = {};  ///< destroyed while still holding the item
  bool made[kIds] = {};      ///< a Tok with this id was created
  bool put_ok[kIds] = {};    ///< the put of this id returned successfully

  /// Every id ends exactly once. `dropping`: shutdown(immediate=true) may have
  /// destroyed items that were put; otherwise a put item must be got.
  void check(bool dropping) const {
    for (int i = 0; i < kIds; ++i) {
      if (!made[i]) continue;
      WEFT_MODEL_ASSERT(got[i] + destroyed[i] == 1);   // never lost, never duplicated
      if (!put_ok[i]) WEFT_MODEL_ASSERT(got[i] == 0);  // a failed put delivers nothing
      if (put_ok[i] && !dropping) WEFT_MODEL_ASSERT(got[i] == 1);
    }
  }
};

class Tok {
 public:
  Tok(int id, Ledger* l) noexcept : id_(id), l_(l) { l->made[id] = true; }
  Tok(Tok&& o) noexcept : id_(std::exchange(o.id_, -1)), l_(o.l_) {}
  Tok& operator=(Tok&& o) noexcept {
    if (this != &o) {
      drop();
      id_ = std::exchange(o.id_, -1);
      l_ = o.l_;
    }
    return *this;
  }
  Tok(const Tok&) = delete;
  Tok& operator=(const Tok&) = delete;
  ~Tok() { drop(); }

  /// The item reached its consumer: records it and gives up the id.
  int take() noexcept {
    WEFT_MODEL_ASSERT(id_ >= 0);
    const int id = std::exchange(id_, -1);
    ++l_->got[id];
    return id;
  }

 private:
  void drop() noexcept {
    if (id_ >= 0) ++l_->destroyed[id_];
    id_ = -1;
  }
  int id_;
  Ledger* l_;
};

}  // namespace weft_test
