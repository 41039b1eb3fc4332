#!/usr/bin/env bash
# Echo benchmark (issue 3 item 17, issue 5 item 14): the libswoole server (examples/echo_server)
# in each mode and the bare loop (examples/loop_echo) against raw_epoll_echo and uv_echo, in
# the same run: 50 connections, 64 B / 4 KiB / 64 KiB messages, ping-pong, server pinned to
# CPU 0 and the load generator to CPU 1, ROUNDS rounds per server and size, servers
# interleaved within each round.
#
#   bench/echo/run.sh BUILD_DIR [ROUNDS=3] [SECONDS=5]
#
# Environment:
#   MODES    echo_server modes to run, one server each (default none: the loop echo of issue 3;
#            docs/benchmarks.md uses "base process", and "thread" is one more word once THREAD
#            mode lands): server-base is --mode base --workers 1 (one process),
#            server-process is --mode process --workers 1 --reactors 1 (master with one
#            reactor thread, manager, one worker), server-thread --mode thread --workers 1
#            --reactors 1.
#   SERVERS  the full list instead (default: "libswoole raw-epoll libuv" + server-MODE for
#            each mode). An entry LABEL=PATH:MODE runs the echo_server binary at PATH in
#            MODE under the name LABEL (A/B comparisons of two builds in one run).
#   SIZES    message sizes (default "64 4096 65536"); CONNS connections (default 50).
#   CPU_SERVER, CPU_LOAD  the CPUs to pin to (default 0 and 1).
#
# Main figure: server CPU time per message: utime+stime from /proc/PID/stat of the server
# process and every process descending from it (manager, workers; all threads), over the
# measured window, divided by the messages echoed; the scheduler's run time of every thread
# (/proc/PID/task/TID/schedstat, ns) beside it. "msgs/core-s" is messages per second of
# server CPU (1 / CPU per message), the figure PROCESS is compared to BASE by. Prints a
# markdown table with medians, spreads (min..max) and ratios; the raw lines go to
# $OUT/raw.txt when OUT is set.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [ROUNDS] [SECONDS]}
rounds=${2:-3}
secs=${3:-5}
conns=${CONNS:-50}
sizes=${SIZES:-"64 4096 65536"}
modes=${MODES:-}
cpu_srv=${CPU_SERVER:-0}
cpu_load=${CPU_LOAD:-1}
declare -A bin=(
    [libswoole]="$build/examples/loop_echo"
    [raw-epoll]="$build/bench/echo/raw_epoll_echo"
    [libuv]="$build/bench/echo/uv_echo"
)
declare -A args=()
default_servers="libswoole raw-epoll libuv"
for m in $modes; do
    default_servers+=" server-$m"
done
servers=${SERVERS:-$default_servers}
mode_args() { # mode
    case $1 in
    base) echo "--mode base --workers 1" ;;
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
    elif [[ $s == server-* ]]; then
        bin[$s]="$build/examples/echo_server"
        args[$s]=$(mode_args "${s#server-}")
    fi
    [ -x "${bin[$s]:-}" ] || { echo "missing binary for $s: ${bin[$s]:-}" >&2; exit 1; }
    names+=" $s"
done
load="$build/bench/echo/echo_load"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_one() { # server size [attempt]
    local s=$1 size=$2 attempt=${3:-1} out="$tmp/srv.out" pid port ok=1
    # shellcheck disable=SC2086 # extra arguments are a list of words
    taskset -c "$cpu_srv" "${bin[$s]}" --host 127.0.0.1 --port 0 ${args[$s]:-} >"$out" &
    pid=$!
    for _ in $(seq 200); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
    port=$(sed -n 's/.*:\([0-9][0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$port" ] || { echo "$s did not start" >&2; kill -KILL "$pid"; exit 1; }
    taskset -c "$cpu_load" "$load" --port "$port" --conns "$conns" --size "$size" \
        --seconds "$secs" --warmup 1 --server-pid "$pid" >"$tmp/one" || ok=0
    kill -TERM "$pid"
    wait "$pid" || { echo "$s exited with $?" >&2; exit 1; }
    if [ "$ok" = 1 ]; then
        cat "$tmp/one" >>"$tmp/$s.$size"
    elif [ "$attempt" -lt 3 ]; then
        echo "$s, $size B: the load generator failed (attempt $attempt); again" >&2
        run_one "$s" "$size" $((attempt + 1))
    else
        echo "$s, $size B: the load generator failed 3 times" >&2
        exit 1
    fi
}

for size in $sizes; do
    for _ in $(seq "$rounds"); do
        for s in $names; do
            run_one "$s" "$size"
        done
    done
done
if [ -n "${OUT:-}" ]; then
    for f in "$tmp"/*.[0-9]*; do
        sed "s|^|$(basename "$f") |" "$f"
    done >"$OUT/raw.txt"
fi

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.3f..%.3f", lo, hi}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else printf "-" }'; }

echo "| size | server | CPU µs/msg (stat) median (min..max) | CPU µs/msg (schedstat) | msgs/s median | msgs/core-s | CPU vs raw-epoll | CPU vs libuv |"
echo "|---|---|---|---|---|---|---|---|"
for size in $sizes; do
    raw=0 uv=0
    [ -f "$tmp/raw-epoll.$size" ] && raw=$(field cpu_us_per_msg "$tmp/raw-epoll.$size" | median)
    [ -f "$tmp/libuv.$size" ] && uv=$(field cpu_us_per_msg "$tmp/libuv.$size" | median)
    for s in $names; do
        f="$tmp/$s.$size"
        cpu=$(field cpu_us_per_msg "$f" | median)
        echo "| $size | $s | $cpu ($(field cpu_us_per_msg "$f" | minmax)) |" \
            "$(field sched_us_per_msg "$f" | median) |" \
            "$(field msgs_per_s "$f" | median | awk '{printf "%.0f", $1}') |" \
            "$(awk -v c="$cpu" 'BEGIN{ printf "%.0f", (c > 0) ? 1e6 / c : 0 }') |" \
            "$(ratio "$cpu" "$raw") | $(ratio "$cpu" "$uv") |"
    done
done
