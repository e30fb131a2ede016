#!/usr/bin/env python3
"""Mints an OAuth 2.0 access token as the stack's Dovecot validates it
locally: a JWT signed with HS256 under the key scripts/stack-start made
(OAUTH2_KEY_FILE, base64).  Python's standard library only.

    jwt-mint.py KEYFILE SUB [--expires-in SECONDS] [--scope SCOPE]

A negative --expires-in makes a token that has already expired."""

import argparse
import base64
import hashlib
import hmac
import json
import time


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=')


def mint(key, claims):
    header = b64url(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())
    body = b64url(json.dumps(claims, separators=(',', ':')).encode())
    signed = header + b'.' + body
    signature = hmac.new(key, signed, hashlib.sha256).digest()
    return (signed + b'.' + b64url(signature)).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('keyfile')
    ap.add_argument('sub')
    ap.add_argument('--expires-in', type=int, default=600)
    ap.add_argument('--scope', default='mail')
    args = ap.parse_args()
    with open(args.keyfile, 'rb') as f:
        key = base64.b64decode(f.read().strip(), validate=True)
    now = int(time.time())
    issued = min(now, now + args.expires_in - 60)
    print(mint(key, {'sub': args.sub, 'iat': issued, 'exp': now + args.expires_in,
                     'scope': args.scope}))


if __name__ == '__main__':
    main()
