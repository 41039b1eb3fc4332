#!/usr/bin/env bash
# Loop echo benchmark (issue 3, item 17): examples/loop_echo (and, with SERVERS, the server
# core's examples/echo_server) against raw_epoll_echo and uv_echo, 50 connections, 64 B / 4 KiB / 64 KiB messages, server pinned to CPU 0 and the
# load generator to CPU 1, ROUNDS rounds per server and size, servers interleaved per round.
#
#   bench/echo/run.sh BUILD_DIR [ROUNDS=3] [SECONDS=5]
#
# Main figure: server CPU time per message, utime+stime from /proc/PID/stat over the measured
# window divided by the messages echoed (schedstat run time shown beside it, finer grained).
# Prints a markdown table with medians, spreads and ratios.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [ROUNDS] [SECONDS]}
rounds=${2:-3}
secs=${3:-5}
conns=${CONNS:-50}
sizes=${SIZES:-"64 4096 65536"}
declare -A bin=(
    [libswoole]="$build/examples/loop_echo"
    [server-base]="$build/examples/echo_server"
    [raw-epoll]="$build/bench/echo/raw_epoll_echo"
    [libuv]="$build/bench/echo/uv_echo"
)
# SERVERS picks and orders the servers; server-base is examples/echo_server in BASE mode with
# one worker (a single process), the server core on the same loop.
servers=${SERVERS:-"libswoole raw-epoll libuv"}
declare -A args=([server-base]="--mode base --workers 1")
load="$build/bench/echo/echo_load"
for s in $servers; do
    [ -x "${bin[$s]}" ] || { echo "missing ${bin[$s]}" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_one() { # server size round
    local s=$1 size=$2 out="$tmp/srv.out" pid port
    # shellcheck disable=SC2086 # extra arguments are a list of words
    taskset -c 0 "${bin[$s]}" --host 127.0.0.1 --port 0 ${args[$s]:-} >"$out" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
    port=$(sed -n 's/.*:\([0-9][0-9]*\).*/\1/p' "$out" | head -1)
    taskset -c 1 "$load" --port "$port" --conns "$conns" --size "$size" --seconds "$secs" \
        --warmup 1 --server-pid "$pid" >>"$tmp/$s.$size"
    kill -TERM "$pid"
    wait "$pid" || { echo "$s exited with $?" >&2; exit 1; }
}

for size in $sizes; do
    for r in $(seq "$rounds"); do
        for s in $servers; do
            run_one "$s" "$size" "$r"
        done
    done
done

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.3f..%.3f", lo, hi}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2"; }

echo "| size | server | CPU µs/msg (stat) median (min..max) | CPU µs/msg (schedstat) | msgs/s median | CPU vs raw-epoll | CPU vs libuv |"
echo "|---|---|---|---|---|---|---|"
for size in $sizes; do
    raw=$(field cpu_us_per_msg "$tmp/raw-epoll.$size" | median)
    uv=$(field cpu_us_per_msg "$tmp/libuv.$size" | median)
    for s in $servers; do
        f="$tmp/$s.$size"
        cpu=$(field cpu_us_per_msg "$f" | median)
        echo "| $size | $s | $cpu ($(field cpu_us_per_msg "$f" | minmax)) |" \
            "$(field sched_us_per_msg "$f" | median) |" \
            "$(field msgs_per_s "$f" | median) |" \
            "$(awk -v a="$cpu" -v b="$raw" 'BEGIN{printf "%.2fx", a/b}') |" \
            "$(awk -v a="$cpu" -v b="$uv" 'BEGIN{printf "%.2fx", a/b}') |"
    done
done
