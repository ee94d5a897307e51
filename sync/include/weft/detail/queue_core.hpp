// QueueCore: the part of weft::Queue, LifoQueue and PriorityQueue that does not
// depend on the item type: counting, waiting, fairness, join() and shutdown().
//
// Four counters on one cache line, and a fifth on its own:
//
//   room_        [ tail:36 | SHUT | putters:27 ]   puts that reserved room, ever
//   freed_       gets that gave their room back (and puts that gave it up)
//   avail_       [ head:36 | SHUT | getters:27 ]   gets that reserved an item, ever
//   published_   puts whose item is in the storage
//   unfinished_  [ epoch:16 | unfinished:47 | JOINERS ]    asyncio's unfinished tasks
//
// The counts are tickets: they only grow, modulo 2^36 (compared as 36-bit
// differences, so at most kMaxItems = 2^35 - 1 slots are ever in use).
// Slots in use = tail - freed; items a get may take = published - head.
// A put reserves room (CAS on room_: tail - freed < maxsize and no
// putters waiting), and the tail it advanced from is its ticket: the ring
// storage's slot (ring_storage.hpp), so the storage itself needs no
// read-modify-write. It pushes its item, counts it unfinished, then publishes
// it (fetch_add on published_). A get reserves an item (CAS on avail_: head <
// published and no getters waiting), its ticket the head it advanced from,
// pops the storage, then frees its room (fetch_add on freed_). Because a
// storage operation only ever runs with a reservation, the storages never
// find themselves full or empty; the stack storage never makes anyone wait
// for a half-done operation, the ring makes a push or pop wait only for an
// older ticket's operation between its reservation and its slot store
// (ring_storage.hpp), the block list a pop only for its slot's push or a
// block's link in progress (block_storage.hpp; the blocks and the other
// storages ignore the tickets), PriorityQueue's heap does wait
// (tbb_priority_storage.hpp); and because a slot is reserved until its item
// has left the storage, a bounded storage never overflows. Per item that is
// five read-modify-writes: the two reservation CASes, the publish, the free
// and the unfinished count.
//
// Each reservation reads its own word first and the other side's counter
// after: the other counter can only have grown since, so the CAS that
// confirms the word also confirms the room (freed only grows) or the item
// (published only grows) that it counted on.
//
// A publish and a free learn of waiters (and of SHUT) by reading the word
// after their fetch_add; a waiter counts itself into the word (shutdown()
// sets SHUT) before the combiner (drain()) reads the counter. All of these
// are seq_cst: Dekker pairs, so one of the two sides sees the other; the x86
// cost is nil, the RMWs are full barriers anyway. (The model explores
// sequentially consistent executions only: its scenarios check that each
// side looks after it writes, the memory orders rest on this argument.)
//
// The tickets have 36 bits: a reservation whose thread stalls between its
// load and its CAS while exactly a multiple of 2^36 other reservations run
// would succeed on a stale word (the CAS cannot tell the laps apart); at tens
// of nanoseconds per operation that is a stall of over half an hour at one
// instruction, which we accept.
//
// When a reservation fails, an awaiting put or get becomes a waiter in the
// combining wait lists (detail/combiner.hpp): putters, getters and joiners. A
// putter or getter counts itself into its word before its request reaches
// the combiner, and is counted out when it is served (in the same RMW that
// takes the room or the item), refused or cancelled. While the count is not
// zero the matching fast path is closed to newcomers (FIFO: nobody barges past
// a waiter, not even one whose request the combiner has not seen yet: R6) and
// every release of the resource signals the combiner, who hands room to the
// first putter (moving its item into the storage) and items to the first
// getter (moving the item into the getter's awaiter), in FIFO order. While
// waiters are counted only the combiner takes the resource they wait for, so
// what it saw is still there when it takes it. (Up to 2^27 - 1 waiters of
// each kind at once.)
//
// A put that finds getters waiting on an empty storage (nothing queued, nothing
// in flight) takes the combiner role itself, if it is free, and moves its item
// straight into the first getter's awaiter: no storage, no room (W3).
//
// join() waiters wake when the unfinished count reaches zero; the epoch,
// bumped at each zero, tells a joiner that a zero happened even if new items
// arrived before the combiner looked (asyncio wakes joiners at the zero). The
// epoch has 16 bits: a joiner would miss a zero only if exactly a multiple of
// 65536 zeros passed between two looks of the combiner.
//
// shutdown() (Python 3.13): SHUT in both words refuses new puts, wakes waiting
// putters with QueueShutDown, and waiting getters once no item is left or in
// flight; immediate=True also drops the items (counting each as done, so
// join() returns).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "weft/detail/atomic.hpp"
#include "weft/detail/combiner.hpp"
#include "weft/detail/ring_storage.hpp"

namespace weft::detail {

class QueueCore : protected Combiner {
 public:
  /// Items available to get() right now (asyncio's qsize()).
  std::size_t qsize() const noexcept {
    // acquire (both): an instantaneous reading, ordered after what the
    // caller saw; head first, so that a publish read late only adds.
    std::uint64_t a = avail_.load(std::memory_order_acquire);
    std::int64_t n = ahead(published_.load(std::memory_order_acquire), count(a));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  bool empty() const noexcept { return qsize() == 0; }
  /// No room for a put right now (false for an unbounded queue until it
  /// holds kMaxItems).
  bool full() const noexcept { return slots_in_use() >= limit_; }
  /// The most items any queue holds (2^35 - 1: the counts' differences have
  /// 36 bits); also an unbounded queue's limit (puts then fail as if full).
  static constexpr std::int64_t kMaxItems = (std::int64_t{1} << 35) - 1;
  /// The capacity given at construction; 0 for an unbounded queue.
  std::int64_t maxsize() const noexcept { return maxsize_ > 0 ? maxsize_ : 0; }
  /// shutdown() has been called.
  bool is_shutdown() const noexcept { return room_.load(std::memory_order_acquire) & kShut; }
  /// Items put but not yet marked done with task_done().
  std::size_t unfinished_tasks() const noexcept {
    return unfinished_count(unfinished_.load(std::memory_order_acquire));
  }

 protected:
  enum class Status : std::uint8_t { ok, full, empty, shut_down };
  /// WaitNode::tag: the kind of waiter in the low bits; joiners keep the epoch above.
  static constexpr std::uint32_t kGet = 0;
  static constexpr std::uint32_t kPut = 1;
  static constexpr std::uint32_t kJoin = 2;
  static constexpr std::uint32_t kKindMask = 3;
  /// Bits the combiner adds to a granted putter's tag when it could not keep
  /// the grant: shutdown() came between its look and the grant (the put
  /// throws QueueShutDown), or the storage could not take the item
  /// (std::bad_alloc). Nothing of the put is in the queue then.
  static constexpr std::uint32_t kLateShutDown = 4;
  static constexpr std::uint32_t kLateOutOfMemory = 8;

  /// maxsize <= 0: unbounded (asyncio). Throws ValueError if absurdly large.
  /// `first_ticket`: where the counts start (tests start them near the wrap).
  explicit QueueCore(std::int64_t maxsize, std::uint64_t first_ticket = 0);
  ~QueueCore() override = default;

  // ---- fast paths (any thread) ----

  /// Reserves room for one item; `ticket` gets the put's ticket (the storage
  /// slot). Lock-free: one CAS when uncontended.
  Status reserve_room(std::uint64_t& ticket) noexcept;
  /// Gives back a reservation whose put failed before pushing (only for
  /// storages that ignore tickets: the ring's pushes cannot fail, and a ticket
  /// given up there would leave a hole its pop waited on forever).
  void cancel_room() noexcept { release_room(); }
  /// Counts the pushed item unfinished and makes it available. Wait-free
  /// (two fetch_adds and a load) unless it signals the combiner.
  void publish() noexcept;
  /// A put's first try: if getters wait, the storage is empty (not even an
  /// item reserved but not yet popped), no putter waits and the queue is not
  /// shut down, become the combiner (one CAS, only if nobody is) and move
  /// `item` (a T*) straight into the first getter's awaiter: no room, no
  /// storage. False if that is not possible right now (nothing was done).
  bool try_hand_over(void* item) noexcept;
  /// Reserves one available item (`nowait`: get_nowait's reading of shutdown);
  /// `ticket` gets the get's ticket. Lock-free: one CAS when uncontended.
  Status reserve_item(bool nowait, std::uint64_t& ticket) noexcept;
  /// After the reserved item left the storage: frees its room. Wait-free
  /// (one fetch_add and a load) unless it signals the combiner.
  void release_room() noexcept;

  void task_done();
  /// join(): true if nothing is unfinished; else `tag` gets the joiner's tag.
  bool join_ready(std::uint32_t& tag) const noexcept;
  void shutdown(bool immediate);

  // ---- storage hooks, called by the combiner (and drain) ----
  /// Moves the granted putter's item into the storage at `ticket`. False if
  /// the storage could not take it (no memory for a block: nothing changed,
  /// the item is still with the putter).
  virtual bool store_putter(WaitNode* n, std::uint64_t ticket) noexcept = 0;
  /// Pops the item of `ticket` into the granted getter's awaiter.
  virtual void load_getter(WaitNode* n, std::uint64_t ticket) noexcept = 0;
  /// Pops the item of `ticket` and destroys it (immediate shutdown).
  virtual void drop_item(std::uint64_t ticket) noexcept = 0;
  /// Moves the item at `item` (a T*) into the granted getter's awaiter.
  virtual void give_item(WaitNode* getter, void* item) noexcept = 0;

 private:
  // room_ and avail_: waiters in the low bits, SHUT, the count above.
  static constexpr unsigned kWaiterBits = 27;
  static constexpr std::uint64_t kWaiterOne = 1;
  static constexpr std::uint64_t kWaiterMask = (std::uint64_t{1} << kWaiterBits) - 1;
  static constexpr std::uint64_t kShut = std::uint64_t{1} << kWaiterBits;
  static constexpr unsigned kShift = kWaiterBits + 1;
  static constexpr std::uint64_t kOne = std::uint64_t{1} << kShift;
  // unfinished_: joiners waiting (a flag: join() uses epochs, see above).
  static constexpr std::uint64_t kJoiners = 1;
  static constexpr std::uint64_t kUnfinishedOne = 2;
  static constexpr std::uint64_t kUnfinishedMask = ((std::uint64_t{1} << 47) - 1) << 1;
  static constexpr std::uint64_t kEpochOne = std::uint64_t{1} << 48;
  static constexpr std::uint32_t kEpochMask = 0xffff;

  static_assert(64 - kShift == kTicketBits, "the ring's tickets are room_'s and avail_'s counts");
  static constexpr std::uint64_t kCountMask = kTicketMask;

  static std::uint64_t count(std::uint64_t w) noexcept { return w >> kShift; }
  /// a - b for 36-bit counts, as a signed number (sign-extended from bit 35).
  static std::int64_t ahead(std::uint64_t a, std::uint64_t b) noexcept {
    return static_cast<std::int64_t>((a - b) << kShift) >> kShift;
  }
  /// Slots in use (items in the storage plus puts and gets in flight). The
  /// frees are read first, the tail after, so the count is never low (every
  /// free read has its reservation in the tail read) and may be high by puts
  /// and frees running meanwhile: zero means nothing is in flight. seq_cst:
  /// the frees against SHUT (see shutdown()).
  std::int64_t slots_in_use() const noexcept {
    const std::uint64_t f = freed_.load(std::memory_order_seq_cst);
    return ahead(count(room_.load(std::memory_order_seq_cst)), f);
  }
  static std::size_t unfinished_count(std::uint64_t u) noexcept {
    return static_cast<std::size_t>((u & kUnfinishedMask) >> 1);
  }
  static std::uint32_t epoch_tag(std::uint64_t u) noexcept {
    return static_cast<std::uint32_t>(u >> 48) & kEpochMask;
  }

  void on_enqueue(WaitNode* n) noexcept final;
  void accept(WaitNode* n) noexcept final;
  void match() noexcept final;
  void on_cancelled(WaitNode* n) noexcept final;
  void serve_putters() noexcept;
  bool serve_getters() noexcept;
  void serve_joiners() noexcept;
  void drain() noexcept;
  /// Refuses every waiter of `list` (shutdown), counting each out of `word`.
  void refuse_all(WaitList& list, Atomic<std::uint64_t>& word) noexcept;
  /// One unfinished task fewer (never below zero); true if it reached zero.
  bool drop_unfinished() noexcept;

  const std::int64_t maxsize_;
  /// maxsize_, or kMaxItems for an unbounded queue.
  const std::int64_t limit_;
  // One cache line: every put and every get touches all four (each op one of
  // them twice); on separate lines each would move between the cores in turn.
  alignas(64) detail::Atomic<std::uint64_t> room_;
  detail::Atomic<std::uint64_t> freed_;
  detail::Atomic<std::uint64_t> avail_;
  detail::Atomic<std::uint64_t> published_;
  // Its own line: puts count it, task_done() (often not called at all) takes
  // it back; on the line above every put's fetch_add stalled on the getters'
  // traffic (here: W8 0.89x, W8b 0.94x the time, medians of 60 alternating
  // runs on 2 vCPUs; bench/RESULTS.md, "blocks").
  alignas(64) detail::Atomic<std::uint64_t> unfinished_{0};
  detail::Atomic<bool> immediate_{false};
  WaitList putters_;
  WaitList getters_;
  WaitList joiners_;
};

}  // namespace weft::detail
