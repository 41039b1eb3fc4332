#!/usr/bin/env bash
# Idle connections (issue 5, item 14): user memory per idle connection, summed over every
# process of the server, for examples/echo_server in each mode against libuv (bench/echo/
# uv_echo) and nginx holding the same connections.
#
#   bench/server/idle.sh BUILD_DIR [CONNS=18000] [ROUNDS=3]
#
# Environment:
#   SERVERS  what to measure (default "server-base server-process libuv nginx"; add
#            "server-thread" when THREAD mode lands). server-baseW (e.g. server-base3) runs
#            BASE mode with W worker processes, which spreads the connections past one
#            process's open file limit: CONNS up to about W x 19,900.
#   ECHO     bytes each connection sends and reads back before idling (default 0: nothing);
#            nginx answers no raw bytes, so it is left out when ECHO is set.
#   SOURCES  source addresses 127.0.0.2.. to spread the client's ports over (default 16).
#
# For each server and round: start it, read the Rss and Pss of all its processes from
# /proc/PID/smaps_rollup, open CONNS idle connections (bench/server/idle_conns, in child
# processes of at most 19,000 connections each), wait until the server holds CONNS more open
# files, wait a second, read them again. Prints per server: the median over rounds of the
# Rss and Pss deltas per connection (bytes) with min..max, and the Pss of all its processes
# with the connections open (MiB). Kernel memory (socket buffers, the TCP state) is not user
# memory and not counted. nginx: `apt-get install nginx` (Debian 12: 1.22), run from a
# private prefix as this user, 1 worker process (W with nginxW), worker_connections 19,900.
set -euo pipefail
build=${1:?usage: idle.sh BUILD_DIR [CONNS] [ROUNDS]}
conns=${2:-18000}
rounds=${3:-3}
servers=${SERVERS:-"server-base server-process libuv nginx"}
echo_bytes=${ECHO:-0}
sources=${SOURCES:-16}
idle="$build/bench/server/idle_conns"
[ -x "$idle" ] || { echo "missing $idle" >&2; exit 1; }
tmp=$(mktemp -d)
srv_pid=""
cli_pid=""
cleanup() {
    [ -n "$cli_pid" ] && kill -TERM "$cli_pid" 2>/dev/null || true
    [ -n "$srv_pid" ] && kill -TERM "$srv_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

tree() { # pid: the pid and all its descendants
    local p=$1 c
    echo "$p"
    for c in $(pgrep -P "$p" || true); do tree "$c"; done
}
mem() { # pid: "rss_kb pss_kb" summed over the tree
    local p r=0 s=0 a b
    for p in $(tree "$1"); do
        read -r a b < <(awk '/^Rss:/{r=$2} /^Pss:/{s=$2} END{print r+0, s+0}' \
            "/proc/$p/smaps_rollup" 2>/dev/null || echo "0 0")
        r=$((r + a)) s=$((s + b))
    done
    echo "$r $s"
}
nfds() { # pid: open files over the tree
    local p n=0
    for p in $(tree "$1"); do
        n=$((n + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)))
    done
    echo "$n"
}

start_server() { # name -> sets srv_pid, port
    local s=$1 out="$tmp/srv.out" w
    : >"$out"
    case $s in
    server-base*)
        w=${s#server-base}
        w=${w:-1}
        "$build/examples/echo_server" --host 127.0.0.1 --port 0 --mode base --workers "$w" \
            --max-conn $((w * 19900)) >"$out" 2>/dev/null &
        ;;
    server-process | server-thread)
        "$build/examples/echo_server" --host 127.0.0.1 --port 0 --mode "${s#server-}" \
            --workers 1 --reactors 1 >"$out" 2>/dev/null &
        ;;
    libuv)
        "$build/bench/echo/uv_echo" --host 127.0.0.1 --port 0 >"$out" 2>/dev/null &
        ;;
    nginx*)
        w=${s#nginx}
        w=${w:-1}
        port=$((20000 + RANDOM % 10000))
        mkdir -p "$tmp/ngx/logs"
        cat >"$tmp/ngx/nginx.conf" <<EOF
worker_processes $w;
worker_rlimit_nofile 20000;
daemon off;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/logs/error.log;
events { worker_connections 19900; multi_accept on; }
http {
    access_log off;
    client_header_timeout 3600s;
    keepalive_timeout 3600s;
    server { listen 127.0.0.1:$port backlog=4096 reuseport; location / { return 200; } }
}
EOF
        nginx -p "$tmp/ngx" -c "$tmp/ngx/nginx.conf" >"$out" 2>&1 &
        srv_pid=$!
        for _ in $(seq 100); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
            sleep 0.05
        done
        echo "nginx did not start" >&2
        exit 1
        ;;
    *)
        echo "unknown server $s" >&2
        exit 1
        ;;
    esac
    srv_pid=$!
    for _ in $(seq 200); do grep -q listening "$out" 2>/dev/null && break; sleep 0.05; done
    port=$(sed -n 's/.*:\([0-9][0-9]*\).*/\1/p' "$out" | head -1)
    [ -n "$port" ] || { echo "$s did not start" >&2; exit 1; }
}

run_one() { # server -> appends "rss_per pss_per pss_total_kb" to $tmp/$s
    local s=$1 m0 m1 f0 target
    start_server "$s"
    sleep 0.5
    m0=$(mem "$srv_pid")
    f0=$(nfds "$srv_pid")
    "$idle" --port "$port" --conns "$conns" --sources "$sources" --echo "$echo_bytes" \
        >"$tmp/cli.out" 2>"$tmp/cli.err" &
    cli_pid=$!
    for _ in $(seq 1200); do
        grep -q connected "$tmp/cli.out" 2>/dev/null && break
        kill -0 "$cli_pid" 2>/dev/null || { cat "$tmp/cli.err" >&2; exit 1; }
        sleep 0.1
    done
    target=$((f0 + conns))
    for _ in $(seq 600); do
        [ "$(nfds "$srv_pid")" -ge "$target" ] && break
        sleep 0.1
    done
    [ "$(nfds "$srv_pid")" -ge "$target" ] || { echo "$s holds only $(nfds "$srv_pid") files" >&2; exit 1; }
    sleep 1
    m1=$(mem "$srv_pid")
    read -r r0 p0 <<<"$m0"
    read -r r1 p1 <<<"$m1"
    echo "$(((r1 - r0) * 1024 / conns)) $(((p1 - p0) * 1024 / conns)) $p1" >>"$tmp/$s"
    kill -TERM "$cli_pid"
    wait "$cli_pid" || true
    cli_pid=""
    kill -TERM "$srv_pid"
    wait "$srv_pid" || true
    srv_pid=""
    sleep 0.5
}

for _ in $(seq "$rounds"); do
    for s in $servers; do
        if [[ $s == nginx* && $echo_bytes -gt 0 ]]; then
            continue
        fi
        run_one "$s"
    done
done

col() { awk -v c="$1" '{print $c}' "$2"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s..%s", lo, hi}'; }
echo "$conns idle connections$([ "$echo_bytes" -gt 0 ] && echo ", each used once for a $echo_bytes-byte echo"), $rounds rounds:"
echo
echo "| server | Rss B/conn median (min..max) | Pss B/conn median (min..max) | Pss of all server processes, MiB |"
echo "|---|---|---|---|"
for s in $servers; do
    [ -f "$tmp/$s" ] || continue
    echo "| $s | $(col 1 "$tmp/$s" | median) ($(col 1 "$tmp/$s" | minmax)) |" \
        "$(col 2 "$tmp/$s" | median) ($(col 2 "$tmp/$s" | minmax)) |" \
        "$(col 3 "$tmp/$s" | median | awk '{printf "%.1f", $1/1024}') |"
done
