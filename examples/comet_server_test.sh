#!/bin/sh
# examples.comet_server: starts comet_server (--timeout 1) on a free port and drives it with
# python3's http.client: polls waiting on several connections (so, with several workers, in
# several workers) all get a message published meanwhile; since-id semantics; the timeout
# answer; bad publishes (400, 413, 405); clients that disconnect while waiting (the server
# still answers after); the ring of 1000 messages; a poll held while the server stops gets
# an answer or a close, never a hang. Stops the server with SIGTERM (by PID) and expects a
# clean exit. Exits 77 (skipped) without python3.
# Usage: comet_server_test.sh <path to comet_server> [base|process|thread] [workers]
set -u
bin=$1
mode=${2:-base}
workers=${3:-1}
py=
for c in python3 /usr/bin/python3; do
    if "$c" -c 'import http.client, json, threading' 2>/dev/null; then
        py=$c
        break
    fi
done
[ -n "$py" ] || { echo "python3 is missing: skipped"; exit 77; }
out=$(mktemp)
"$bin" --port 0 --mode "$mode" --workers "$workers" --timeout 1 > "$out" 2>&1 &
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
"$py" - "${url#http://}" "$pid" "$workers" <<'PY' || fail "comet scenario ($mode, $workers workers)"
import http.client, json, os, signal, socket, sys, threading, time

hostport, server_pid, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
host, port = hostport.rsplit(":", 1)
port = int(port)
T = 15  # seconds for any single request

def request(method, path, body=None, conn=None):
    c = conn or http.client.HTTPConnection(host, port, timeout=T)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if conn is None:
            c.close()

def publish(text, conn=None):
    st, body = request("POST", "/publish", text.encode() if isinstance(text, str) else text, conn)
    assert st == 200, (st, body)
    return json.loads(body)["id"]

def poll(since, conn=None):
    st, body = request("GET", "/poll?since=%d" % since, conn=conn)
    assert st == 200, (st, body)
    return json.loads(body)

# 1. Polls wait on several keep-alive connections; with several workers, connections are
# opened until they reach two workers (X-Worker tells which one answers a connection). One
# publish, on another connection, answers all of them.
# Which BASE worker accepts is the kernel's choice (a worker still starting accepts nothing),
# so connections that add no new worker are closed again and retried for up to 10 s.
conns, seen = [], set()
deadline = time.monotonic() + 10
while len(conns) < 8 or (workers > 1 and len(seen) < 2 and time.monotonic() < deadline):
    c = http.client.HTTPConnection(host, port, timeout=T)
    c.request("GET", "/")
    r = c.getresponse()
    r.read()
    assert r.status == 200
    w = r.getheader("X-Worker")
    if len(conns) >= 8 and w in seen:
        c.close()
        time.sleep(0.02)
        continue
    seen.add(w)
    conns.append(c)
print("polls on workers", sorted(seen))
assert workers == 1 or len(seen) >= 2, "every connection landed on one worker"
results = [None] * len(conns)
def waiter(i):
    results[i] = poll(0, conns[i])
threads = [threading.Thread(target=waiter, args=(i,)) for i in range(len(conns))]
for t in threads:
    t.start()
time.sleep(0.3)  # let them reach the server (if not, they get the message at once: also right)
assert publish("first") == 1
for t in threads:
    t.join(T)
    assert not t.is_alive(), "a poll was not answered"
for r in results:
    assert r == {"messages": [{"id": 1, "text": "first"}], "last_id": 1}, r
for c in conns:
    c.close()

# 2. since-id semantics.
assert publish("second") == 2
text3 = 'quote " backslash \\ newline \n tab \t snow \u2603'
assert publish(text3) == 3
assert poll(1) == {"messages": [{"id": 2, "text": "second"}, {"id": 3, "text": text3}],
                   "last_id": 3}
assert [m["id"] for m in poll(0)["messages"]] == [1, 2, 3]
assert poll(2)["messages"] == [{"id": 3, "text": text3}]

# 3. Nothing newer: the timeout (1 s) answers an empty list.
assert poll(3) == {"messages": [], "last_id": 3}
assert poll(50) == {"messages": [], "last_id": 50}

# 4. Bad requests.
assert request("POST", "/publish", b"")[0] == 400
assert request("POST", "/publish", b"\xff\xfe")[0] == 400
assert request("POST", "/publish", b"x" * 4097)[0] == 413
assert request("GET", "/publish")[0] == 405
assert request("GET", "/poll?since=abc")[0] == 400
assert request("GET", "/nope")[0] == 404
st, page = request("GET", "/")
assert st == 200 and b"/poll?since=" in page

# 5. Clients that disconnect while their poll waits; then the server still answers.
for i in range(6):
    s = socket.create_connection((host, port), timeout=T)
    s.sendall(("GET /poll?since=3 HTTP/1.1\r\nHost: %s\r\n\r\n" % hostport).encode())
    time.sleep(0.05)
    if i % 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # odd ones with a reset
time.sleep(0.2)
assert publish("after the disconnects") == 4
assert poll(3)["messages"] == [{"id": 4, "text": "after the disconnects"}]
os.kill(server_pid, 0)

# 6. The ring keeps the last 1000: publish 1000 more on one keep-alive connection.
c = http.client.HTTPConnection(host, port, timeout=T)
for i in range(1000):
    publish("m%d" % (5 + i), conn=c)
c.close()
r = poll(0)  # ids 1..4 are gone: it starts at 1004 - 999 = 5, 100 at most per answer
ids = [m["id"] for m in r["messages"]]
assert ids == list(range(5, 105)), ids[:5]
assert r["last_id"] == 104 and r["messages"][0]["text"] == "m5"
assert [m["id"] for m in poll(1000)["messages"]] == [1001, 1002, 1003, 1004]

# 7. A poll held while the server stops gets an answer (503) or a close, not a hang.
held = {}
def last_waiter():
    try:
        held["status"] = request("GET", "/poll?since=1004")[0]
    except (ConnectionError, http.client.HTTPException) as e:
        held["status"] = type(e).__name__
# The timeout is 1 s: use a fresh server-side wait by polling just before the signal.
t = threading.Thread(target=last_waiter)
t.start()
time.sleep(0.3)
os.kill(server_pid, signal.SIGTERM)
t.join(T)
assert not t.is_alive(), "the held poll hung at shutdown"
print("held poll at shutdown:", held.get("status"))
PY
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
