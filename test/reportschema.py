#!/usr/bin/env python3
"""The schema of the --report document ("report": 1), as the man pages
mailpipe-send(1) and mailpipe-fetch(1) describe it (REPORT), checked with
the standard library only.

    reportschema.py FILE        # exit 0 when FILE is a valid report, else 1
    from reportschema import validate; problems = validate(doc)

Every member is required and has exactly the type listed; no other member
may appear, so a change of the format must change this file and the man
pages together (and "report" with it when it is not compatible).
"""
import json
import re
import sys

STR, INT, NUM, NULLSTR, NULLINT = 'string', 'integer', 'number', 'string|null', 'integer|null'
TIME = 'time'

TOP = {'report': INT, 'program': STR, 'version': STR, 'exit_code': INT, 'error': NULLSTR,
       'accounts': list}
ACCOUNT = {'account': STR, 'start': TIME, 'end': TIME, 'seconds': NUM, 'host': NULLSTR,
           'port': NULLINT, 'tls': NULLSTR, 'exit_code': INT, 'class': STR,
           'error': NULLSTR}
FETCH = {'listed': INT, 'new': INT, 'retrieved': INT, 'skipped_max_size': INT,
         'deleted': INT, 'failed': INT, 'bytes': INT, 'waiting': INT,
         'deleted_oversized': list, 'failures': list}
OVERSIZED = {'number': INT, 'uidl': STR, 'size': INT}
FAILURE = {'number': INT, 'uidl': NULLSTR, 'reason': STR}
SEND = {'result': STR, 'from': NULLSTR, 'size': INT, 'recipients': list,
        'final_reply': NULLSTR, 'queue_id': NULLSTR, 'queued_as': NULLSTR,
        'queue_reason': NULLSTR}
RECIPIENT = {'address': STR, 'reply': NULLSTR}
CLASSES = {'ok': 0, 'usage': 64, 'dataerr': 65, 'noinput': 66, 'nouser': 67, 'nohost': 68,
           'unavailable': 69, 'cantcreat': 73, 'ioerr': 74, 'tempfail': 75,
           'protocol': 76, 'noperm': 77, 'config': 78}
RESULTS = {'sent', 'partial', 'queued', 'failed'}
TIME_RX = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')


def type_ok(value, want):
    if want == TIME:
        return isinstance(value, str) and TIME_RX.match(value) is not None
    if want == list:
        return isinstance(value, list)
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return {STR: isinstance(value, str), INT: is_int,
            NUM: is_int or isinstance(value, float),
            NULLSTR: value is None or isinstance(value, str),
            NULLINT: value is None or is_int}[want]


def members(obj, spec, where, problems):
    if not isinstance(obj, dict):
        problems.append('%s: not an object' % where)
        return False
    for key, want in spec.items():
        if key not in obj:
            problems.append('%s: no member "%s"' % (where, key))
        elif not type_ok(obj[key], want):
            problems.append('%s.%s: %r is not %s' % (where, key, obj[key], want))
    return True


def check_items(items, spec, where, problems):
    for i, item in enumerate(items if isinstance(items, list) else []):
        if members(item, spec, '%s[%d]' % (where, i), problems):
            extra = set(item) - set(spec)
            if extra:
                problems.append('%s[%d]: unknown members %s' % (where, i, sorted(extra)))


def check_account(acc, where, program, problems):
    kind = FETCH if program == 'mailpipe-fetch' else SEND
    spec = dict(ACCOUNT, **kind)
    if not members(acc, spec, where, problems):
        return
    extra = set(acc) - set(spec)
    if extra:
        problems.append('%s: unknown members %s' % (where, sorted(extra)))
    if CLASSES.get(acc.get('class')) != acc.get('exit_code'):
        problems.append('%s: class %r does not go with exit_code %r'
                        % (where, acc.get('class'), acc.get('exit_code')))
    if (acc.get('class') == 'ok') != (acc.get('error') is None):
        problems.append('%s: error must be null exactly when class is ok' % where)
    if kind is FETCH:
        check_items(acc.get('failures'), FAILURE, where + '.failures', problems)
        check_items(acc.get('deleted_oversized'), OVERSIZED, where + '.deleted_oversized',
                    problems)
        if isinstance(acc.get('deleted_oversized'), list) and \
                len(acc['deleted_oversized']) > (acc.get('deleted') or 0):
            problems.append('%s: more deleted_oversized than deleted' % where)
        if isinstance(acc.get('failures'), list) and acc.get('failed') != len(acc['failures']):
            problems.append('%s: failed %r but %d failures listed'
                            % (where, acc.get('failed'), len(acc['failures'])))
    else:
        check_items(acc.get('recipients'), RECIPIENT, where + '.recipients', problems)
        if acc.get('result') not in RESULTS:
            problems.append('%s.result: %r' % (where, acc.get('result')))


def validate(doc):
    """A list of problems; empty when doc is a valid report."""
    problems = []
    if not members(doc, TOP, 'report', problems):
        return problems
    extra = set(doc) - set(TOP)
    if extra:
        problems.append('report: unknown members %s' % sorted(extra))
    if doc.get('report') != 1:
        problems.append('report: version %r, expected 1' % doc.get('report'))
    if doc.get('program') not in ('mailpipe-send', 'mailpipe-fetch'):
        problems.append('report.program: %r' % doc.get('program'))
    for i, acc in enumerate(doc.get('accounts') or []):
        check_account(acc, 'accounts[%d]' % i, doc.get('program'), problems)
    return problems


def load(path):
    """The document at path, parsed strictly (no NaN, no duplicate keys)."""
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError('duplicate member in %s' % keys)
        return dict(pairs)

    def no_constant(name):
        raise ValueError('%s is not JSON' % name)
    with open(path, 'rb') as f:
        return json.loads(f.read().decode('utf-8'), object_pairs_hook=no_dupes,
                          parse_constant=no_constant)


if __name__ == '__main__':
    found = validate(load(sys.argv[1]))
    for p in found:
        print(p)
    sys.exit(1 if found else 0)
