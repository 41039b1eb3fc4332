#!/usr/bin/env bash
# Installs what building, testing and benchmarking libswoole needs on Debian (12 or later):
# only the packages that are missing, with apt-get, as root or through sudo. Used by the two
# commands at the top of README.md and by .ci/run, so that a fresh machine and CI install the
# same things.
#
#   tools/setup-debian.sh [EXTRA_PACKAGE ...]
#
# SW_PACKAGES below is the one list of what the project needs: add a package there (with the
# reason in the comment beside it) when a module, test or benchmark starts using it.
set -euo pipefail

SW_PACKAGES=(
    cmake ninja-build pkg-config      # build
    gcc g++ clang libclang-rt-dev     # compilers; clang's sanitizer and libFuzzer runtimes
    binutils                          # nm and readelf for packaging.exports
    libssl-dev zlib1g-dev             # optional TLS and gzip support, on when found
    libuv1-dev libev-dev              # the anchors of bench/timer and bench/echo
    libh2o-evloop-dev node-llhttp     # the anchors of bench/http (picohttpparser, llhttp)
    util-linux                        # taskset, used by bench/echo/run.sh
    curl python3 gzip                 # real HTTP clients in tests/test_httpd_clients.c
    python3-websockets                # real WebSocket client in examples/demo_server_test.sh
    nginx h2o nghttp2-client wrk      # anchors and load generators of bench/httpd/run.sh
)

wanted=("${SW_PACKAGES[@]}" "$@")
missing=()
for p in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup-debian: all ${#wanted[@]} packages are installed"
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "setup-debian: missing ${missing[*]}; run this as root (no sudo here)" >&2
        exit 1
    fi
    as_root=(sudo)
fi
echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q "${missing[@]}"
