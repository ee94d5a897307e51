#!/usr/bin/env bash
# UDP echo: datagrams per second through one echo server thread on
# 127.0.0.1, loaded by bench/udp/udp_load.cpp (one client thread, WINDOW
# datagrams of SIZE bytes in flight). Servers, each on one thread:
#   weft      tools/udp-echo-server (one weft worker, one task: recv_from + send_to)
#   blocking  bench/udp/udp_blocking_echo.cpp (a plain recvfrom/sendto loop, no runtime)
#   asyncio   Python asyncio DatagramProtocol echo (/usr/bin/python3)
#   uvloop    the same on uvloop (Debian package python3-uvloop), if installed
# ROUNDS alternating rounds (the machine is noisy), one JSON line per run on
# stdout, then the medians with weft/peer ratios on stderr:
#
#   {"workload":"udp_echo","impl":"weft","threads":1,"round":1,"datagrams_per_sec":X,"lost":N}
#
# Env: WEFT_BUILD_DIR (default build/release), PORT (19999), DURATION (5 s),
# WINDOW (32), SIZE (64), ROUNDS (3), IMPLS ("weft blocking asyncio uvloop").
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WEFT_BUILD_DIR:-$root/build/release}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
port="${PORT:-19999}"
secs="${DURATION:-5}"
window="${WINDOW:-32}"
size="${SIZE:-64}"
rounds="${ROUNDS:-3}"
impls="${IMPLS:-weft blocking asyncio uvloop}"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

log() { echo "udp_echo: $*" >&2; }
for b in "$build/tools/udp-echo-server" "$build/bench/udp-load" "$build/bench/udp-blocking-echo"; do
  [ -x "$b" ] || { log "no $b (build the release preset first)"; exit 1; }
done

read -r -d '' PY_ECHO <<'PYEOF' || true
import asyncio, sys
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, t): self.t = t
    def datagram_received(self, data, addr): self.t.sendto(data, addr)
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Echo, local_addr=('127.0.0.1', int(sys.argv[1])))
    await asyncio.Event().wait()
if sys.argv[2] == 'uvloop':
    import uvloop
    uvloop.install()
asyncio.run(main())
PYEOF

pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; pid=""; }
trap cleanup EXIT

wait_ready() { # until a probe datagram comes back
  "$py" - "$port" <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.1)
for _ in range(100):
    s.sendto(b'probe', ('127.0.0.1', int(sys.argv[1])))
    try:
        if s.recv(16) == b'probe': sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PYEOF
}

start() { # impl
  case "$1" in
    weft) "$build/tools/udp-echo-server" "$port" 1 2>/dev/null & ;;
    blocking) "$build/bench/udp-blocking-echo" "$port" >/dev/null & ;;
    asyncio) "$py" -c "$PY_ECHO" "$port" asyncio & ;;
    uvloop) "$py" -c "$PY_ECHO" "$port" uvloop & ;;
  esac
  pid=$!
}

available() { # impl
  [ "$1" != uvloop ] || "$py" -c "import uvloop" 2>/dev/null
}

declare -A results
for r in $(seq 1 "$rounds"); do
  order="$impls"
  [ $((r % 2)) -eq 0 ] && order="$(echo "$impls" | tr ' ' '\n' | tac | tr '\n' ' ')"
  for impl in $order; do
    available "$impl" || { log "$impl: not installed, skipped"; continue; }
    start "$impl"
    if ! wait_ready; then log "$impl: server did not answer"; cleanup; continue; fi
    out="$("$build/bench/udp-load" 127.0.0.1 "$port" "$secs" "$window" "$size")"
    cleanup
    dps="$(echo "$out" | sed -n 's/.*datagrams_per_sec=\([0-9]*\).*/\1/p')"
    lost="$(echo "$out" | sed -n 's/.*lost=\([0-9]*\).*/\1/p')"
    echo "{\"workload\":\"udp_echo\",\"impl\":\"$impl\",\"threads\":1,\"round\":$r,\"datagrams_per_sec\":$dps,\"lost\":$lost}"
    results[$impl]="${results[$impl]:-} $dps"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
weft_m="$(echo "${results[weft]:-}" | median)"
for impl in $impls; do
  [ -n "${results[$impl]:-}" ] || continue
  m="$(echo "${results[$impl]}" | median)"
  ratio=""
  [ -n "$weft_m" ] && [ "$impl" != weft ] && ratio=" (weft/$impl = $(awk -v a="$weft_m" -v b="$m" 'BEGIN {printf "%.2f", a/b}')x)"
  log "$impl: median $m datagrams/s$ratio"
done
