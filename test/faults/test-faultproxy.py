#!/usr/bin/env python3
"""The fault proxy's own test (TAP): every fault it offers, against a small
upstream server of this file, so the real-stack tests that rely on it know
that a cut is exact, a reset is a reset and a trickle is slow.

    test-faultproxy.py PATH/TO/faultproxy.py
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

PROXY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "faultproxy.py")
count = failed = 0


def ok(cond, name, detail=""):
    global count, failed
    count += 1
    print(("ok" if cond else "not ok") + f" {count} - {name}")
    if not cond:
        failed += 1
        if detail:
            print(f"#   {detail}")


class Upstream:
    """Sends PAYLOAD to each client, then records what the client sends
    until it closes."""

    def __init__(self, payload):
        self.payload = payload
        self.got = []
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            c, _ = self.ls.accept()
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        buf = b""
        try:
            c.sendall(self.payload)
            c.shutdown(socket.SHUT_WR)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                buf += d
        except OSError:
            pass
        self.got.append(buf)
        c.close()


class Replier(Upstream):
    """Greets each client, then answers every chunk it reads with one line,
    like a server the client must wait for."""

    def __init__(self):
        super().__init__(b"hello\r\n")

    def serve(self, c):
        try:
            c.sendall(self.payload)
            while c.recv(65536):
                c.sendall(b"+\r\n")
        except OSError:
            pass
        c.close()


def turns_session(port):
    """Waits for the greeting, then three round trips: two lone commands
    and two pipelined in one write, each waited for."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.recv(100)
    for piece in (b"one\r\n", b"two\r\n", b"three\r\nfour\r\n"):
        s.sendall(piece)
        s.recv(100)
    s.close()


def start_proxy(upstream, rules, tmp):
    port_file, log = os.path.join(tmp, "port"), os.path.join(tmp, "log")
    for f in (port_file, log):
        if os.path.exists(f):
            os.unlink(f)
    args = [sys.executable, PROXY, "--upstream", str(upstream.port), "--port-file", port_file,
            "--log", log]
    for r in rules:
        args += ["--rule", r]
    p = subprocess.Popen(args)
    for _ in range(200):
        if os.path.exists(port_file):
            return p, int(open(port_file).read()), log
        time.sleep(0.02)
    raise SystemExit("Bail out! proxy did not start")


def read_all(sock, limit=30):
    """Everything until EOF or reset within LIMIT seconds in all (a trickle
    delivers a byte before any one recv times out): (bytes,
    'eof'|'reset'|'timeout')."""
    end = time.monotonic() + limit
    buf = b""
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return buf, "timeout"
            sock.settimeout(left)
            d = sock.recv(65536)
            if not d:
                return buf, "eof"
            buf += d
    except ConnectionResetError:
        return buf, "reset"
    except socket.timeout:
        return buf, "timeout"


def session(port, send=b"", limit=30):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    for piece in ([send] if isinstance(send, bytes) else send):
        s.sendall(piece)
        time.sleep(0.1)     # each piece its own chunk at the proxy
    data, end = read_all(s, limit)
    s.close()
    return data, end, time.monotonic() - t0


def main():
    payload = b"".join(b"line %05d of the payload\r\n" % i for i in range(4000))
    up = Upstream(payload)
    tmp = tempfile.mkdtemp(prefix="faultproxy-test.")

    def run(rules, send=b"", limit=30, sessions=1):
        p, port, log = start_proxy(up, rules, tmp)
        try:
            results = [session(port, send, limit) for _ in range(sessions)]
        finally:
            p.kill()
            p.wait()
        time.sleep(0.1)
        return results, open(log).read() if os.path.exists(log) else ""

    (r,), log = run([], limit=5)
    ok(r[0] == payload, "no rule: the bytes go through unchanged")

    (r,), log = run(["at=bytes:1000 action=fin"])
    ok(r[0] == payload[:1000] and r[1] == "eof", "fin after 1000 bytes: exactly 1000, then EOF",
       f"got {len(r[0])} bytes, {r[1]}")
    ok("session 1 s2c fin at byte 1000" in log, "the cut is logged with its byte")

    (r,), log = run(["at=bytes:777 action=rst"])
    ok(r[1] == "reset" and len(r[0]) <= 777, "rst after 777 bytes: a reset, no byte beyond",
       f"got {len(r[0])} bytes, {r[1]}")

    (r,), log = run([r"at=match:line\s00100 nth=1 offset=5 action=fin"])
    want = payload.index(b"line 00100") + len(b"line 00100") + 5
    ok(r[0] == payload[:want], "a cut at a pattern plus an offset is exact",
       f"got {len(r[0])} want {want}")

    (r,), log = run([r"at=match:payload\r\n nth=3000 action=fin"])
    want = payload.index(b"line 02999") + len(b"line 02999 of the payload\r\n")
    ok(r[0] == payload[:want], "the 3000th occurrence, across chunk boundaries",
       f"got {len(r[0])} want {want}")

    def upstream_got(want):
        """What the upstream recorded of this run's session: the earlier
        sessions' threads may record theirs later on a loaded machine, so
        the list is cleared first and the wanted bytes awaited (5 s)."""
        end = time.monotonic() + 5
        while want not in up.got and time.monotonic() < end:
            time.sleep(0.05)
        if want in up.got and not any(b"B\r\n" in g for g in up.got):
            return want
        return up.got

    up.got.clear()
    (r,), log = run(["dir=c2s at=match:QUIT\\r\\n action=fin"], send=b"A\r\nQUIT\r\nB\r\n")
    got = upstream_got(b"A\r\nQUIT\r\n")
    ok(got == b"A\r\nQUIT\r\n", "client to server: cut right after QUIT",
       f"upstream got {got!r}")

    up.got.clear()
    (r,), log = run(["dir=c2s at=match:QUIT\\r\\n action=fin"], send=[b"A\r\n", b"QUIT\r\n", b"B\r\n"])
    got = upstream_got(b"A\r\nQUIT\r\n")
    ok(got == b"A\r\nQUIT\r\n" and "c2s fin at byte 9" in log,
       "a pattern that ends its chunk fires as that chunk is sent", f"upstream got {got!r}")

    (r,), log = run(["at=bytes:4000 action=fin"], send=b"x", limit=5)
    ok(r[0] == payload[:4000], "a byte count inside the stream is exact")

    (r,), log = run(["at=bytes:100 action=stall secs=1.5"])
    ok(r[0] == payload and 1.4 < r[2] < 5, "a stall of 1.5 s keeps the connection, then goes on",
       f"{r[2]:.2f} s")

    p, port, log = start_proxy(up, ["dir=c2s at=bytes:0 action=stall secs=5"], tmp)
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(2)
        pushed = 0
        try:
            while pushed < 64 * 1024 * 1024:
                pushed += s.send(b"y" * 65536)
        except socket.timeout:
            pass
        s.close()
    finally:
        p.kill()
        p.wait()
    ok(pushed < 32 * 1024 * 1024, "a stalled way pushes back: the sender's writes block",
       f"{pushed} bytes written before a write blocked for 2 s")

    (r,), log = run(["dir=both latency=200"])
    ok(r[0] == payload and 0.19 < r[2] < 2, "latency 200 ms: the first bytes come late",
       f"{r[2]:.2f} s")

    (r,), log = run(["rate=1"], limit=3)
    ok(r[1] == "timeout" and 2 <= len(r[0]) <= 4, "rate=1: a byte a second",
       f"{len(r[0])} bytes in 3 s")

    (r,), log = run(["at=bytes:5000 action=trickle"], limit=3)
    ok(r[1] == "timeout" and 5001 <= len(r[0]) <= 5004,
       "trickle from byte 5000: all before it at once, then a byte a second",
       f"{len(r[0])} bytes in 3 s")

    (r,), log = run(["rate=200000"])
    ok(r[0] == payload and r[2] > 0.35, "rate 200 kB/s: 100 kB take half a second",
       f"{r[2]:.2f} s")

    rs, log = run(["at=bytes:10 action=fin"], sessions=2)
    ok(len(rs[0][0]) == 10 and rs[1][0] == payload, "session=1 (default): the second one is clean")

    rs, log = run(["session=all at=bytes:10 action=fin"], sessions=2)
    ok(len(rs[0][0]) == 10 and len(rs[1][0]) == 10, "session=all: every one is cut")

    p, port, log = start_proxy(Replier(), [], tmp)
    try:
        turns_session(port)
        time.sleep(0.5)
    finally:
        p.kill()
        p.wait()
    text = open(log).read() if os.path.exists(log) else ""
    ok(", 3 round trips" in text, "round trips are counted: a pipelined pair is one",
       text.strip().replace("\n", " | "))

    bad = subprocess.run([sys.executable, PROXY, "--upstream", "1", "--port-file",
                          os.path.join(tmp, "x"), "--rule", "action=fin"],
                         capture_output=True, text=True)
    ok(bad.returncode == 64 and "bad rule" in bad.stderr, "a rule without its trigger is refused")

    print(f"1..{count}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
