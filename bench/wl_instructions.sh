#!/usr/bin/env bash
# Instructions per operation of weft-wl workloads, counted by valgrind's
# callgrind: deterministic where timings on a shared machine are not. Each
# workload runs twice on one worker (THREADS=1), at SCALE A and B; the
# per-op figure is the slope (Ir_B - Ir_A) / (ops_B - ops_A), so start-up and
# shutdown cancel out. Compare two builds by running it on each binary.
#
#   bench/wl_instructions.sh [WORKLOAD...]       (default: W1-W10 minus fib)
#
# Prints one JSON line per workload:
#   {"workload":"spawn_many","ir_per_op":656.7,"ops_a":...,"ops_b":...}
# Env: WEFT_WL (the weft-wl binary, default build/release/bench/weft-wl),
# SCALE_A (0.02), SCALE_B (0.04). Needs valgrind and python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wl="${WEFT_WL:-$root/build/release/bench/weft-wl}"
a="${SCALE_A:-0.02}"
b="${SCALE_B:-0.04}"
command -v valgrind >/dev/null || { echo "wl_instructions: valgrind is not installed" >&2; exit 1; }
[ -x "$wl" ] || { echo "wl_instructions: no weft-wl at $wl (build the release preset)" >&2; exit 1; }
if [ $# -eq 0 ]; then
  set -- spawn_many yield_many ping_pong chained_spawn mutex semaphore mpsc mpmc \
    timeout_ready parked_memory sleep_many
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

run() { # workload scale -> "ops instructions"
  local json
  json=$(THREADS=1 SCALE="$2" valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" \
    "$wl" "$1" 2>/dev/null)
  local ops
  ops=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ops"])' "$json")
  local ir
  ir=$(callgrind_annotate "$out/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  echo "$ops $ir"
}

for w in "$@"; do
  read -r ops_a ir_a < <(run "$w" "$a")
  read -r ops_b ir_b < <(run "$w" "$b")
  python3 - "$w" "$ops_a" "$ir_a" "$ops_b" "$ir_b" <<'PY'
import json, sys
w, oa, ia, ob, ib = sys.argv[1], *map(int, sys.argv[2:])
if ob == oa:
    sys.exit(f"wl_instructions: {w}: the two scales ran the same number of ops")
print(json.dumps({"workload": w, "ir_per_op": round((ib - ia) / (ob - oa), 1),
                  "ops_a": oa, "ops_b": ob}))
PY
done
