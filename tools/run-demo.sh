#!/usr/bin/env bash
# The main job: installs what is missing, builds weft-crawl and the seed's
# examples (release preset; the tests and benchmarks are not built), runs the
# seed's crawler against its embedded local server (`weft-crawl --demo`, no
# network needed), then every seed twin in tools/examples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tools/scripts/deps.sh
jobs=$(nproc)
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs" --target weft-crawl examples
bin=build/release/tools
"$bin/weft-crawl" --demo
for ex in "$bin"/examples/*; do
  echo "=== $(basename "$ex")"
  # Some twins end with an error on purpose, as their Python originals do
  # (timeout: an uncaught TimeoutError): report the status, keep going.
  status=0
  WEFT_EXAMPLE_TIME_SCALE="${WEFT_EXAMPLE_TIME_SCALE:-0.1}" "$ex" || status=$?
  [[ $status -eq 0 ]] || echo "(exit status $status)"
done
