#!/usr/bin/env bash
# HTTP server benchmark (issue 8, item 10): examples/demo_server `GET /` (200 text/plain
# "hello\n") in BASE, PROCESS and THREAD mode against nginx and h2o answering the same 6-byte
# body, in the same run, every server pinned to CPU_SERVER (all its processes and threads)
# and the load generator to CPU_LOAD:
#
#   wrk     keep-alive, CONNS (100) connections, `wrk -t1 -cCONNS -dSECONDS`, after a 1 s
#           warm-up on the same server instance. The load generator saturates first here,
#           so the main figure is the server's CPU time per request.
#   h2load  pipelined, `h2load --h1 -m 16 -c 16 -n PIPE_N` (server-bound), after a warm-up
#           of PIPE_N/20 requests: requests/s, and CPU per request.
#
#   bench/httpd/run.sh BUILD_DIR [ROUNDS=5] [SECONDS=5]
#
# BUILD_DIR holds examples/demo_server (any build type; docs/bench/httpd.md uses Release):
#   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWOOLE_BUILD_BENCH=ON \
#         -DSWOOLE_BUILD_TESTS=OFF && cmake --build build-bench --target demo_server
#   tools/setup-debian.sh     # nginx h2o nghttp2-client (h2load) wrk
#
# Environment:
#   SERVERS  default "base nginx h2o raw process thread": base = demo_server --mode base
#            --workers 1 (one process); process = --mode process --workers 1 --reactors 1
#            (master with one reactor thread, manager, one worker process); thread = --mode
#            thread --workers 1 --reactors 1; nginx = worker_processes 1, `return 200
#            "hello\n"` with default_type text/plain, access_log off, keepalive_requests
#            unlimited; h2o = num-threads 1, file.file of a 6-byte file, etag off; raw =
#            bench/httpd/raw_epoll_http (the floor: parses nothing, one send per read; build
#            the target raw_epoll_http with -DSWOOLE_BUILD_BENCH=ON); core, core-process,
#            core-thread = bench/httpd/core_http in BASE, PROCESS, THREAD mode (the server core
#            with HTTP framing and one send per request, no HTTP layer). An entry
#            LABEL=PATH:MODE runs the demo_server binary at PATH in MODE under the name LABEL
#            (A/B comparison of two builds in one run).
#   TESTS    default "wrk h2load".  CONNS (100), PIPE_N (2000000), CPU_SERVER (0), CPU_LOAD (1).
#   OUT      a directory: the raw lines go to $OUT/raw.txt, the table to $OUT/table.md.
#
# Rounds are interleaved: for each round, for each test, every server once (A B C A B C ...).
# CPU time: utime+stime from /proc/PID/stat summed over the server's process and every
# process descending from it (nginx's master and worker, demo_server's master, manager and
# worker; each figure covers all the threads of its process), delta over the measured
# window; beside it the scheduler's run time of every live thread (/proc/PID/task/TID/
# schedstat, ns resolution). Per request: the delta divided by the requests the load
# generator completed. "req/core-s" is requests per second of server CPU (1 / CPU per
# request, from the stat figure); "load µs/req" is the load generator's CPU per request
# (bash `time`): the figure PROCESS and THREAD are compared to BASE by.
# Ratios use the stat figure (the issue's definition); the two agree within about 1 %.
set -euo pipefail
TIMEFORMAT='%U %S' # `time` of the load generator: its user and system CPU seconds
build=${1:?usage: run.sh BUILD_DIR [ROUNDS] [SECONDS]}
rounds=${2:-5}
secs=${3:-5}
servers=${SERVERS:-"base nginx h2o raw process thread"}
tests=${TESTS:-"wrk h2load"}
conns=${CONNS:-100}
pipe_n=${PIPE_N:-2000000}
cpu_srv=${CPU_SERVER:-0}
cpu_load=${CPU_LOAD:-1}
for t in wrk h2load nginx h2o taskset; do
    command -v $t >/dev/null || { echo "missing $t (tools/setup-debian.sh)" >&2; exit 1; }
done

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
    elif [[ $s == core || $s == core-process || $s == core-thread ]]; then
        bin[$s]="$build/bench/httpd/core_http"
        m=${s#core}
        args[$s]=$(mode_args "${m#-}")
    elif [[ $s == raw ]]; then
        bin[$s]="$build/bench/httpd/raw_epoll_http"
        args[$s]=""
    elif [[ $s == base || $s == process || $s == thread ]]; then
        bin[$s]="$build/examples/demo_server"
        args[$s]=$(mode_args "$s")
    fi
    if [[ $s != nginx && $s != h2o ]]; then
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
printf 'hello\n' >"$tmp/hello.txt"
raw="$tmp/raw.txt"
: >"$raw"

tree() { # pid: the pid and all its descendants
    local p=$1 c
    echo "$p"
    for c in $(pgrep -P "$p" || true); do tree "$c"; done
}
cpu() { # pid: "stat_seconds sched_seconds" over the tree
    local p t st=0 sc=0 f
    for p in $(tree "$1"); do
        # Fields after the ")" that ends comm: utime and stime are the 12th and 13th.
        f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || f=0
        st=$((st + ${f:-0}))
        for t in /proc/"$p"/task/*/schedstat; do
            f=$(awk '{print $1}' "$t" 2>/dev/null) || f=0
            sc=$((sc + ${f:-0}))
        done
    done
    awk -v a="$st" -v b="$sc" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.4f %.6f", a/hz, b/1e9}'
}
wait_port() { # port
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

start_server() { # name -> sets srv_pid, port
    local s=$1 out="$tmp/srv.out"
    : >"$out"
    case $s in
    nginx)
        port=$((20000 + RANDOM % 10000))
        rm -rf "$tmp/ngx"
        mkdir -p "$tmp/ngx/logs"
        cat >"$tmp/ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000000;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = / { default_type text/plain; return 200 "hello\n"; }
    }
}
EOF
        taskset -c "$cpu_srv" nginx -p "$tmp/ngx" -c "$tmp/ngx/nginx.conf" >"$out" 2>&1 &
        srv_pid=$!
        ;;
    h2o)
        port=$((20000 + RANDOM % 10000))
        cat >"$tmp/h2o.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user: root" )
num-threads: 1
listen:
  host: 127.0.0.1
  port: $port
error-log: $tmp/h2o-error.log
hosts:
  default:
    paths:
      /:
        file.file: $tmp/hello.txt
        file.etag: OFF
        file.send-compressed: OFF
EOF
        taskset -c "$cpu_srv" h2o -c "$tmp/h2o.conf" >"$out" 2>&1 &
        srv_pid=$!
        ;;
    *)
        # shellcheck disable=SC2086 # the mode arguments are a list of words
        taskset -c "$cpu_srv" "${bin[$s]}" --host 127.0.0.1 --port 0 ${args[$s]} >"$out" 2>&1 &
        srv_pid=$!
        for _ in $(seq 200); do grep -q listening "$out" && break; sleep 0.05; done
        port=$(sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' "$out" | head -1)
        ;;
    esac
    if [ -z "$port" ] || ! wait_port "$port"; then
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

run_one() { # server test round
    local s=$1 t=$2 r=$3 url c0 c1 t0 t1 out="$tmp/load.out" n rps
    start_server "$s"
    url="http://127.0.0.1:$port/"
    case $t in
    wrk)
        taskset -c "$cpu_load" wrk -t1 -c"$conns" -d1s "$url" >/dev/null
        c0=$(cpu "$srv_pid")
        t0=$(date +%s.%N)
        { time taskset -c "$cpu_load" wrk -t1 -c"$conns" -d"${secs}s" "$url" >"$out"; } 2>"$tmp/time"
        c1=$(cpu "$srv_pid")
        t1=$(date +%s.%N)
        if grep -qE 'Non-2xx|Socket errors' "$out"; then
            echo "$s/$t: errors:" >&2
            cat "$out" >&2
        fi
        n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
        rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
        ;;
    h2load)
        taskset -c "$cpu_load" h2load --h1 -m 16 -c 16 -n $((pipe_n / 20)) "$url" >/dev/null
        c0=$(cpu "$srv_pid")
        t0=$(date +%s.%N)
        { time taskset -c "$cpu_load" h2load --h1 -m 16 -c 16 -n "$pipe_n" "$url" >"$out"; } \
            2>"$tmp/time"
        c1=$(cpu "$srv_pid")
        t1=$(date +%s.%N)
        n=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$out")
        [ "$n" = "$pipe_n" ] || { echo "$s/$t: only $n of $pipe_n 2xx:" >&2; cat "$out" >&2; }
        rps=$(sed -n 's/^finished in [0-9.]*m\{0,1\}s, \([0-9.]*\) req\/s.*/\1/p' "$out")
        ;;
    esac
    stop_server
    read -r lu ls <"$tmp/time"
    read -r st0 sc0 <<<"$c0"
    read -r st1 sc1 <<<"$c1"
    awk -v s="$s" -v t="$t" -v r="$r" -v n="$n" -v rps="$rps" -v st="$st0" -v st1="$st1" \
        -v sc="$sc0" -v sc1="$sc1" -v t0="$t0" -v t1="$t1" -v lc="$lu $ls" 'BEGIN {
        split(lc, l, " ")
        printf "%s %s round=%d requests=%d rps=%.0f cpu_s=%.3f sched_s=%.4f wall_s=%.3f " \
               "cpu_us_per_req=%.4f sched_us_per_req=%.4f util=%.2f load_us_per_req=%.4f\n", s, t,
               r, n, rps, st1 - st, sc1 - sc, t1 - t0, (st1 - st) * 1e6 / n,
               (sc1 - sc) * 1e6 / n, (sc1 - sc) / (t1 - t0), (l[1] + l[2]) * 1e6 / n }' | tee -a "$raw" >&2
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$rounds"); do
    for t in $tests; do
        for s in $names; do
            run_one "$s" "$t" "$r"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo ".." hi}'; }
field() { # name test key
    awk -v s="$1" -v t="$2" -v k="$3" '$1 == s && $2 == t {
        for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$raw"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2fx", a/b; else printf "-" }'; }
table() {
    echo "| test | server | req/s | CPU µs/req (stat) | CPU µs/req (schedstat) | server CPU util | load µs/req | req/core-s | CPU vs nginx | CPU vs raw | req/s vs nginx | req/core-s vs base |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    for t in $tests; do
        local ng_cpu=0 ng_rps=0 b_core=0 raw_cpu=0
        if [[ " $names " == *" raw "* ]]; then
            raw_cpu=$(field raw "$t" cpu_us_per_req | median)
        fi
        if [[ " $names " == *" nginx "* ]]; then
            ng_cpu=$(field nginx "$t" cpu_us_per_req | median)
            ng_rps=$(field nginx "$t" rps | median)
        fi
        if [[ " $names " == *" base "* ]]; then
            b_core=$(awk -v c="$(field base "$t" cpu_us_per_req | median)" \
                'BEGIN{print (c > 0) ? 1e6 / c : 0}')
        fi
        for s in $names; do
            local rps st sc core
            rps=$(field "$s" "$t" rps | median)
            st=$(field "$s" "$t" cpu_us_per_req | median)
            sc=$(field "$s" "$t" sched_us_per_req | median)
            core=$(awk -v c="$st" 'BEGIN{printf "%.0f", (c > 0) ? 1e6 / c : 0}')
            echo "| $t | $s | $(printf '%.0f' "$rps") ($(field "$s" "$t" rps | minmax)) |" \
                "$st ($(field "$s" "$t" cpu_us_per_req | minmax)) |" \
                "$sc ($(field "$s" "$t" sched_us_per_req | minmax)) |" \
                "$(field "$s" "$t" util | median) | $(field "$s" "$t" load_us_per_req | median) |" \
                "$core |" \
                "$(ratio "$st" "$ng_cpu") | $(ratio "$st" "$raw_cpu") | $(ratio "$rps" "$ng_rps") | $(ratio "$core" "$b_core") |"
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
