"""Write contracts/signing_vectors.json, the test vectors of the ``v2`` event signature (docs/security.md).

    python tools/signing/make_vectors.py          # (re)write the file
    python tools/signing/make_vectors.py --check  # exit 1 if the file is not what this script writes

Valid cases are signed with ``contracts.signing.sign``; the invalid ones are those messages altered the
way a forger who can publish to the exchange could, plus messages whose HMAC matches but break a rule of
the scheme (computed here by hand). The vectors are the contract: changing the scheme changes them, and
``examples/node-chain-verifier/verify.mjs`` (Node.js, no code of ours) must still agree.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from contracts.signing import (  # noqa: E402  (run as a script from anywhere)
    KEY_ID_HEADER,
    SCHEME,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    sign,
    string_to_sign,
)
from tools import vectors  # noqa: E402

OUT = ROOT / "contracts" / "signing_vectors.json"

K1 = "k1-0b7c2d61e5a94f8cb3f1a2d4e6c8b0a9"
K2 = "k2-5e9d1c3b7a2f4e6d8c0b1a3f5e7d9c2b"
SIGNED_AT = 1767225600  # 2026-01-01T00:00:00Z
EVENT_ID = "0f8e2a4c-6b1d-4e3f-9a7c-5d2b8e1f4a6c"
ACCOUNT = "7c1e9b3a-2d4f-4a6e-8b0c-1f3e5a7d9b2c"
OPENED = (
    '{"event_id":"' + EVENT_ID + '","type":"account.opened","account_id":"' + ACCOUNT + '",'
    '"sequence":1,"currency":"USD","occurred_at":"2026-01-01T00:00:00Z"}'
).encode()
CREDITED = (
    "{\n"
    '  "event_id": "3a5c7e9b-1d2f-4b6a-8c0e-2f4a6c8e0b1d",\n'
    '  "type": "account.credited",\n'
    '  "memo": "Zürich café, 5 €",\n'
    '  "amount": "100.00"\n'
    "}\n"
).encode()
BINARY = bytes([0x00, 0xFF, 0xFE, 0x0A, 0x0D, 0x0A, 0x80, 0x7F])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _message(routing_key: str, message_id: str, message_type: str, body: bytes) -> dict[str, Any]:
    message: dict[str, Any] = {"routing_key": routing_key, "message_id": message_id, "type": message_type}
    message["body_base64"] = _b64(body)
    try:
        message["body_text"] = body.decode()
    except UnicodeDecodeError:
        pass  # not UTF-8: body_base64 only
    return message


def _signed(
    routing_key: str, message_id: str, message_type: str, body: bytes, kid: str, secret: str, at: int = SIGNED_AT
) -> dict[str, Any]:
    message = _message(routing_key, message_id, message_type, body)
    message["headers"] = sign(
        routing_key=routing_key,
        message_id=message_id,
        message_type=message_type,
        body=body,
        keys={kid: secret.encode()},
        signed_at=at,
    )
    return message


def _sts(message: dict[str, Any]) -> str:
    return _b64(
        string_to_sign(
            signed_at=message["headers"][SIGNED_AT_HEADER],
            routing_key=message["routing_key"],
            message_id=message["message_id"],
            message_type=message["type"],
            body=base64.b64decode(message["body_base64"]),
        )
    )


def _raw(data: bytes, secret: str) -> str:
    """An HMAC computed by hand, for messages ``string_to_sign`` refuses to build."""
    return SCHEME + "=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _valid(name: str, why: str, keys: dict[str, str], message: dict[str, Any], **options: Any) -> dict[str, Any]:
    case = {"name": name, "valid": True, "why": why, "keys": keys, "options": options, "message": message}
    if message["headers"][SIGNATURE_HEADER].startswith(SCHEME + "="):
        case["string_to_sign_base64"] = _sts(message)
    return case


def _invalid(name: str, why: str, keys: dict[str, str], message: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"name": name, "valid": False, "why": why, "keys": keys, "options": options, "message": message}


def _altered(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    message = copy.deepcopy(base)
    if "body" in fields:
        body = fields.pop("body")
        message.pop("body_text", None)
        message["body_base64"] = _b64(body)
        try:
            message["body_text"] = body.decode()
        except UnicodeDecodeError:
            pass
    headers = fields.pop("headers", None)
    message.update(fields)
    if headers is not None:
        message["headers"] = {k: v for k, v in {**message["headers"], **headers}.items() if v is not None}
    return message


def cases() -> list[dict[str, Any]]:
    k1 = {"k1": K1}
    opened = _signed("account.opened", EVENT_ID, "account.opened", OPENED, "k1", K1)
    credited = _signed(
        "account.credited", "3a5c7e9b-1d2f-4b6a-8c0e-2f4a6c8e0b1d", "account.credited", CREDITED, "k2", K2
    )
    legacy = _altered(
        opened,
        headers={
            SIGNED_AT_HEADER: None,
            SIGNATURE_HEADER: "sha256=" + hmac.new(K1.encode(), OPENED, hashlib.sha256).hexdigest(),
        },
    )
    first_line, _, rest = CREDITED.partition(b"\n")
    shifted = _altered(
        credited,
        routing_key=credited["routing_key"] + "\n" + credited["message_id"],
        message_id=credited["type"],
        type=first_line.decode(),
        body=rest,
    )
    no_id = _altered(
        opened,
        message_id="",
        headers={SIGNATURE_HEADER: _raw(f"v2\n{SIGNED_AT}\naccount.opened\n\naccount.opened\n".encode() + OPENED, K1)},
    )
    padded = _altered(
        opened,
        headers={
            SIGNED_AT_HEADER: f"0{SIGNED_AT}",
            SIGNATURE_HEADER: _raw(
                f"v2\n0{SIGNED_AT}\naccount.opened\n{EVENT_ID}\naccount.opened\n".encode() + OPENED, K1
            ),
        },
    )
    signature = opened["headers"][SIGNATURE_HEADER]
    valid = [
        _valid("account.opened signed by k1", "the relay's output for a compact JSON event", k1, opened),
        _valid(
            "rotation: new key k2 signs, subscriber trusts k2 and k1",
            "any trusted key id verifies; a UTF-8 body with line feeds is signed as raw bytes",
            {"k2": K2, "k1": K1},
            credited,
        ),
        _valid(
            "rotation: an event signed by the old key k1 while the subscriber trusts k2 and k1",
            "events already in queues when the relays switched keys still verify",
            {"k2": K2, "k1": K1},
            opened,
        ),
        _valid(
            "binary body",
            "the body is bytes, not text: only body_base64 is given",
            k1,
            _signed("account.opened", EVENT_ID, "account.opened", BINARY, "k1", K1),
        ),
        _valid(
            "empty body",
            "the string to sign then ends with the LF after the type",
            k1,
            _signed("account.opened", EVENT_ID, "account.opened", b"", "k1", K1),
        ),
        _valid(
            "signed two years earlier, no max_age",
            "by default the signing time is not checked: an old event from a queue backlog verifies",
            k1,
            _signed("account.opened", EVENT_ID, "account.opened", OPENED, "k1", K1, at=SIGNED_AT - 2 * 365 * 86400),
            now=SIGNED_AT,
        ),
        _valid(
            "within max_age", "signed 3600 s before now, max_age 3600", k1, opened, max_age=3600, now=SIGNED_AT + 3600
        ),
        _valid(
            "slightly in the future, within clock_skew",
            "the relay's clock may run ahead of the subscriber's",
            k1,
            opened,
            max_age=3600,
            clock_skew=300,
            now=SIGNED_AT - 300,
        ),
        _valid(
            "legacy body-only signature, accepted only with accept_legacy",
            "the previous scheme 'sha256=<hex HMAC of the body>', for the rollout of v2 only",
            k1,
            legacy,
            accept_legacy=True,
        ),
    ]
    invalid = [
        _invalid(
            "routing key changed",
            "re-published under another routing key",
            k1,
            _altered(opened, routing_key="account.closed"),
        ),
        _invalid(
            "message_id changed",
            "re-published with another message id",
            k1,
            _altered(opened, message_id="0f8e2a4c-6b1d-4e3f-9a7c-5d2b8e1f4a6d"),
        ),
        _invalid("type changed", "re-published with another AMQP type", k1, _altered(opened, type="account.closed")),
        _invalid(
            "body changed", "one byte of the body differs", k1, _altered(opened, body=OPENED.replace(b"USD", b"EUR"))
        ),
        _invalid(
            "body with a trailing line feed",
            "the body is signed byte for byte",
            k1,
            _altered(opened, body=OPENED + b"\n"),
        ),
        _invalid(
            "signed_at changed",
            "the signing time is signed",
            k1,
            _altered(opened, headers={SIGNED_AT_HEADER: str(SIGNED_AT + 1)}),
        ),
        _invalid("no signature header", "unsigned", k1, _altered(opened, headers={SIGNATURE_HEADER: None})),
        _invalid("no key id header", "unsigned", k1, _altered(opened, headers={KEY_ID_HEADER: None})),
        _invalid(
            "no signed_at header",
            "v2 requires the signing time",
            k1,
            _altered(opened, headers={SIGNED_AT_HEADER: None}),
        ),
        _invalid(
            "unknown key id", "the subscriber trusts k1 only", k1, _altered(opened, headers={KEY_ID_HEADER: "k9"})
        ),
        _invalid("wrong secret for the key id", "same key id, another secret", {"k1": K2}, opened),
        _invalid(
            "signature in uppercase hex",
            "the header is compared as written: lowercase hex",
            k1,
            _altered(opened, headers={SIGNATURE_HEADER: "v2=" + signature[3:].upper()}),
        ),
        _invalid(
            "unknown scheme version",
            "only v2 is defined",
            k1,
            _altered(opened, headers={SIGNATURE_HEADER: "v3=" + signature[3:]}),
        ),
        _invalid(
            "legacy body-only signature without accept_legacy", "the default refuses the previous scheme", k1, legacy
        ),
        _invalid(
            "legacy body-only signature with max_age",
            "it has no signing time to check",
            k1,
            legacy,
            accept_legacy=True,
            max_age=3600,
            now=SIGNED_AT,
        ),
        _invalid(
            "legacy body-only signature over another body",
            "accept_legacy still checks the body",
            k1,
            _altered(legacy, body=OPENED.replace(b"USD", b"EUR")),
            accept_legacy=True,
        ),
        _invalid(
            "fields shifted across line feeds",
            "same string to sign and HMAC as the 'rotation: new key k2 signs' case, but the routing key contains an LF",
            {"k2": K2, "k1": K1},
            shifted,
        ),
        _invalid(
            "empty message_id", "its HMAC matches, but routing key, message_id and type must be non-empty", k1, no_id
        ),
        _invalid(
            "signed_at with a leading zero", "its HMAC matches, but signed_at must be canonical decimal", k1, padded
        ),
        _invalid(
            "older than max_age",
            "signed 3601 s before now, max_age 3600",
            k1,
            opened,
            max_age=3600,
            now=SIGNED_AT + 3601,
        ),
        _invalid(
            "too far in the future",
            "signed 301 s after now, clock_skew 300",
            k1,
            opened,
            max_age=3600,
            clock_skew=300,
            now=SIGNED_AT - 301,
        ),
    ]
    return valid + invalid


def document() -> dict[str, Any]:
    return {
        "scheme": SCHEME,
        "recipe": "docs/security.md#signed-events",
        "headers": {"key_id": KEY_ID_HEADER, "signed_at": SIGNED_AT_HEADER, "signature": SIGNATURE_HEADER},
        "string_to_sign": "'v2' LF signed_at LF routing_key LF message_id LF type LF body (text fields UTF-8)",
        "notes": [
            "keys: what the subscriber trusts, key id -> secret; the secret is the UTF-8 bytes of the text",
            "message: routing_key, the AMQP message_id and type properties, the body (body_base64 is the"
            " exact bytes; body_text the same when they are UTF-8), the headers",
            "options: max_age (seconds; absent: the signing time is not checked), clock_skew (seconds a"
            " signing time may lie ahead of now, default 300, checked with max_age only), now (Unix seconds),"
            " accept_legacy (the previous body-only scheme; absent: refused)",
            "valid cases give string_to_sign_base64, the exact bytes the HMAC covers",
        ],
        "cases": cases(),
    }


def main() -> int:
    return vectors.write_or_check(OUT, document(), "tools/signing/make_vectors.py", sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
