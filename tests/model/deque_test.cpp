// The run queue (weft/detail/chase_lev_deque.hpp) under the model: the owner
// pushes, pops, takes and claims entries from the middle (a join that finds
// its child still queued) while a thief steals. Every item must be handed out
// exactly once, whatever the interleaving: a claim and a steal of the same
// entry, a trim over claimed slots against a thief racing for the last index,
// and a push into a slot whose last winner has not emptied it yet.
#include <gtest/gtest.h>

#include <array>

#include "model_test.hpp"
#include "sys/thread.hpp"
#include "weft/detail/chase_lev_deque.hpp"

namespace {

using weft::detail::Atomic;
using weft::detail::ChaseLevDeque;
using weft::detail::Thread;

constexpr int kItems = 5;

struct Ledger {
  std::array<int, kItems> payload{};
  std::array<Atomic<int>, kItems> taken{};
  int* item(int i) { return &payload[static_cast<std::size_t>(i)]; }
  void take(int* p) {
    if (p) taken[static_cast<std::size_t>(p - payload.data())].fetch_add(1);
  }
  /// Items that could not be pushed (the deque was full) go to the owner's
  /// overflow, as a worker's go to the inject queue.
  void push_or_keep(ChaseLevDeque<int*>& d, int i) {
    if (!d.push(item(i))) take(item(i));
  }
  void check(int upto) {
    for (int i = 0; i < upto; ++i)
      WEFT_MODEL_ASSERT(taken[static_cast<std::size_t>(i)].load() == 1);
  }
};

// The owner claims the oldest entry (from the middle) and the newest (a pop,
// then a trim over the claimed slot) while the thief steals from the top.
void claim_against_steal() {
  ChaseLevDeque<int*> d(4);
  Ledger l;
  for (int i = 0; i < 3; ++i)
    l.push_or_keep(d, i);
  Thread thief(
      [&] {
        for (int k = 0; k < 2; ++k)
          l.take(d.steal());
      },
      "thief");
  if (d.claim(l.item(0))) l.take(l.item(0));  // the middle (or the top)
  if (d.claim(l.item(2))) l.take(l.item(2));  // the bottom: pop, then trim
  l.push_or_keep(d, 3);                       // lands above the trimmed slots
  if (d.claim(l.item(1))) l.take(l.item(1));
  thief.join();
  while (int* p = d.pop())
    l.take(p);
  l.check(4);
  WEFT_MODEL_ASSERT(d.push(l.item(4)) && d.pop() == l.item(4));  // nothing left behind
}

// Wrap-around in a two-slot ring: pushes meet slots a thief has won but not
// emptied, and the take() of the owner races the thief for the same index.
void wrap_around() {
  ChaseLevDeque<int*> d(2);
  Ledger l;
  l.push_or_keep(d, 0);
  l.push_or_keep(d, 1);
  Thread thief(
      [&] {
        for (int k = 0; k < 3; ++k)
          l.take(d.steal());
      },
      "thief");
  l.take(d.take());
  l.push_or_keep(d, 2);
  if (d.claim(l.item(1))) l.take(l.item(1));
  l.push_or_keep(d, 3);
  l.push_or_keep(d, 4);
  if (d.claim(l.item(3))) l.take(l.item(3));
  thief.join();
  while (int* p = d.pop())
    l.take(p);
  l.check(kItems);
}

// Two thieves against the owner's claims of the last entries: a trim that
// reaches the top index races both for it.
void trim_against_two_thieves() {
  ChaseLevDeque<int*> d(4);
  Ledger l;
  for (int i = 0; i < 3; ++i)
    l.push_or_keep(d, i);
  auto steal = [&] { l.take(d.steal()); };
  Thread a(steal, "thief-a");
  Thread b(steal, "thief-b");
  if (d.claim(l.item(1))) l.take(l.item(1));
  if (d.claim(l.item(0))) l.take(l.item(0));
  if (d.claim(l.item(2))) l.take(l.item(2));
  l.push_or_keep(d, 3);  // must stay reachable: bottom never ends below top
  a.join();
  b.join();
  while (int* p = d.pop())
    l.take(p);
  WEFT_MODEL_ASSERT(d.empty());
  l.check(4);
}

// A thief that has won the index of a claimed slot and is delayed before its
// exchange must not take (or lose) a newer entry the owner pushes into the
// same slot after wrap-around; and once everything is handed out the deque
// takes pushes again (no tombstone left behind below top).
void tombstone_reuse() {
  ChaseLevDeque<int*> d(2);
  Ledger l;
  l.push_or_keep(d, 0);
  l.push_or_keep(d, 1);
  Thread thief(
      [&] {
        for (int k = 0; k < 2; ++k)
          l.take(d.steal());
      },
      "thief");
  if (d.claim(l.item(0))) l.take(l.item(0));  // a tombstone in slot 0
  l.push_or_keep(d, 2);
  if (d.claim(l.item(1))) l.take(l.item(1));
  l.push_or_keep(d, 3);
  l.take(d.pop());
  l.take(d.take());
  thief.join();
  while (int* p = d.pop())
    l.take(p);
  l.check(4);
  // Empty now: two pushes fit again.
  WEFT_MODEL_ASSERT(d.push(l.item(4)));
  WEFT_MODEL_ASSERT(d.pop() == l.item(4));
}

// Claims from the middle, then of the newest entry: the trim that follows
// frees the tombstones' slots for new pushes (a full deque would otherwise
// send every later spawn to the overflow queue).
void trim_frees_slots() {
  ChaseLevDeque<int*> d(4);
  Ledger l;
  for (int i = 0; i < 4; ++i)
    l.push_or_keep(d, i);
  Thread thief([&] { l.take(d.steal()); }, "thief");
  for (int i : {1, 2, 3})
    if (d.claim(l.item(i))) l.take(l.item(i));
  thief.join();
  // Whoever took item 0, at most one entry is left: three pushes fit.
  int pushed = 0;
  for (int i = 0; i < 3; ++i)
    pushed += d.push(l.item(4)) ? 1 : 0;
  WEFT_MODEL_ASSERT(pushed == 3);
  while (int* p = d.pop())
    if (p != l.item(4)) l.take(p);
  l.check(4);
}

// The classic Chase-Lev race: the owner pops (or claims) the last entry while
// a thief steals it; exactly one of them gets it.
void last_entry_race() {
  ChaseLevDeque<int*> d(2);
  Ledger l;
  l.push_or_keep(d, 0);
  l.push_or_keep(d, 1);
  Thread thief(
      [&] {
        l.take(d.steal());
        l.take(d.steal());
      },
      "thief");
  l.take(d.pop());
  if (d.claim(l.item(0))) l.take(l.item(0));
  thief.join();
  l.take(d.pop());
  l.check(2);
}

TEST(ModelDeque, LastEntryRaceHandsItOutOnce) {
  weft_test::expect_exhaustive_ok("deque last entry", 3, 2'000'000, last_entry_race);
}

TEST(ModelDeque, TrimFreesTheClaimedSlots) {
  weft_test::expect_exhaustive_ok("deque trim frees slots", 2, 2'000'000, trim_frees_slots);
}

TEST(ModelDeque, ClaimedSlotIsNotReusedUnderADelayedThief) {
  weft_test::expect_exhaustive_ok("deque tombstone reuse", 3, 2'000'000, tombstone_reuse);
}

TEST(ModelDeque, ClaimAgainstSteal) {
  weft_test::expect_exhaustive_ok("deque claim vs steal", 2, 2'000'000, claim_against_steal,
                                  /*after_points=*/false);
}

TEST(ModelDeque, WrapAroundWithClaims) {
  weft_test::expect_exhaustive_ok("deque wrap-around", 2, 2'000'000, wrap_around,
                                  /*after_points=*/false);
}

TEST(ModelDeque, TrimAgainstTwoThieves) {
  weft_test::expect_model_ok("deque trim vs two thieves", 20000, trim_against_two_thieves);
}

}  // namespace
