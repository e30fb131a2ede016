#!/usr/bin/env python3
"""A queue_dir on a full filesystem (TAP).

    queue-disk-full.py MAILPIPE_SEND

The queue lives on a 256 KiB tmpfs mounted in a private mount namespace
(unshare -m, so nothing outlives the test; root only, else skipped).  The
server is down (127.0.0.1 port 1), so each message must be queued: one too
big for the space left, then one when the filesystem is full to the last
block.  Each send must exit 74 with one line that says the message was
neither sent nor queued and why, and leave nothing in the queue: no entry,
no half-written one.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SEND = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ''
if not os.access(SEND, os.X_OK):
    print('1..0 # SKIP no mailpipe-send given')
    sys.exit(0)
if os.geteuid() != 0 or not shutil.which('unshare'):
    print('1..0 # SKIP needs root and unshare(1) to mount a small tmpfs')
    sys.exit(0)

DIR = tempfile.mkdtemp(prefix='queue-disk-full-')
MOUNT = os.path.join(DIR, 'fs')
QUEUE = os.path.join(MOUNT, 'queue')
os.mkdir(MOUNT, 0o700)
CONF = os.path.join(DIR, 'mailpipe.ini')
with os.fdopen(os.open(CONF, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
    f.write('[smtp test]\nhost = 127.0.0.1\nport = 1\ntls = off\nfrom = s@example.test\n'
            'timeout = 5\nqueue_dir = %s\n' % QUEUE)
with open(os.path.join(DIR, 'big'), 'wb') as f:
    f.write(b'Subject: too big\n\n' + b'x' * 75 + b'\n' * 1 + (b'y' * 99 + b'\n') * 4000)
with open(os.path.join(DIR, 'small'), 'wb') as f:
    f.write(b'Subject: small\n\nbody\n')

# Inside the namespace: mount, send the big one, list; fill the disk, send
# the small one, list.  Each step's output is tagged for the checks below.
SCRIPT = r'''
set -u
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$MOUNT" || { echo "MOUNT-FAILED"; exit 0; }
mkdir -m 0700 "$QUEUE"
"$SEND" -C "$CONF" rcpt@example.test <"$DIR/big" 2>"$DIR/err1"; echo "EXIT1 $?"
echo "LIST1 $(ls -A "$QUEUE" | tr '\n' ' ')"
dd if=/dev/zero of="$MOUNT/filler" bs=4k 2>/dev/null
"$SEND" -C "$CONF" rcpt@example.test <"$DIR/small" 2>"$DIR/err2"; echo "EXIT2 $?"
echo "LIST2 $(ls -A "$QUEUE" | tr '\n' ' ')"
rm -f "$MOUNT/filler"
"$SEND" -C "$CONF" rcpt@example.test <"$DIR/small" 2>"$DIR/err3"; echo "EXIT3 $?"
echo "LIST3 $(ls -A "$QUEUE" | tr '\n' ' ')"
'''
env = dict(os.environ, SEND=SEND, CONF=CONF, DIR=DIR, MOUNT=MOUNT, QUEUE=QUEUE, HOME=DIR,
           XDG_CONFIG_HOME=DIR, XDG_STATE_HOME=DIR, TMPDIR=DIR, LC_ALL='C')
env.pop('MAILPIPE_CONFIG', None)
p = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', SCRIPT],
                   env=env, capture_output=True, text=True, timeout=120)
if 'MOUNT-FAILED' in p.stdout or p.returncode != 0:
    print('1..0 # SKIP cannot mount a tmpfs here: %s' % (p.stderr.strip() or p.stdout.strip()))
    shutil.rmtree(DIR, ignore_errors=True)
    sys.exit(0)
out = dict(line.split(' ', 1) if ' ' in line else (line, '') for line in p.stdout.splitlines())

count = failed = 0


def ok(cond, name, detail=''):
    global count, failed
    count += 1
    print('%s %d - %s' % ('ok' if cond else 'not ok', count, name))
    if not cond:
        failed += 1
        print('#   ' + str(detail).replace('\n', '\n#   '))


def err(n):
    with open(os.path.join(DIR, 'err%d' % n)) as f:
        return f.read()


WANT = ('mailpipe-send: the message was not sent (test (127.0.0.1:1): cannot connect: '
        'Connection refused) and cannot be queued: cannot add a message in the queue %s: '
        'No space left on device\n' % QUEUE)
ok(out.get('EXIT1') == '74', 'a message bigger than the space left: exit 74', out)
ok(err(1) == WANT, 'one line: not sent, not queued, and why', err(1))
ok(out.get('LIST1', '?').strip() == '', 'nothing half-written in the queue', out.get('LIST1'))
ok(out.get('EXIT2') == '74', 'a full filesystem: exit 74', out)
ok(err(2) == WANT, 'the same line', err(2))
ok(out.get('LIST2', '?').strip() == '', 'nothing in the queue', out.get('LIST2'))
ok(out.get('EXIT3') == '0' and err(3) == '', 'space again: queued, exit 0, silent', err(3))
ok(len(out.get('LIST3', '').split()) == 1, 'one whole entry', out.get('LIST3'))
shutil.rmtree(DIR, ignore_errors=True)
print('1..%d' % count)
sys.exit(1 if failed else 0)
