#!/usr/bin/env python3
"""No password in a core dump of mailpipe-send (TAP).

    smtp-secret-core-dump.py PATH-OF-MAILPIPE-SEND

A SIGQUIT while mailpipe-send waits for the reply to the final dot used to
write a core file holding the SMTP password.  This runs mailpipe-send with
`ulimit -c unlimited` in a private directory against a tiny SMTP server
that takes AUTH PLAIN and the message, then says nothing; while it waits:

  - /proc/PID/limits shows "Max core file size 0 0" (it lowered its own
    limit, whatever it was given);
  - its memory (/proc/PID/mem; needs root or ptrace rights, else skipped)
    holds neither the password nor its AUTH PLAIN encoding: the secret is
    wiped right after AUTH, not at the end of the session;

then it gets SIGQUIT, and the wait status must show no core dump and no
file in its directory may hold the password.  The last two checks can only
fail where the kernel writes cores at all: a core_pattern that is a pipe
(systemd-coredump, apport) or an absolute path sends them elsewhere, which
is reported as a diagnostic; the /proc checks do not depend on it.

The password comes from a password_file, so that no configuration string
holds a copy of it.
"""

import base64
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PASSWORD = b'c0re-Dump-s3cret-9f2e'
AUTH_PLAIN = base64.b64encode(b'\0alice\0' + PASSWORD)
REGION_MAX = 1 << 30        # sanitizer shadow maps are terabytes: not read
WAIT = 20

checks = []


def check(passed, name, diag=''):
    checks.append(passed)
    print('%s %d - %s' % ('ok' if passed else 'not ok', len(checks), name))
    if diag and not passed:
        for line in diag.split('\n'):
            print('#   ' + line)


def skip(name, why):
    checks.append(True)
    print('ok %d - %s # SKIP %s' % (len(checks), name, why))


class StallingServer:
    """Greeting, EHLO with AUTH PLAIN, then MAIL, RCPT, DATA and the body
    accepted; after the final dot it says nothing until the client is gone."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.body_received = threading.Event()
        self.error = None

    def run(self):
        try:
            self.listener.settimeout(WAIT)
            conn, _ = self.listener.accept()
            conn.settimeout(WAIT)
            self.dialogue(conn.makefile('rwb', buffering=0))
        except Exception as e:          # reported by the main thread
            self.error = repr(e)

    def dialogue(self, f):
        f.write(b'220 fake.example ESMTP\r\n')
        replies = {b'EHLO': b'250-fake.example\r\n250 AUTH PLAIN\r\n', b'AUTH': b'235 ok\r\n',
                   b'MAIL': b'250 ok\r\n', b'RCPT': b'250 ok\r\n', b'DATA': b'354 go\r\n'}
        while True:
            line = f.readline()
            if not line:
                return
            verb = line[:4].upper()
            f.write(replies.get(verb, b'502 no\r\n'))
            if verb == b'DATA':
                break
        while f.readline() not in (b'.\r\n', b''):
            pass
        self.body_received.set()
        while f.readline():             # stall: no reply to the final dot
            pass


def core_limit(pid):
    with open('/proc/%d/limits' % pid) as f:
        for line in f:
            if line.startswith('Max core file size'):
                return line.split()[4:6]
    return None


def memory_holds(pid, needles):
    """Which needles occur in the process's writable memory."""
    found = set()
    with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/mem' % pid, 'rb', 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split('-'))
            if 'r' not in fields[1] or 'w' not in fields[1] or end - start > REGION_MAX:
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            found.update(n for n in needles if n in data)
    return found


def files_holding(directory, secret):
    hits = []
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, 'rb') as f:
                if secret in f.read():
                    hits.append(name)
    return hits


def write_config(workdir, port):
    pw = os.path.join(workdir, 'pw')
    with os.fdopen(os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as f:
        f.write(PASSWORD + b'\n')
    conf = os.path.join(workdir, 'mailpipe.ini')
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write('[smtp test]\nhost = 127.0.0.1\nport = %d\ntls = off\nuser = alice\n'
                'password_file = %s\nfrom = sender@example.test\ntimeout = %d\n'
                % (port, pw, WAIT))
    return conf


def allow_cores():
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    # SIGQUIT at its default (terminate with a core), whatever this test
    # inherited: a shell starts background jobs with SIGQUIT ignored, and
    # the ignored signal then left the client waiting until the server's
    # timeout ended it with 75 (wait status 0x4b00).
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def checks_while_waiting(pid):
    limit = core_limit(pid)
    check(limit == ['0', '0'], 'while it runs: /proc/PID/limits says Max core file size 0 0',
          'got %s' % limit)
    try:
        found = memory_holds(pid, (PASSWORD, AUTH_PLAIN))
    except OSError as e:
        skip('no password in its memory after AUTH', 'cannot read /proc/PID/mem: %s' % e)
        return
    check(not found, 'while it waits for the final reply: neither the password nor its '
          'AUTH PLAIN encoding is in its memory', 'found: %s' % ', '.join(map(repr, found)))


def main():
    send = os.path.abspath(sys.argv[1])
    workdir = tempfile.mkdtemp(prefix='smtp-secret-core-dump-')
    server = StallingServer()
    threading.Thread(target=server.run, daemon=True).start()
    env = dict(os.environ, HOME=workdir, TMPDIR=workdir, LC_ALL='C')
    env.pop('MAILPIPE_CONFIG', None)
    with open('/proc/sys/kernel/core_pattern') as f:
        print('# core_pattern: %s; core limit given: %s'
              % (f.read().strip(), resource.getrlimit(resource.RLIMIT_CORE)[1]))
    rundir = os.path.join(workdir, 'cwd')       # where a core would land: no password file
    os.mkdir(rundir)
    p = subprocess.Popen([send, '-C', write_config(workdir, server.port), 'rcpt@example.test'],
                         cwd=rundir, env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=allow_cores)
    p.stdin.write(b'Subject: core\n\nbody\n')
    p.stdin.close()
    if not server.body_received.wait(WAIT):
        p.kill()
        check(False, 'the message reached the server', '%s; stderr: %s'
              % (server.error, p.stderr.read().decode(errors='replace')))
        return
    time.sleep(0.2)                     # into the wait for the final reply
    checks_while_waiting(p.pid)
    os.kill(p.pid, signal.SIGQUIT)
    _, status = os.waitpid(p.pid, 0)
    check(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGQUIT,
          'SIGQUIT ends it', 'wait status %#x' % status)
    check(not os.WCOREDUMP(status), 'the wait status shows no core dump')
    hits = files_holding(rundir, PASSWORD)
    check(not hits, 'no file in its directory holds the password', 'found in: %s' % hits)
    if all(checks):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print('# files kept in %s' % workdir)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: smtp-secret-core-dump.py PATH-OF-MAILPIPE-SEND')
    main()
    print('1..%d' % len(checks))
    sys.exit(0 if all(checks) else 1)
