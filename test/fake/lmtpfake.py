"""A scripted LMTP server (RFC 2033) on a Unix socket, for the fake
scenarios of `deliver = lmtp`: it runs beside the scenario's POP3 server.
It answers LHLO, MAIL, RCPT, RSET and QUIT with success, reads each DATA
body up to its dot (every line must end in CRLF), and answers the dot with
the scenario's `lmtp-reply:` lines in order (one per message; 250 when
they run out; CLOSE hangs up instead of answering; DELAY SECS REPLY
answers REPLY after SECS seconds, or not at all when the client hangs up
meanwhile).  What it received is kept for `lmtp-received:` checks:
commands as sent, body lines prefixed with "| " (still dot-stuffed)."""

import os
import select
import socket
import threading
import time

DEFAULT_REPLY = '250 2.0.0 <fake> delivered'
MAX_LINE = 1 << 20


class LmtpFake:
    def __init__(self, path, replies, timeout):
        self.path = path
        self.replies = list(replies)
        self.received = []
        self.accepted = 0
        self.failure = None
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(10)
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(self.timeout)
                try:
                    self._session(conn.makefile('rb'), conn)
                except (OSError, ValueError) as e:
                    self.failure = self.failure or 'LMTP session: %s' % e

    def _line(self, f):
        line = f.readline(MAX_LINE)
        if not line:
            return None
        if not line.endswith(b'\r\n'):
            raise ValueError('a line not ending in CRLF: %r' % line[:80])
        return line[:-2].decode('utf-8', 'replace')

    def _body(self, f):
        while True:
            line = self._line(f)
            if line is None:
                raise ValueError('the client hung up inside DATA')
            if line == '.':
                return
            self.received.append('| ' + line)

    def _delay(self, reply, conn):
        """DELAY SECS REPLY: REPLY once SECS passed, or None when the client
        hung up (or spoke) first, as one that gave up waiting does."""
        _, secs, reply = reply.split(' ', 2)
        end = time.monotonic() + float(secs)
        while time.monotonic() < end:
            readable, _, _ = select.select([conn], [], [], max(0, min(0.1, end - time.monotonic())))
            if readable:
                self.received.append('(the client hung up before the reply)')
                return None
        return reply

    def _session(self, f, conn):
        conn.sendall(b'220 fake.example LMTP ready\r\n')
        while True:
            line = self._line(f)
            if line is None:
                return
            self.received.append(line)
            verb = line.split(' ', 1)[0].split(':', 1)[0].upper()
            if verb == 'DATA':
                conn.sendall(b'354 go ahead\r\n')
                self._body(f)
                reply = self.replies.pop(0) if self.replies else DEFAULT_REPLY
                if reply.startswith('DELAY '):
                    reply = self._delay(reply, conn)
                if reply is None or reply == 'CLOSE':
                    return
                self.accepted += reply.startswith('2')
                conn.sendall(reply.encode() + b'\r\n')
            elif verb == 'QUIT':
                conn.sendall(b'221 bye\r\n')
                return
            elif verb in ('LHLO', 'MAIL', 'RCPT', 'RSET'):
                conn.sendall(b'250 ok\r\n')
            else:
                conn.sendall(b'500 unknown command\r\n')
