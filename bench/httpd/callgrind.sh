#!/usr/bin/env bash
# User-space instructions per keep-alive request of an HTTP server (docs/bench/httpd.md, "Where
# BASE's time goes"): the server runs under `valgrind --tool=callgrind` (whole process), h2load
# sends N requests over 100 keep-alive connections one at a time (`--h1 -c 100 -m 1`), and the
# figure is (Ir(N=HI) - Ir(N=LO)) / (HI - LO), which cancels start-up, accept and shutdown.
# Deterministic to a few instructions per request; no CPU pinning needed.
#
#   bench/httpd/callgrind.sh SERVER_BINARY [MODE_ARGS...]
#     e.g. bench/httpd/callgrind.sh build-httpfast/examples/demo_server --mode base --workers 1
#          bench/httpd/callgrind.sh build-httpfast/bench/httpd/core_http --mode base --workers 1
#
# Environment: LO (2000), HI (12000), KEEP=DIR keeps the callgrind.out files in DIR (for
# callgrind_annotate --inclusive=yes). Build the server in Release WITHOUT
# SWOOLE_FAULT_INJECTION (it adds ~2,900 instructions per request of fault checks).
# LOAD=wrk uses wrk's request instead of h2load's (wrk sends no user-agent: "GET /
# HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n\r\n"): `wrk -t1 -c100` for LO_S (2) and HI_S (6)
# seconds, divided by the difference of the requests wrk completed (the server runs ~50x
# slower under valgrind, so a few thousand; wrk's connections stay open until the server
# stops, which both runs share).
set -euo pipefail
bin=${1:?usage: callgrind.sh SERVER_BINARY [ARGS...]}
shift
lo=${LO:-2000}
hi=${HI:-12000}
for t in valgrind h2load; do
    command -v $t >/dev/null || { echo "missing $t" >&2; exit 1; }
done
tmp=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$tmp"/cg.* "$KEEP"/ 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

run() { # n args... -> prints the total Ir of the server process
    local n=$1 out="$tmp/srv.$1" port
    shift
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" "$bin" --host 127.0.0.1 \
        --port 0 "$@" >"$out" 2>&1 &
    pid=$!
    for _ in $(seq 400); do grep -q listening "$out" && break; sleep 0.05; done
    port=$(grep listening "$out" | sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' | head -1)
    [ -n "$port" ] || { echo "server did not start:" >&2; cat "$out" >&2; exit 1; }
    local reqs=$n
    if [ "${LOAD:-h2load}" = wrk ]; then
        wrk -t1 -c100 -d"${n}s" "http://127.0.0.1:$port/" >"$tmp/load.$n"
        grep -qE 'Non-2xx|Socket errors' "$tmp/load.$n" && { cat "$tmp/load.$n" >&2; exit 1; }
        reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/load.$n")
    else
        h2load --h1 -c 100 -m 1 -n "$n" "http://127.0.0.1:$port/" >"$tmp/load.$n"
        grep -q "status codes: $n 2xx" "$tmp/load.$n" || { cat "$tmp/load.$n" >&2; exit 1; }
    fi
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    echo "$reqs $(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.$n")"
}
if [ "${LOAD:-h2load}" = wrk ]; then
    lo=${LO_S:-2}
    hi=${HI_S:-6}
fi
read -r na a <<<"$(run "$lo" "$@")"
read -r nb b <<<"$(run "$hi" "$@")"
awk -v a="$a" -v b="$b" -v lo="$na" -v hi="$nb" \
    'BEGIN { printf "%.0f instructions per request (Ir %d at N=%d, %d at N=%d)\n", (b - a) / (hi - lo), a, lo, b, hi }'
