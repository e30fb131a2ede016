#!/usr/bin/env python3
"""resolver-stall: a DNS server that never answers must not hold a run past
`timeout` or `deadline` (issue 13; src/lookup.c).

The test makes its own network, mount and UTS namespaces (unshare -n -m -u,
as root): only loopback, up; /etc/resolv.conf bind-mounted over with one
pointing at 127.0.0.1, where a UDP socket of this script reads the queries
and never answers (resolv.conf asks for 30 s a try, 3 tries, so that a
getaddrinfo() left to itself waits minutes); the node name one that
/etc/hosts does not know, so looking up this host's own domain name asks
that resolver too.  Then, with names that are not in /etc/hosts:

  1. mailpipe-send, timeout = 2: exit 75 within a few seconds, one line
     naming the host ("timed out looking up HOST");
  2. mailpipe-fetch, timeout = 2: the same;
  3. mailpipe-send, timeout = 30, deadline = 2: 75, "deadline reached
     looking up HOST";
  4. mailpipe-send without `helo` to 127.0.0.1 (no lookup of the server):
     the lookup of this host's own domain name, which runs while the
     client connects, is waited for after the greeting, gives up after
     `timeout`, and EHLO goes out with the address literal (the server of
     this script then answers 421);
  5. mailpipe-send to a name the resolver answers SERVFAIL for: 75 at once,
     "cannot resolve: Temporary failure in name resolution".

Before the lookups were bounded, each of these ran until the test killed
it.  TAP; skipped (with the reason) when not root or when unshare is not
permitted.  MAILPIPE_SEND and MAILPIPE_FETCH name the programs;
FAKE_TIME_SCALE (scripts/valgrind-wrap) stretches the time limits.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

INNER = 'RESOLVER_STALL_INNER'
# Names under this one get SERVFAIL: the resolver's own "try again".
FAILING = 'servfail-zone'
NODE = 'stall-node'
SCALE = float(os.environ.get('FAKE_TIME_SCALE', '1'))
# How long a bounded run may take (2 s of timeout, start-up, a loaded
# machine), and when an unbounded one is killed.
MAX_SECONDS = 8 * SCALE
KILL_SECONDS = 40 * SCALE


def skip(reason):
    print('1..0 # SKIP %s' % reason)
    sys.exit(0)


def outer():
    """Runs this script again inside the namespaces, or skips."""
    if os.geteuid() != 0:
        skip('needs root (unshare -n -m -u)')
    if shutil.which('unshare') is None or shutil.which('ip') is None:
        skip('needs unshare(1) and ip(8)')
    probe = subprocess.run(['unshare', '-n', '-m', '-u', 'true'], capture_output=True, text=True)
    if probe.returncode != 0:
        skip('unshare is not permitted here: %s' % probe.stderr.strip())
    env = dict(os.environ, **{INNER: '1'})
    sys.exit(subprocess.run(['unshare', '-n', '-m', '-u', sys.executable, __file__],
                            env=env).returncode)


class SilentDns:
    """Reads DNS queries on 127.0.0.1:53 and never answers them, but for
    names under FAILING, which get SERVFAIL at once."""

    def __init__(self):
        self.queries = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 53))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
                self.queries += 1
            except socket.timeout:
                continue
            if FAILING.encode() in query.lower():
                self.sock.sendto(servfail(query), peer)


def servfail(query):
    """The answer SERVFAIL (RFC 1035 4.1.1: QR, RD, RA, RCODE 2) to a query
    without additional records: its id and question, nothing else."""
    return query[:2] + b'\x81\x82' + query[4:6] + b'\x00' * 6 + query[12:]


def set_up_namespace(work):
    subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
    socket.sethostname(NODE)
    resolv = os.path.join(work, 'resolv.conf')
    with open(resolv, 'w') as f:
        f.write('nameserver 127.0.0.1\noptions timeout:30 attempts:3\n')
    subprocess.run(['mount', '--bind', resolv, '/etc/resolv.conf'], check=True)


class Greeter:
    """One SMTP session on loopback: a greeting, the client's first command
    kept, 421 to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.sock.settimeout(KILL_SECONDS)
        self.port = self.sock.getsockname()[1]
        self.first = None
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.sendall(b'220 greeter.test ESMTP\r\n')
                self.first = conn.makefile('rb').readline().decode('ascii', 'replace').strip()
                conn.sendall(b'421 4.3.2 greeter.test closing\r\n')
        except OSError:
            pass
        finally:
            self.sock.close()


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        self.failed += not cond
        print('%s %d - %s' % ('ok' if cond else 'not ok', self.n, what))
        sys.stdout.flush()
        return cond


def prepare(work, config):
    """Writes config as the program's (mode 0600); returns its path and the
    environment that keeps the program inside work."""
    conf = os.path.join(work, 'mailpipe.ini')
    with open(conf, 'w') as f:
        f.write(config)
    os.chmod(conf, 0o600)
    return conf, dict(os.environ, HOME=work, XDG_CONFIG_HOME=work, XDG_STATE_HOME=work,
                      TMPDIR=work, LC_ALL='C')


def run(prog, work, config, args, stdin=b''):
    """Runs prog with config; returns (exit status, seconds, stderr)."""
    conf, env = prepare(work, config)
    start = time.monotonic()
    try:
        p = subprocess.run([prog, '-C', conf] + args, input=stdin, capture_output=True,
                           env=env, timeout=KILL_SECONDS)
        rc, err = p.returncode, p.stderr.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as e:
        rc, err = 'killed after %d s' % KILL_SECONDS, (e.stderr or b'').decode('utf-8', 'replace')
    return rc, time.monotonic() - start, err


def check_run(tap, name, result, line_has):
    rc, secs, err = result
    lines = err.splitlines()
    tap.ok(rc == 75, '%s: exit 75 (got %s)' % (name, rc))
    tap.ok(secs < MAX_SECONDS, '%s: ended within %.0f s (took %.1f s)' % (name, MAX_SECONDS, secs))
    tap.ok(len(lines) == 1 and line_has in lines[0],
           '%s: one line saying "%s" (got %r)' % (name, line_has, lines))


SEND_MESSAGE = b'Subject: resolver stall\n\nbody\n'


def kill_during_lookup(tap, fetch, work, dns, config):
    """SIGKILLs a fetch while its lookup stalls: its lookup process must not
    live on holding the account's lock (and the journal, and sockets)."""
    conf, env = prepare(work, config)
    before = dns.queries
    p = subprocess.Popen([fetch, '-C', conf], env=env, stderr=subprocess.DEVNULL)
    limit = time.monotonic() + KILL_SECONDS
    while dns.queries == before and time.monotonic() < limit:
        time.sleep(0.05)
    tap.ok(dns.queries > before, 'fetch to be killed: its lookup has started')
    p.kill()
    p.wait()


def send_config(host, port, extra):
    return ('[smtp test]\nhost = %s\nport = %d\ntls = off\nfrom = sender@example.test\n%s'
            % (host, port, extra))


def inner():
    send, fetch = os.environ.get('MAILPIPE_SEND'), os.environ.get('MAILPIPE_FETCH')
    if not send or not fetch:
        skip('MAILPIPE_SEND and MAILPIPE_FETCH must name the programs')
    work = tempfile.mkdtemp(prefix='resolver-stall-')
    try:
        set_up_namespace(work)
        dns = SilentDns()
        tap = Tap()
        print('1..23')
        host = 'mail.stall-test.example'

        result = run(send, work, send_config(host, 25, 'helo = client.example\ntimeout = 2\n'),
                     ['rcpt@example.test'], SEND_MESSAGE)
        check_run(tap, 'send, timeout 2', result, 'timed out looking up %s' % host)
        tap.ok(dns.queries > 0, 'send: the resolver was asked (%d queries)' % dns.queries)

        maildir = os.path.join(work, 'Maildir')
        fetch_config = ('[pop3 test]\nhost = %s\nport = 995\ntls = implicit\n'
                        'user = alice\npassword = s3cret-Pa55\nmaildir = %s\nstate_dir = %s\n'
                        % (host, maildir, os.path.join(work, 'state'))).replace('%', '%%') + 'timeout = %d\n'
        result = run(fetch, work, fetch_config % 2, [])
        check_run(tap, 'fetch, timeout 2', result, 'timed out looking up %s' % host)

        kill_during_lookup(tap, fetch, work, dns, fetch_config % 10)
        result = run(fetch, work, fetch_config % 2, [])
        check_run(tap, 'fetch after a SIGKILL during its lookup: the account is not held',
                  result, 'timed out looking up %s' % host)

        result = run(send, work, send_config(host, 25, 'helo = client.example\ntimeout = 30\n'
                                             'deadline = 2\n'), ['rcpt@example.test'], SEND_MESSAGE)
        check_run(tap, 'send, timeout 30, deadline 2', result, 'deadline reached looking up %s' % host)

        before = dns.queries
        greeter = Greeter()
        result = run(send, work, send_config('127.0.0.1', greeter.port, 'timeout = 2\n'),
                     ['rcpt@example.test'], SEND_MESSAGE)
        greeter.thread.join(KILL_SECONDS)
        check_run(tap, 'send without helo (own name looked up), timeout 2', result, '421')
        tap.ok(dns.queries > before, 'send without helo: its own name %s was asked of the '
               'resolver (%d queries)' % (NODE, dns.queries - before))
        tap.ok(result[1] >= 1.5, 'send without helo: its own name waited for, up to the '
               'timeout, after the greeting (took %.1f s)' % result[1])
        tap.ok(greeter.first == 'EHLO [127.0.0.1]', 'send without helo: then EHLO with the '
               'address literal (got %r)' % greeter.first)

        result = run(send, work, send_config('mail.%s.example' % FAILING, 25,
                                             'helo = client.example\ntimeout = 10\n'),
                     ['rcpt@example.test'], SEND_MESSAGE)
        check_run(tap, 'send, the resolver answers SERVFAIL', result,
                  'mail.%s.example: cannot resolve: Temporary failure in name resolution' % FAILING)
        dns.stop.set()
        return 1 if tap.failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    if os.environ.get(INNER) != '1':
        outer()
    sys.exit(inner())
