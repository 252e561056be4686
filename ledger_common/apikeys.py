"""API key format and hashing. Pure functions: no I/O.

A key is ``lk_<env>_<public id>_<secret>``: ``env`` is ``live`` in production and ``test`` otherwise
(so a leaked key says where it works, and secret scanners can match it), the public id (12 hex
chars) finds the row, and the secret is 256 random bits that only the holder has.

The secret is stored as HMAC-SHA-256 keyed with the server's ``API_KEY_PEPPER``, not as a password
hash: a slow hash (bcrypt, argon2) protects low-entropy human passwords from guessing, but nobody can
guess 256 random bits, and a slow hash on every request would cost more CPU than the request. The
pepper, kept outside the database, means a stolen copy of ``api_keys`` cannot even be used to check
a candidate key offline.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

_TOKEN = re.compile(r"^(lk_(?:live|test)_([0-9a-f]{12}))_([A-Za-z0-9_-]{43})$")


class ParsedKey(NamedTuple):
    prefix: str
    public_id: str
    secret: str


def key_environment(environment: str) -> str:
    return "live" if environment == "production" else "test"


def new_key(environment: str) -> ParsedKey:
    """A fresh key: 48 bits of public id (unique per row), 256 bits of secret."""
    public_id = secrets.token_hex(6)
    return ParsedKey(f"lk_{key_environment(environment)}_{public_id}", public_id, secrets.token_urlsafe(32))


def token_of(key: ParsedKey) -> str:
    """The bearer token handed to the key's holder, exactly once."""
    return f"{key.prefix}_{key.secret}"


def parse_token(token: str) -> ParsedKey | None:
    """Split a bearer token into its parts; None if it does not have the shape of a key."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    prefix, public_id, secret = match.groups()
    return ParsedKey(prefix, public_id, secret)


def hash_secret(pepper: bytes, key: ParsedKey) -> bytes:
    """HMAC-SHA-256 of the public id and secret, keyed with the server's pepper (32 bytes)."""
    return hmac.new(pepper, f"{key.public_id}.{key.secret}".encode(), hashlib.sha256).digest()
