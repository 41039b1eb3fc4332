#!/usr/bin/env bash
# Server IPC (issue 5, item 14): 1M messages of 1 KiB reactor -> worker -> reactor. The
# bench/server/ipc_server echo server (4-byte length framing) in each mode, fed by
# bench/server/ipc_load: CONNS connections, each keeping WINDOW bytes in flight, 1M framed
# messages in all, every echo checked. In PROCESS mode each message crosses the IPC bus twice
# (SW_IPC_DATA to the worker, SW_IPC_SEND back); BASE mode does the same framing and echo
# without the bus, so PROCESS minus BASE is what the bus costs.
#
#   bench/server/ipc.sh BUILD_DIR [ROUNDS=5] [MESSAGES=1000000]
#
# Environment: MODES (default "base process"; add "thread" when it lands), SIZE (1024),
# CONNS (4), WINDOW (262144), CPU_SERVER / CPU_LOAD (0 / 1: the server's reactor thread and
# worker share CPU 0, the client has CPU 1; CPU_SERVER=0,1 lets the server use both).
# Prints per mode the median (min..max) of the wall time for all messages, messages/s, and
# the server's CPU time (all its processes and threads) per message.
set -euo pipefail
build=${1:?usage: ipc.sh BUILD_DIR [ROUNDS] [MESSAGES]}
rounds=${2:-5}
messages=${3:-1000000}
modes=${MODES:-"base process"}
size=${SIZE:-1024}
conns=${CONNS:-4}
window=${WINDOW:-262144}
cpu_srv=${CPU_SERVER:-0}
cpu_load=${CPU_LOAD:-1}
srv="$build/bench/server/ipc_server"
load="$build/bench/server/ipc_load"
for b in "$srv" "$load"; do [ -x "$b" ] || { echo "missing $b" >&2; exit 1; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for _ in $(seq "$rounds"); do
    for m in $modes; do
        taskset -c "$cpu_srv" "$srv" --mode "$m" --workers 1 --reactors 1 >"$tmp/out" &
        pid=$!
        for _ in $(seq 200); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.05; done
        port=$(sed -n 's/.*:\([0-9][0-9]*\).*/\1/p' "$tmp/out" | head -1)
        [ -n "$port" ] || { echo "ipc_server --mode $m did not start" >&2; kill -KILL "$pid"; exit 1; }
        taskset -c "$cpu_load" "$load" --port "$port" --conns "$conns" --size "$size" \
            --messages "$messages" --window "$window" --server-pid "$pid" >>"$tmp/$m"
        kill -TERM "$pid"
        wait "$pid" || { echo "ipc_server --mode $m exited with $?" >&2; exit 1; }
    done
done

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.3f..%.3f", lo, hi}'; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$2"; }
echo "$messages messages of $size B, $conns connections, window $window B, $rounds rounds:"
echo
echo "| mode | seconds median (min..max) | msgs/s median | server CPU µs/msg median (min..max) |"
echo "|---|---|---|---|"
for m in $modes; do
    f="$tmp/$m"
    echo "| $m | $(field seconds "$f" | median) ($(field seconds "$f" | minmax)) |" \
        "$(field msgs_per_s "$f" | median | awk '{printf "%.0f", $1}') |" \
        "$(field cpu_us_per_msg "$f" | median) ($(field cpu_us_per_msg "$f" | minmax)) |"
done
