#!/usr/bin/env bash
# W11 http_hello (shared/bench/WORKLOADS.md): an HTTP/1.1 keep-alive server on
# 127.0.0.1 answering GET / with 200 "hello world", loaded by
# `wrk -t1 -c64 -d10s` — weft's tools/hello-http and the peers (Tokio+hyper,
# standalone Asio, Go net/http: shared/peers/run.sh http IMPL PORT), every one
# on 1 worker thread (wrk needs the other core), in ROUNDS alternating rounds
# (weft, peer 1, peer 2, ..., weft, peer 1, ...). One JSON line per run:
#
#   {"workload":"http_hello","impl":"weft","round":1,"pipeline":1,"threads":1,
#    "requests_per_sec":X,"server_cpu":0.98,"wrk_cpu":0.99,"server_us_per_req":Y,"ok":true}
#
# server_cpu / wrk_cpu: the share of one core each process used during the
# run (from /proc/PID/stat); wrk at ~1.0 means wrk, not the server, set the
# pace, and server_us_per_req (server CPU time per answered request) is then
# the figure that tells the servers apart. PIPELINE=N (N > 1) adds runs in
# which wrk pipelines N requests per write (a Lua script): wrk pays one
# syscall per N requests, so the server becomes the bottleneck.
#
# Then one summary line per impl and pipeline depth, with the median over the
# rounds and weft's ratio to it:
#
#   {"workload":"http_hello_summary","impl":"tokio","pipeline":1,"median_rps":X,"weft_ratio":R}
#
# TLS=1 adds weft over https (hello-http with a throw-away certificate made
# by the openssl command; wrk speaks TLS) to every round: impl "weft-tls".
# Last, the idle-connection target: 10,000 idle keep-alive connections held
# by weft's server, with its RSS (goal: < 100 MiB):
#
#   {"workload":"http_idle_conns","impl":"weft","threads":1,"connections":10000,"rss_kb":X,"ok":true}
#
# Env: WEFT_BUILD_DIR (default build/release), PORT (18080), DURATION (10s),
# CONNECTIONS (64), ROUNDS (3), PEERS ("tokio asio go"; "" for weft only),
# PIPELINE (16; 1 skips the pipelined runs), TLS (0), IDLE_CONNECTIONS
# (10000; 0 skips), PEERS_DIR (../shared/peers). Logs go to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WEFT_BUILD_DIR:-$root/build/release}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
port="${PORT:-18080}"
duration="${DURATION:-10s}"
conns="${CONNECTIONS:-64}"
rounds="${ROUNDS:-3}"
peers="${PEERS-tokio asio go}"
pipeline="${PIPELINE:-16}"
tls="${TLS:-0}"
idle="${IDLE_CONNECTIONS:-10000}"
peers_dir="${PEERS_DIR:-$root/../shared/peers}"
threads=1
server="$build/tools/hello-http"

log() { echo "http_hello: $*" >&2; }
[ -x "$server" ] || { log "no $server (build the release preset with tools first)"; exit 1; }
command -v wrk >/dev/null || { log "wrk is not installed (Debian package wrk)"; exit 1; }
# Enough descriptors for the idle connections (server and client, each).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work="$(mktemp -d)"
pid=""
cleanup() { # (a server killed by SIGTERM exits non-zero: not an error here)
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=""
}
trap 'cleanup; rm -rf "$work"' EXIT

cat >"$work/pipeline.lua" <<'LUA'
-- wrk: send `depth` GET / requests per write (pipelined); wrk counts every response.
local depth = tonumber(os.getenv("WRK_PIPELINE") or "16")
init = function(args)
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
LUA

if [ "$tls" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
fi

cpu_ticks() { # utime + stime of PID, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

wait_ready() { # scheme: until GET / answers "hello world" (60 s: a peer may still be compiling)
  for _ in $(seq 1 600); do
    if [ "$(curl -sk --max-time 1 "$1://127.0.0.1:$port/" 2>/dev/null)" = "hello world" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start() { # impl: starts its server as $pid
  case "$1" in
    weft) "$server" "$port" "$threads" 2>/dev/null & pid=$! ;;
    weft-tls) "$server" "$port" "$threads" "$work/cert.pem" "$work/key.pem" 2>/dev/null & pid=$! ;;
    *) THREADS=$threads "$peers_dir/run.sh" http "$1" "$port" 2>/dev/null & pid=$! ;;
  esac
}

# CPU share of one core that PID used over SECONDS (sampled while it runs).
cpu_share() { # pid seconds -> prints the share
  local hz a b
  hz=$(getconf CLK_TCK)
  a=$(cpu_ticks "$1"); sleep "$2"; b=$(cpu_ticks "$1")
  awk -v d="$((b - a))" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.2f", d / hz / s }'
}

measure() { # impl round depth: one JSON line for the server running as $pid
  local impl="$1" round="$2" depth="$3" scheme=http out rps ok=true
  [ "$impl" = weft-tls ] && scheme=https
  if ! wait_ready "$scheme"; then
    log "$impl: server did not answer"
    echo "{\"workload\":\"http_hello\",\"impl\":\"$impl\",\"round\":$round,\"pipeline\":$depth,\"threads\":$threads,\"requests_per_sec\":0,\"ok\":false}"
    return
  fi
  local script=()
  [ "$depth" -gt 1 ] && script=(-s "$work/pipeline.lua")
  local url="$scheme://127.0.0.1:$port/"
  WRK_PIPELINE=$depth wrk -t1 -c"$conns" -d1s "${script[@]}" "$url" >/dev/null 2>&1 || true  # warm-up
  WRK_PIPELINE=$depth wrk -t1 -c"$conns" -d"$duration" "${script[@]}" "$url" >"$work/wrk.out" 2>&1 &
  local wpid=$! d=${duration%s}
  # Both processes' CPU over the middle of the run (1 s in, d - 2 s long).
  local span=$(( d > 4 ? d - 2 : 1 )) spid="$pid" s0 s1 hz
  sleep 1
  hz=$(getconf CLK_TCK)
  s0=$(cpu_ticks "$spid")
  local wcpu; wcpu=$(cpu_share "$wpid" "$span")
  s1=$(cpu_ticks "$spid")
  wait "$wpid" || ok=false
  out="$(cat "$work/wrk.out")"
  echo "$out" | sed "s/^/  [$impl r$round p$depth] /" >&2
  rps="$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')"
  [ -n "$rps" ] || { rps=0; ok=false; }
  if echo "$out" | grep -qE "Non-2xx|Socket errors"; then ok=false; fi
  local scpu us
  scpu=$(awk -v d="$((s1 - s0))" -v hz="$hz" -v s="$span" 'BEGIN { printf "%.2f", d / hz / s }')
  us=$(awk -v c="$scpu" -v r="$rps" 'BEGIN { if (r > 0) printf "%.2f", c / r * 1e6; else print 0 }')
  echo "{\"workload\":\"http_hello\",\"impl\":\"$impl\",\"round\":$round,\"pipeline\":$depth,\"threads\":$threads,\"requests_per_sec\":$rps,\"server_cpu\":$scpu,\"wrk_cpu\":$wcpu,\"server_us_per_req\":$us,\"ok\":$ok}"
}

impls=(weft)
[ "$tls" = 1 ] && impls+=(weft-tls)
for impl in $peers; do
  log "building $impl (first use only)"
  if THREADS=$threads "$peers_dir/run.sh" build "$impl" >&2; then impls+=("$impl"); else log "$impl: build failed"; fi
done
depths=(1)
[ "$pipeline" -gt 1 ] && depths+=("$pipeline")

results="$work/results.jsonl"
for round in $(seq 1 "$rounds"); do
  for depth in "${depths[@]}"; do
    for impl in "${impls[@]}"; do
      start "$impl"
      measure "$impl" "$round" "$depth" | tee -a "$results"
      cleanup
    done
  done
done

# Medians and ratios (weft's median over each impl's).
python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in runs:
    if r.get("ok"):
        by.setdefault((r["impl"], r["pipeline"]), []).append(r["requests_per_sec"])
for (impl, depth), v in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    med = statistics.median(v)
    weft = by.get(("weft", depth))
    ratio = round(statistics.median(weft) / med, 3) if weft and med else None
    print(json.dumps({"workload": "http_hello_summary", "impl": impl, "pipeline": depth,
                      "runs": len(v), "median_rps": round(med, 1), "weft_ratio": ratio}))
PY

idle_connections() { # n: opens n keep-alive connections, one request each, then holds them
  python3 - "$port" "$1" "$pid" <<'PY'
import socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
socks, ok = [], 0
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    socks.append(s)
for s in socks:
    data = b""
    while not data.endswith(b"hello world"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    ok += data.endswith(b"hello world")
time.sleep(0.5)
rss = 0
with open("/proc/%s/status" % pid) as f:
    for line in f:
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
print('{"workload":"http_idle_conns","impl":"weft","threads":1,"connections":%d,"rss_kb":%d,"ok":%s}'
      % (n, rss, "true" if ok == n and rss < 100 * 1024 else "false"))
PY
}

if [ "$idle" -gt 0 ]; then
  start weft
  wait_ready http && idle_connections "$idle"
  cleanup
fi
