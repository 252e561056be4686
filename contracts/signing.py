"""HMAC-SHA-256 signatures over the exact body bytes of each event, for subscribers to verify.

The relay signs with the first key of ``EVENT_SIGNING_KEYS`` (``kid:secret,kid2:secret2``) and names it
in ``x-ledger-signature-key``; a subscriber keeps every key it trusts and accepts a signature made by
any of them, which is what lets keys rotate without downtime (docs/security.md).

Subscriber usage::

    keys = parse_keys(os.environ["LEDGER_EVENT_KEYS"])
    if not verify(message.body, message.headers, keys):
        ...  # reject (dead-letter) the message: it was not published by the ledger
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

KEY_ID_HEADER = "x-ledger-signature-key"
SIGNATURE_HEADER = "x-ledger-signature"
_SCHEME = "sha256="


class SignatureError(ValueError):
    """The message is unsigned, signed with an unknown key, or its body was changed."""


def parse_keys(text: str) -> dict[str, bytes]:
    """``kid:secret,kid2:secret2`` -> ordered ``{kid: secret}``; the first entry is the signing key."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or not secret:
            raise ValueError("signing keys are 'kid:secret' pairs separated by commas")
        if kid in keys:
            raise ValueError(f"signing key id {kid!r} is listed twice")
        keys[kid] = secret.encode()
    if not keys:
        raise ValueError("at least one signing key is required")
    return keys


def signature(body: bytes, secret: bytes) -> str:
    return _SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def sign(body: bytes, keys: Mapping[str, bytes]) -> dict[str, str]:
    """The headers to publish ``body`` with, signed by the first key."""
    kid, secret = next(iter(keys.items()))
    return {KEY_ID_HEADER: kid, SIGNATURE_HEADER: signature(body, secret)}


def check(body: bytes, headers: Mapping[str, object] | None, keys: Mapping[str, bytes]) -> None:
    """Return if ``body`` was signed by one of ``keys``; else raise ``SignatureError`` saying why."""
    headers = headers or {}
    kid, given = _text(headers.get(KEY_ID_HEADER)), _text(headers.get(SIGNATURE_HEADER))
    if not kid or not given:
        raise SignatureError("message is not signed")
    secret = keys.get(kid)
    if secret is None:
        raise SignatureError(f"unknown signing key {kid!r}")
    if not hmac.compare_digest(signature(body, secret).encode(), given.encode()):
        raise SignatureError("signature does not match the body")


def verify(body: bytes, headers: Mapping[str, object] | None, keys: Mapping[str, bytes]) -> bool:
    """True if ``body`` was signed by one of ``keys``; ``check`` says why not."""
    try:
        check(body, headers, keys)
    except SignatureError:
        return False
    return True


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else ""
