#!/usr/bin/env bash
# W12 crawl (shared/bench/WORKLOADS.md): the seed's AsyncCrawler fetching
# 10,000 URLs at concurrency 100 with a 2 s timeout from the embedded
# httpbin-like server (weft::http::DemoServer, run as `weft-crawl --serve`),
# then the same URL file, same server, crawled by the peers' Go net/http
# crawler and the seed's own Python program (asyncio + httpx) through
# shared/peers/run.sh. The URL mix: /get, /delay/0.05, /status/404,
# /bytes/4096 and a closed port (127.0.0.1:1), in turn. One JSON line per
# crawler run on stdout:
#
#   {"workload":"crawl","impl":"weft","threads":2,"ops":10000,"seconds":X,"ns_per_op":X,
#    "rss_kb":X,"status_counts":{"0":2000,"200":6000,"404":2000},"ok":true}
#
# "ok": every URL got the status its path implies (/status/N -> N, port 1 ->
# 0, else 200), as the peers define it; for weft also peak RSS < 64 MiB.
#
# Env: WEFT_BUILD_DIR (default build/release), URLS (10000), PORT (18090),
# THREADS (crawler worker threads, default 2, as the peers), SERVER_WORKERS
# (1), ROUNDS (1; rounds alternate weft and the peers), PEERS ("go
# python-httpx"; "" for weft only), PEERS_DIR (../shared/peers). Logs go to
# stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WEFT_BUILD_DIR:-$root/build/release}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
urls="${URLS:-10000}"
port="${PORT:-18090}"
threads="${THREADS:-2}"
server_workers="${SERVER_WORKERS:-1}"
rounds="${ROUNDS:-1}"
peers="${PEERS-go python-httpx}"
peers_dir="${PEERS_DIR:-$root/../shared/peers}"
crawl="$build/tools/weft-crawl"

log() { echo "crawl: $*" >&2; }
[ -x "$crawl" ] || { log "no $crawl (build the release preset with tools first)"; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work="$(mktemp -d /tmp/weft-w12.XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

base="http://127.0.0.1:$port"
python3 - "$base" "$urls" > "$work/urls.txt" <<'PY'
import sys
base, n = sys.argv[1], int(sys.argv[2])
mix = [base + "/get", base + "/delay/0.05", base + "/status/404", base + "/bytes/4096",
       "http://127.0.0.1:1/"]
for i in range(n):
    print(mix[i % len(mix)])
PY

"$crawl" --serve "127.0.0.1:$port" --workers "$server_workers" 2>"$work/server.log" & pid=$!
for _ in $(seq 1 100); do
  curl -s --max-time 1 "$base/get" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { log "the demo server did not start:"; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

run_weft() {
  "$crawl" --concurrency 100 --timeout 2 --workers "$threads" --json --summary-json \
    --no-progress "$work/urls.txt" > "$work/weft.jsonl" 2> "$work/weft.err" || true
  python3 - "$work/weft.jsonl" "$threads" <<'PY'
import json, sys
from urllib.parse import urlsplit
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
summary, results = lines[-1], lines[:-1]
def expected(url):
    u = urlsplit(url)
    if u.port == 1:
        return 0
    if u.path.startswith("/status/"):
        try:
            return int(u.path[len("/status/"):])
        except ValueError:
            pass
    return 200
ok = len(results) == summary["urls"] and all(r["status"] == expected(r["url"]) for r in results)
ok = ok and summary["rss_kb"] < 64 * 1024
line = {"workload": "crawl", "impl": "weft", "threads": int(sys.argv[2]), "ops": summary["urls"],
        "seconds": summary["seconds"],
        "ns_per_op": round(summary["seconds"] * 1e9 / max(summary["urls"], 1), 1),
        "rss_kb": summary["rss_kb"], "status_counts": summary["status_counts"], "ok": ok}
for kind, n in summary["error_kinds"].items():
    print(f"crawl: weft: {n} x {kind}", file=sys.stderr)
print(json.dumps(line, separators=(",", ":")))
PY
}

for impl in $peers; do
  log "building $impl (first use only)"
  THREADS=$threads "$peers_dir/run.sh" build "${impl/python-httpx/python}" >&2 ||
    { log "$impl: build failed"; peers="${peers//$impl/}"; }
done

for round in $(seq 1 "$rounds"); do
  log "round $round/$rounds: weft"
  run_weft
  for impl in $peers; do
    log "round $round/$rounds: $impl"
    THREADS=$threads "$peers_dir/run.sh" crawl "$impl" "$work/urls.txt" || log "$impl: failed"
  done
done
