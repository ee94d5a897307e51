#!/usr/bin/env bash
# The main job: installs what is missing, builds weft (release), and runs the
# demo — the seed's crawler against its embedded local server once weft-crawl
# exists, and the seed's examples.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tools/scripts/deps.sh
jobs=$(nproc)
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
bin=build/release/tools
if [[ -x $bin/weft-crawl ]]; then
  "$bin/weft-crawl" --demo
fi
if compgen -G "$bin/examples/*" >/dev/null; then
  for ex in "$bin"/examples/*; do
    echo "=== $(basename "$ex")"
    # Some twins end with an error on purpose, as their Python originals do
    # (timeout: an uncaught TimeoutError): report the status, keep going.
    status=0
    WEFT_EXAMPLE_TIME_SCALE="${WEFT_EXAMPLE_TIME_SCALE:-0.1}" "$ex" || status=$?
    [[ $status -eq 0 ]] || echo "(exit status $status)"
  done
fi
