#!/usr/bin/env python3
"""The soak's driver and sampler (test/real/soak.sh): runs mailpipe and
reads its peak RSS and open file descriptors from /proc while it runs, so
the curves show whether anything grows with the number of messages.

  soak.py fill MAILDIR COUNT PREFIX       COUNT messages (1-4 kB) into MAILDIR/new
  soak.py sends COUNT STEP CONF RCPT TOKEN -- SEND...
                                          COUNT sends, one process each
  soak.py fetch-keep STEP MAILDIR STATEDIR -- FETCH...
                                          one run, sampled every 50 ms, a row
                                          every STEP messages, and the checks
  soak.py fetch MAILDIR STATEDIR -- FETCH...
                                          one run, its peak RSS and fds

Prints the curve as "# " lines (one row every STEP messages) and its
verdicts as "CHECK ok|fail TEXT" lines, which soak.sh turns into TAP.
"""
import os
import random
import subprocess
import sys
import time


def check(cond, text):
    print("CHECK %s %s" % ("ok" if cond else "fail", text), flush=True)


def note(text):
    print("# " + text, flush=True)


def proc_sample(pid):
    """(VmHWM kB, VmRSS kB, open fds) of a running process; None once gone."""
    try:
        hwm = rss = 0
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        return hwm, rss, len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return None


def fill(maildir, count, prefix):
    """Messages as a delivery leaves them, with the lines POP3 must stuff."""
    rnd = random.Random(prefix)
    words = [rnd.choice(("alpha", "beta", "gamma", ".", "..", ".dot", "caf\u00e9",
                         "x" * 70, "delta", "epsilon")) for _ in range(4096)]
    now = int(time.time())
    for i in range(count):
        start = rnd.randrange(len(words) - 600)
        size = rnd.randint(1000, 4000)
        body, n = [], 0
        for w in words[start:]:
            body.append(w)
            n += len(w) + 1
            if n >= size:
                break
        text = ("From: soak@example.test\nTo: bob@example.test\nSubject: %s %d\n"
                "Message-ID: <%s.%d.%d@example.test>\n\n%s\n" % (
                    prefix, i, prefix, i, now, "\n".join(body)))
        with open(os.path.join(maildir, "new", "%d.S%d.%s" % (now, i, prefix)), "wb") as f:
            f.write(text.encode())


def run_sampled(argv, every, stdin=None, on_sample=None):
    """Runs argv, sampling /proc every `every` s; returns (status, samples)."""
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    samples = []
    while p.poll() is None:
        s = proc_sample(p.pid)
        if s:
            samples.append(s)
            if on_sample:
                on_sample(s)
        time.sleep(every)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if err:
        note("stderr: " + err.strip()[:300])
    return p.returncode, samples


def sends(count, step, conf, rcpt, token, argv):
    t0 = time.monotonic()
    rows, block, failures = [], [], 0
    for i in range(1, count + 1):
        msg = ("From: soak@example.test\nTo: %s\nSubject: %s %d\n\nsoak message %d\n"
               % (rcpt, token, i, i)).encode()
        r, w = os.pipe()
        os.write(w, msg)
        os.close(w)
        with os.fdopen(r, "rb") as stdin:
            rc, samples = run_sampled(argv + ["-C", conf, rcpt], 0.005, stdin=stdin)
        failures += rc != 0
        if samples:
            block.append((max(s[0] for s in samples), max(s[2] for s in samples)))
        if i % step == 0:
            rows.append((i, time.monotonic() - t0, max(b[0] for b in block),
                         max(b[1] for b in block)))
            note("sends %6d  %7.1f s  peak RSS %5d kB  max fds %3d" % rows[-1])
            block = []
    check(failures == 0, "%d sends, every one exit 0 (%d failed)" % (count, failures))
    flat(rows, 2, 3, "sends")


def flat(rows, rss_col, fd_col, what):
    """Peak RSS and fds of the last row against the first: flat."""
    if len(rows) < 2:
        check(False, "%s: at least two rows of samples" % what)
        return
    first, last = rows[0], rows[-1]
    check(last[rss_col] <= first[rss_col] * 1.1 + 512,
          "%s: peak RSS flat (%d kB at %d, %d kB at %d)"
          % (what, first[rss_col], first[0], last[rss_col], last[0]))
    check(last[fd_col] <= first[fd_col] + 2,
          "%s: open fds flat (%d at %d, %d at %d)"
          % (what, first[fd_col], first[0], last[fd_col], last[0]))


def dir_bytes(path):
    total = 0
    for name in os.listdir(path) if os.path.isdir(path) else []:
        try:
            total += os.stat(os.path.join(path, name)).st_size
        except FileNotFoundError:
            pass
    return total


def count_new(maildir):
    try:
        with os.scandir(os.path.join(maildir, "new")) as it:
            return sum(1 for _ in it)
    except FileNotFoundError:
        return 0


def fetch(step, maildir, statedir, argv):
    """One run; with STEP, a row each time another STEP messages are in
    new/: (messages in new/, s, peak RSS kB, RSS kB, most fds since the
    row before, journal + state bytes)."""
    t0 = time.monotonic()
    rows, peak, state = [], [0, 0], {"next": step, "last_count": 0.0, "fds": 0}

    def sample(s):
        peak[0], peak[1] = max(peak[0], s[0]), max(peak[1], s[2])
        state["fds"] = max(state["fds"], s[2])
        now = time.monotonic()
        if not step or now - state["last_count"] < 0.5:
            return
        state["last_count"] = now
        n = count_new(maildir)
        if n >= state["next"]:
            rows.append((n, now - t0, s[0], s[1], state["fds"], dir_bytes(statedir)))
            note("fetched %6d  %7.1f s  peak RSS %6d kB  RSS %6d kB  fds %3d  state %9d B"
                 % rows[-1])
            state["next"] = (n // step + 1) * step
            state["fds"] = 0

    rc, samples = run_sampled(argv, 0.05, on_sample=sample)
    elapsed = time.monotonic() - t0
    note("run: exit %d in %.1f s, peak RSS %d kB, max fds %d, state %d B, %d in new/"
         % (rc, elapsed, peak[0], peak[1], dir_bytes(statedir), count_new(maildir)))
    check(rc == 0, "the run exits 0 (got %d)" % rc)
    return rows


def fetch_keep(step, maildir, statedir, argv):
    rows = fetch(step, maildir, statedir, argv)
    if len(rows) < 3:
        check(False, "at least three rows of samples (got %d)" % len(rows))
        return
    # The peak RSS over the transfer: the listing is read at the start, so
    # what grows after it is the state (an entry a message), never the
    # messages: at most 1 kB a message, less than the smallest message.
    per_msg = (rows[-1][2] - rows[0][2]) * 1024 / (rows[-1][0] - rows[0][0])
    check(per_msg < 1024, "peak RSS grows by %.0f B a message, under 1 kB" % per_msg)
    check(max(r[4] for r in rows) <= rows[0][4] + 2,
          "open fds flat (%s)" % " ".join(str(r[4]) for r in rows))
    # Journal + state: linear, bytes a message the same at every row (the
    # journal runs up to a batch ahead of new/: 1 % at 5,000 messages).
    rates = [r[5] / r[0] for r in rows]
    check(max(rates) <= min(rates) * 1.25 and min(rates) > 0,
          "state grows linearly (%s B a message)" % " ".join("%.0f" % x for x in rates))


def main():
    cmd = sys.argv[1]
    if cmd == "fill":
        fill(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    dash = sys.argv.index("--")
    args, argv = sys.argv[2:dash], sys.argv[dash + 1:]
    if cmd == "sends":
        sends(int(args[0]), int(args[1]), args[2], args[3], args[4], argv)
    elif cmd == "fetch-keep":
        fetch_keep(int(args[0]), args[1], args[2], argv)
    elif cmd == "fetch":
        fetch(0, args[0], args[1], argv)


if __name__ == "__main__":
    main()
