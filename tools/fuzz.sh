#!/usr/bin/env bash
# Fuzzes weft's HTTP response parser with libFuzzer for a bounded time.
#
#   tools/fuzz.sh [SECONDS]      (default 60)
#
# Builds tests/fuzz/response_parser_fuzz.cpp with clang -fsanitize=fuzzer,address,undefined
# (installs clang and its runtime through tools/scripts/deps.sh --fuzz when
# missing) into build/fuzz/, then runs it on a working copy of the seed corpus
# (build/fuzz/corpus: it grows between runs; tests/fuzz/corpus stays as it is).
# A finding stops the run and leaves its input in build/fuzz/artifacts/; fix
# the parser, then copy the input to tests/fuzz/regressions/response_parser/
# (io_response_parser_test replays every file there). Not part of CI.
# Env: JOBS (parallel fuzzing processes, default 1; their logs go to
# build/fuzz/logs/), CXX (default clang++).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh [SECONDS]" >&2; exit 2; }
cxx="${CXX:-clang++}"
command -v "$cxx" >/dev/null 2>&1 || "$root/tools/scripts/deps.sh" --fuzz
out="$root/build/fuzz"
mkdir -p "$out/corpus" "$out/artifacts"

# The parser is pure code: its sources and the harness, nothing else.
srcs=(tests/fuzz/response_parser_fuzz.cpp io/src/http_response_parser.cpp
      io/src/http_chunked.cpp io/src/http_headers.cpp)
bin="$out/response_parser_fuzz"
newest=$(cd "$root" && ls -t "${srcs[@]}" tests/fuzz/response_parser_check.hpp \
  io/include/weft/http/*.hpp | head -1)
if [[ ! -x $bin || "$root/$newest" -nt $bin ]]; then
  echo "fuzz: building $bin" >&2
  (cd "$root" && "$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Iio/include "${srcs[@]}" -o "$bin")
fi

cp -n "$root"/tests/fuzz/corpus/response_parser/* "$out/corpus/" 2>/dev/null || true
jobs="${JOBS:-1}"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: JOBS must be a positive number" >&2; exit 2; }
args=(-max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048
      -print_final_stats=1 -artifact_prefix="$out/artifacts/")
echo "fuzz: running for ${seconds} s (corpus $out/corpus)" >&2
# libFuzzer writes each job's log (fuzz-N.log) to the current directory: run
# in build/fuzz/logs so they never land in the source tree.
mkdir -p "$out/logs"
cd "$out/logs"
if (( jobs > 1 )); then
  echo "fuzz: $jobs jobs; their logs are in $out/logs/fuzz-N.log" >&2
  args+=(-jobs="$jobs" -workers="$jobs")
fi
"$bin" "${args[@]}" "$out/corpus" "$root/tests/fuzz/regressions/response_parser"
