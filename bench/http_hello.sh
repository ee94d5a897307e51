#!/usr/bin/env bash
# W11 http_hello (shared/bench/WORKLOADS.md): an HTTP/1.1 keep-alive server on
# 127.0.0.1 answering GET / with 200 "hello world", loaded by
# `wrk -t1 -c64 -d10s` — weft's tools/hello-http first, then Tokio+hyper and Go
# net/http (shared/peers/run.sh http IMPL PORT), one after the other under the
# same settings. Every server runs 1 worker thread (wrk needs the other core).
# One JSON line per server on stdout:
#
#   {"workload":"http_hello","impl":"weft","threads":1,"requests_per_sec":X,"ok":true}
#
# then the idle-connection target: 10,000 idle keep-alive connections held by
# weft's server, with its RSS (goal: < 100 MiB):
#
#   {"workload":"http_idle_conns","impl":"weft","threads":1,"connections":10000,"rss_kb":X,"ok":true}
#
# Env: WEFT_BUILD_DIR (default build/release), PORT (18080), DURATION (10s),
# CONNECTIONS (64), PEERS ("tokio go"; "" for weft only), IDLE_CONNECTIONS
# (10000; 0 skips), PEERS_DIR (../shared/peers). Logs go to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WEFT_BUILD_DIR:-$root/build/release}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
port="${PORT:-18080}"
duration="${DURATION:-10s}"
conns="${CONNECTIONS:-64}"
peers="${PEERS-tokio go}"
idle="${IDLE_CONNECTIONS:-10000}"
peers_dir="${PEERS_DIR:-$root/../shared/peers}"
threads=1
server="$build/tools/hello-http"

log() { echo "http_hello: $*" >&2; }
[ -x "$server" ] || { log "no $server (build the release preset with tools first)"; exit 1; }
command -v wrk >/dev/null || { log "wrk is not installed (Debian package wrk)"; exit 1; }
# Enough descriptors for the idle connections (server and client, each).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=""; return 0; }
trap cleanup EXIT

wait_ready() { # until GET / answers "hello world" (60 s: a peer may still be compiling)
  for _ in $(seq 1 600); do
    if [ "$(curl -s --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null)" = "hello world" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

measure() { # impl: prints the W11 line for the server running as $pid
  local impl="$1" out rps ok=true
  if ! wait_ready; then
    log "$impl: server did not answer"; echo "{\"workload\":\"http_hello\",\"impl\":\"$impl\",\"threads\":$threads,\"requests_per_sec\":0,\"ok\":false}"
    return
  fi
  wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true  # warm-up
  out="$(wrk -t1 -c"$conns" -d"$duration" "http://127.0.0.1:$port/" 2>&1)" || ok=false
  echo "$out" | sed 's/^/  /' >&2
  rps="$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')"
  [ -n "$rps" ] || { rps=0; ok=false; }
  if echo "$out" | grep -qE "Non-2xx|Socket errors"; then ok=false; fi
  echo "{\"workload\":\"http_hello\",\"impl\":\"$impl\",\"threads\":$threads,\"requests_per_sec\":$rps,\"ok\":$ok}"
}

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

# weft
"$server" "$port" "$threads" 2>/dev/null & pid=$!
measure weft
if [ "$idle" -gt 0 ]; then idle_connections "$idle"; fi
cleanup

# peers, one after the other, same port and wrk settings
for impl in $peers; do
  log "building $impl (first use only)"
  THREADS=$threads "$peers_dir/run.sh" build "$impl" >&2 || { log "$impl: build failed"; continue; }
  THREADS=$threads "$peers_dir/run.sh" http "$impl" "$port" 2>/dev/null & pid=$!
  measure "$impl"
  cleanup
done
