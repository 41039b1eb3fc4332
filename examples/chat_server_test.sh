#!/bin/sh
# examples.chat_server: starts chat_server on a free port and drives it with Debian's
# python3-websockets: three users join (each sees the joins), /users lists them, messages of
# each reach all three, a user leaves (the others get the notice, /users drops it), the page
# and a refused path; with several workers the test adds users until the room spans two
# workers (so pushes cross workers). Stops the server with SIGTERM (by PID) and expects a
# clean exit. Exits 77 (skipped) without a python3 that has the websockets module.
# Usage: chat_server_test.sh <path to chat_server> [base|process|thread] [workers]
set -u
bin=$1
mode=${2:-base}
workers=${3:-1}
py=
for c in python3 /usr/bin/python3; do
    if "$c" -c 'import websockets' 2>/dev/null; then
        py=$c
        break
    fi
done
if [ -z "$py" ]; then
    echo "python3 with the websockets module (python3-websockets) is missing: skipped"
    exit 77
fi
out=$(mktemp)
"$bin" --port 0 --mode "$mode" --workers "$workers" > "$out" 2>&1 &
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
while ! grep -q '^listening on ' "$out"; do
    i=$((i + 1))
    [ "$i" -gt 200 ] && fail "no address printed"
    kill -0 "$pid" 2>/dev/null || fail "server exited"
    sleep 0.05
done
url=$(sed -n 's/^listening on //p' "$out" | head -n 1)
"$py" - "${url#http://}" "$workers" <<'PY' || fail "chat scenario ($mode, $workers workers)"
import asyncio, http.client, json, sys, time
import websockets

hostport, workers = sys.argv[1], int(sys.argv[2])
host, port = hostport.rsplit(":", 1)
T = 10  # seconds for any single wait

def get(path):
    c = http.client.HTTPConnection(host, int(port), timeout=T)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()

async def expect(ws, want):
    """Reads until `want` arrives (other lines are joins of fillers); bounded in time."""
    async def loop():
        seen = []
        while True:
            m = await ws.recv()
            if m == want:
                return
            seen.append(m)
            if len(seen) > 100:
                raise AssertionError("never got %r, saw %r" % (want, seen[-5:]))
    await asyncio.wait_for(loop(), T)

async def join(name, query=None):
    url = "ws://%s/chat?name=%s" % (hostport, query or name)
    ws = await asyncio.wait_for(websockets.connect(url), T)
    await expect(ws, "* %s joined" % name)
    return ws

async def main():
    users = {}
    for name in ("alice", "bob", "carol"):
        users[name] = await join(name)
    await expect(users["alice"], "* bob joined")
    await expect(users["alice"], "* carol joined")
    await expect(users["bob"], "* carol joined")
    # With several workers, add users until the room spans two of them.
    fillers = []
    st, body = get("/users")
    assert st == 200, st
    listing = json.loads(body)
    # (Which BASE worker accepts is the kernel's choice and a worker still starting accepts
    # nothing: keep adding, a little apart, for up to 10 s.)
    deadline = time.monotonic() + 10
    while (workers > 1 and len({u["worker"] for u in listing["users"]}) < 2
           and len(fillers) < 100 and time.monotonic() < deadline):
        fillers.append(await join("filler%d" % len(fillers)))
        listing = json.loads(get("/users")[1])
        await asyncio.sleep(0.02)
    spread = len({u["worker"] for u in listing["users"]})
    where = sorted((u["name"], u["worker"]) for u in listing["users"])
    print("users on %d worker(s): %s" % (spread, where))
    if workers > 1:
        assert spread >= 2, "every user landed on one worker"
    names = sorted(u["name"] for u in listing["users"] if not u["name"].startswith("filler"))
    assert names == ["alice", "bob", "carol"], listing
    assert listing["count"] == 3 + len(fillers), listing
    everyone = list(users.values()) + fillers
    for name, ws in users.items():
        text = "hello from %s" % name
        await ws.send(text)
        for other in everyone:
            await expect(other, "%s: %s" % (name, text))
    # A message with non-ASCII text goes through unchanged.
    await users["bob"].send("h\u00e9 \u2603")
    for other in everyone:
        await expect(other, "bob: h\u00e9 \u2603")
    # carol leaves: the others hear it, /users drops her.
    await users.pop("carol").close()
    for other in list(users.values()) + fillers:
        await expect(other, "* carol left")
    listing = json.loads(get("/users")[1])
    names = sorted(u["name"] for u in listing["users"] if not u["name"].startswith("filler"))
    assert names == ["alice", "bob"], listing
    # A dropped connection (no close frame) is a leave too.
    users["bob"].transport.abort()
    await expect(users["alice"], "* bob left")
    # Names are sanitized, the page is served, other paths refuse the handshake.
    ws = await join("x_y_z", "x%20y%3Cz")
    await ws.close()
    st, body = get("/")
    assert st == 200 and "new WebSocket" in body, st
    assert get("/nope")[0] == 404
    try:
        async with websockets.connect("ws://%s/nope" % hostport):
            raise AssertionError("/nope was accepted")
    except websockets.exceptions.InvalidHandshake as e:
        # InvalidStatusCode (websockets < 14) has status_code; InvalidStatus has response
        status = getattr(e, "status_code", None)
        if status is None:
            status = getattr(getattr(e, "response", None), "status_code", None)
        assert status == 404, e
    for ws in [users["alice"]] + fillers:
        await ws.close()

asyncio.run(asyncio.wait_for(main(), 50))
PY
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 300 ] && fail "did not stop on SIGTERM"
    sleep 0.05
done
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] || fail "exit status $rc"
# Sanitizer builds: a report from a worker process does not change the master's exit status.
if grep -q 'Sanitizer\|runtime error' "$out"; then
    fail "sanitizer report"
fi
rm -f "$out"
echo "ok ($mode, $workers workers)"
