// W13 skynet, W14 nqueens, W15 fanout_oldest: fork-join trees written the way
// an asyncio user writes them (gather of the children; handles awaited oldest
// first), plus X13 skynet_newest, the hand-written newest-first join of the same
// tree that W13/W15 are compared with, and X13e skynet_eager, W13 with eager
// tasks (neither is part of `weft-wl all`).
#include <array>
#include <chrono>
#include <utility>
#include <vector>

#include "weft/weft.hpp"
#include "workload.hpp"

namespace weft::wl {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Tree sizes under SCALE, as the peers' harnesses choose them
// (shared/peers/cpp/common.hpp): the largest tree with at most SCALE x the
// full-size op count.
long skynet_tasks(long size) {
  long t = 0;
  for (long s = 1; s <= size; s *= 10)
    t += s;
  return t;
}
long skynet_size(double scale) {
  const double limit = scale * static_cast<double>(skynet_tasks(1'000'000)) * (1 + 1e-9);
  long size = 1'000'000;
  while (size > 10 && static_cast<double>(skynet_tasks(size)) > limit)
    size /= 10;
  return size;
}

constexpr long kQueenSolutions[13] = {1, 1, 0, 0, 2, 10, 4, 40, 92, 352, 724, 2680, 14200};
constexpr long kQueenForks[13] = {0, 1, 2, 5, 16, 53, 152, 551, 2056, 8393, 35538, 166925, 856188};
int nqueens_n(double scale) {
  const double limit = scale * static_cast<double>(kQueenForks[12]) * (1 + 1e-9);
  int n = 12;
  while (n > 4 && static_cast<double>(kQueenForks[n]) > limit)
    --n;
  return n;
}

void tree_fields(Result& r, const Context& ctx, long full_ops) {
  if (r.ops != full_ops || ctx.scale != 1.0)
    r.extra["scale"] = static_cast<double>(r.ops) / static_cast<double>(full_ops);
}

// ---- W13: skynet, the ten children gathered (asyncio.gather) ----
Task<long> skynet(long num, long size) {
  if (size == 1) co_return num;
  const long sub = size / 10;
  std::vector<Task<long>> kids;
  kids.reserve(10);
  for (long i = 0; i < 10; ++i)
    kids.push_back(skynet(num + i * sub, sub));
  long sum = 0;
  for (long v : co_await gather(std::move(kids)))
    sum += v;
  co_return sum;
}

// ---- W15: the same tree, ten spawned handles awaited oldest first ----
Task<long> fanout_oldest(long num, long size) {
  if (size == 1) co_return num;
  const long sub = size / 10;
  std::array<JoinHandle<long>, 10> handles;
  for (long i = 0; i < 10; ++i)
    handles[static_cast<std::size_t>(i)] = spawn(fanout_oldest(num + i * sub, sub));
  long total = 0;
  for (auto& h : handles)
    total += co_await std::move(h);
  co_return total;
}

// ---- X13: the same tree, handles awaited newest first (the reference form) ----
Task<long> skynet_newest(long num, long size) {
  if (size == 1) co_return num;
  const long sub = size / 10;
  std::array<JoinHandle<long>, 10> handles;
  for (long i = 0; i < 10; ++i)
    handles[static_cast<std::size_t>(i)] = spawn(skynet_newest(num + i * sub, sub));
  long total = 0;
  for (auto it = handles.rbegin(); it != handles.rend(); ++it)
    total += co_await std::move(*it);
  co_return total;
}

template <Task<long> (*Tree)(long, long), bool Eager = false>
Result skynet_form(const Context& ctx) {
  const long size = skynet_size(ctx.scale);
  auto body = [&]() -> Task<std::pair<double, long>> {
    auto t0 = Clock::now();
    long v = co_await Tree(0, size);
    co_return std::pair<double, long>{since(t0), v};
  };
  auto [seconds, value] = run(body(), {.workers = ctx.threads, .eager_tasks = Eager});
  Result r;
  r.seconds = seconds;
  r.ops = skynet_tasks(size);
  r.ok = value == size * (size - 1) / 2;
  r.counts["size"] = size;
  r.counts["result"] = value;
  tree_fields(r, ctx, skynet_tasks(1'000'000));
  return r;
}

// ---- W14: nqueens, one gathered child per safe column, the board by value ----
struct Queens {
  long solutions = 0;
  long forks = 0;
};
using Board = std::array<signed char, 12>;

Task<Queens> nqueens(int n, int row, Board board) {
  if (row == n) co_return Queens{1, 0};
  std::vector<Task<Queens>> kids;
  kids.reserve(static_cast<std::size_t>(n));
  for (int col = 0; col < n; ++col) {
    bool safe = true;
    for (int i = 0; i < row; ++i) {
      const int q = board[static_cast<std::size_t>(i)], d = row - i;
      if (col == q || col == q - d || col == q + d) {
        safe = false;
        break;
      }
    }
    if (!safe) continue;
    board[static_cast<std::size_t>(row)] = static_cast<signed char>(col);
    kids.push_back(nqueens(n, row + 1, board));
  }
  Queens sum{0, static_cast<long>(kids.size())};
  if (kids.empty()) co_return sum;
  for (const Queens& q : co_await gather(std::move(kids))) {
    sum.solutions += q.solutions;
    sum.forks += q.forks;
  }
  co_return sum;
}

Result nqueens_wl(const Context& ctx) {
  const int n = nqueens_n(ctx.scale);
  auto body = [&]() -> Task<std::pair<double, Queens>> {
    auto t0 = Clock::now();
    Queens q = co_await nqueens(n, 0, Board{});
    co_return std::pair<double, Queens>{since(t0), q};
  };
  auto [seconds, q] = run(body(), {.workers = ctx.threads});
  Result r;
  r.seconds = seconds;
  r.ops = q.forks;
  r.ok = q.solutions == kQueenSolutions[n] && q.forks == kQueenForks[n];
  r.counts["n"] = n;
  r.counts["result"] = q.solutions;
  tree_fields(r, ctx, kQueenForks[12]);
  return r;
}

WEFT_WORKLOAD("W13", "skynet", skynet_form<skynet>);
WEFT_WORKLOAD("W14", "nqueens", nqueens_wl);
WEFT_WORKLOAD("W15", "fanout_oldest", skynet_form<fanout_oldest>);
WEFT_WORKLOAD("X13", "skynet_newest", skynet_form<skynet_newest>);
// X13e: W13 with asyncio's eager task factory (RunOptions::eager_tasks).
WEFT_WORKLOAD("X13e", "skynet_eager", (skynet_form<skynet, true>));

}  // namespace
}  // namespace weft::wl
