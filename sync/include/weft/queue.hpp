// weft::Queue<T>: asyncio.Queue for tasks on any number of worker threads, and
// for plain threads. LifoQueue (lifo_queue.hpp) and PriorityQueue
// (priority_queue.hpp) share everything below except the order of the items.
//
//   weft::Queue<int> q(5);                        // maxsize 5; 0 = unbounded
//   co_await q.put(42);                           // waits while full
//   int v = co_await q.get();                     // waits while empty
//   q.task_done(); co_await q.join();             // asyncio's accounting
//   q.put_nowait(1); q.get_nowait();              // throw QueueFull / QueueEmpty
//   q.try_put(1); std::optional<int> x = q.try_get();
//   q.shutdown();                                 // Python 3.13
//   q.put_blocking(1); q.get_blocking();          // plain threads only
//
// Semantics (asyncio's, Python 3.13)
//  - FIFO items; maxsize <= 0 means unbounded. T may be move-only; it must be
//    nothrow move constructible and destructible. A queue holds at most
//    2^35 - 1 items: a larger maxsize throws ValueError, and an unbounded
//    queue at that many items behaves as full (QueueFull, waiting puts).
//  - Fair: puts and gets that wait are served in the order their requests
//    reach the combiner, and a waiting operation is never overtaken by a
//    *_nowait(): put_nowait() fails with QueueFull while putters are counted,
//    get_nowait() with QueueEmpty while getters are counted (the room and the
//    items are theirs first; a waiter that counted itself but was preempted
//    before publishing its request can still be overtaken by a later waiter).
//  - task_done() / join(): every put counts an unfinished task; join() returns
//    once task_done() has been called for each (immediately if none is
//    unfinished). task_done() called too often throws weft::ValueError.
//  - shutdown(immediate=false): puts (waiting and future) throw QueueShutDown;
//    gets go on while items remain, then throw QueueShutDown (waiting ones
//    too). immediate=true also drops the items (counting each one done, so
//    join() returns) and gets throw at once; an item whose put was running
//    at that moment is dropped when the put completes.
//  - put()/get()/join() are suspension points only when they wait (or, with
//    the task's cooperative budget spent, they complete and yield once).
//    Cancelling a waiting put()/get() (cancel(), weft::wait_for, weft::timeout)
//    leaves no trace: a cancelled put's item is not in the queue (it is
//    destroyed with the awaiter), a cancelled get takes nothing. If the item
//    or the room was handed over before the task resumed, the operation
//    completes and the cancellation comes at the next suspension: nothing is
//    lost (asyncio would leave such an item in the queue; weft has already
//    moved it into the getter, and a task that then returns without another
//    suspension keeps its result rather than ending cancelled). join() throws
//    CancelledError at a resumption that a cancel() beat.
//  - Waiters are resumed by scheduling their tasks, never inline in the
//    operation that satisfied them.
//  - Lifetime: as for Semaphore, a put() or task_done() may still be running
//    (signalling the combiner) after the get() or join() it served returned:
//    destroy the Queue only once the tasks using it are done.
//  - qsize()/empty()/full() are instantaneous readings: while puts and gets
//    run concurrently, a slot counts as used from a put's reservation until
//    the item has left the storage again.
//
// Progress and cost (front-end: four counters on one cache line and the
// unfinished count, detail/queue_core.hpp; waiting: detail/combiner.hpp;
// items: a storage)
//   put_nowait/try_put        one CAS to reserve room (retried only when
//                             another operation changed the count; its old
//                             tail is the put's ring slot), the storage push
//                             (a slot store), two fetch_adds. The push may wait
//                             for an older operation on the same slot or
//                             block (below): not lock-free. About every 63rd
//                             put of an unbounded queue allocates a block
//                             (operator new; std::bad_alloc leaves the queue
//                             and the item as they were). A put that waited
//                             (maxsize > 4096; an unbounded queue's putters
//                             wait only at 2^35 - 1 items) and whose turn needs a block
//                             that cannot be allocated throws std::bad_alloc
//                             too: its item is not in the queue, the room goes
//                             to the next putter
//   get_nowait/try_get        one CAS to reserve an item (its old head is the
//                             get's ring slot), the storage pop (a slot
//                             store), one fetch_add. The pop may wait for the put of its
//                             slot to finish moving its item in: not
//                             lock-free; the get that empties a block frees it
//   put()/get() that wait,    one CAS push on the mailbox (lock-free); the item
//   cancellation              moves straight between the storage and the
//                             waiter's awaiter during the hand-off, which is
//                             delegated to the combiner thread and waits for
//                             it to run (detail/combiner.hpp, "Progress")
//   task_done()               lock-free: one CAS (the zero check and the
//                             decrement are one decision)
//   qsize/empty/full          wait-free: two loads
//   Queue's storage           maxsize 1..4096: a preallocated ring of slots
//                             with sequence numbers (detail/ring_storage.hpp):
//                             one store per push or pop at the ticket of its
//                             reservation, no allocation per item. A push or
//                             pop waits (spins, then yields the CPU) only for
//                             an operation on the same or an older ticket
//                             (pop h for push h, push t for pop t - maxsize)
//                             that is between
//                             its reservation and its slot store: a few instructions and T's move
//                             constructor, unless that thread was preempted
//                             right there. Unbounded or larger: a list of
//                             blocks of 63 slots (detail/block_storage.hpp):
//                             a CAS on the tail or head and an RMW on the
//                             slot per push or pop, one allocation per 63
//                             items, each block freed by the pop that finishes
//                             its last slot; a push waits only while the push
//                             of a block's last slot links the next block, a
//                             pop for the push of its slot and, at a block's
//                             end, for that link or for the pop of the last
//                             slot to move the head on
// No mutex on any path (PriorityQueue's storage excepted: see
// priority_queue.hpp); the storages' slot waits are the one spin. Why the
// reservations are lock-free and not wait-free: a reservation is a
// conditional update (room < maxsize), which is a CAS loop (a fetch_add with
// undo would show other threads a transient full or empty queue). Why the ring
// and the blocks give up lock-freedom: the lock-free rings we know take several RMWs per
// operation (the SCQ ring used before took four per push and four per pop,
// and W8 took 2.1x as long with it, W8b 1.7x), and the lock-free list used
// before for unbounded queues allocated a node per item and ran hazard
// pointers; crossbeam's ArrayQueue and SegQueue and Go's channels (a mutex)
// make the same trade. T's move constructor must not use
// the same queue (a get inside a put's ring window can wait for itself).
//
// Destroying a queue while tasks wait on it is undefined behaviour; items still
// in it are destroyed with it.
#pragma once

#include <cstdint>

#include "weft/detail/basic_queue.hpp"
#include "weft/detail/fifo_storage.hpp"

namespace weft {

template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStorage<T>> {
 public:
  /// maxsize <= 0: unbounded. Throws ValueError if maxsize > 2^35 - 1.
  explicit Queue(std::int64_t maxsize = 0)
      : detail::BasicQueue<T, detail::FifoStorage<T>>(maxsize) {}
};

}  // namespace weft
