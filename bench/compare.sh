#!/usr/bin/env bash
# Side-by-side: weft-wl and the peer harnesses (shared/peers/run.sh) on the
# same machine, in one go, alternating implementations round by round, then a
# table of median ns/op and the ratio weft/peer per workload.
#
#   bench/compare.sh                    all workloads, all peers, 3 rounds
#   ROUNDS=5 PEERS="tokio go" bench/compare.sh fib spawn_many
# Env: THREADS (default 2), SCALE, ROUNDS (default 3), PEERS (default
# "tokio go tbb fiber asyncio uvloop"; tmc and libfork on request), WEFT_BUILD_DIR (default build/release),
# RESULTS (file to update, default bench/RESULTS.md; "-" to skip), README (the
# README whose benchmark table is replaced, between its "compare.sh table"
# markers: by default README.md when the run covers every workload, that is,
# no names given; a path forces it, "-" skips it).
# Python's peers run at SCALE=0.1 (they report their real op counts), as
# WORKLOADS.md allows; ns/op stays comparable.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build/release}
peers_run=${PEERS_RUN:-$root/../shared/peers/run.sh}
rounds=${ROUNDS:-3}
peers=${PEERS:-tokio go tbb fiber asyncio uvloop}
export THREADS=${THREADS:-2}
results=${RESULTS:-$root/bench/RESULTS.md}
readme=${README:-}
if [[ -z $readme ]]; then
  if [[ $# -eq 0 || ( $# -eq 1 && $1 == all ) ]]; then readme=$root/README.md; else readme=-; fi
fi
command -v python3 >/dev/null || { echo "compare.sh needs python3 (for the table)" >&2; exit 2; }
[[ -x $build/bench/weft-wl ]] || { echo "no $build/bench/weft-wl: build the release preset first" >&2; exit 2; }
[[ -x $peers_run ]] || { echo "no peer harness at $peers_run" >&2; exit 2; }

# Workload names (the peers' harnesses take names; ids are translated).
all_names=(spawn_many yield_many ping_pong chained_spawn fib mutex semaphore mpsc mpmc
           sleep_many timeout_ready parked_memory skynet nqueens fanout_oldest)
declare -A by_id=([W1]=spawn_many [W2]=yield_many [W3]=ping_pong [W4]=chained_spawn [W5]=fib
                  [W6]=mutex [W7]=semaphore [W8]=mpsc [W8b]=mpmc [W9]=sleep_many
                  [W9b]=timeout_ready [W10]=parked_memory [W13]=skynet [W14]=nqueens
                  [W15]=fanout_oldest [X13]=skynet_newest)
workloads=()
for w in "${@:-all}"; do
  if [[ $w == all ]]; then workloads+=("${all_names[@]}")
  elif [[ -n ${by_id[$w]:-} ]]; then workloads+=("${by_id[$w]}")
  else workloads+=("$w"); fi
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT

for p in $peers; do "$peers_run" build "$p" >/dev/null 2>&1 || echo "compare: building $p failed; skipping it" >&2; done
for ((r = 1; r <= rounds; r++)); do
  echo "compare: round $r/$rounds" >&2
  "$build/bench/weft-wl" "${workloads[@]}" >>"$out" || true
  for p in $peers; do
    scale=${SCALE:-1}
    [[ $p == asyncio || $p == uvloop ]] && scale=${PY_SCALE:-0.1}
    # One workload per call: a harness that lacks one (tbb, fiber) rejects
    # only that call.
    for w in "${workloads[@]}"; do
      SCALE=$scale timeout 900 "$peers_run" "$p" "$w" >>"$out" 2>/dev/null || true
    done
  done
done

python3 - "$out" "$results" "$THREADS" "$rounds" "$(nproc)" "$readme" "$peers" <<'PY'
import json, statistics, sys, datetime
path, results, threads, rounds, cores, readme, peers = sys.argv[1:8]
runs = {}
for line in open(path):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        d = json.loads(line)
    except ValueError:
        continue
    impl = {"onetbb": "tbb", "boost-fiber": "fiber"}.get(d.get("impl"), d.get("impl"))
    runs.setdefault(d["workload"], {}).setdefault(impl, []).append(d)
order = ["spawn_many", "yield_many", "ping_pong", "chained_spawn", "fib", "mutex", "semaphore",
         "mpsc", "mpmc", "sleep_many", "timeout_ready", "parked_memory", "skynet", "nqueens",
         "fanout_oldest", "skynet_newest"]
impls = [i for i in ["weft", "tmc", "libfork", "tokio", "go", "tbb", "fiber", "asyncio", "uvloop"]
         if i == "weft" or any(i in by for by in runs.values())]
def med(ds, key="ns_per_op"):
    vals = [d[key] for d in ds if key in d]
    return statistics.median(vals) if vals else None
rows = []
for w in order + sorted(set(runs) - set(order)):
    if w not in runs:
        continue
    by = runs[w]
    base = med(by.get("weft", []))
    cells = []
    for i in impls:
        m = med(by.get(i, []))
        if m is None:
            cells.append("-")
            continue
        ok = all(d.get("ok", False) for d in by[i])
        cell = f"{m:.1f}" + ("" if ok else " (not ok)")
        if i != "weft" and base:
            cell += f" ({base / m:.2f}x)"
        cells.append(cell)
    rows.append(f"| {w} | " + " | ".join(cells) + " |")
header = ("| workload | " + " | ".join(impls) + " |\n|---|" + "---|" * len(impls))
table = "\n".join([header] + rows)
stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
section = (f"<!-- compare.sh begin -->\n## Side by side (bench/compare.sh)\n\n"
           f"{stamp}, {cores} cores, THREADS={threads}, median of {rounds} alternating rounds. "
           f"Cells: median ns/op (weft/peer time ratio; below 1 means weft is faster). "
           f"asyncio/uvloop ran at SCALE=0.1 (single thread).\n\n{table}\n<!-- compare.sh end -->\n")
print(table)

def replace_between(file, begin, end, body, append_if_missing):
    try:
        text = open(file).read()
    except FileNotFoundError:
        if not append_if_missing:
            sys.exit(f"compare: no {file} to update")
        text = "# Benchmark results\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + body.rstrip("\n") + text[text.index(end) + len(end):]
    elif append_if_missing:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        sys.exit(f"compare: {file} has no '{begin}' ... '{end}' markers; table not written")
    open(file, "w").write(text)

if results != "-":
    replace_between(results, "<!-- compare.sh begin -->", "<!-- compare.sh end -->", section, True)
if readme != "-":
    readme_section = (f"<!-- compare.sh table begin -->\n"
                      f"Written by `bench/compare.sh` ({stamp}; {cores} cores, THREADS={threads}, "
                      f"median ns/op of {rounds} alternating rounds; peers: {peers}). "
                      f"In brackets: weft's time / the peer's (below 1: weft is faster); "
                      f"asyncio and uvloop run single-threaded at SCALE=0.1.\n\n{table}\n"
                      f"<!-- compare.sh table end -->\n")
    replace_between(readme, "<!-- compare.sh table begin -->", "<!-- compare.sh table end -->",
                    readme_section, False)
PY
