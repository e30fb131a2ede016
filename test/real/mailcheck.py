#!/usr/bin/env python3
"""Look at what a real server delivered into a Maildir, for test/real/*.sh.

  mailcheck.py wait MAILDIR TOKEN [SECONDS]   path of the message holding TOKEN
  mailcheck.py body FILE                      the body bytes, as stored
  mailcheck.py header FILE NAME               every NAME field, decoded, one a line
  mailcheck.py count MAILDIR TOKEN            how many messages hold TOKEN
  mailcheck.py tally MAILDIR PREFIX           "TOKEN COUNT" for each PREFIX-N token
"""
import email
import email.header
import email.policy
import os
import re
import sys
import time


def messages(maildir):
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                yield os.path.join(d, name)


def holding(maildir, token):
    t = token.encode()
    found = []
    for path in messages(maildir):
        try:
            with open(path, "rb") as f:
                if t in f.read():
                    found.append(path)
        except FileNotFoundError:
            pass  # moved from new/ to cur/ meanwhile
    return found


def cmd_wait(maildir, token, seconds="30"):
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        found = holding(maildir, token)
        if found:
            print(found[0])
            return 0
        time.sleep(0.1)
    print(f"mailcheck: no message with {token} in {maildir}", file=sys.stderr)
    return 1


def cmd_body(path):
    data = open(path, "rb").read()
    for sep in (b"\n\n", b"\r\n\r\n"):
        i = data.find(sep)
        if i >= 0:
            sys.stdout.buffer.write(data[i + len(sep):])
            return 0
    return 1


def cmd_header(path, name):
    msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.compat32)
    values = msg.get_all(name) or []
    for v in values:
        parts = email.header.decode_header(v)
        text = "".join(p.decode(c or "ascii") if isinstance(p, bytes) else p
                       for p, c in parts)
        print(" ".join(text.split()))
    return 0 if values else 1


def cmd_count(maildir, token):
    print(len(holding(maildir, token)))
    return 0


def cmd_tally(maildir, prefix):
    counts = {}
    rx = re.compile(re.escape(prefix.encode()) + rb"-\d+\b")
    for path in messages(maildir):
        try:
            with open(path, "rb") as f:
                tokens = set(rx.findall(f.read()))
        except FileNotFoundError:
            continue
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
    for t in sorted(counts):
        print(t.decode(), counts[t])
    return 0


COMMANDS = {"wait": cmd_wait, "body": cmd_body, "header": cmd_header, "count": cmd_count,
            "tally": cmd_tally}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
