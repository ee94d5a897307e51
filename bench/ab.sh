#!/usr/bin/env bash
# Before/after timing of two weft-wl binaries, alternating A and B round by
# round (this machine is shared: alternation spreads the noise over both),
# then the median ns/op of each and the ratio B/A per workload.
#
#   bench/ab.sh BEFORE_WL AFTER_WL [WORKLOAD...]   (default: W1-W10)
#
# Env: ROUNDS (default 5), THREADS (2), SCALE (1). Prints a Markdown table.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/ab.sh BEFORE_WL AFTER_WL [WORKLOAD...]" >&2; exit 2; }
before="$1"
after="$2"
shift 2
if [ $# -eq 0 ]; then
  set -- fib spawn_many yield_many ping_pong chained_spawn mutex semaphore mpsc mpmc \
    timeout_ready parked_memory sleep_many
fi
rounds="${ROUNDS:-5}"
export THREADS="${THREADS:-2}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
for r in $(seq 1 "$rounds"); do
  for w in "$@"; do
    # Alternate which binary goes first, too.
    if [ $((r % 2)) -eq 1 ]; then order="A B"; else order="B A"; fi
    for side in $order; do
      bin="$before"
      [ "$side" = B ] && bin="$after"
      line=$("$bin" "$w")
      echo "$side $line" >>"$out"
    done
  done
done
python3 - "$out" "$rounds" "$THREADS" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, js = line.split(" ", 1)
    d = json.loads(js)
    rows.setdefault(d["workload"], {}).setdefault(side, []).append(d["ns_per_op"])
print(f"| workload | before ns/op | after ns/op | after/before | (median of {sys.argv[2]} alternating rounds, THREADS={sys.argv[3]}) |")
print("|---|---|---|---|---|")
for w, s in rows.items():
    a, b = statistics.median(s["A"]), statistics.median(s["B"])
    lo, hi = min(s["B"]) / max(s["A"]), max(s["B"]) / min(s["A"])
    print(f"| {w} | {a:.1f} | {b:.1f} | {b / a:.2f} | range {lo:.2f}-{hi:.2f} |")
PY
