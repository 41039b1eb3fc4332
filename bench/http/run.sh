#!/bin/sh
# HTTP parser benchmark: libswoole vs picohttpparser vs llhttp (docs/bench/http.md).
#
#   apt-get install -y libh2o-evloop-dev node-llhttp valgrind   # once
#   bench/http/run.sh [build-dir] [cpu]
#
# Builds bench_http in Release, runs it pinned to one CPU (taskset) with 7 runs of 25 passes
# over a 20,000-request stream, then counts instructions per request for each parser with
# callgrind (deterministic; --toggle-collect limits the count to the parsing loop). Valgrind
# reports no SSE4.2 on some hosts; that row is then skipped.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-bench-http}
cpu=${2:-1}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWOOLE_BUILD_BENCH=ON \
      -DSWOOLE_BUILD_TESTS=OFF -DSWOOLE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_http >/dev/null
bin=$build/bench/http/bench_http
echo "== timed (taskset -c $cpu), load: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c "$cpu" "$bin" --runs 7 --passes 25
if command -v valgrind >/dev/null 2>&1; then
    n=20000
    echo "== instructions per request (callgrind, $n requests)"
    for p in libswoole-scalar libswoole-sse42 libswoole-avx2 picohttpparser llhttp; do
        case $p in
        libswoole-*) fn=run_swoole ;;
        picohttpparser) fn=run_pico ;;
        llhttp) fn=run_llhttp ;;
        esac
        out=$(valgrind --tool=callgrind --toggle-collect=$fn --callgrind-out-file=/dev/null \
              "$bin" --only $p --requests $n 2>&1) || { echo "$p: not available"; continue; }
        ir=$(printf '%s\n' "$out" | sed -n 's/.*refs: *\([0-9,]*\).*/\1/p' | tr -d ,)
        echo "$p: $((ir / n)) instructions per request"
    done
fi
