#!/bin/sh
# examples.task_server: starts task_server on a free port, sends requests with its --client
# mode (answered through task workers), stops it with SIGTERM and expects a clean exit.
# Usage: task_server_test.sh <path to task_server> [base|process] [ipc mode]
set -u
ts=$1
mode=${2:-base}
ipc=${3:-1}
out=$(mktemp)
"$ts" --port 0 --mode "$mode" --workers 2 --tasks 2 --ipc-mode "$ipc" > "$out" 2>&1 &
pid=$!
fail() {
    echo "FAIL: $*"
    cat "$out"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$out"
    exit 1
}
i=0
while ! grep -q '^task_server listening on ' "$out"; do
    i=$((i + 1))
    [ "$i" -gt 200 ] && fail "no address printed"
    sleep 0.05
done
addr=$(sed -n 's/^task_server listening on //p' "$out" | head -n 1)
r=$("$ts" --client "$addr" "upper hello tasks") || fail "upper"
[ "$r" = "HELLO TASKS" ] || fail "upper gave '$r'"
r=$("$ts" --client "$addr" "sum 1 2 3 -4 100") || fail "sum"
[ "$r" = "102" ] || fail "sum gave '$r'"
r=$("$ts" --client "$addr" "what") || fail "unknown"
[ "$r" = "error: unknown service" ] || fail "unknown gave '$r'"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 300 ] && fail "did not stop on SIGTERM"
    sleep 0.05
done
wait "$pid"
rc=$?
rm -f "$out"
[ "$rc" -eq 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
echo "task_server ($mode, ipc $ipc): ok"
