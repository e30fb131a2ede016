#!/usr/bin/env python3
"""mailpipe-fetch --all --jobs N against one fake POP3 server that serves
several accounts at once (TAP).

    fetch-jobs.py PATH-OF-MAILPIPE-FETCH

The server (plain POP3 on 127.0.0.1, a thread per connection) holds each
session a moment after the greeting, so that accounts run side by side
when the client lets them, and counts the sessions open at once.

  1. --jobs 3, five accounts, the third with a wrong password, -v and
     --report: exit 77 (the worst), at most three and at least two
     sessions at once, every stderr line whole and naming its account
     (transcript included), no line holding a piece of another, every
     other account's messages delivered exactly once (SHA-256), the
     report valid with all five accounts in the order of the
     configuration.
  2. --jobs 1: one session at a time, exit 77 as well.
  3. SIGTERM to the parent while two accounts are in RETR: passed on, each
     child finishes (QUIT sent, its message committed), the accounts not
     started named, exit 75, no process of the run left behind.
  4. SIGKILL to one child: its account fails with 75 and a line saying so,
     the other accounts are fetched, the report holds every account.
  5. --jobs 0, 65, x, and --jobs 2 without --all: 64.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from reportschema import validate  # noqa: E402

FETCH = sys.argv[1] if len(sys.argv) > 1 else None
PASSWORD = 'Pa55-jobs'
TIMEOUT = 60

tests = 0
failed = 0


def ok(cond, name, detail=''):
    global tests, failed
    tests += 1
    if not cond:
        failed += 1
        print('not ok %d - %s' % (tests, name))
        for line in str(detail).splitlines():
            print('# ' + line)
    else:
        print('ok %d - %s' % (tests, name))
    return cond


def message(user, n):
    return ('From: fake@example.test\r\nTo: %s@example.test\r\nSubject: %s %d\r\n'
            'Message-ID: <%s.%d@example.test>\r\n\r\nbody of %s number %d\r\n'
            % (user, user, n, user, n, user, n)).encode()


class Server:
    """Plain POP3 for users u1..uN, each with `count` messages."""

    def __init__(self, users, count, hold=0.0, retr_delay=0.0):
        self.mail = {u: [message(u, i) for i in range(1, count + 1)] for u in users}
        self.hold, self.retr_delay = hold, retr_delay
        self.lock = threading.Lock()
        self.open = self.peak = 0
        self.quits, self.retrs = [], []
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        with self.lock:
            self.open += 1
            self.peak = max(self.peak, self.open)
        try:
            time.sleep(self.hold)
            self.dialogue(c, c.makefile('rb'))
        except OSError:
            pass
        finally:
            with self.lock:
                self.open -= 1
            c.close()

    def dialogue(self, c, rf):
        user = None
        c.sendall(b'+OK fake\r\n')
        for raw in rf:
            line = raw.decode().rstrip('\r\n')
            cmd, _, arg = line.partition(' ')
            cmd = cmd.upper()
            msgs = self.mail.get(user, [])
            if cmd == 'CAPA':
                c.sendall(b'+OK\r\nUSER\r\nUIDL\r\n.\r\n')
            elif cmd == 'USER':
                user = arg
                c.sendall(b'+OK\r\n')
            elif cmd == 'PASS':
                good = arg == PASSWORD and user in self.mail
                c.sendall(b'+OK in\r\n' if good else b'-ERR [AUTH] wrong\r\n')
            elif cmd == 'STAT':
                c.sendall(b'+OK %d %d\r\n' % (len(msgs), sum(map(len, msgs))))
            elif cmd in ('LIST', 'UIDL'):
                rows = [b'%d %s' % (i + 1, b'%d' % len(m) if cmd == 'LIST' else
                                    b'%s-%d' % (user.encode(), i + 1))
                        for i, m in enumerate(msgs)]
                c.sendall(b'+OK\r\n' + b''.join(r + b'\r\n' for r in rows) + b'.\r\n')
            elif cmd == 'RETR':
                with self.lock:
                    self.retrs.append(user)
                time.sleep(self.retr_delay)
                c.sendall(b'+OK\r\n' + msgs[int(arg) - 1] + b'.\r\n')
            elif cmd == 'QUIT':
                with self.lock:
                    self.quits.append(user)
                c.sendall(b'+OK bye\r\n')
                return
            else:
                c.sendall(b'+OK\r\n')


def config(d, port, users, wrong=()):
    path = os.path.join(d, 'mailpipe.ini')
    with open(path, 'w') as f:
        for u in users:
            f.write('[pop3 %s]\nhost = 127.0.0.1\nport = %d\ntls = off\nuser = %s\n'
                    'password = %s\nmaildir = %s/Maildir-%s\nstate_dir = %s/state\n'
                    'keep = yes\ntimeout = 20\n\n'
                    % (u, port, u, 'wrong' if u in wrong else PASSWORD, d, u, d))
    os.chmod(path, 0o600)
    return path


def env_for(d):
    env = dict(os.environ, HOME=d, XDG_CONFIG_HOME=d, XDG_STATE_HOME=d, TMPDIR=d,
               LC_ALL='C')
    env.pop('MAILPIPE_CONFIG', None)
    return env


def run(d, args):
    p = subprocess.run([FETCH] + args, env=env_for(d), capture_output=True,
                       timeout=TIMEOUT)
    return p.returncode, p.stderr.decode('utf-8', 'replace')


def delivered(d, user):
    new = os.path.join(d, 'Maildir-' + user, 'new')
    if not os.path.isdir(new):
        return []
    return sorted(hashlib.sha256(open(os.path.join(new, f), 'rb').read()).hexdigest()
                  for f in os.listdir(new))


def wanted(srv, user):
    # A Maildir file has LF line ends where the wire had CRLF.
    return sorted(hashlib.sha256(m.replace(b'\r\n', b'\n')).hexdigest()
                  for m in srv.mail[user])


def line_shape_ok(lines, users):
    """Every line names one of the accounts right after the program name
    (or at its start, for the transcript and summaries)."""
    bad = []
    for ln in lines:
        rest = ln[len('mailpipe-fetch: '):] if ln.startswith('mailpipe-fetch: ') else ln
        rest = rest[len('warning: '):] if rest.startswith('warning: ') else rest
        if not any(rest.startswith(u + ': ') or rest.startswith(u + ' (') for u in users):
            bad.append(ln)
    return bad


def mixed_lines(lines):
    """Lines with two starts in them (two program names, two transcript
    arrows), or a USER command under another account's name: what one
    write(2) per line must never produce."""
    bad = []
    for ln in lines:
        starts = ln.count('mailpipe-fetch: ') + ln.count(': -> ') + ln.count(': <- ')
        user = ln.partition(': -> USER ')
        if starts > 1 or (user[1] and user[0] != user[2]):
            bad.append(ln)
    return bad


def report_of(d):
    with open(os.path.join(d, 'report.json')) as f:
        return json.load(f)


def test_fleet(d):
    users = ['u1', 'u2', 'u3', 'u4', 'u5']
    srv = Server(users, 3, hold=0.5)
    conf = config(d, srv.port, users, wrong=('u3',))
    rc, err = run(d, ['-C', conf, '--all', '--jobs', '3', '-v', '--report',
                      os.path.join(d, 'report.json')])
    ok(rc == 77, '--jobs 3 with one wrong password: exit 77 (the worst)', 'rc %d\n%s' % (rc, err))
    ok(2 <= srv.peak <= 3, 'two or three sessions at once, never more', 'peak %d' % srv.peak)
    lines = err.splitlines()
    ok(not line_shape_ok(lines, users), 'every line names its account',
       '\n'.join(line_shape_ok(lines, users)[:10]))
    for u in users:
        ok(any(ln.startswith(u + ': -> USER ' + u) for ln in lines),
           '%s: its transcript is there, prefixed' % u)
    ok(not mixed_lines(lines), 'no line holds a piece of another',
       '\n'.join(mixed_lines(lines)[:10]))
    ok(any(ln.startswith('mailpipe-fetch: u3 (127.0.0.1:%d): ' % srv.port) for ln in lines),
       'the failing account is named with its server', err)
    for u in ['u1', 'u2', 'u4', 'u5']:
        ok(delivered(d, u) == wanted(srv, u), '%s: every message exactly once' % u)
    ok(delivered(d, 'u3') == [], 'u3: nothing delivered')
    r = report_of(d)
    ok(not validate(r), 'the report is valid', validate(r))
    ok([a['account'] for a in r['accounts']] == users, 'the report holds all five, in order',
       [a['account'] for a in r['accounts']])
    ok(r['exit_code'] == 77, 'the report says 77')
    classes = {a['account']: (a['class'], a['retrieved']) for a in r['accounts']}
    ok(classes == {'u1': ('ok', 3), 'u2': ('ok', 3), 'u3': ('noperm', 0), 'u4': ('ok', 3),
                   'u5': ('ok', 3)}, 'each account its outcome and count', classes)


def test_one_job(d):
    users = ['u1', 'u2', 'u3']
    srv = Server(users, 2, hold=0.2)
    conf = config(d, srv.port, users, wrong=('u2',))
    rc, err = run(d, ['-C', conf, '--all', '--jobs', '1'])
    ok(rc == 77, '--jobs 1: exit 77', err)
    ok(srv.peak == 1, '--jobs 1: one session at a time', 'peak %d' % srv.peak)


def children_of(pid):
    kids = []
    for name in os.listdir('/proc'):
        try:
            with open('/proc/%s/stat' % name) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(name))
        except (OSError, ValueError, IndexError):
            pass
    return kids


def wait_for(cond, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def start(d, args):
    return subprocess.Popen([FETCH] + args, env=env_for(d), stderr=subprocess.PIPE)


def test_sigterm(d):
    users = ['u1', 'u2', 'u3', 'u4']
    srv = Server(users, 1, retr_delay=1.5)
    conf = config(d, srv.port, users)
    p = start(d, ['-C', conf, '--all', '-j', '2'])
    ok(wait_for(lambda: len(srv.retrs) >= 2), 'two accounts reach RETR')
    kids = children_of(p.pid)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=TIMEOUT)[1].decode()
    ok(p.returncode == 75, 'SIGTERM with --jobs 2: exit 75', 'rc %d\n%s' % (p.returncode, err))
    ok(sorted(srv.quits) == sorted(srv.retrs), 'each running child finished: QUIT sent',
       'quits %s retrs %s' % (srv.quits, srv.retrs))
    for u in srv.retrs:
        ok(len(delivered(d, u)) == 1, '%s: the message in flight was committed' % u)
    for u in set(users) - set(srv.retrs):
        ok('mailpipe-fetch: %s: not fetched: interrupted by signal 15' % u in err,
           '%s: named as not fetched' % u, err)
    ok('killed' not in err, 'no child was killed', err)
    ok(len(kids) == 2 and not [k for k in kids if os.path.exists('/proc/%d' % k)],
       'no child left behind', kids)


def test_sigkill_child(d):
    users = ['u1', 'u2', 'u3']
    srv = Server(users, 1, retr_delay=1.0)
    conf = config(d, srv.port, users)
    p = start(d, ['-C', conf, '--all', '--jobs', '2', '--report',
                  os.path.join(d, 'report.json')])
    ok(wait_for(lambda: len(children_of(p.pid)) == 2 and len(srv.retrs) >= 1),
       'children at work')
    # Any child will do: the line must name the account it ran.
    kid = sorted(children_of(p.pid))[0]
    os.kill(kid, signal.SIGKILL)
    err = p.communicate(timeout=TIMEOUT)[1].decode()
    ok(p.returncode == 75, 'a child killed: exit 75', 'rc %d\n%s' % (p.returncode, err))
    killed = [ln for ln in err.splitlines() if 'killed by signal 9' in ln]
    ok(len(killed) == 1, 'one line says an account was killed', err)
    name = killed[0].split(': ')[1] if killed else None
    ok(name in users, 'that line names the account', killed)
    r = report_of(d)
    ok(not validate(r), 'the report is valid', validate(r))
    ok([a['account'] for a in r['accounts']] == users, 'the report holds all three',
       [a['account'] for a in r['accounts']])
    got = {a['account']: a['class'] for a in r['accounts']}
    ok(got.get(name) == 'tempfail' and list(got.values()).count('ok') == 2,
       'the killed one tempfail, the others ok', got)


def test_usage(d):
    conf = config(d, 1, ['u1'])
    for args, text in ((['--all', '--jobs', '0'], '--jobs wants a number from 1 to 64: 0'),
                       (['--all', '--jobs', '65'], '--jobs wants a number from 1 to 64: 65'),
                       (['--all', '-j', 'x'], '--jobs wants a number from 1 to 64: x'),
                       (['-a', 'u1', '--jobs', '2'], '--jobs needs --all'),
                       (['--all', '-j', '2', '--list'], '--jobs 2 does not go with --list')):
        rc, err = run(d, ['-C', conf] + args)
        ok(rc == 64 and err == 'mailpipe-fetch: %s\n' % text, ' '.join(args) + ': 64',
           'rc %d: %s' % (rc, err))


def main():
    if FETCH is None or not os.access(FETCH, os.X_OK):
        print('1..0 # SKIP no mailpipe-fetch given')
        return 0
    for t in (test_fleet, test_one_job, test_sigterm, test_sigkill_child, test_usage):
        d = tempfile.mkdtemp(prefix='fetch-jobs-')
        try:
            t(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    print('1..%d' % tests)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
