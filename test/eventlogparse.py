#!/usr/bin/env python3
"""The event log's line format (mailpipe-send(1), mailpipe-fetch(1),
LOGGING), parsed strictly with the standard library: a line that does not
follow it exactly raises ValueError.

    from eventlogparse import parse_file_line, parse_pairs
    when, ident, pid, fields = parse_file_line(line)   # a line of a log file
    fields = parse_pairs(text)                          # a syslog message

fields is a dict in line order; an absent value ("-") is None; quoted
values are unescaped (\\" \\\\ \\xHH, the last giving back the byte).
"""
import re

FILE_LINE = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (mailpipe-(?:send|fetch))\[(\d+)\] (.*)\n$')
PAIR = re.compile(r' ?([a-z_]+)=("(?:[^"\\]|\\["\\]|\\x[0-9a-f]{2})*"|[A-Za-z0-9@._:/+,-]+)')
BARE = re.compile(r'^[A-Za-z0-9@._:/+,-]+$')


def unquote(value):
    if not value.startswith('"'):
        return None if value == '-' else value
    out, s, i = bytearray(), value[1:-1], 0
    while i < len(s):
        if s[i] == '\\' and s[i + 1] == 'x':
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif s[i] == '\\':
            out += s[i + 1].encode()
            i += 2
        else:
            out += s[i].encode()
            i += 1
    return out.decode('utf-8', 'surrogateescape')


def parse_pairs(text):
    fields, at = {}, 0
    while at < len(text):
        m = PAIR.match(text, at)
        if m is None or (at == 0) != (m.group(0)[0] != ' '):
            raise ValueError('bad pair at %d in %r' % (at, text))
        if m.group(1) in fields:
            raise ValueError('key %s twice in %r' % (m.group(1), text))
        if m.group(2).startswith('"') and BARE.match(m.group(2)[1:-1]) and m.group(2) != '"-"':
            raise ValueError('%s quoted though it need not be: %r' % (m.group(1), text))
        fields[m.group(1)] = unquote(m.group(2))
        at = m.end()
    if list(fields)[:1] != ['event']:
        raise ValueError('no event= first in %r' % text)
    return fields


def parse_file_line(line):
    m = FILE_LINE.match(line)
    if m is None:
        raise ValueError('not a log line: %r' % line)
    return m.group(1), m.group(2), int(m.group(3)), parse_pairs(m.group(4))


# The keys of each event, in order (the man pages' LOGGING sections).
KEYS = {
    'send': ['event', 'account', 'host', 'from', 'rcpts', 'size', 'result', 'reply', 'exit'],
    'fetch': ['event', 'account', 'host', 'retrieved', 'skipped', 'deleted', 'failed',
              'bytes', 'seconds', 'exit'],
    'oversized': ['event', 'account', 'number', 'uidl', 'size'],
}
for _e in ('queued', 'held', 'deferred', 'delivered', 'failed', 'deleted'):
    KEYS[_e] = ['event', 'id', 'account', 'from', 'to', 'reason']


def check_keys(fields):
    """Raises ValueError unless fields has exactly its event's keys."""
    want = KEYS.get(fields.get('event'))
    if want != list(fields):
        raise ValueError('keys %s, expected %s' % (list(fields), want))
