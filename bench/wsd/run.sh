#!/usr/bin/env bash
# WebSocket echo benchmark (issue 8, item 10): examples/demo_server `/ws` in BASE, PROCESS and
# THREAD mode against µWebSockets (bench/wsd/uws_echo.js, the native binary of npm's
# @trufflesuite/uws-js-unofficial for node 20) and node's `ws` with bufferutil
# (bench/wsd/ws_echo.js), in the same run, every server pinned to CPU_SERVER (all its
# processes and threads) and the load client bench/wsd/ws_load to CPU_LOAD.
#
#   bench/wsd/run.sh BUILD_DIR [ROUNDS=3] [SECONDS=5]
#
# Matrix: CONNS_LIST ("100 500") connections x SIZES ("512 16384") bytes per message. Each
# connection keeps one message in flight (send, wait for the whole echo, check it, send the
# next); ws_load measures SECONDS after a WARMUP (1 s) on the same connections, then reports
# messages/s, its own CPU per message and the server's CPU per message over exactly that
# window. The main figure is the server's CPU time per message: the load client saturates
# first with the fast servers, so messages/s alone ranks nothing.
#
# BUILD_DIR holds examples/demo_server and bench/wsd/ws_load (Release in docs/bench/wsd.md):
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWOOLE_BUILD_BENCH=ON \
#         -DSWOOLE_BUILD_TESTS=OFF && cmake --build build-bench --target demo_server ws_load
# It needs node (20: the µWebSockets binary is built for ABI 115), npm and the npm registry
# the first time: the pinned packages below are installed with `npm install --no-save
# --ignore-scripts` into NPM_PREFIX (default bench/wsd/node, git-ignored; bufferutil loads its
# bundled prebuilt binary, so no compiler is needed).
#
# Environment:
#   SERVERS   default "base process thread uws ws": base = demo_server --mode base --workers
#             1 (one process); process = --mode process --workers 1 --reactors 1 (master with
#             one reactor thread, manager, one worker process); thread = --mode thread
#             --workers 1 --reactors 1; uws = node uws_echo.js; ws = node ws_echo.js; raw =
#             bench/wsd/raw_epoll_ws (the floor: unmask and one send per frame, nothing
#             checked; build the target raw_epoll_ws). An
#             entry LABEL=PATH:MODE runs the demo_server binary at PATH in MODE under the name
#             LABEL (A/B comparison of two builds in one run).
#   CONNS_LIST ("100 500"), SIZES ("512 16384"), TYPE (binary; or text: UTF-8 checked by
#             every server), WARMUP (1), CPU_SERVER (0), CPU_LOAD (1), NPM_PREFIX.
#   OUT       a directory: the raw lines go to $OUT/raw.txt, the table to $OUT/table.md.
#
# Rounds are interleaved: for each round, for each cell of the matrix, every server once
# (A B C A B C ...), each a fresh server process. CPU time: utime+stime from /proc/PID/stat
# summed over the server's process and every process descending from it (each figure covers
# all the threads of its process: node's V8 and libuv threads included), delta over the
# measured window, read by ws_load (--server-pid); beside it the scheduler's run time of every
# live thread (/proc/PID/task/TID/schedstat, ns resolution). Per message: the delta divided by
# the messages echoed in the window. "msg/core-s" is messages per second of server CPU.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR [ROUNDS] [SECONDS]}
rounds=${2:-3}
secs=${3:-5}
servers=${SERVERS:-"base process thread uws ws raw"}
conns_list=${CONNS_LIST:-"100 500"}
sizes=${SIZES:-"512 16384"}
type=${TYPE:-binary}
warmup=${WARMUP:-1}
cpu_srv=${CPU_SERVER:-0}
cpu_load=${CPU_LOAD:-1}
prefix=${NPM_PREFIX:-$here/node}
load=$build/bench/wsd/ws_load
# The pinned anchors (issue 8 item 10 names the µWebSockets package and version).
NPM_PKGS="@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0 ws@8.23.0 bufferutil@4.1.0"

for t in taskset node npm; do
    command -v $t >/dev/null || { echo "missing $t" >&2; exit 1; }
done
[ -x "$load" ] || { echo "missing $load (build the target ws_load)" >&2; exit 1; }
case $type in
binary) type_arg=--binary ;;
text) type_arg="" ;;
*) echo "TYPE must be binary or text" >&2; exit 1 ;;
esac

# Installs the pinned packages unless NPM_PREFIX already has exactly those versions.
npm_ready() {
    # shellcheck disable=SC2086 # a list of package specs
    NODE_PATH="$prefix/node_modules" node -e '
        const want = process.argv.slice(1);
        for (const spec of want) {
            const at = spec.lastIndexOf("@");
            const name = spec.slice(0, at), ver = spec.slice(at + 1);
            if (require(name + "/package.json").version !== ver) process.exit(1);
        }' $NPM_PKGS 2>/dev/null
}
if [[ " $servers " == *" uws "* || " $servers " == *" ws "* ]]; then
    if ! npm_ready; then
        echo "installing $NPM_PKGS into $prefix" >&2
        mkdir -p "$prefix"
        # shellcheck disable=SC2086 # a list of package specs
        npm install --no-save --ignore-scripts --no-audit --no-fund --loglevel=error \
            --prefix "$prefix" $NPM_PKGS >&2
        npm_ready || { echo "npm install into $prefix did not give $NPM_PKGS" >&2; exit 1; }
    fi
fi
export NODE_PATH="$prefix/node_modules"

declare -A bin=() args=()
mode_args() { # mode
    case $1 in
    base | "") echo "--mode base --workers 1" ;;
    *) echo "--mode $1 --workers 1 --reactors 1" ;;
    esac
}
names=""
for s in $servers; do
    if [[ $s == *=* ]]; then # LABEL=PATH:MODE
        label=${s%%=*}
        rest=${s#*=}
        bin[$label]=${rest%:*}
        args[$label]=$(mode_args "${rest##*:}")
        s=$label
    elif [[ $s == base || $s == process || $s == thread ]]; then
        bin[$s]="$build/examples/demo_server"
        args[$s]=$(mode_args "$s")
    elif [[ $s == raw ]]; then
        bin[$s]="$build/bench/wsd/raw_epoll_ws"
        args[$s]=""
    elif [[ $s != uws && $s != ws ]]; then
        echo "unknown server $s" >&2
        exit 1
    fi
    if [[ $s != uws && $s != ws ]]; then
        [ -x "${bin[$s]:-}" ] || { echo "missing binary for $s: ${bin[$s]:-}" >&2; exit 1; }
    fi
    names+=" $s"
done

tmp=$(mktemp -d)
srv_pid=""
cleanup() {
    [ -n "$srv_pid" ] && kill -TERM "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
raw="$tmp/raw.txt"
: >"$raw"

start_server() { # name -> sets srv_pid, port
    local s=$1 out="$tmp/srv.out"
    : >"$out"
    case $s in
    uws | ws)
        taskset -c "$cpu_srv" node "$here/${s}_echo.js" 0 /ws >"$out" 2>&1 &
        ;;
    *)
        # shellcheck disable=SC2086 # the mode arguments are a list of words
        taskset -c "$cpu_srv" "${bin[$s]}" --host 127.0.0.1 --port 0 ${args[$s]} >"$out" 2>&1 &
        ;;
    esac
    srv_pid=$!
    port=""
    for _ in $(seq 200); do
        port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$out" | head -1)
        [ -n "$port" ] && break
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "$s did not start:" >&2
        cat "$out" >&2
        exit 1
    fi
}
stop_server() {
    kill -TERM "$srv_pid"
    wait "$srv_pid" || true
    srv_pid=""
}

run_one() { # server conns size round
    local s=$1 c=$2 z=$3 r=$4 line
    start_server "$s"
    # shellcheck disable=SC2086 # type_arg is empty or one word
    if ! line=$(taskset -c "$cpu_load" "$load" --host 127.0.0.1 --port "$port" --path /ws \
        --conns "$c" --size "$z" $type_arg --warmup "$warmup" --seconds "$secs" \
        --server-pid "$srv_pid"); then
        echo "$s conns=$c size=$z: ws_load failed; server output:" >&2
        cat "$tmp/srv.out" >&2
        exit 1
    fi
    stop_server
    echo "$s c$c-s$z round=$r $line" | tee -a "$raw" >&2
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
    for c in $conns_list; do
        for z in $sizes; do
            for s in $names; do
                run_one "$s" "$c" "$z" "$r"
            done
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo ".." hi}'; }
field() { # name cell key
    awk -v s="$1" -v t="$2" -v k="$3" '$1 == s && $2 == t {
        for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$raw"
}
util() { # name cell: sched_s / seconds per run
    paste <(field "$1" "$2" sched_s) <(field "$1" "$2" seconds) | awk '{printf "%.2f\n", $1 / $2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else printf "-" }'; }
table() {
    echo "| conns | size | server | msg/s | CPU µs/msg (stat) | CPU µs/msg (schedstat) | server CPU util | load µs/msg | msg/core-s | CPU vs uws | CPU vs ws | CPU vs raw | msg/s vs uws |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for c in $conns_list; do
        for z in $sizes; do
            local cell="c$c-s$z" u_cpu=0 w_cpu=0 u_rps=0 r_cpu=0
            if [[ " $names " == *" uws "* ]]; then
                u_cpu=$(field uws "$cell" cpu_us_per_msg | median)
                u_rps=$(field uws "$cell" msgs_per_s | median)
            fi
            if [[ " $names " == *" ws "* ]]; then
                w_cpu=$(field ws "$cell" cpu_us_per_msg | median)
            fi
            if [[ " $names " == *" raw "* ]]; then
                r_cpu=$(field raw "$cell" cpu_us_per_msg | median)
            fi
            for s in $names; do
                local rps st sc core
                rps=$(field "$s" "$cell" msgs_per_s | median)
                st=$(field "$s" "$cell" cpu_us_per_msg | median)
                sc=$(field "$s" "$cell" sched_us_per_msg | median)
                core=$(awk -v x="$st" 'BEGIN{printf "%.0f", (x > 0) ? 1e6 / x : 0}')
                echo "| $c | $z | $s | $(printf '%.0f' "$rps") ($(field "$s" "$cell" msgs_per_s | minmax)) |" \
                    "$st ($(field "$s" "$cell" cpu_us_per_msg | minmax)) |" \
                    "$sc ($(field "$s" "$cell" sched_us_per_msg | minmax)) |" \
                    "$(util "$s" "$cell" | median) | $(field "$s" "$cell" client_us_per_msg | median) |" \
                    "$core | $(ratio "$st" "$u_cpu") | $(ratio "$st" "$w_cpu") | $(ratio "$st" "$r_cpu") |" \
                    "$(ratio "$rps" "$u_rps") |"
            done
        done
    done
}
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    cp "$raw" "$OUT/raw.txt"
    table | tee "$OUT/table.md"
else
    table
fi
