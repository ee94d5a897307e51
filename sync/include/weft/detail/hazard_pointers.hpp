// Hazard pointers (Michael, 2004): safe memory reclamation for the lock-free
// node-based queue storage (treiber_stack.hpp: LifoQueue).
//
// A thread that is about to dereference a node it read from a shared pointer
// first publishes the node in one of its hazard slots and re-reads the shared
// pointer; a node that has been unlinked is *retired*, and freed only once no
// hazard slot holds it. Each thread owns one record of kSlots slots, registered
// on first use in a global list (records are reused after their thread exits,
// never freed). Retired nodes wait in a per-thread list; when it reaches a
// threshold proportional to the number of slots, the thread scans all slots and
// frees what nobody protects. A thread that exits hands its leftovers to a
// global orphan list that the next scan adopts.
//
// Progress: protect() is lock-free (it retries only when the shared pointer
// changed, i.e. another thread made progress); clear() is wait-free; retire()
// waits for nobody but allocates (a vector push_back), and its periodic scan,
// O(records * slots + retired), allocates, sorts and frees: not wait-free. Memory: a thread keeps
// at most about 2 * (records * slots) + 64 retired nodes unreclaimed.
//
// Slots are per thread, and a weft task may migrate between threads only at a
// suspension point: storages protect and clear within one synchronous call.
#pragma once

#include <atomic>
#include <cstddef>

#include "weft/detail/atomic.hpp"

namespace weft::detail {

class Hazards {
 public:
  /// Slots per thread: a node-based queue pop protects the node it reads and
  /// its successor.
  static constexpr int kSlots = 2;

  struct alignas(64) Record {
    detail::Atomic<void*> slots[kSlots] = {};
    detail::Atomic<bool> active{true};
    Record* next = nullptr;  ///< global list, immutable once published
  };

  /// The calling thread's hazards (its record is registered on first use).
  static Hazards& local() {
    Hazards* h = tls_local_;
    return h ? *h : register_thread();
  }

  /// Publishes the current value of `src` in slot `i` and returns it, once the
  /// publication is known to precede any reclamation of it.
  template <class T>
  T* protect(const detail::Atomic<T*>& src, int i) noexcept {
    T* p = src.load(std::memory_order_relaxed);
    for (;;) {
      // seq_cst: the slot store must be ordered before the re-read and before
      // a reclaimer's scan of the slots (store-load ordering).
      record_->slots[i].store(p, std::memory_order_seq_cst);
      T* q = src.load(std::memory_order_seq_cst);
      if (q == p) return p;
      p = q;
    }
  }
  /// Publishes `p` in slot `i`; the caller must then re-validate that `p` is
  /// still reachable (e.g. by re-reading the pointer it came through).
  void protect_value(void* p, int i) noexcept {
    // seq_cst: ordered before the caller's validating re-read (store-load).
    record_->slots[i].store(p, std::memory_order_seq_cst);
  }
  void clear(int i) noexcept {
    // release: our reads of the node happen-before its reclamation.
    record_->slots[i].store(nullptr, std::memory_order_release);
  }
  /// Frees `p` with `deleter` once no hazard slot holds it.
  void retire(void* p, void (*deleter)(void*) noexcept);

 private:
  friend struct ThreadHazards;
  static Hazards& register_thread();
  static inline thread_local Hazards* tls_local_ = nullptr;

  Record* record_ = nullptr;
};

}  // namespace weft::detail
