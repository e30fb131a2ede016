#!/usr/bin/env python3
"""The queue's life over time, on the real mailpipe-send (TAP).

    queue-lifecycle.py MAILPIPE_SEND

What a scripted server cannot show in one run: a message ages past
queue_warn (--queue and --flush exit 75 with one line) and past
queue_lifetime (--flush moves it to failed/, never deletes it); the backoff
keeps --flush from trying it again too soon; --queue-delete removes a
failed one; a damaged envelope is reported, not guessed at; a queue
directory others can write is refused; a message another run holds cannot
be deleted; SIGTERM during --flush says the queue is safe; and the names
sendmail (-q, -bp) and mailq.  The server is 127.0.0.1 port 1, where
nothing listens (connection refused), or a socket that never greets.
Times are moved by rewriting the envelope's `created` line, as a clock
would.
"""
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

count = failed = 0


def ok(cond, name, detail=''):
    global count, failed
    count += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', count, name))
    if not cond:
        failed += 1
        for line in str(detail).splitlines():
            print('#   ' + line)


SEND = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ''
if not os.access(SEND, os.X_OK):
    print('1..0 # SKIP no mailpipe-send given')
    sys.exit(0)
DIR = tempfile.mkdtemp(prefix='queue-lifecycle-')
QUEUE = os.path.join(DIR, 'queue')
CONF = os.path.join(DIR, 'mailpipe.ini')
ENV = dict(os.environ, HOME=DIR, XDG_CONFIG_HOME=DIR, XDG_STATE_HOME=DIR, TMPDIR=DIR,
           LC_ALL='C')
ENV.pop('MAILPIPE_CONFIG', None)


def config(port=1, extra=''):
    fd = os.open(CONF, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write('[smtp test]\nhost = 127.0.0.1\nport = %d\ntls = off\n'
                'from = sender@example.test\ntimeout = 5\nqueue_dir = %s\n%s'
                % (port, QUEUE, extra))


def run(*args, stdin=b'', argv0=SEND):
    p = subprocess.run([argv0, '-C', CONF] + list(args), input=stdin, env=ENV,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def send(subject):
    return run('rcpt@example.test', stdin=b'Subject: %s\n\nbody\n' % subject.encode())


def ids(where=QUEUE):
    return sorted(n for n in os.listdir(where) if re.fullmatch(r'[0-9a-f]{16}', n)) \
        if os.path.isdir(where) else []


def envelope(qid, where=QUEUE):
    with open(os.path.join(where, qid, 'envelope')) as f:
        return f.read()


def set_line(qid, key, value):
    """Rewrites one line of an envelope, as the queue does: temp, rename."""
    path = os.path.join(QUEUE, qid, 'envelope')
    text = re.sub(r'^%s .*$' % key, '%s %s' % (key, value), envelope(qid), flags=re.M)
    with open(path + '.new', 'w') as f:
        f.write(text)
    os.rename(path + '.new', path)


def age(qid, days):
    set_line(qid, 'created', int(time.time() - days * 86400))


def test_warn_and_lifetime():
    config()
    rc, out, err = send('ages')
    ok(rc == 0 and err == '', 'server down: queued, exit 0, silent', err)
    (qid,) = ids() or ['?']
    rc, out, err = run('--queue')
    ok(rc == 0 and err == '' and '1 queued, 0 failed' in out, '--queue: 1 queued, exit 0', out + err)
    age(qid, 2)
    rc, out, err = run('--queue')
    want = ('mailpipe-send: queue %s: 0 in failed/, 1 queued longer than 1d, 0 unreadable '
            '(see mailpipe-send --queue)\n' % QUEUE)
    ok(rc == 75 and err == want, 'older than queue_warn: --queue exits 75 with one line', err)
    rc, out, err = run('--flush')
    ok(rc == 75 and err == want, '--flush exits 75 with the same line', err)
    ok('attempts 2\n' in envelope(qid), 'the flush tried it: attempts 2', envelope(qid))
    m = re.search(r'^next (\d+)$', envelope(qid), re.M)
    ok(m and 55 <= int(m.group(1)) - time.time() <= 61, 'next attempt in a minute (backoff)')
    rc, out, err = run('--flush')
    ok('attempts 2\n' in envelope(qid), 'not due: the next --flush leaves it alone')
    age(qid, 6)
    rc, out, err = run('--flush')
    ok(ids() == [] and ids(os.path.join(QUEUE, 'failed')) == [qid],
       'past queue_lifetime: moved to failed/', str(ids()))
    ok(rc == 75 and '1 in failed/' in err, '--flush exits 75: 1 in failed/', err)
    rc, out, err = run('--queue')
    ok(rc == 75 and re.search(r'^failed/%s  test  6d\S* old  \d+ bytes  attempts 2$' % qid, out,
                              re.M), '--queue lists it under failed/', out)
    ok(re.search(r'^    why: not delivered within queue_lifetime \(5d\); the last attempt: '
                 r'test \(127\.0\.0\.1:1\): cannot connect: Connection refused$', out, re.M),
       'with why it failed', out)
    rc, out, err = run('--queue-delete', qid)
    ok(rc == 0 and out.startswith('deleted failed/%s from sender@example.test\n' % qid) and
       'to rcpt@example.test (pending)' in out, '--queue-delete removes it, saying whom for', out)
    rc, out, err = run('--queue')
    ok(rc == 0 and err == '' and '0 queued, 0 failed' in out, 'nothing left, exit 0', out + err)
    rc, out, err = run('--queue-delete', qid)
    ok(rc == 64 and err == 'mailpipe-send: no message %s in the queue (see mailpipe-send '
       '--queue)\n' % qid, 'deleting it again: 64', err)


def log_events(path):
    """The log file's lines, parsed (test/eventlogparse.py), each checked
    for exactly its event's keys."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    import eventlogparse
    events = []
    with open(path, newline='') as f:
        for line in f:
            fields = eventlogparse.parse_file_line(line)[3]
            eventlogparse.check_keys(fields)
            events.append(fields)
    return events


def test_event_log():
    """The queue's lines in the `log` file: queued, deferred by a flush,
    failed/ past queue_lifetime, deleted with its recipients."""
    path = os.path.join(DIR, 'events.log')
    config(extra='log = %s\n' % path)
    rc, out, err = send('logged')
    (qid,) = ids() or ['?']
    ev = log_events(path)
    ok(rc == 0 and err == '' and [e['event'] for e in ev] == ['queued', 'send'],
       'queued: a queued line, then the send line', ev)
    ok(ev[0]['id'] == qid and ev[0]['account'] == 'test' and ev[0]['from'] ==
       'sender@example.test' and ev[0]['to'] == 'rcpt@example.test' and
       'Connection refused' in ev[0]['reason'], 'queued: id, account, from, to, reason', ev[0])
    ok(ev[1]['result'] == 'queued' and ev[1]['exit'] == '0' and ev[1]['rcpts'] == '1' and
       'Connection refused' in ev[1]['reply'], 'send: result queued, exit 0', ev[1])
    ok(os.stat(path).st_mode & 0o777 == 0o600, 'the log file is mode 0600')
    set_line(qid, 'next', 0)
    run('--flush')
    age(qid, 6)
    run('--flush')
    run('--queue-delete', qid)
    ev = log_events(path)[2:]
    ok([e['event'] for e in ev] == ['deferred', 'failed', 'deleted'] and
       all(e['id'] == qid for e in ev), 'a flush: deferred; too old: failed; then deleted', ev)
    ok(ev[2]['to'] == 'rcpt@example.test' and ev[2]['reason'] is None and
       'queue_lifetime' in ev[1]['reason'], 'deleted names its recipients', ev)
    os.unlink(path)


def test_send_while_down():
    """A send whose server is down leaves the backlog as it was: the
    queued message was not tried, so no attempt and no backoff hold it back
    once the server is back (a --flush then delivers every message)."""
    config()
    send('first while down')
    (first,) = ids()
    before = envelope(first)
    rc, out, err = send('second while down')
    ok(rc == 0 and err == '' and len(ids()) == 2, 'a second send: queued too, silent', err)
    ok(envelope(first) == before, 'the first one untouched: attempts 1, next unchanged',
       envelope(first))
    rc, out, err = run('--flush')
    ok('attempts 2\n' in envelope(first), '--flush does try it: attempts 2', envelope(first))
    for qid in ids():
        run('--queue-delete', qid)


def test_damaged():
    config()
    send('to be damaged')
    (qid,) = ids()
    with open(os.path.join(QUEUE, qid, 'envelope'), 'a') as f:
        f.write('junk\n')
    rc, out, err = run('--queue')
    ok(rc == 75 and '1 unreadable' in err, 'a damaged envelope: --queue exits 75', err)
    ok(re.search(r'^%s  unreadable: %s/%s/envelope is corrupt \(line \d+: text after the end '
                 r'line\)' % (qid, QUEUE, qid), out, re.M), 'and says what is wrong where', out)
    rc, out, err = run('--flush')
    ok(rc == 75 and os.path.isdir(os.path.join(QUEUE, qid)), '--flush leaves it alone', err)
    shutil.rmtree(os.path.join(QUEUE, qid))


def test_busy_and_signal():
    config()
    send('held by another run')
    (qid,) = ids()
    fd = os.open(os.path.join(QUEUE, qid, 'message'), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    rc, out, err = run('--queue-delete', qid)
    ok(rc == 75 and 'message %s is being delivered by another run; try again when it is done'
       % qid in err, 'deleting a message another run holds: 75', err)
    os.close(fd)
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(1)
    config(port=silent.getsockname()[1])
    p = subprocess.Popen([SEND, '-C', CONF, '--flush'], env=ENV, stderr=subprocess.PIPE)
    # Signalled once it is waiting for the server's greeting, so it has its
    # handlers: a fixed sleep was too short under valgrind (the signal
    # killed it before it had them).
    silent.settimeout(120)
    conn = silent.accept()[0]
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=120)[1].decode()
    conn.close()
    ok(p.returncode == 75 and err == 'mailpipe-send: interrupted; every queued message is still '
       'queued or delivered\n', 'SIGTERM during --flush: 75, the queue is safe', err)
    ok(ids() == [qid], 'and the message is still queued')
    silent.close()
    run('--queue-delete', qid)


def test_names():
    config()
    for name in ('sendmail', 'mailq'):
        os.symlink(SEND, os.path.join(DIR, name))
    send('by name')
    rc, out, err = run('-bp', argv0=os.path.join(DIR, 'sendmail'))
    ok(rc == 0 and '1 queued' in out, 'sendmail -bp lists the queue', out + err)
    rc, out, err = run(argv0=os.path.join(DIR, 'mailq'))
    ok(rc == 0 and '1 queued' in out, 'mailq lists the queue', out + err)
    (qid,) = ids()
    rc, out, err = run('-q', argv0=os.path.join(DIR, 'sendmail'))
    ok(rc == 0 and 'attempts 2\n' in envelope(qid), 'sendmail -q flushes', err)
    rc, out, err = run('-q30m', argv0=os.path.join(DIR, 'sendmail'))
    ok(rc == 64 and '-q30m: only -q (one queue run) is supported' in err, '-q30m: 64', err)
    rc, out, err = run('--flush', 'x@example.test')
    ok(rc == 64 and err == 'mailpipe-send: "x@example.test": working on the queue takes no '
       'recipients\n', '--flush with a recipient: 64', err)
    run('--queue-delete', qid)


def test_trust():
    config()
    os.chmod(QUEUE, 0o777)
    rc, out, err = run('--queue')
    ok(rc == 77 and err.startswith('mailpipe-send: queue_dir: %s is writable by group or '
       'others' % QUEUE), 'a queue others can write: --queue refuses it (77)', err)
    rc, out, err = send('untrusted queue')
    ok(rc == 75 and 'the message is sent without a queue: queue_dir: ' in err and
       'cannot connect: Connection refused' in err,
       'a send warns, and fails as without a queue (75)', err)
    os.chmod(QUEUE, 0o700)


def test_odd_values():
    """-s "" and -F "" (empty values) and a long non-ASCII subject are
    queued in an envelope the queue can read back, not left unreadable
    after the send said 0."""
    config()
    cases = [(['-s', '', 'rcpt@example.test'], b'body\n', 'an empty -s'),
             (['-F', '', 'rcpt@example.test'], b'Subject: x\n\nraw\n', 'an empty -F'),
             (['-s', '\u00e9' * 1400, 'rcpt@example.test'], b'body\n',
              'a subject of 2,800 non-ASCII bytes')]
    for args, stdin, name in cases:
        rc, out, err = run(*args, stdin=stdin)
        ok(rc == 0 and err == '', '%s: queued, exit 0' % name, err)
        rc, out, err = run('--queue')
        ok(rc == 0 and 'unreadable' not in out, '%s: --queue reads it back' % name, out + err)
        for qid in ids():
            run('--queue-delete', qid)


def test_two_queues_not_due():
    """A flush over two queues whose messages are not yet due must not
    close descriptor 0 (a job's spool that was never loaded) and so break
    the second queue's directory."""
    second = os.path.join(DIR, 'queue2')
    config(extra='\n[smtp other]\nhost = 127.0.0.1\nport = 1\ntls = off\n'
           'from = sender@example.test\ntimeout = 5\nqueue_dir = %s\n' % second)
    run('-a', 'test', 'rcpt@example.test', stdin=b'Subject: first queue\n\nbody\n')
    run('-a', 'other', 'rcpt@example.test', stdin=b'Subject: second queue\n\nbody\n')
    ok(len(ids()) == 1 and len(ids(second)) == 1, 'one message in each queue, not yet due')
    rc, out, err = run('--flush', stdin=b'')
    ok(rc == 0 and 'Bad file descriptor' not in err, '--flush over both: exit 0', err)
    for qid in ids():
        run('--queue-delete', qid)
    for qid in ids(second):
        shutil.rmtree(os.path.join(second, qid))


def serve_all(listener):
    """Takes every message of one session."""
    conn, _ = listener.accept()
    f = conn.makefile('rwb')
    f.write(b'220 stub ESMTP\r\n')
    f.flush()
    in_data = False
    for line in f:
        if in_data:
            if line == b'.\r\n':
                in_data = False
                f.write(b'250 2.0.0 queued\r\n')
                f.flush()
            continue
        if line.startswith(b'DATA'):
            in_data = True
            f.write(b'354 go ahead\r\n')
        elif line.startswith(b'QUIT'):
            f.write(b'221 bye\r\n')
            f.flush()
            break
        else:
            f.write(b'250 ok\r\n')
        f.flush()
    conn.close()


def test_signal_after_backlog():
    """SIGTERM once the backlog a send flushes first was delivered, before
    its own message went out (the shim sends it as the delivered backlog
    message is removed): that message was not sent, and the line and the
    exit code must say so; the backlog's delivery must not speak for it."""
    import threading
    shim = os.environ.get('CRASHPOINT_SO', '')
    if not os.path.exists(shim):
        ok(False, 'the crashpoint shim (CRASHPOINT_SO) is there', shim)
        return
    config()
    send('backlog')
    (qid,) = ids()
    set_line(qid, 'next', 0)
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    threading.Thread(target=serve_all, args=(listener,), daemon=True).start()
    config(port=listener.getsockname()[1])
    env = dict(ENV, LD_PRELOAD=shim, CRASHPOINT='term-at-queue-remove',
               ASAN_OPTIONS=os.environ.get('ASAN_OPTIONS', '') + ':verify_asan_link_order=0')
    p = subprocess.run([SEND, '-C', CONF, 'rcpt@example.test'], env=env,
                       input=b'Subject: the new one\n\nbody\n', capture_output=True,
                       timeout=60)
    err = p.stderr.decode()
    ok(p.returncode == 75 and err == 'mailpipe-send: interrupted; the message was not '
       'sent\n', 'SIGTERM after the backlog was delivered, before the new message: 75, '
       '"not sent"', '%d %s' % (p.returncode, err))
    listener.close()
    for q in ids():
        shutil.rmtree(os.path.join(QUEUE, q), ignore_errors=True)

test_warn_and_lifetime()
test_event_log()
test_send_while_down()
test_damaged()
test_busy_and_signal()
test_names()
test_trust()
test_odd_values()
test_two_queues_not_due()
test_signal_after_backlog()
shutil.rmtree(DIR, ignore_errors=True)
print('1..%d' % count)
sys.exit(1 if failed else 0)
