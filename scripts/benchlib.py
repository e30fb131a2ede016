"""benchlib: what scripts/bench-fetch and scripts/bench-send share, so that
both measure the same way and cannot flatter mailpipe (issue 14).

- Every tool runs in the same rounds, alternating (A B C, then B C A, ...:
  the order turns each round so no tool always follows the same one), after
  a warm-up round that is checked but not counted.
- Each run is one process tree, timed from fork to exit; its client CPU is
  user + system of the tree (wait4's rusage covers the children the tool
  waited for: fetchmail's MDA, mpop's passwordeval) and its peak RSS the
  largest process of the tree.
- Each run's result is verified by the caller's check before it counts: a
  fast wrong answer stops the benchmark.
- The report gives per tool the median with min-max, the ratio to mailpipe
  per round with its median and worst round, and every figure as a multiple
  of the floor client (test/bench) measured in the same rounds.

Python standard library only.
"""
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# No run of any shape takes this long; a hung one is killed and fails.
RUN_LIMIT_S = 1800


class BenchError(Exception):
    """A run that failed or a result that is wrong: the benchmark stops."""


def say(prog, text):
    print(f"{prog}: {text}", file=sys.stderr, flush=True)


class Run:
    """One measured process tree."""

    def __init__(self, wall, cpu, rss_kib, rc, err):
        self.wall, self.cpu, self.rss_kib, self.rc, self.err = wall, cpu, rss_kib, rc, err
        self.round_trips = None


RUN_MEASURED = os.environ.get("RUN_MEASURED",
                              os.path.join(SRC, "build", "test", "bench", "run-measured"))


def measure(argv, stdin=None, env=None, limit=RUN_LIMIT_S):
    """Runs ARGV with STDIN (a path or None), stdout discarded; a Run.
    test/bench/run-measured forks it and reads its rusage, so the peak RSS
    is the tool's own, not this harness's (see run-measured.c)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as usage, \
            open(stdin or os.devnull, "rb") as inp:
        t0 = time.monotonic()
        p = subprocess.Popen([RUN_MEASURED, usage.name] + argv, stdin=inp,
                             stdout=subprocess.DEVNULL, stderr=err, env=env,
                             start_new_session=True)
        timer = threading.Timer(limit, os.killpg, (p.pid, signal.SIGKILL))
        timer.start()
        p.wait()
        wall = time.monotonic() - t0
        timer.cancel()
        err.seek(0)
        tail = err.read()[-2000:].decode(errors="replace")
        fields = usage.read().split()
    if p.returncode != 0 or len(fields) != 4:
        raise BenchError(f"{argv[0]} could not be measured (exit {p.returncode}): {tail.strip()}")
    rc, user_us, sys_us, rss = (int(x) for x in fields)
    return Run(wall, (user_us + sys_us) / 1e6, rss, rc, tail)


def load_env(path):
    """The stack's env file (KEY=VALUE lines, shell-quoted) as a dict."""
    env = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                key, _, value = line.rstrip("\n").partition("=")
                env[key] = shlex.split(value)[0] if value else ""
    return env


class Stack:
    """The mail stack: $MAILPIPE_STACK_ENV's, or one started for this run
    on PORTS (a dict of the stack-start port variables) and stopped after."""

    def __init__(self, prog, ports, workdir):
        self.own = None
        path = os.environ.get("MAILPIPE_STACK_ENV")
        if not path:
            self.own = os.path.join(workdir, "stack")
            say(prog, f"starting a stack of its own in {self.own}")
            subprocess.run([os.path.join(SRC, "scripts", "stack-start"), self.own],
                           env={**os.environ, **ports}, check=True, stdout=subprocess.DEVNULL)
            path = os.path.join(self.own, "env")
        self.env = load_env(path)

    def stop(self):
        if self.own:
            subprocess.run([os.path.join(SRC, "scripts", "stack-stop"), self.own],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class WorkDir:
    """The benchmark's directory: the tools' Maildirs and states, and the
    stack when it starts one.  As root, it is a journalled ext4 of its own
    (a sparse image, loop-mounted), as the file system of a real backup
    host would be: on an ext4 without a journal, such as this VM's,
    allocating an inode walks past every one freed in the last 60 s, or
    300 s while its inode table block is dirty (recently_deleted()), so
    any process's deletions, an earlier benchmark's clean-up among them,
    would be billed to every tool that creates files.  A fresh file system
    per benchmark also ends it with one unlink instead of removing
    thousands of files.  Elsewhere (not root, no loop device, BENCH_FS=here)
    a directory in $TMPDIR; ALSO says which."""

    def __init__(self, prog, prefix, gib=8):
        self.path = tempfile.mkdtemp(prefix=prefix)
        self.gib = gib
        self.image = None
        self.where = "a directory on the machine's file system"
        if os.geteuid() == 0 and os.environ.get("BENCH_FS") != "here" \
                and shutil.which("mkfs.ext4") and shutil.which("mount"):
            self._mount(prog)
        os.chmod(self.path, 0o755)  # the stack and getmail run as other users

    def _mount(self, prog):
        image = self.path + ".img"
        try:
            with open(image, "wb") as f:
                f.truncate(self.gib << 30)
            # Inode tables written now, not by ext4lazyinit during the rounds.
            subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                            image], check=True, capture_output=True)
            subprocess.run(["mount", "-o", "loop", image, self.path], check=True, capture_output=True)
        except BaseException as e:
            # Interrupted too (KeyboardInterrupt, SIGTERM's SystemExit):
            # nothing of it left behind.
            if os.path.ismount(self.path):
                subprocess.run(["umount", self.path], capture_output=True)
            if os.path.exists(image):
                os.unlink(image)
            if not isinstance(e, (OSError, subprocess.CalledProcessError)):
                os.rmdir(self.path)
                raise
            detail = getattr(e, "stderr", b"") or b""
            say(prog, f"no file system of its own ({e} {detail.decode(errors='replace').strip()}); "
                "using the machine's")
            return
        self.image = image
        self.where = f"a journalled ext4 of its own ({self.gib} GiB image, loop-mounted)"

    def close(self, prog):
        """Unmounts and removes it all; a file system that will not unmount
        is left, image and all, and said so."""
        if self.image:
            if subprocess.run(["umount", self.path], capture_output=True).returncode != 0:
                time.sleep(1)   # a process of the stack still closing its files
                done = subprocess.run(["umount", self.path], capture_output=True)
                if done.returncode != 0:
                    say(prog, f"cannot unmount {self.path}: {done.stderr.decode(errors='replace').strip()}"
                        f"; {self.image} left behind")
                    return
            os.unlink(self.image)
        shutil.rmtree(self.path, ignore_errors=True)


def exit_on_termination():
    """SIGTERM and SIGHUP end the benchmark as Ctrl-C does, through the
    callers' finally blocks, so that its mounts, proxies and stack go too."""
    def stop(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


# What the proxy holds per direction: a Linux TCP connection autotunes its
# window to several MB on a long link (net.ipv4.tcp_rmem's maximum is 6 MB),
# so the faultproxy's default of 256 KiB would cap every tool at 256 KiB a
# half round trip (5 MB/s at 100 ms) and squeeze every ratio towards 1.
PROXY_QUEUE_KIB = 4096


class Proxy:
    """test/faults/faultproxy.py in front of UPSTREAM, holding every chunk
    RTT_MS/2 each way (none at 0), logging each session's round trips."""

    def __init__(self, upstream, rtt_ms, workdir, name):
        self.log = os.path.join(workdir, f"{name}.log")
        port_file = os.path.join(workdir, f"{name}.port")
        args = [sys.executable, os.path.join(SRC, "test", "faults", "faultproxy.py"),
                "--upstream", str(upstream), "--port-file", port_file, "--log", self.log,
                "--queue-kib", str(PROXY_QUEUE_KIB)]
        if rtt_ms > 0:
            args += ["--rule", f"session=all dir=both latency={rtt_ms / 2:g}"]
        self.proc = subprocess.Popen(args)
        for _ in range(300):
            if os.path.exists(port_file):
                self.port = int(open(port_file).read())
                return
            time.sleep(0.05)
        self.proc.kill()
        raise BenchError("the fault proxy did not start")

    def sessions_closed(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [line for line in f if " closed (" in line]

    def round_trips_since(self, before, sessions, wait_s=10):
        """Round trips of the SESSIONS sessions closed after the first
        BEFORE (the proxy logs a close once both sides are done: waited
        for, at most WAIT_S)."""
        end = time.monotonic() + wait_s
        lines = self.sessions_closed()[before:]
        while len(lines) < sessions and time.monotonic() < end:
            time.sleep(0.05)
            lines = self.sessions_closed()[before:]
        return [int(line.rsplit(", ", 1)[1].split()[0]) for line in lines]

    def sessions_opened(self):
        if not os.path.exists(self.log):
            return 0
        with open(self.log) as f:
            return sum(1 for line in f if line.endswith(" open\n"))

    def round_trips_of(self, number, wait_s=10):
        """Round trips of session NUMBER (counted from 1), once the proxy
        logged its close (waited for, at most WAIT_S); None without."""
        end = time.monotonic() + wait_s
        prefix = f"session {number} closed ("
        while True:
            for line in self.sessions_closed():
                if line.startswith(prefix):
                    return int(line.rsplit(", ", 1)[1].split()[0])
            if time.monotonic() >= end:
                return None
            time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Tool:
    """One client in the benchmark.  Subclasses (or the caller) give:
    run() -> Run, measured; check(run) raising BenchError when the result
    is wrong; prepare() before each run (reseeding, untimed)."""

    name = "tool"
    note = ""
    available = True

    def prepare(self):
        pass

    def run(self):
        raise NotImplementedError

    def check(self, run):
        pass


# Before the warm-up: what the last benchmark, or any other process, left
# dirty is written back, and the machine left to go quiet.  This was first
# meant to wait out ext4's recently_deleted() (an ext4 without a journal,
# as this VM's root, does not reuse an inode freed in the last 60 s, 300 s
# while its inode table block is dirty, and walks past each such inode at
# every allocation): 40 s is not enough for that on Linux 5.x and later,
# and the runs' own allocations dirty those blocks again.  So bench-fetch
# writes to a journalled ext4 of its own (WorkDir), which makes no such
# check; the wait stays for the write-back.
SETTLE_S = 40


def settle_filesystem(prog):
    """Writes back what is dirty and lets the machine go quiet."""
    say(prog, f"sync, then {SETTLE_S} s of quiet before the warm-up")
    os.sync()
    time.sleep(SETTLE_S)


def run_rounds(prog, tools, rounds, settle=True):
    """Round 0 (warm-up) and ROUNDS measured rounds of every available tool,
    the order turned by one each round.  {name: [Run per measured round]}.
    SETTLE: settle_filesystem() first (not needed for a smoke run)."""
    live = [t for t in tools if t.available]
    if settle:
        settle_filesystem(prog)
    results = {t.name: [] for t in live}
    for r in range(rounds + 1):
        order = live[r % len(live):] + live[:r % len(live)]
        for tool in order:
            tool.prepare()
            run = tool.run()
            if run.rc != 0:
                raise BenchError(f"{tool.name} exited {run.rc} in round {r}: {run.err.strip()}")
            tool.check(run)
            label = "warm-up" if r == 0 else f"round {r}"
            say(prog, f"{label}: {tool.name} {run.wall:.3f} s, cpu {run.cpu:.3f} s, "
                f"{run.rss_kib} KiB, verified")
            if r > 0:
                results[tool.name].append(run)
    return results


def _mmm(values, fmt):
    return (f"{fmt.format(statistics.median(values))} "
            f"({fmt.format(min(values))}-{fmt.format(max(values))})")


def report(title, tools, results, base, floor, unit="s", scale=1.0, checked="", per=1):
    """Prints the table and the ratios on stdout: wall times times SCALE
    in UNIT, CPU in s divided by PER (the sends a round, for per-send
    figures)."""
    live = [t for t in tools if t.name in results]
    names = [t.name for t in live]
    rounds = len(results[names[0]])
    print(f"\n== {title}")
    load = os.getloadavg()
    print(f"   {rounds} alternating rounds after a warm-up; load average now "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores; nice {os.nice(0)}")
    print(f"\n{'round':<8}" + "".join(f"{n:>16}" for n in names))
    for r in range(rounds):
        print(f"{r + 1:<8}" + "".join(f"{results[n][r].wall * scale:>16.3f}" for n in names))
    fl = results.get(floor)
    print(f"\n{'tool':<16} {'wall ' + unit + ' median (min-max)':<30} {'x floor':>8} "
          f"{'CPU s median (min-max)' + (' /send' if per > 1 else ''):<26} {'peak RSS KiB':>12}")
    for t in live:
        runs = results[t.name]
        walls = [x.wall * scale for x in runs]
        xfloor = (f"{statistics.median(x.wall / f.wall for x, f in zip(runs, fl)):.2f}x"
                  if fl else "-")
        print(f"{t.name:<16} {_mmm(walls, '{:.3f}'):<30} {xfloor:>8} "
              f"{_mmm([x.cpu / per for x in runs], '{:.3f}'):<26} {max(x.rss_kib for x in runs):>12}")
    print_ratios(names, results, base, floor)
    for t in live:
        print(f"verified {t.name}: {rounds + 1} of {rounds + 1} runs{checked}")
    notes = [f"  {t.name}: {t.note}" for t in tools if t.note]
    if notes:
        print("durability and other differences:")
        print("\n".join(notes))


def print_ratios(names, results, base, floor):
    """Per round: each other tool's time over BASE's (above 1: BASE is
    faster); BASE's over the floor's."""
    print()
    for n in names:
        if n in (base, floor) or base not in results:
            continue
        per = [o.wall / b.wall for o, b in zip(results[n], results[base])]
        print(f"ratio {n} / {base}: per round " + " ".join(f"{x:.2f}" for x in per)
              + f"; median {statistics.median(per):.2f}x, worst round {min(per):.2f}x")
    if floor in results and base in results:
        per = [b.wall / f.wall for b, f in zip(results[base], results[floor])]
        print(f"ratio {base} / {floor}: per round " + " ".join(f"{x:.2f}" for x in per)
              + f"; median {statistics.median(per):.2f}x, worst round {max(per):.2f}x")
