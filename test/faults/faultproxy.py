#!/usr/bin/env python3
"""faultproxy: a TCP relay on loopback that misbehaves on cue.

This kernel has no sch_netem, so the network faults of the hardening tests
(test/real/*-fault*.sh) are made here, in userspace, between mailpipe and
the real Postfix or Dovecot.  Python standard library only.

    faultproxy.py --upstream PORT --port-file FILE [--log FILE]
                  [--port N] [--queue-kib K] [--rule RULE]...

The proxy listens on 127.0.0.1 (port N, or an ephemeral one written to FILE
once it listens), and relays every connection it accepts to
127.0.0.1:PORT until it is killed.  Each direction holds at most K KiB
(default 256) before it stops reading, so a stalled way fills up and
the sender's writes block, as on a real link; with latency= that also
caps a transfer at K KiB per delay (a TCP window that never grows:
the benchmarks give 4096, what Linux autotunes to on a long link).  Connections are numbered from 1 in the
order they are accepted ("sessions").  A RULE is words key=value
(split at white space; a space inside TEXT is written \\s):

  session=1|2,3|all     which sessions it applies to (default 1)
  dir=c2s|s2c|both      client->server, server->client (default s2c)
  latency=MS            hold each chunk MS ms before it goes on (order kept)
  rate=BYTES            at most BYTES bytes per second; rate=1 is a trickle
                        of one byte a second (with action=trickle: only
                        from the trigger on)
  at=bytes:N            a trigger once N bytes went this way, or
  at=match:TEXT         once TEXT (escapes \\r \\n \\t \\xHH \\s for space)
                        went this way, counting from its first byte ...
  nth=K                 ... at its K-th occurrence (default 1)
  offset=M              ... plus M more bytes (default: right after TEXT)
  action=fin|rst|stall|trickle
                        at the trigger: close both sides (FIN), reset both
                        (RST, SO_LINGER 0), stop forwarding this way, or go
                        on at rate= bytes a second (default 1)
  secs=S                for stall: how long (the connection is kept)

Every fault that fires is written to the log as one line
("session 1 s2c rst at byte 5123"), so a test can prove its fault happened;
sessions are logged when they open and close, with the bytes relayed and
the round trips: how many times the server sent after the client had (a
greeting is not one), as the benchmarks count them (scripts/bench-send).
A client that writes again before the answer came (pipelining) makes no
round trip of it; a QUIT answered after the client stopped listening, or a
TLS ticket that arrives between two writes of one client flight, still
counts.  The
bytes before a trigger are delivered exactly, the bytes after it never
(fin/rst) or only after the stall.
"""
import argparse
import collections
import os
import re
import socket
import struct
import sys
import threading
import time

CHUNK = 65536
# Bytes a direction holds before it stops reading by default (--queue-kib):
# the proxy pushes back like a real link (a stalled way fills up and the
# sender's writes block) instead of swallowing a whole message the far side
# never gets.
QUEUE_KIB = 256
DIRS = ("c2s", "s2c")


def unescape(text):
    """Bytes from TEXT with \\r \\n \\t \\s \\\\ \\xHH escapes."""
    out, i = bytearray(), 0
    simple = {"r": b"\r", "n": b"\n", "t": b"\t", "s": b" ", "\\": b"\\"}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            c = text[i + 1]
            if c in simple:
                out += simple[c]
                i += 2
                continue
            if c == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
        out += text[i].encode()
        i += 1
    return bytes(out)


class Rule:
    """One line of the script, parsed."""

    def __init__(self, text):
        kv = dict(w.split("=", 1) for w in text.split())
        self.text = text
        self.sessions = self._sessions(kv.pop("session", "1"))
        d = kv.pop("dir", "s2c")
        self.dirs = DIRS if d == "both" else (d,)
        if any(x not in DIRS for x in self.dirs):
            raise ValueError(f"dir={d}")
        self.latency = float(kv.pop("latency", "0")) / 1000
        self.rate = int(kv.pop("rate", "0"))
        self.action = kv.pop("action", None)
        self.secs = float(kv.pop("secs", "0"))
        self.nth = int(kv.pop("nth", "1"))
        self.offset = int(kv.pop("offset", "0"))
        self.at_bytes, self.pattern = None, None
        at = kv.pop("at", None)
        if at is not None:
            kind, _, value = at.partition(":")
            if kind == "bytes":
                self.at_bytes = int(value)
            elif kind == "match":
                self.pattern = unescape(value)
            else:
                raise ValueError(f"at={at}")
        if self.action not in (None, "fin", "rst", "stall", "trickle"):
            raise ValueError(f"action={self.action}")
        if (self.action is None) != (at is None):
            raise ValueError("at= and action= go together")
        if kv:
            raise ValueError(f"unknown keys {sorted(kv)}")

    @staticmethod
    def _sessions(spec):
        return None if spec == "all" else {int(s) for s in spec.split(",")}

    def applies(self, session, direction):
        return direction in self.dirs and (self.sessions is None or session in self.sessions)


class Trigger:
    """A fault waiting for its byte position in one direction's stream."""

    def __init__(self, rule):
        self.rule = rule
        self.seen = 0          # occurrences of the pattern so far
        self.position = rule.at_bytes + rule.offset if rule.at_bytes is not None else None
        self.tail = b""        # the last len(pattern)-1 bytes, for matches across chunks
        self.scanned = 0       # stream bytes already searched

    def locate(self, start, chunk):
        """Absolute stream position of the trigger, once known.  CHUNK holds
        the stream from byte START; bytes searched before are skipped, so a
        chunk sent in parts counts each occurrence once."""
        if self.position is not None or self.rule.pattern is None:
            return self.position
        pat = self.rule.pattern
        new = chunk[max(0, self.scanned - start):]
        if not new:
            return None
        data = self.tail + new
        base = self.scanned - len(self.tail)
        self.scanned += len(new)
        i = data.find(pat)
        while i >= 0:
            self.seen += 1
            if self.seen == self.rule.nth:
                self.position = base + i + len(pat) + self.rule.offset
                return self.position
            i = data.find(pat, i + len(pat))
        self.tail = data[-(len(pat) - 1):] if len(pat) > 1 else b""
        return None


class Direction:
    """One way of one session: a reader filling a queue, a writer emptying it
    with the rule's latency, rate and faults."""

    def __init__(self, session, name, src, dst, rules):
        self.session, self.name, self.src, self.dst = session, name, src, dst
        self.latency = sum(r.latency for r in rules)
        rates = [r.rate for r in rules if r.rate > 0 and r.action != "trickle"]
        self.rate = min(rates) if rates else 0
        self.triggers = [Trigger(r) for r in rules if r.action is not None]
        self.queue = collections.deque()
        self.queued = 0
        self.ready = threading.Condition()
        self.sent = 0

    def read_loop(self):
        while True:
            with self.ready:
                while self.queued >= ARGS.queue_kib * 1024 and not self.session.dead:
                    self.ready.wait(0.2)
            try:
                data = self.src.recv(CHUNK)
            except OSError:
                data = b""
            if data:
                self.session.note_turn(self.name)
            with self.ready:
                self.queue.append((time.monotonic(), data))
                self.queued += len(data)
                self.ready.notify_all()
            if not data:
                return

    def next_chunk(self):
        with self.ready:
            while not self.queue and not self.session.dead:
                self.ready.wait(0.2)
            if not self.queue:
                return 0, b""
            stamp, data = self.queue.popleft()
            self.queued -= len(data)
            self.ready.notify_all()
            return stamp, data

    def write_loop(self):
        while not self.session.dead:
            stamp, data = self.next_chunk()
            if self.session.dead:
                return
            self.session.sleep(stamp + self.latency - time.monotonic())
            if not data:
                self.session.half_close(self.dst, self.name)
                return
            self.forward(data)

    def forward(self, data):
        """Sends DATA, stopping at each trigger that falls inside it."""
        while data and not self.session.dead:
            fire, cut = self.first_trigger(data)
            self.send_paced(data[:cut])
            data = data[cut:]
            if fire is not None:
                self.triggers.remove(fire)
                self.session.fire(self, fire.rule)

    def first_trigger(self, data):
        """The trigger that falls first within DATA (one that falls on its
        very end included: it fires once DATA is sent), and how many bytes
        go before it; (None, len(DATA)) when there is none."""
        fire, cut = None, len(data)
        for t in self.triggers:
            pos = t.locate(self.sent, data)
            if pos is None or pos - self.sent > len(data):
                continue
            if fire is None or pos - self.sent < cut:
                fire, cut = t, max(0, pos - self.sent)
        return fire, cut

    def send_paced(self, data):
        if not data:
            return
        step = len(data) if self.rate == 0 else max(1, self.rate // 20)
        for i in range(0, len(data), step):
            if self.session.dead:
                return
            piece = data[i:i + step]
            try:
                self.dst.sendall(piece)
            except OSError:
                self.session.kill("send failed")
                return
            self.sent += len(piece)
            if self.rate:
                self.session.sleep(len(piece) / self.rate)


class Session:
    def __init__(self, number, client, rules, log):
        self.number, self.client, self.log = number, client, log
        self.dead = False
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.closed_ways = 0
        self.turns = 0
        self.last_way = None
        self.server = socket.create_connection(("127.0.0.1", ARGS.upstream), timeout=10)
        self.server.settimeout(None)
        self.ways = [
            Direction(self, "c2s", client, self.server,
                      [r for r in rules if r.applies(number, "c2s")]),
            Direction(self, "s2c", self.server, client,
                      [r for r in rules if r.applies(number, "s2c")]),
        ]

    def start(self):
        self.log(f"session {self.number} open")
        for way in self.ways:
            threading.Thread(target=way.read_loop, daemon=True).start()
            threading.Thread(target=way.write_loop, daemon=True).start()

    def note_turn(self, way):
        """Counts a round trip: data from the server after the client's."""
        with self.lock:
            if way == "s2c" and self.last_way == "c2s":
                self.turns += 1
            self.last_way = way

    def sleep(self, secs):
        if secs > 0:
            self.wake.wait(secs)

    def fire(self, way, rule):
        self.log(f"session {self.number} {way.name} {rule.action} at byte {way.sent}"
                 + (f" for {rule.secs:g} s" if rule.action == "stall" else ""))
        if rule.action == "stall":
            self.sleep(rule.secs)
        elif rule.action == "trickle":
            way.rate = rule.rate or 1
        else:
            self.kill(rule.action, reset=(rule.action == "rst"))

    def half_close(self, sock, name):
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.lock:
            self.closed_ways += 1
            both = self.closed_ways == 2
        if both:
            self.kill("both sides done")

    def kill(self, why, reset=False):
        with self.lock:
            if self.dead:
                return
            self.dead = True
        self.wake.set()
        for sock in (self.client, self.server):
            try:
                # SO_LINGER 0 makes the close a reset; SHUT_RD (which
                # sends nothing) wakes the reader blocked on the socket, or
                # its hold on the file would delay the close itself.
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RD if reset else socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        c2s, s2c = (w.sent for w in self.ways)
        self.log(f"session {self.number} closed ({why}): c2s {c2s} bytes, s2c {s2c} bytes, "
                 f"{self.turns} round trips")


def make_logger(path):
    lock = threading.Lock()

    def log(line):
        with lock:
            if path:
                try:
                    with open(path, "a") as f:
                        f.write(line + "\n")
                except OSError:
                    pass    # the test is over and took its directory
    return log


def serve(rules, log):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", ARGS.port))
    ls.listen(16)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(tmp, ARGS.port_file)
    number = 0
    while True:
        client, _ = ls.accept()
        number += 1
        try:
            Session(number, client, rules, log).start()
        except OSError as e:
            log(f"session {number} upstream unreachable: {e}")
            client.close()


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--log")
    p.add_argument("--queue-kib", type=int, default=QUEUE_KIB)
    p.add_argument("--rule", action="append", default=[])
    ARGS = p.parse_args()
    if ARGS.queue_kib < 1:
        print("faultproxy: --queue-kib wants at least 1", file=sys.stderr)
        return 64
    try:
        rules = [Rule(r) for r in ARGS.rule]
    except ValueError as e:
        print(f"faultproxy: bad rule: {e}", file=sys.stderr)
        return 64
    serve(rules, make_logger(ARGS.log))
    return 0


ARGS = None
if __name__ == "__main__":
    sys.exit(main())
