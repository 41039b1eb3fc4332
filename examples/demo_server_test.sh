#!/bin/sh
# examples.demo_server: starts demo_server on a free port, checks its routes with curl, stops
# it with SIGTERM and expects a clean exit. Exits 77 (skipped) without curl.
# Usage: demo_server_test.sh <path to demo_server> [base|process]
set -u
demo=$1
mode=${2:-base}
command -v curl >/dev/null 2>&1 || { echo "curl is not installed: skipped"; exit 77; }
out=$(mktemp)
root=$(mktemp -d)
printf 'static file\n' > "$root/file.txt"
"$demo" --port 0 --mode "$mode" --workers 2 --document-root "$root" --max-body 67108864 \
    > "$out" 2>&1 &
pid=$!
fail() {
    echo "FAIL: $*"
    cat "$out"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$out" "$root"
    exit 1
}
i=0
while ! grep -q '^listening on ' "$out"; do
    i=$((i + 1))
    [ "$i" -gt 200 ] && fail "no address printed"
    sleep 0.05
done
url=$(sed -n 's/^listening on //p' "$out" | head -n 1)
body=$(curl -sS --max-time 10 "$url/") || fail "GET /"
[ "$body" = "hello" ] || fail "GET / gave '$body'"
body=$(curl -sS --max-time 10 --data-binary 'echo me' "$url/echo") || fail "POST /echo"
[ "$body" = "echo me" ] || fail "POST /echo gave '$body'"
body=$(curl -sS --max-time 10 -X PUT --data-binary 'put me' "$url/echo") || fail "PUT /echo"
[ "$body" = "put me" ] || fail "PUT /echo gave '$body'"
# A 20 MiB body (over the 2 MiB piece size: it reaches the worker in pieces and is echoed
# from its temporary file), with Content-Length and chunked.
head -c 20971520 /dev/urandom > "$root/big.bin" || fail "making the big body"
curl -sS --max-time 60 --data-binary @"$root/big.bin" -o "$root/big.out" "$url/echo" ||
    fail "POST /echo 20 MiB"
cmp -s "$root/big.bin" "$root/big.out" || fail "POST /echo 20 MiB: the echo differs"
curl -sS --max-time 60 -H 'Transfer-Encoding: chunked' --data-binary @"$root/big.bin" \
    -o "$root/big.out" "$url/echo" || fail "POST /echo 20 MiB chunked"
cmp -s "$root/big.bin" "$root/big.out" || fail "POST /echo 20 MiB chunked: the echo differs"
rm -f "$root/big.bin" "$root/big.out"
curl -sS --max-time 10 "$url/stats" | grep -q '"accept_count":' || fail "/stats"
curl -sS --max-time 10 "$url/stats?format=prometheus" | grep -q '^swoole_requests_total ' ||
    fail "/stats?format=prometheus"
body=$(curl -sS --max-time 10 "$url/file.txt") || fail "static file"
[ "$body" = "static file" ] || fail "static file gave '$body'"
curl -sS --max-time 10 "$url/wspage" | grep -q "new WebSocket" || fail "/wspage"
# WebSocket echo with a real client (Debian's python3-websockets), when it is installed.
py=
for c in python3 /usr/bin/python3; do
    if "$c" -c 'import websockets' 2>/dev/null; then
        py=$c
        break
    fi
done
if [ -n "$py" ]; then
    "$py" - "ws://${url#http://}/ws" <<'PY' || fail "WebSocket echo (python3-websockets)"
import asyncio, sys
import websockets

async def main(url):
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send("hello, ws")
        assert await ws.recv() == "hello, ws"
        blob = bytes(range(256)) * 4096  # 1 MiB
        await ws.send(blob)
        assert await ws.recv() == blob
        await asyncio.wait_for(await ws.ping(b"p"), 10)
    try:
        async with websockets.connect(url.replace("/ws", "/nope")):
            raise SystemExit("/nope was accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == 404, e.status_code

asyncio.run(asyncio.wait_for(main(sys.argv[1]), 30))
PY
else
    echo "python3-websockets is not installed: WebSocket client check skipped"
fi
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$url/missing") || fail "404"
[ "$code" = "404" ] || fail "missing file gave $code"
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 300 ] && fail "did not stop on SIGTERM"
    sleep 0.05
done
wait "$pid"
rc=$?
rm -rf "$out" "$root"
[ "$rc" -eq 0 ] || { echo "FAIL: exit status $rc"; exit 1; }
echo "ok ($mode)"
