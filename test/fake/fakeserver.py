#!/usr/bin/env python3
"""Run one scripted fake-server scenario against a mailpipe client.

    fakeserver.py SCENARIO [--send PATH] [--fetch PATH] [--pki-dir DIR] [--keep] [-v]

A real server never misbehaves on cue, so these scenarios script the faults
and attacks we must survive: STARTTLS injection, bad certificates, replies
split into 1-byte segments, 4 MB lines, silence, dropped connections.  The
engine knows nothing about SMTP or POP3: it sends lines, expects lines, reads
a dot-terminated block and upgrades to TLS; the protocol lives in the
scenario file.  The format is described in README.md next to this file.

One scenario per process: a listening socket on 127.0.0.1 with an ephemeral
port, a private temp directory, the client run once with a timeout, then
every assertion checked and every failure reported.  Exit status: 0 pass,
1 fail, 77 skip (client not built, openssl missing).

Python 3 standard library only; certificates come from the openssl CLI.
"""

import argparse
import base64
import difflib
import fcntl
import hashlib
import json
import os
import select
import re
import shlex
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

import lmtpfake
import scramserver

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77

MAX_CLIENT_LINE = 1 << 20       # a longer client line is a failure, not a buffer
SHOW_LINE = 160                 # characters of a line shown in reports
SHOW_BODY_LINES = 12            # DATA/RETR body lines shown in the transcript
KEEP_OUTPUT = 1 << 20           # bytes of client stdout/stderr kept for checks

SINGLE_KEYS = {
    'description', 'client', 'args', 'exit', 'timeout', 'max-time', 'max-rss-kb',
    'config', 'stderr-empty', 'server-timeout', 'split-delay', 'connect',
    'stderr-max-bytes', 'stdout-empty', 'then', 'stdout-to', 'lmtp-accepted',
    'round-trips', 'setup', 'state-file', 'same-port',
}
MULTI_KEYS = {
    'stderr', 'stderr-not', 'received', 'received-not', 'maildir-new', 'maildir-tmp',
    'maildir-cur', 'maildir-file', 'maildir-sha256', 'path-absent', 'env',
    'stdout', 'stdout-not', 'report-check', 'state-age', 'lmtp-reply', 'lmtp-received',
    'lmtp-received-not', 'mbox-file',
}
STDIN_KEYS = {'stdin', 'stdin-raw', 'stdin-lines', 'stdin-line'}
# Sanitizer reports fail every scenario: UBSan goes on after reporting, so
# the exit status alone would not show them.
SANITIZER_REPORT = re.compile(r'^\S+:\d+:\d+: runtime error: |^==\d+==ERROR: \w+Sanitizer', re.M)


class ScenarioError(Exception):
    """A malformed scenario file: a bug in the test, reported as FAIL."""


class StepFailed(Exception):
    """The client did something the script did not allow."""


# ---------------------------------------------------------------- helpers


# A slow client (one run under valgrind, scripts/valgrind-wrap) gets
# FAKE_TIME_SCALE times the scenario's timeout and max-time; the timings
# the client itself must keep (timeout, deadline) are the config's, so
# what a scenario proves about them does not change.
TIME_SCALE = float(os.environ.get('FAKE_TIME_SCALE') or 1)

def unescape(text):
    """Decodes \\r \\n \\t \\0 \\\\ \\xHH; everything else is literal UTF-8."""
    out = bytearray()
    i = 0
    simple = {'r': b'\r', 'n': b'\n', 't': b'\t', '0': b'\0', '\\': b'\\', 's': b' '}
    while i < len(text):
        ch = text[i]
        if ch != '\\' or i + 1 == len(text):
            out += ch.encode()
            i += 1
        elif text[i + 1] in simple:
            out += simple[text[i + 1]]
            i += 2
        elif text[i + 1] == 'x' and re.fullmatch(r'[0-9a-fA-F]{2}', text[i + 2:i + 4]):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raise ScenarioError('bad escape %r' % text[i:i + 2])
    return bytes(out)


def show(data, limit=SHOW_LINE):
    """A byte string as one readable line: controls and 8-bit bytes escaped."""
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    cut = len(data) > limit
    text = ''
    for b in data[:limit]:
        if b == 0x0d:
            text += '\\r'
        elif b == 0x0a:
            text += '\\n'
        elif b == 0x5c:
            text += '\\\\'
        elif 0x20 <= b < 0x7f:
            text += chr(b)
        else:
            text += '\\x%02x' % b
    if cut:
        text += '... (%d bytes)' % len(data)
    return text


def glob_regex(pattern):
    """`*` matches any run of characters; the rest is literal; whole line."""
    return re.compile('.*'.join(re.escape(p) for p in pattern.split('*')), re.S)


def as_text(data):
    return data.decode('utf-8', 'surrogateescape')


# ---------------------------------------------------------------- scenario

class Step:
    """One server action; `source` is its line in the scenario, for reports."""

    def __init__(self, kind, where, source, **kw):
        self.kind = kind
        self.where = where
        self.source = source
        self.__dict__.update(kw)


class Scenario:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.headers = {}
        self.multi = {k: [] for k in MULTI_KEYS}
        self.stdin_parts = []
        self.steps = []
        self.rules = []
        self._load(path, depth=0)
        self._check()

    # The file is lines: `key: value` headers (lowercase key), steps (an
    # uppercase keyword), comments (#) and blank lines; `<<TAG` starts a
    # here-document that ends at a line reading exactly TAG.
    def _load(self, path, depth):
        if depth > 4:
            raise ScenarioError('%s: INCLUDE nested too deep' % path)
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        i = 0
        while i < len(lines):
            line = lines[i].rstrip('\r')
            where = '%s:%d' % (os.path.basename(path), i + 1)
            i += 1
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            heredoc = None
            m = re.search(r'<<([A-Z][A-Z0-9_]*)$', line)
            if m:
                tag, body = m.group(1), []
                while i < len(lines) and lines[i].rstrip('\r') != tag:
                    body.append(lines[i].rstrip('\r'))
                    i += 1
                if i == len(lines):
                    raise ScenarioError('%s: here-document %s never ends' % (where, tag))
                i += 1
                heredoc = body
                line = line[:m.start()].rstrip()
            try:
                if re.match(r'[a-z][a-z0-9-]*:', line):
                    self._header(line, heredoc, where)
                else:
                    self._step(line, heredoc, where, path, depth)
            except ScenarioError as e:
                raise ScenarioError('%s: %s' % (where, e)) from None

    def _header(self, line, heredoc, where):
        key, _, value = line.partition(':')
        value = value.strip()
        if heredoc is not None:
            value = ''.join(l + '\n' for l in heredoc)
        if key in STDIN_KEYS:
            self.stdin_parts.append((key, value))
        elif key in MULTI_KEYS:
            self.multi[key].append(value)
        elif key in SINGLE_KEYS:
            if key in self.headers:
                raise ScenarioError('duplicate header %s' % key)
            self.headers[key] = value
        else:
            raise ScenarioError('unknown header %r' % key)

    def _step(self, line, heredoc, where, path, depth):
        m = re.match(r'(SPLIT1\s+)?([A-Z][A-Z0-9?-]*)([:=~]\s?|\s+|$)(.*)$', line)
        if not m:
            raise ScenarioError('cannot parse %r' % line)
        split, word, sep, rest = bool(m.group(1)), m.group(2), m.group(3).strip(), m.group(4)
        if word == 'INCLUDE':
            self._load(os.path.join(os.path.dirname(path), rest.strip()), depth + 1)
            return
        source = line + (' <<...' if heredoc is not None else '')

        def add(kind, **kw):
            self.steps.append(Step(kind, where, source, split=split, **kw))
        if word in ('C', 'C?', 'CP', 'CW'):
            add('expect', optional=word == 'C?', text=rest, matcher=self._matcher(sep, rest),
                pipelined={'CP': True, 'CW': False}.get(word))
        elif word == 'S' and sep == ':':
            add('send', text=rest, data=rest.encode() + b'\r\n')
        elif word == 'RAW' and sep == ':':
            add('send', text=rest, data=unescape(rest))
        elif word == 'SEND' and heredoc is not None:
            add('send', text='<<%d lines>>' % len(heredoc),
                data=b''.join(l.encode() + b'\r\n' for l in heredoc))
        elif word in ('TLS', 'STARTTLS', 'STLS'):
            words = rest.split()
            if not words or words[0] not in PKI.SERVER_CERTS or \
                    words[1:] not in ([], ['rejected'], ['ccert'], ['ccert', 'rejected']):
                raise ScenarioError('usage: TLS good|wronghost|untrusted [ccert] [rejected]')
            add('tls', text=rest, cert=words[0], rejected=words[-1] == 'rejected',
                ccert='ccert' in words)
        elif word == 'SCRAM':
            add('scram', text=rest, **self._scram_options(rest))
        elif word == 'HUGE':
            hm = re.fullmatch(r'(\d+)(?:\s(.*))?', rest)
            if not hm:
                raise ScenarioError('usage: HUGE SIZE [PREFIX]')
            add('huge', text=rest, size=int(hm.group(1)), prefix=(hm.group(2) or '').encode())
        elif word == 'LINES':
            lm = re.fullmatch(r'(\d+)\s(\d+)(?:\s(.*))?', rest)
            if not lm:
                raise ScenarioError('usage: LINES COUNT SIZE [PREFIX]')
            unescape(lm.group(3) or '')            # a bad escape fails here
            add('lines', text=rest, count=int(lm.group(1)), size=int(lm.group(2)),
                prefix=lm.group(3) or '')
        elif word == 'SLEEP':
            add('sleep', text=rest, seconds=float(rest))
        elif word == 'CLOSE':
            if rest.strip() not in ('', 'RST'):
                raise ScenarioError('usage: CLOSE [RST]')
            add('close', text=rest, rst=rest.strip() == 'RST')
        elif word == 'EOF':
            add('eof', text='')
        elif word == 'ACCEPT':
            add('accept', text='')
        elif word == 'UNTIL':
            add('until', text=rest, matcher=glob_regex(rest.strip()))
        elif word == 'BODY':
            add('body', text='')
        elif word.startswith('BODY-'):
            self._body_check(word, rest, heredoc, add)
        elif word == 'ON':
            self._rule(rest, heredoc, where)
        else:
            raise ScenarioError('unknown step %r' % line)
        if split and self.steps[-1].kind != 'send':
            raise ScenarioError('SPLIT1 applies to S:, RAW: and SEND only')

    @staticmethod
    def _scram_options(rest):
        words = rest.split()
        if not words or words[0] not in ('smtp', 'pop3'):
            raise ScenarioError('usage: SCRAM smtp|pop3 [i=N] [nonce=foreign] '
                                '[signature=bad] [stop=first]')
        opts = dict(w.split('=', 1) for w in words[1:])
        if set(opts) - {'i', 'nonce', 'signature', 'stop'}:
            raise ScenarioError('SCRAM: unknown option in %r' % rest)
        return dict(proto=words[0], iterations=int(opts.get('i', '4096')),
                    foreign=opts.get('nonce') == 'foreign', bad=opts.get('signature') == 'bad',
                    stop=opts.get('stop') == 'first' or opts.get('nonce') == 'foreign')

    @staticmethod
    def _matcher(sep, rest):
        if sep == '~':
            return re.compile(rest, re.S)
        if sep == '=':
            return re.compile(re.escape(rest), re.S)
        return glob_regex(rest)

    def _body_check(self, word, rest, heredoc, add):
        if word == 'BODY-TEXT' and heredoc is not None:
            add('body-text', text='<<%d lines>>' % len(heredoc),
                data=b''.join(l.encode() + b'\r\n' for l in heredoc))
        elif word in ('BODY-HAS', 'BODY-NOT'):
            add(word.lower(), text=rest, regex=re.compile(rest, re.M))
        elif word == 'BODY-7BIT':
            add('body-7bit', text='')
        elif word == 'BODY-MAXLINE':
            add('body-maxline', text=rest, limit=int(rest))
        elif word == 'BODY-SIZE':
            add('body-size', text='')
        else:
            raise ScenarioError('unknown body check %s' % word)

    def _rule(self, rest, heredoc, where):
        if heredoc is not None:
            pattern, reply = rest.strip(), b''.join(l.encode() + b'\r\n' for l in heredoc)
        else:
            pattern, arrow, text = rest.partition(' => ')
            if not arrow:
                raise ScenarioError('usage: ON PATTERN => REPLY, or ON PATTERN <<TAG')
            reply = text.encode() + b'\r\n'
        self.rules.append((glob_regex(pattern.strip()), reply, where))

    def _check(self):
        h = self.headers
        if 'exit' not in h:
            raise ScenarioError('%s: no `exit:` header' % self.name)
        if h.setdefault('client', 'send') not in ('send', 'fetch'):
            raise ScenarioError('%s: client must be send or fetch' % self.name)
        if h.setdefault('connect', 'yes') not in ('yes', 'no', 'maybe'):
            raise ScenarioError('%s: connect must be yes, no or maybe' % self.name)
        self.exit = int(h['exit'])
        self.timeout = float(h.get('timeout', '30')) * TIME_SCALE
        self.server_timeout = float(h.get('server-timeout', str(self.timeout + 5)))
        self.split_delay = float(h.get('split-delay', '0.005'))

    def stdin_bytes(self, subst):
        out = b''
        for key, value in self.stdin_parts:
            if key == 'stdin':
                out += subst(value).encode()
            elif key == 'stdin-raw':
                out += unescape(subst(value))
            else:
                count, _, text = value.partition(' ')
                if key == 'stdin-lines':
                    out += (text.encode() + b'\n') * int(count)
                else:
                    out += text.encode() * int(count) + b'\n'
        return out


# ---------------------------------------------------------------- PKI

class PKI:
    """A throwaway CA, three server certificates, and a second CA nobody trusts.

    good       localhost, SAN DNS:localhost IP:127.0.0.1, signed by ca
    wronghost  SAN DNS:wrong.example, signed by ca
    untrusted  localhost, same SANs as good, signed by ca2
    client     CN alice, a client certificate (clientAuth) signed by ca; key 0600
    """
    SERVER_CERTS = ('good', 'wronghost', 'untrusted')
    VERSION = 'fakeserver-pki-2'

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, '.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)       # parallel tests share one cache
            stamp = os.path.join(directory, 'done')
            if not os.path.exists(stamp) or open(stamp).read() != self.VERSION:
                self._generate()
                with open(stamp + '.tmp', 'w') as f:
                    f.write(self.VERSION)
                os.rename(stamp + '.tmp', stamp)

    def path(self, name, ext='pem'):
        return os.path.join(self.dir, '%s.%s' % (name, ext))

    def fingerprint(self, name):
        with open(self.path(name)) as f:
            return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()

    def _openssl(self, *args):
        r = subprocess.run(('openssl',) + args, cwd=self.dir, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError('openssl %s: %s' % (' '.join(args[:2]), r.stderr.strip()))

    def _ca(self, name, cn):
        self._openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt',
                      'ec_paramgen_curve:P-256', '-nodes', '-keyout', name + '.key',
                      '-out', name + '.pem', '-days', '3650', '-subj', '/CN=' + cn,
                      '-addext', 'basicConstraints=critical,CA:TRUE',
                      '-addext', 'keyUsage=critical,keyCertSign,cRLSign')

    def _leaf(self, name, ca, cn, san, usage='serverAuth'):
        ext = os.path.join(self.dir, name + '.ext')
        with open(ext, 'w') as f:
            f.write('basicConstraints = CA:FALSE\nkeyUsage = digitalSignature\n'
                    'extendedKeyUsage = %s\nsubjectAltName = %s\n' % (usage, san))
        self._openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                      '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
                      '-subj', '/CN=' + cn)
        serial = str(int.from_bytes(os.urandom(8), 'big'))
        self._openssl('x509', '-req', '-in', name + '.csr', '-CA', ca + '.pem',
                      '-CAkey', ca + '.key', '-set_serial', serial,
                      '-days', '3650', '-extfile', ext, '-out', name + '.pem')

    def _generate(self):
        self._ca('ca', 'mailpipe fake CA')
        self._ca('ca2', 'mailpipe untrusted CA')
        self._leaf('good', 'ca', 'localhost', 'DNS:localhost,IP:127.0.0.1')
        self._leaf('wronghost', 'ca', 'wrong.example', 'DNS:wrong.example')
        self._leaf('untrusted', 'ca2', 'localhost', 'DNS:localhost,IP:127.0.0.1')
        self._leaf('client', 'ca', 'alice', 'DNS:alice.client.test', 'clientAuth')
        os.chmod(self.path('client', 'key'), 0o600)

    def server_context(self, cert, ccert=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.path(cert), self.path(cert, 'key'))
        if ccert:                       # a client certificate of our CA required
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(self.path('ca'))
        return ctx


# ---------------------------------------------------------------- connection

class Conn:
    """The server's end: a socket (later an SSLSocket) and a read buffer."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buf = b''
        self.eof = False
        self.gone = False       # a send failed: the client is no longer there
        self.tls = False
        self.replayed = False   # the buffer starts with a line given back by C?
        self.answered = False   # the server spoke since the client's last line
        self.round_trips = 0    # times the client waited for the server (see README)

    def fill(self):
        """Reads more; False at EOF.  Raises StepFailed on a silent client."""
        if self.eof:
            return False
        self.sock.settimeout(self.timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise StepFailed('client sent nothing for %g s' % self.timeout) from None
        except (ConnectionError, ssl.SSLError, OSError):
            data = b''
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self):
        """One line with its terminator, or the partial tail at EOF (b'' = EOF)."""
        while b'\n' not in self.buf:
            if len(self.buf) > MAX_CLIENT_LINE:
                raise StepFailed('client line longer than %d bytes: %s'
                                 % (MAX_CLIENT_LINE, show(self.buf)))
            if not self.fill():
                line, self.buf = self.buf, b''
                return line
        line, _, self.buf = self.buf.partition(b'\n')
        return line + b'\n'

    def unread(self, line):
        self.buf = line + self.buf

    def send(self, data):
        self.answered = True
        if self.gone:
            return False
        self.sock.settimeout(self.timeout)
        try:
            self.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            self.gone = True
            return False

    def close(self, rst=False):
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- the server

class Server:
    """Runs the scenario's steps in a thread; records what happened."""

    def __init__(self, sc, pki, listener, client_done):
        self.sc = sc
        self.pki = pki
        self.listener = listener
        self.client_done = client_done
        self.transcript = []            # display lines
        self.received = []              # every client line, decoded, without CRLF
        self.failure = None
        self.body = None
        self.step_no = 0

    def note(self, text):
        self.transcript.append(text)

    def fail(self, step, text):
        raise StepFailed('step %d (%s) `%s`: %s' % (self.step_no, step.where,
                                                    step.source, text))

    def run(self):
        conn = None
        try:
            conn = self.accept()
            if conn is None:
                if self.sc.headers['connect'] == 'yes':
                    self.failure = 'the client never connected'
                return
            self.conn = conn
            for self.step_no, step in enumerate(self.sc.steps, 1):
                try:
                    getattr(self, 'do_' + step.kind.replace('-', '_'))(step)
                except StepFailed as e:
                    if str(e).startswith('step '):
                        raise
                    self.fail(step, str(e))
        except StepFailed as e:
            self.failure = str(e)
        except Exception as e:          # a bug here must not look like a pass
            self.failure = 'fake server crashed: %r' % e
        finally:
            if conn is not None:
                conn.close()

    def accept(self):
        self.listener.settimeout(0.1)
        limit = time.monotonic() + self.sc.server_timeout
        while time.monotonic() < limit:
            done = self.client_done.is_set()
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                if done:
                    return None
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.note('-- client connected')
            if self.sc.headers['connect'] == 'no':
                raise StepFailed('the client connected although it should not have')
            return Conn(sock, self.sc.server_timeout)
        raise StepFailed('the client did not connect within %g s' % self.sc.server_timeout)

    def tag(self, who):
        return '%s%s' % (who, '~' if self.conn.tls else ':')

    # -- steps

    def do_send(self, step):
        self.note('%s %s' % (self.tag('S'), show(step.data)))
        if not step.split:
            ok = self.conn.send(step.data)
        else:
            ok = True
            for i in range(len(step.data)):
                ok = ok and self.conn.send(step.data[i:i + 1])
                time.sleep(self.sc.split_delay)
        if not ok:
            self.note('-- send failed: the client has gone')

    def read_client_line(self, step):
        conn = self.conn
        early = b'\n' in conn.buf and not conn.replayed   # sent before our reply
        conn.replayed = False
        if not conn.tls and not conn.buf:
            conn.fill()
        if not conn.tls and conn.buf.startswith(b'\x16\x03'):
            self.note('%s %s' % (self.tag('C'), show(conn.buf, 48)))
            self.fail(step, 'the client started a TLS handshake here (a ClientHello)')
        raw = conn.readline()
        if not raw:
            return None
        if not raw.endswith(b'\r\n'):
            self.note('%s %s' % (self.tag('C'), show(raw)))
            what = 'ends without CRLF' if raw.endswith(b'\n') else 'was cut by EOF'
            self.fail(step, 'client line %s: %s' % (what, show(raw)))
        line = as_text(raw[:-2])
        self.received.append(line)
        self.note('%s %s%s' % (self.tag('C'), show(raw[:-2]), '   (pipelined)' if early else ''))
        self.count_round_trip(early)
        if getattr(step, 'pipelined', None) not in (None, early):
            self.fail(step, 'the client sent this line %s' % (
                'only after our previous reply, not pipelined' if step.pipelined else
                'before our previous reply (pipelined where it must wait)'))
        return line

    def count_round_trip(self, early):
        """A client line (or body) that came after the server spoke, and not
        in the same read as the one before: the client waited for us."""
        if self.conn.answered and not early:
            self.conn.round_trips += 1
        self.conn.answered = False

    def do_expect(self, step):
        line = self.read_client_line(step)
        if line is not None and step.matcher.fullmatch(line):
            return
        if step.optional:
            if line is not None:        # not this one: leave it for the next step
                self.received.pop()
                self.transcript.pop()
                self.conn.unread(line.encode('utf-8', 'surrogateescape') + b'\r\n')
                self.conn.replayed = True
            return
        got = 'end of connection' if line is None else show(line)
        self.fail(step, 'expected client line\n      want: %s\n      got:  %s'
                  % (step.text, got))

    def do_eof(self, step):
        while True:
            line = self.read_client_line(step)
            if line is None:
                self.note('-- client closed the connection')
                return
            if not self.apply_rule(line):
                self.fail(step, 'expected the client to close the connection\n'
                          '      got:  %s' % show(line))

    def do_until(self, step):
        while True:
            line = self.read_client_line(step)
            if line is None:
                self.fail(step, 'the connection ended before that line came')
            if step.matcher.fullmatch(line):
                return
            if not self.apply_rule(line):
                self.fail(step, 'no ON rule answers this line on the way\n'
                          '      got:  %s' % show(line))

    def apply_rule(self, line):
        for regex, reply, _ in self.sc.rules:
            if regex.fullmatch(line):
                for one in reply.split(b'\r\n')[:-1]:
                    self.note('%s %s' % (self.tag('S'), show(one + b'\r\n')))
                self.conn.send(reply)
                return True
        return False

    def do_tls(self, step):
        if self.conn.buf:
            self.fail(step, 'client sent bytes before the TLS handshake: %s'
                      % show(self.conn.buf))
        ctx = self.pki.server_context(step.cert, step.ccert)
        self.count_round_trip(False)    # the ClientHello, after our go-ahead
        raw = self.conn.sock
        raw.settimeout(self.sc.server_timeout)
        tls = ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        self.conn.sock = tls
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as e:
            self.note('-- TLS handshake with %s certificate failed: %s' % (step.cert, e))
            if step.rejected:
                self.refuse_plaintext_after(step, tls)
                self.conn.eof = True
                return
            self.fail(step, 'TLS handshake failed: %s' % e)
        self.conn.tls = True
        self.note('-- TLS handshake done (%s certificate, %s)' % (step.cert, tls.version()))
        self.conn.round_trips += 1      # TLS 1.3: the client's one wait inside it
        self.conn.answered = False
        if step.ccert:
            subject = dict(x[0] for x in tls.getpeercert()['subject'])
            self.note('-- client certificate: CN=%s' % subject.get('commonName'))
        if step.rejected:               # the client may check after the handshake,
            data = b''                  # but it must then say nothing over it
            try:
                tls.settimeout(self.sc.server_timeout)
                data = tls.recv(65536)
            except (OSError, ssl.SSLError):
                pass
            if data:
                self.fail(step, 'client accepted the %s certificate and sent: %s'
                          % (step.cert, show(data)))
            self.conn.eof = True

    def refuse_plaintext_after(self, step, tls):
        """After a failed handshake nothing may follow in plaintext (not even
        QUIT): read until the client hangs up; TLS records (alerts) are fine."""
        data, end = b'', time.monotonic() + min(self.sc.server_timeout, 5)
        while time.monotonic() < end:
            ready, _, _ = select.select([tls.fileno()], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                break
            try:
                chunk = os.read(tls.fileno(), 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        if data and data[0] not in (0x14, 0x15, 0x16, 0x17):
            self.fail(step, 'client sent plaintext after the failed handshake: %s' % show(data))

    def scram_send(self, step, data):
        prefix = b'334 ' if step.proto == 'smtp' else b'+ '
        self.do_send(Step('send', step.where, step.source, split=False,
                          data=prefix + base64.b64encode(data) + b'\r\n'))

    def scram_read(self, step):
        line = self.read_client_line(step)
        if line is None:
            self.fail(step, 'the connection ended in the SCRAM exchange')
        try:
            return base64.b64decode(line, validate=True)
        except ValueError:
            self.fail(step, 'SCRAM: the client line is not base64: %s' % show(line))

    def do_scram(self, step):
        """AUTH SCRAM-SHA-256 (with its initial response or after a
        go-ahead), the server-first message, and unless told to stop there,
        the client's proof checked and the server-final message sent."""
        line = self.read_client_line(step)
        m = re.fullmatch(r'AUTH SCRAM-SHA-256(?: (\S+))?', line or '')
        if not m:
            self.fail(step, 'expected AUTH SCRAM-SHA-256, got %s' % show(line or 'EOF'))
        if m.group(1) is None:
            self.scram_send(step, b'')
        first = base64.b64decode(m.group(1)) if m.group(1) else self.scram_read(step)
        try:
            ex = scramserver.Exchange(first, 's3cret-Pa55', step.iterations, step.foreign)
            self.scram_send(step, ex.server_first)
            if step.stop:
                return
            self.scram_send(step, ex.final(self.scram_read(step), step.bad))
        except ValueError as e:
            self.fail(step, 'SCRAM: %s' % e)

    def do_huge(self, step):
        self.note('%s %s<%d x>\\r\\n' % (self.tag('S'), show(step.prefix), step.size))
        if not self.conn.send(step.prefix):
            return
        chunk, left = b'x' * 65536, step.size
        while left > 0:
            if not self.conn.send(chunk[:min(left, len(chunk))]):
                self.note('-- client stopped reading after %d of %d bytes'
                          % (step.size - left, step.size))
                return
            left -= min(left, len(chunk))
        self.conn.send(b'\r\n')

    def do_lines(self, step):
        """COUNT lines of PREFIX ({n} is the line number) + SIZE x, streamed."""
        self.note('%s %d lines: %s<%d x>\\r\\n' % (self.tag('S'), step.count,
                                                    show(unescape(step.prefix)), step.size))
        filler, chunk = b'x' * step.size + b'\r\n', []
        for n in range(1, step.count + 1):
            chunk.append(unescape(step.prefix.replace('{n}', str(n))) + filler)
            if len(chunk) * len(filler) >= 65536 or n == step.count:
                if not self.conn.send(b''.join(chunk)):
                    self.note('-- client stopped reading after %d of %d lines'
                              % (n - len(chunk), step.count))
                    return
                chunk = []

    def do_accept(self, step):
        """The client's next connection (another account, a retry)."""
        self.conn.close()
        self.note('-- connection closed, waiting for the next one')
        self.conn = self.accept()

    def do_sleep(self, step):
        self.note('-- sleeping %g s' % step.seconds)
        self.client_done.wait(step.seconds)

    def do_close(self, step):
        self.note('-- server closes the connection%s' % (' (RST)' if step.rst else ''))
        self.conn.close(step.rst)
        self.conn.eof = self.conn.gone = True

    def do_body(self, step):
        """Reads a dot-terminated block (SMTP DATA) and keeps its wire bytes."""
        if self.conn.buf:
            self.note('%s| %s' % (self.tag('C'), show(self.conn.buf)))
            self.fail(step, 'the client sent the body before the 354 go-ahead')
        self.count_round_trip(False)
        lines = []
        while True:
            raw = self.conn.readline()
            if not raw:
                self.note_body(lines)
                self.fail(step, 'connection ended inside the DATA body after %d lines'
                          % len(lines))
            if not raw.endswith(b'\r\n'):
                self.note_body(lines + [raw])
                self.fail(step, 'body line %d does not end with CRLF: %s'
                          % (len(lines) + 1, show(raw)))
            if raw == b'.\r\n':
                break
            lines.append(raw)
        self.body = b''.join(lines)
        self.note_body(lines)
        self.note('%s .' % self.tag('C'))
        self.received.append('.')

    def note_body(self, lines):
        for raw in lines[:SHOW_BODY_LINES]:
            self.note('%s| %s' % (self.tag('C'), show(raw)))
        if len(lines) > SHOW_BODY_LINES:
            self.note('%s| ... %d more lines, %d bytes in all'
                      % (self.tag('C'), len(lines) - SHOW_BODY_LINES, sum(map(len, lines))))

    def need_body(self, step):
        if self.body is None:
            self.fail(step, 'no BODY has been read')
        return self.body

    def do_body_text(self, step):
        body = self.need_body(step)
        head, sep, text = body.partition(b'\r\n\r\n')
        if not sep:
            self.fail(step, 'the message has no empty line after its header')
        if text != step.data:
            self.fail(step, 'message body differs\n' + diff_lines(step.data, text))

    def do_body_has(self, step):
        if not step.regex.search(as_text(self.need_body(step))):
            self.fail(step, 'no match in the DATA body')

    def do_body_not(self, step):
        m = step.regex.search(as_text(self.need_body(step)))
        if m:
            self.fail(step, 'the DATA body contains %s' % show(m.group(0)))

    def do_body_7bit(self, step):
        body = self.need_body(step)
        for n, line in enumerate(body.split(b'\r\n'), 1):
            if any(b >= 0x80 for b in line):
                self.fail(step, 'line %d has 8-bit bytes: %s' % (n, show(line)))

    def do_body_maxline(self, step):
        for n, line in enumerate(self.need_body(step).split(b'\r\n'), 1):
            if len(line) > step.limit:
                self.fail(step, 'line %d is %d octets long: %s' % (n, len(line), show(line)))

    def do_body_size(self, step):
        """RFC 1870 section 4: the SIZE= of the last MAIL FROM is the message
        size: the octets sent after the 354, each CRLF as two, but neither the
        final dot line nor the dots added by stuffing."""
        body = self.need_body(step)
        mails = [l for l in self.received if l.upper().startswith('MAIL FROM:')]
        m = re.search(r'(?i) SIZE=(\d+)(?: |$)', mails[-1]) if mails else None
        if not m:
            self.fail(step, 'the last MAIL FROM declared no SIZE=: %s'
                      % show(mails[-1] if mails else 'no MAIL FROM'))
        stuffed = sum(1 for l in body.split(b'\r\n') if l.startswith(b'.'))
        if int(m.group(1)) != len(body) - stuffed:
            self.fail(step, 'SIZE=%s declared, but the message is %d octets (%d on the '
                      'wire, %d stuffing dots)' % (m.group(1), len(body) - stuffed,
                                                   len(body), stuffed))


def diff_lines(want, got):
    """A short unified-style diff of two CRLF texts."""
    a = [show(l) for l in want.split(b'\r\n')]
    b = [show(l) for l in got.split(b'\r\n')]
    out = list(difflib.unified_diff(a, b, 'expected', 'received', lineterm='', n=2))
    if len(out) > 40:
        out = out[:40] + ['... (%d more diff lines)' % (len(out) - 40)]
    return '\n'.join('      ' + l for l in out)


# ---------------------------------------------------------------- the client

class Client:
    """Runs the client once: stdin fed from a thread, output kept, peak RSS taken.

    Peak RSS: ru_maxrss of our own child is useless, since it counts the copy
    of this Python process the child was before exec.  When asked to measure
    (rss_file set) the client runs under GNU time, whose fork is small; else
    VmHWM is sampled, which may miss a peak just before exit (never too high).
    """

    def __init__(self, argv, env, stdin, timeout, rss_file=None, stdout_to=None):
        self.argv, self.env, self.stdin, self.timeout = argv, env, stdin, timeout
        self.rss_file = rss_file
        self.stdout_to = stdout_to      # a path (/dev/full) instead of the pipe
        self.status = None
        self.elapsed = None
        self.maxrss_kb = None
        self.rss_how = 'sampled'
        self.killed = False
        self.out = {'stdout': b'', 'stderr': b''}
        self.total = {'stdout': 0, 'stderr': 0}     # bytes written, kept or not

    def run(self, done):
        argv = self.argv
        gnu_time = shutil.which('time', path='/usr/bin:/bin')
        if self.rss_file and gnu_time:
            argv = [gnu_time, '-f', '%M', '-o', self.rss_file, '--'] + argv
        start = time.monotonic()
        out = open(self.stdout_to, 'wb') if self.stdout_to else subprocess.PIPE
        p = subprocess.Popen(argv, env=self.env, stdin=subprocess.PIPE,
                             stdout=out, stderr=subprocess.PIPE,
                             start_new_session=True)
        if self.stdout_to:
            out.close()
        threads = [threading.Thread(target=self.feed, args=(p.stdin,), daemon=True)]
        for name in ('stdout', 'stderr') if not self.stdout_to else ('stderr',):
            threads.append(threading.Thread(target=self.drain, args=(name, getattr(p, name)),
                                            daemon=True))
        for t in threads:
            t.start()
        sampled = 0
        while True:
            pid, status, _ = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            sampled = max(sampled, vm_hwm_kb(p.pid))
            if time.monotonic() - start > self.timeout and not self.killed:
                self.killed = True
                os.killpg(p.pid, 9)
            time.sleep(0.002)
        p.returncode = os.waitstatus_to_exitcode(status)
        self.elapsed = time.monotonic() - start
        self.status, self.maxrss_kb = p.returncode, sampled or None
        if argv is not self.argv:
            self.read_gnu_time()
        done.set()
        for t in threads[1:]:
            t.join(5)

    def read_gnu_time(self):
        """`time -o` holds "Command ... signal N" or "... status N", then %M."""
        try:
            with open(self.rss_file) as f:
                lines = f.read().split('\n')
        except OSError:
            return
        for line in lines:
            m = re.match(r'Command terminated by signal (\d+)', line)
            if m:
                self.status = -int(m.group(1))
            elif re.fullmatch(r'\d+', line.strip()):
                self.maxrss_kb, self.rss_how = int(line), 'GNU time'

    def feed(self, pipe):
        try:
            pipe.write(self.stdin)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def drain(self, name, pipe):
        while True:
            data = pipe.read1(65536)
            if not data:
                break
            self.total[name] += len(data)
            if len(self.out[name]) < KEEP_OUTPUT:
                self.out[name] += data[:KEEP_OUTPUT - len(self.out[name])]


def vm_hwm_kb(pid):
    """The peak RSS of a running process so far (0 when unknown)."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# ---------------------------------------------------------------- checks

def looks_sanitized(path):
    """ASan maps gigabytes of shadow memory: RSS limits mean nothing there."""
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


def check_maildir(sc, maildir, problems):
    for key, sub in (('maildir-new', 'new'), ('maildir-tmp', 'tmp'), ('maildir-cur', 'cur')):
        d = os.path.join(maildir, sub)
        files = sorted(os.listdir(d)) if os.path.isdir(d) else []
        for want in sc.multi[key]:
            if len(files) != int(want):
                problems.append('%s/ holds %d files, expected %s: %s'
                                % (sub, len(files), want, ', '.join(files[:5])))
    contents = []
    for sub in ('new', 'cur'):
        d = os.path.join(maildir, sub)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, name), 'rb') as f:
                contents.append(f.read())
    for want in sc.multi['maildir-file']:
        data = want.encode()
        if data in contents:
            contents.remove(data)
        else:
            problems.append('no Maildir file holds exactly:\n%s' % ''.join(
                '      | %s\n' % show(l) for l in data.split(b'\n')[:20]).rstrip())
    sums = [hashlib.sha256(c).hexdigest() for c in contents]
    for want in sc.multi['maildir-sha256']:
        if want.lower() in sums:
            sums.remove(want.lower())
        else:
            problems.append('no Maildir file has SHA-256 %s (sizes: %s)'
                            % (want, ', '.join(str(len(c)) for c in contents) or 'no files'))


# What `@DATE@` stands for in `mbox-file:`: the asctime() date of a From line.
MBOX_DATE = r'(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4}'


def check_mbox(sc, subst, problems):
    """mbox-file: @DIR@/mbox holds exactly the here-document, @DATE@ standing
    for any date of a "From " line."""
    for want in sc.multi['mbox-file']:
        try:
            with open(subst('@DIR@/mbox'), 'rb') as f:
                have = f.read().decode('latin-1')
        except OSError as e:
            problems.append('mbox: %s' % e)
            continue
        rx = re.escape(want).replace(re.escape('@DATE@'), MBOX_DATE)
        if not re.fullmatch(rx, have):
            problems.append('the mbox does not hold what mbox-file says; it holds:\n%s' %
                            ''.join('      | %s\n' % show(l.encode('latin-1'))
                                    for l in have.split('\n')[:40]).rstrip())


def event_log(eventlogparse, path):
    """The event log's lines as dicts of their fields, or [] without one."""
    if not os.path.exists(path):
        return []
    events = []
    with open(path, newline='') as f:
        for line in f:
            fields = eventlogparse.parse_file_line(line)[3]
            eventlogparse.check_keys(fields)
            events.append(fields)
    return events


def check_report(sc, subst, problems):
    """report-check: the client's --report @DIR@/report.json must be valid
    (test/reportschema.py) and each Python expression true over it: r the
    document, a its first account, text its bytes, events the lines of an
    event log @DIR@/events.log (`log =`) as dicts, each checked for its keys
    (test/eventlogparse.py); [] when there is none."""
    if not sc.multi['report-check']:
        return
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    import reportschema
    import eventlogparse
    try:
        doc = reportschema.load(subst('@DIR@/report.json'))
        events = event_log(eventlogparse, subst('@DIR@/events.log'))
    except (OSError, ValueError) as e:
        problems.append('report: %s' % e)
        return
    problems.extend('report: ' + p for p in reportschema.validate(doc))
    for expr in sc.multi['report-check']:
        try:
            good = eval(expr, {'r': doc, 'a': (doc.get('accounts') or [{}])[0],
                               'text': open(subst('@DIR@/report.json'), 'rb').read(),
                               'events': events})
        except Exception as e:      # a wrong path in the check is its failure
            good = False
            expr += ' (%s: %s)' % (type(e).__name__, e)
        if not good:
            problems.append('report-check false: %s' % expr)
    if problems:
        problems.append('report was: ' + json.dumps(doc))


def check(sc, client, server, client_path, maildir, subst, lmtp=None):
    problems = []
    for path in sc.multi['path-absent']:
        if os.path.lexists(subst(path)):
            problems.append('%s exists, it should not' % subst(path))
    if client.killed:
        problems.append('client did not finish within %g s and was killed' % sc.timeout)
    elif client.status != sc.exit:
        problems.append('exit status: expected %d, got %d' % (sc.exit, client.status))
    if 'max-time' in sc.headers and client.elapsed > float(sc.headers['max-time']) * TIME_SCALE:
        problems.append('client took %.1f s, more than max-time %s s (x %g)'
                        % (client.elapsed, sc.headers['max-time'], TIME_SCALE))
    if 'max-rss-kb' in sc.headers and not os.environ.get('FAKE_NO_RSS_CHECK') \
            and not looks_sanitized(client_path):
        if (client.maxrss_kb or 0) > int(sc.headers['max-rss-kb']):
            problems.append('client peak RSS %d kB (%s), more than max-rss-kb %s'
                            % (client.maxrss_kb, client.rss_how, sc.headers['max-rss-kb']))
    stderr = as_text(client.out['stderr'])
    # @PORT@, @FP_UNTRUSTED_COLON@ etc. are known only now (regex-safe text).
    for rx in map(subst, sc.multi['stderr']):
        if not re.search(rx, stderr, re.M):
            problems.append('stderr should match /%s/ but does not' % rx)
    for rx in map(subst, sc.multi['stderr-not']):
        m = re.search(rx, stderr, re.M)
        if m:
            problems.append('stderr must not match /%s/ but contains %s' % (rx, show(m.group(0))))
    m = SANITIZER_REPORT.search(stderr)
    if m:
        problems.append('sanitizer report on stderr: %s' % show(stderr[m.start():].split('\n')[0]))
    if 'stderr-max-bytes' in sc.headers and \
            client.total['stderr'] > int(sc.headers['stderr-max-bytes']):
        problems.append('stderr holds %d bytes, more than stderr-max-bytes %s'
                        % (client.total['stderr'], sc.headers['stderr-max-bytes']))
    if sc.headers.get('stderr-empty') == 'yes' and stderr:
        problems.append('stderr should be empty')
    stdout = as_text(client.out['stdout'])
    for rx in map(subst, sc.multi['stdout']):
        if not re.search(rx, stdout, re.M):
            problems.append('stdout should match /%s/ but does not' % rx)
    for rx in map(subst, sc.multi['stdout-not']):
        m = re.search(rx, stdout, re.M)
        if m:
            problems.append('stdout must not match /%s/ but contains %s' % (rx, show(m.group(0))))
    if sc.headers.get('stdout-empty') == 'yes' and stdout:
        problems.append('stdout should be empty')
    if server.failure:
        problems.append('server: ' + server.failure)
    check_round_trips(sc, server, problems)
    received = '\n'.join(server.received)
    for rx in sc.multi['received']:
        if not re.search(rx, received, re.M):
            problems.append('the server should have received /%s/ but did not' % rx)
    for rx in sc.multi['received-not']:
        m = re.search(rx, received, re.M)
        if m:
            problems.append('the server received /%s/: %s' % (rx, show(m.group(0))))
    check_maildir(sc, maildir, problems)
    check_mbox(sc, subst, problems)
    check_report(sc, subst, problems)
    check_lmtp(sc, lmtp, problems)
    return problems


def check_round_trips(sc, server, problems):
    conn = getattr(server, 'conn', None)
    got = conn.round_trips if conn is not None else 0
    server.note('-- round trips the client waited for: %d' % got)
    if 'round-trips' in sc.headers and got != int(sc.headers['round-trips']):
        problems.append('the client waited for the server %d times, round-trips says %s'
                        % (got, sc.headers['round-trips']))


def check_lmtp(sc, lmtp, problems):
    if lmtp is None:
        return
    if lmtp.failure:
        problems.append('LMTP server: ' + lmtp.failure)
    received = '\n'.join(lmtp.received)
    for rx in sc.multi['lmtp-received']:
        if not re.search(rx, received, re.M):
            problems.append('the LMTP server should have received /%s/ but did not' % rx)
    for rx in sc.multi['lmtp-received-not']:
        m = re.search(rx, received, re.M)
        if m:
            problems.append('the LMTP server received /%s/: %s' % (rx, show(m.group(0))))
    if 'lmtp-accepted' in sc.headers and lmtp.accepted != int(sc.headers['lmtp-accepted']):
        problems.append('the LMTP server accepted %d messages, expected %s'
                        % (lmtp.accepted, sc.headers['lmtp-accepted']))
    if problems:
        problems.append('LMTP transcript: ' + ' / '.join(show(l) for l in lmtp.received))


def tail(data, lines=60):
    text = as_text(data).rstrip('\n').split('\n') if data else []
    cut = ['    ... (%d earlier lines)' % (len(text) - lines)] if len(text) > lines else []
    return '\n'.join(cut + ['    ' + show(l, 400) for l in text[-lines:]])


def report(sc, client, server, problems, workdir, verbose, keep):
    status = 'killed' if client.killed else client.status
    if not problems:
        print('PASS %s: exit %s, %d steps, %.1f s, peak RSS %s kB'
              % (sc.name, status, len(sc.steps), client.elapsed, client.maxrss_kb or '?'))
        if not verbose:
            return
    else:
        print('FAIL %s%s' % (sc.name, ' - ' + sc.headers['description']
                             if 'description' in sc.headers else ''))
    for p in problems:
        print('  - ' + p)
    print('--- server transcript (S: sent, C: received, ~ inside TLS, | DATA body)')
    for line in server.transcript or ['(the client never connected)']:
        print('    ' + line)
    print('--- client: exit %s after %.1f s, peak RSS %s kB'
          % (status, client.elapsed, client.maxrss_kb or '?'))
    if client.out['stderr']:
        print('--- client stderr')
        print(tail(client.out['stderr']))
    if client.out['stdout']:
        print('--- client stdout')
        print(tail(client.out['stdout'], 20))
    if problems or keep:
        print('--- files kept in %s' % workdir)


# ---------------------------------------------------------------- main

def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(data)


def client_env(workdir, extra, subst):
    env = dict(os.environ)
    env.pop('MAILPIPE_CONFIG', None)
    for name in ('config', 'state', 'tmp'):
        os.makedirs(os.path.join(workdir, name), exist_ok=True)
    env.update(HOME=workdir, XDG_CONFIG_HOME=os.path.join(workdir, 'config'),
               XDG_STATE_HOME=os.path.join(workdir, 'state'),
               TMPDIR=os.path.join(workdir, 'tmp'), LC_ALL='C')
    for item in extra:
        name, _, value = item.partition('=')
        env[name.strip()] = subst(value.strip())
    return env


def age_state(statedir, rows):
    """`state-age: UIDL SECONDS`: the first retrieval of UIDL in the state
    left by an earlier phase moved to SECONDS before now, as if that run had
    been that long ago (`unknown`: 0, a time the state does not know).  The problems: a UIDL found in no state file."""
    problems = []
    for row in rows:
        uidl, seconds = row.split()
        when = '0' if seconds == 'unknown' else str(int(time.time()) - int(seconds))
        found = False
        for name in sorted(os.listdir(statedir)) if os.path.isdir(statedir) else []:
            if not name.endswith('.state'):
                continue
            path = os.path.join(statedir, name)
            with open(path) as f:
                lines = f.read().split('\n')
            for i, line in enumerate(lines):
                tok = line.split(' ')
                if len(tok) == 6 and tok[0] == uidl:
                    tok[2] = when
                    lines[i] = ' '.join(tok)
                    found = True
            with open(path, 'w') as f:
                f.write('\n'.join(lines))
        if not found:
            problems.append('state-age: no state entry for UIDL %s' % uidl)
    return problems


def state_files(statedir):
    """Each `*.state` in statedir: (inode, mtime in ns, contents)."""
    found = {}
    for name in sorted(os.listdir(statedir)) if os.path.isdir(statedir) else []:
        if name.endswith('.state'):
            path = os.path.join(statedir, name)
            st = os.stat(path)
            with open(path, 'rb') as f:
                found[name] = (st.st_ino, st.st_mtime_ns, f.read())
    return found


def check_state_file(want, before, after):
    """`state-file: unchanged`: every state file an earlier phase left is
    the same file (inode), untouched (mtime) with the same bytes;
    `rewritten`: each was replaced (another inode) or its bytes changed."""
    if want not in ('unchanged', 'rewritten'):
        return ['state-file: expected unchanged or rewritten, not %r' % want]
    if not before:
        return ['state-file: no state file before the run']
    problems = []
    for name, old in sorted(before.items()):
        new = after.get(name)
        same = new is not None and new[0] == old[0] and new[1] == old[1] and new[2] == old[2]
        if want == 'unchanged' and not same:
            problems.append('state-file: %s was rewritten or changed' % name)
        if want == 'rewritten' and same:
            problems.append('state-file: %s was not rewritten' % name)
    return problems


def run_phase(sc, args, workdir, pki, port=0):
    """Runs one scenario in workdir (listening on port, 0: any); its list
    of problems."""
    client_path = os.path.abspath(args.send if sc.headers['client'] == 'send' else args.fetch)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', port))
    sc.port = listener.getsockname()[1]
    listener.listen(4)
    values = {
        'PORT': str(listener.getsockname()[1]), 'CA': pki.path('ca'),
        'UNTRUSTED_CA': pki.path('ca2'), 'DIR': workdir,
        'CONF': os.path.join(workdir, 'mailpipe.ini'),
        'MAILDIR': os.path.join(workdir, 'Maildir'),
        'STATE': os.path.join(workdir, 'state'),
        'FP_GOOD': pki.fingerprint('good'), 'FP_WRONGHOST': pki.fingerprint('wronghost'),
        'FP_UNTRUSTED': pki.fingerprint('untrusted'),
        'CLIENT_CERT': pki.path('client'), 'CLIENT_KEY': pki.path('client', 'key'),
        'PKI': pki.dir,
    }
    for name in ('GOOD', 'WRONGHOST', 'UNTRUSTED'):     # the openssl -fingerprint form
        hexfp = values['FP_' + name].upper()
        values['FP_%s_COLON' % name] = ':'.join(hexfp[i:i + 2] for i in range(0, 64, 2))

    lmtp = None
    if any(k.startswith('lmtp-') for k in list(sc.headers) + [k for k in sc.multi if sc.multi[k]]):
        values['LMTP'] = os.path.join(workdir, 'lmtp.sock')
        lmtp = lmtpfake.LmtpFake(values['LMTP'], sc.multi['lmtp-reply'], sc.timeout)
        lmtp.start()

    def subst(text):
        return re.sub(r'@([A-Z_]+)@', lambda m: values.get(m.group(1), m.group(0)), text)

    if 'config' in sc.headers:
        write_private(values['CONF'], subst(sc.headers['config']).encode())
    aged = age_state(values['STATE'], sc.multi['state-age'])
    if 'setup' in sc.headers:
        done_setup = subprocess.run(['/bin/sh', '-c', subst(sc.headers['setup'])])
        if done_setup.returncode != 0:
            aged.append('setup: exit status %d' % done_setup.returncode)
    if aged:
        print('FAIL %s: %s (files kept in %s)' % (sc.name, '; '.join(aged), workdir))
        return aged
    states_before = state_files(values['STATE'])
    argv = [client_path] + [subst(a) for a in shlex.split(sc.headers.get('args', ''))]
    client = Client(argv, client_env(workdir, sc.multi['env'], subst),
                    sc.stdin_bytes(subst), sc.timeout,
                    os.path.join(workdir, 'rss') if 'max-rss-kb' in sc.headers else None,
                    subst(sc.headers['stdout-to']) if 'stdout-to' in sc.headers else None)

    done = threading.Event()
    server = Server(sc, pki, listener, done)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client.run(done)
    thread.join(10)
    if thread.is_alive():
        server.failure = (server.failure or '') + ' (server script still running)'
    listener.close()
    if lmtp is not None:
        lmtp.stop()

    problems = check(sc, client, server, client_path, values['MAILDIR'], subst, lmtp)
    if 'state-file' in sc.headers:
        problems += check_state_file(sc.headers['state-file'], states_before,
                                     state_files(values['STATE']))
    report(sc, client, server, problems, workdir, args.verbose, args.keep)
    return problems


def load_chain(path):
    """The scenario and those its `then:` headers name, in order."""
    chain = [Scenario(path)]
    while 'then' in chain[-1].headers:
        if len(chain) > 10:
            raise ScenarioError('%s: `then:` chain longer than 10' % chain[0].name)
        chain.append(Scenario(os.path.join(os.path.dirname(chain[-1].path),
                                           chain[-1].headers['then'])))
    return chain


def run(args):
    try:
        chain = load_chain(args.scenario)
    except (ScenarioError, OSError, ValueError, re.error) as e:
        print('FAIL %s: bad scenario: %s' % (os.path.basename(args.scenario), e))
        return EXIT_FAIL
    for sc in chain:
        client_path = args.send if sc.headers['client'] == 'send' else args.fetch
        if not client_path or not os.access(client_path, os.X_OK):
            print('SKIP %s: no mailpipe-%s to run (--%s)' % (sc.name, sc.headers['client'],
                                                            sc.headers['client']))
            return EXIT_SKIP
    if not shutil.which('openssl'):
        print('SKIP %s: the openssl command is needed for the test PKI' % chain[0].name)
        return EXIT_SKIP
    # The scenarios of a chain share one temp dir: what one run leaves
    # (a queue, a state) is what the next one finds.
    workdir = tempfile.mkdtemp(prefix='fake-%s-' % chain[0].name.replace('.scenario', ''))
    pki = PKI(args.pki_dir or os.path.join(workdir, 'pki'))
    for before, sc in zip([None] + chain, chain):
        if before is not None and 'config' not in sc.headers and 'config' in before.headers:
            sc.headers['config'] = before.headers['config']     # with this one's @PORT@
        # `same-port: yes`: the server of the phase before, as the state
        # recorded it (a state that names another server is rewritten).
        port = before.port if before is not None and sc.headers.get('same-port') == 'yes' else 0
        if run_phase(sc, args, workdir, pki, port):
            return EXIT_FAIL
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return EXIT_PASS


def main():
    ap = argparse.ArgumentParser(description='Run one fake-server scenario.')
    ap.add_argument('scenario', help='a .scenario file')
    ap.add_argument('--send', help='path of mailpipe-send')
    ap.add_argument('--fetch', help='path of mailpipe-fetch')
    ap.add_argument('--pki-dir', help='cache the test certificates here (default: per run)')
    ap.add_argument('--keep', action='store_true', help='keep the temp dir even on success')
    ap.add_argument('-v', '--verbose', action='store_true',
                    help='show the transcript and client output even on success')
    sys.exit(run(ap.parse_args()))


if __name__ == '__main__':
    main()
