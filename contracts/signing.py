"""Event signatures a subscriber in any language can verify (scheme ``v2``, docs/security.md#signed-events).

The relay signs each event at publish time with the first key of ``EVENT_SIGNING_KEYS``
(``kid:secret,kid2:secret2``; the secret is the UTF-8 bytes after the first ``:``) and sets three
headers::

    x-ledger-signature-key: <kid>
    x-ledger-signed-at:     <signing time, integer Unix seconds, decimal ASCII, no sign or leading zero>
    x-ledger-signature:     v2=<lowercase hex HMAC-SHA-256(secret, string to sign)>

The string to sign covers everything a publisher to the exchange could change: the text fields, UTF-8
encoded, each followed by one LF (0x0A), then the exact body bytes::

    "v2" LF signed_at LF routing_key LF message_id LF type LF body

``message_id`` and ``type`` are the AMQP properties (the relay sets them to the ``event_id`` and the
event type, which is also the routing key). No text field may be empty or contain an LF, so the string
parses back into its fields one way only: a verifier refuses a message breaking that rule even if its
HMAC matches. The signature is compared with the whole header value in constant time. The key id
only picks the secret; a subscriber keeps every key it trusts, which is what lets keys rotate without
downtime. ``contracts/signing_vectors.json`` holds test vectors (``tools/signing`` checks them with an
independent Node.js verifier).

The signing time is checked only if the subscriber asks (``max_age``): events are durable and may sit in
a queue for hours or days while a subscriber is down, and an old genuine event must still verify.
Replays of a genuine message are stopped by deduplicating on ``event_id`` (= the signed ``message_id``).

The previous scheme, ``sha256=<hex HMAC of the body only>`` (no routing key, id, type or time), is
refused unless the subscriber passes ``accept_legacy=True``, meant only for the rollout of ``v2``.

Subscriber usage::

    keys = parse_keys(os.environ["LEDGER_EVENT_KEYS"])
    if not verify_message(message, keys):  # or verify(routing_key=..., message_id=..., ...), check(...) raises
        ...  # reject (dead-letter) the message: it was not published by the ledger as it is
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Protocol

from contracts.errors import Rejected

SCHEME = "v2"
KEY_ID_HEADER = "x-ledger-signature-key"
SIGNED_AT_HEADER = "x-ledger-signed-at"
SIGNATURE_HEADER = "x-ledger-signature"
#: Every value ``signature`` writes (and the only form ``check`` accepts, ``accept_legacy`` aside).
SIGNATURE_PATTERN = r"^v2=[0-9a-f]{64}$"
#: A signing time more than this many seconds ahead of the verifier's clock fails a ``max_age`` check.
DEFAULT_CLOCK_SKEW = 300.0

_PREFIX = SCHEME + "="
_LEGACY_PREFIX = "sha256="
_SIGNED_AT = re.compile(r"0|[1-9][0-9]*")


class SignatureError(Rejected, ValueError):
    """The message is unsigned, signed with an unknown key, altered, malformed, or older than allowed."""


class SignedMessage(Protocol):
    """What a received AMQP message offers (an aio-pika ``IncomingMessage`` is one)."""

    @property
    def routing_key(self) -> str | None: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def body(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, object] | None: ...


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


def string_to_sign(
    *, signed_at: str, routing_key: str | None, message_id: str | None, message_type: str | None, body: bytes
) -> bytes:
    """The exact bytes the HMAC covers; ``SignatureError`` if a field is missing or malformed."""
    if not _SIGNED_AT.fullmatch(signed_at):
        raise SignatureError(f"{SIGNED_AT_HEADER} must be integer Unix seconds in decimal, not {signed_at!r}")
    fields = [SCHEME, signed_at]
    for name, value in (("routing key", routing_key), ("message_id", message_id), ("type", message_type)):
        if not value:
            raise SignatureError(f"message has no {name}")
        if "\n" in value:
            raise SignatureError(f"the {name} contains a line feed")
        fields.append(value)
    try:
        return "".join(f + "\n" for f in fields).encode() + body
    except UnicodeEncodeError as exc:
        raise SignatureError("a field is not encodable as UTF-8") from exc


def signature(data: bytes, secret: bytes) -> str:
    """``v2=<hex HMAC-SHA-256>`` of ``data``, the output of ``string_to_sign``."""
    return _PREFIX + hmac.new(secret, data, hashlib.sha256).hexdigest()


def sign(
    *,
    routing_key: str,
    message_id: str,
    message_type: str,
    body: bytes,
    keys: Mapping[str, bytes],
    signed_at: int | None = None,
) -> dict[str, str]:
    """The headers to publish this message with, signed by the first key at ``signed_at`` (default: now)."""
    kid, secret = next(iter(keys.items()))
    at = str(int(time.time()) if signed_at is None else signed_at)
    data = string_to_sign(
        signed_at=at, routing_key=routing_key, message_id=message_id, message_type=message_type, body=body
    )
    return {KEY_ID_HEADER: kid, SIGNED_AT_HEADER: at, SIGNATURE_HEADER: signature(data, secret)}


def check(
    *,
    routing_key: str | None,
    message_id: str | None,
    message_type: str | None,
    body: bytes,
    headers: Mapping[str, object] | None,
    keys: Mapping[str, bytes],
    max_age: float | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    now: float | None = None,
    accept_legacy: bool = False,
) -> None:
    """Return if the message was signed as it is by one of ``keys``; else raise ``SignatureError`` saying why.

    ``max_age`` (seconds, default none): also refuse a message signed longer ago than that, or more than
    ``clock_skew`` seconds in the future of ``now`` (default: the current time). ``accept_legacy``: also
    accept the body-only ``sha256=`` signature of the previous scheme, for the rollout of ``v2`` only.
    """
    headers = headers or {}
    kid, given = _header(headers, KEY_ID_HEADER), _header(headers, SIGNATURE_HEADER)
    if not kid or not given:
        raise SignatureError("message is not signed")
    secret = keys.get(kid)
    if secret is None:
        raise SignatureError(f"unknown signing key {kid!r}")
    if given.startswith(_LEGACY_PREFIX):
        _check_legacy(body, given, secret, accept_legacy=accept_legacy, max_age=max_age)
        return
    if not given.startswith(_PREFIX):
        raise SignatureError(f"unsupported signature scheme {given.partition('=')[0]!r}, expected {SCHEME!r}")
    signed_at = _header(headers, SIGNED_AT_HEADER)
    if not signed_at:
        raise SignatureError(f"message has no {SIGNED_AT_HEADER} header")
    data = string_to_sign(
        signed_at=signed_at, routing_key=routing_key, message_id=message_id, message_type=message_type, body=body
    )
    if not hmac.compare_digest(signature(data, secret).encode(), given.encode()):
        raise SignatureError("signature does not match the routing key, message_id, type, signing time and body")
    if max_age is not None:
        age = (time.time() if now is None else now) - int(signed_at)
        if age > max_age:
            raise SignatureError(f"signed {age:.0f}s ago, longer than max_age={max_age:g}s")
        if -age > clock_skew:
            raise SignatureError(f"signed {-age:.0f}s in the future, more than clock_skew={clock_skew:g}s")


def verify(
    *,
    routing_key: str | None,
    message_id: str | None,
    message_type: str | None,
    body: bytes,
    headers: Mapping[str, object] | None,
    keys: Mapping[str, bytes],
    max_age: float | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    now: float | None = None,
    accept_legacy: bool = False,
) -> bool:
    """True if the message was signed as it is by one of ``keys``; ``check`` says why not."""
    try:
        check(
            routing_key=routing_key,
            message_id=message_id,
            message_type=message_type,
            body=body,
            headers=headers,
            keys=keys,
            max_age=max_age,
            clock_skew=clock_skew,
            now=now,
            accept_legacy=accept_legacy,
        )
    except SignatureError:
        return False
    return True


def check_message(
    message: SignedMessage,
    keys: Mapping[str, bytes],
    *,
    max_age: float | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    now: float | None = None,
    accept_legacy: bool = False,
) -> None:
    """``check`` on a received message's routing key, message_id, type, body and headers."""
    check(
        routing_key=message.routing_key,
        message_id=message.message_id,
        message_type=message.type,
        body=message.body,
        headers=message.headers,
        keys=keys,
        max_age=max_age,
        clock_skew=clock_skew,
        now=now,
        accept_legacy=accept_legacy,
    )


def verify_message(
    message: SignedMessage,
    keys: Mapping[str, bytes],
    *,
    max_age: float | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    now: float | None = None,
    accept_legacy: bool = False,
) -> bool:
    """``verify`` on a received message's routing key, message_id, type, body and headers."""
    try:
        check_message(message, keys, max_age=max_age, clock_skew=clock_skew, now=now, accept_legacy=accept_legacy)
    except SignatureError:
        return False
    return True


def _check_legacy(body: bytes, given: str, secret: bytes, *, accept_legacy: bool, max_age: float | None) -> None:
    if not accept_legacy:
        raise SignatureError("body-only 'sha256=' signature of the previous scheme is not accepted")
    if max_age is not None:
        raise SignatureError("body-only 'sha256=' signature has no signing time to check max_age against")
    expected = _LEGACY_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise SignatureError("legacy signature does not match the body")


def _header(headers: Mapping[str, object], name: str) -> str:
    """A header value as text: AMQP tables may carry it as str, bytes, or (the signing time) an integer."""
    value = headers.get(name)
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise SignatureError(f"header {name} is not UTF-8") from exc
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""
