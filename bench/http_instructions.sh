#!/usr/bin/env bash
# Instructions per request of weft's hello-http server, counted by valgrind's
# callgrind (deterministic, unlike timings on a shared machine): the server
# answers N GET / requests on 4 keep-alive connections, BATCH pipelined per
# write; the count of an idle run (start, one curl, stop) is subtracted.
#
#   bench/http_instructions.sh [N] [BATCH]      (default 100000 16)
#
# Prints: {"workload":"http_instructions","requests":N,"batch":B,"instructions_per_request":X}
# Needs valgrind and python3. Env: WEFT_BUILD_DIR (default build/release), PORT (18110).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WEFT_BUILD_DIR:-$root/build/release}"
n="${1:-100000}"
batch="${2:-16}"
port="${PORT:-18110}"
server="$build/tools/hello-http"
command -v valgrind >/dev/null || { echo "http_instructions: valgrind is not installed" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

cat >"$out/drive.py" <<'PY'
import socket, sys
port, total, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
per = total // len(conns)
for s in conns:
    sent = 0
    while sent < per:
        k = min(batch, per - sent)
        s.sendall(req * k)
        buf = b""
        while buf.count(b"hello world") < k:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("the server closed the connection")
            buf += chunk
        sent += k
PY

count() { # requests: total instructions of one server run
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$server" "$port" 1 2>/dev/null &
  local vp=$!
  for _ in $(seq 1 300); do curl -s -m 1 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.2; done
  if [ "$1" -gt 0 ]; then python3 "$out/drive.py" "$port" "$1" "$batch"; fi
  kill -TERM "$vp"; wait "$vp" || true
  callgrind_annotate "$out/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
idle=$(count 0)
busy=$(count "$n")
echo "{\"workload\":\"http_instructions\",\"requests\":$n,\"batch\":$batch,\"instructions_per_request\":$(( (busy - idle) / (n - n % 4) ))}"
