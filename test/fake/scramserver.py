"""The server's side of SCRAM-SHA-256 (RFC 5802, RFC 7677) for the fake
server's SCRAM step: Python's own hashlib and hmac, so the client is
checked against an implementation that shares no code with it."""

import base64
import hashlib
import hmac
import os


def _hmac(key, text):
    return hmac.new(key, text, hashlib.sha256).digest()


def parse_client_first(data):
    """b'n,,n=USER,r=NONCE' -> (bare, user, nonce); ValueError if not that."""
    if not data.startswith(b'n,,'):
        raise ValueError('client-first does not begin with the GS2 header n,,: %r' % data)
    bare = data[3:]
    parts = bare.split(b',')
    if len(parts) != 2 or not parts[0].startswith(b'n=') or not parts[1].startswith(b'r='):
        raise ValueError('client-first is not n=USER,r=NONCE: %r' % data)
    return bare, parts[0][2:], parts[1][2:]


class Exchange:
    """One exchange: first() gives the server-first message, final()
    checks the client's proof and gives the server-final message."""

    def __init__(self, client_first, password, iterations=4096, foreign_nonce=False):
        self.bare, self.user, nonce = parse_client_first(client_first)
        self.password = password.encode()
        self.iterations = iterations
        self.salt = os.urandom(16)
        prefix = b'X' + nonce if foreign_nonce else nonce
        self.nonce = prefix + base64.b64encode(os.urandom(12))
        self.server_first = b'r=%s,s=%s,i=%d' % (self.nonce, base64.b64encode(self.salt),
                                                 iterations)

    def final(self, client_final, bad_signature=False):
        without, _, proof = client_final.rpartition(b',p=')
        if without != b'c=biws,r=' + self.nonce:
            raise ValueError('client-final is not c=biws,r=OUR_NONCE,p=: %r' % client_final)
        salted = hashlib.pbkdf2_hmac('sha256', self.password, self.salt, self.iterations)
        client_key = _hmac(salted, b'Client Key')
        message = self.bare + b',' + self.server_first + b',' + without
        signature = _hmac(hashlib.sha256(client_key).digest(), message)
        want = bytes(a ^ b for a, b in zip(client_key, signature))
        if base64.b64decode(proof, validate=True) != want:
            raise ValueError('the client proof is wrong')
        server = _hmac(_hmac(salted, b'Server Key'), message)
        if bad_signature:
            server = bytes([server[0] ^ 1]) + server[1:]
        return b'v=' + base64.b64encode(server)
