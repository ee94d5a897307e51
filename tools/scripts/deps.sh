#!/usr/bin/env bash
# Installs what weft needs to build and test, from Debian 12 packages, if it is
# missing. Needs root (or sudo) only when something must be installed.
#   tools/scripts/deps.sh            build + test dependencies
#   tools/scripts/deps.sh --fuzz     also clang and its runtime (libFuzzer)
set -euo pipefail

# openssl: the command-line tool (the TLS server test talks to weft's https
# server with `openssl s_client`); python3, curl: real peers of the UDP, Unix
# socket, stream, subprocess and HTTP tests.
pkgs=(g++ make cmake git ca-certificates pkg-config openssl python3 curl
      libtbb-dev libconcurrentqueue-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev)
if [[ "${1:-}" == "--fuzz" ]]; then pkgs+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "weft: installing ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "weft: missing packages (${missing[*]}); run this as root or install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A bare system has no package lists yet: update first, and retry once if an
# install fails on stale lists.
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then "${as_root[@]}" apt-get update -q; fi
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
  { "${as_root[@]}" apt-get update -q &&
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }
