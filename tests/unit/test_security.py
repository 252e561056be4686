"""Pure security pieces: event signatures, key format and hash, settings refusals, log redaction."""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_PATTERN,
    SIGNED_AT_HEADER,
    SignatureError,
    check,
    check_message,
    parse_keys,
    sign,
    verify,
    verify_message,
)
from ledger_common.apikeys import hash_secret, new_key, parse_token, token_of
from ledger_common.logs import RedactingFormatter, redact
from ledger_common.settings import Settings

BODY = b'{"event_id":"e1","type":"account.credited","amount":100}'
FIELDS: dict[str, Any] = {"routing_key": "account.credited", "message_id": "e1", "message_type": "account.credited"}


@dataclass
class _Message:
    """The attributes of an aio-pika IncomingMessage that ``verify_message`` reads."""

    routing_key: str | None
    message_id: str | None
    type: str | None
    body: bytes
    headers: dict[str, Any]


def _sign(keys: dict[str, bytes], body: bytes = BODY, **extra: Any) -> dict[str, str]:
    return sign(**FIELDS, body=body, keys=keys, **extra)


def _verify(headers: dict[str, Any] | None, keys: dict[str, bytes], body: bytes = BODY, **extra: Any) -> bool:
    return verify(**{**FIELDS, **extra.pop("fields", {})}, body=body, headers=headers, keys=keys, **extra)


def test_signature_accepts_genuine_and_rejects_tampered_or_unknown() -> None:
    keys = parse_keys("k1:first-secret,k0:older-secret")
    headers = _sign(keys)
    assert headers[KEY_ID_HEADER] == "k1"  # the first key signs
    assert re.fullmatch(SIGNATURE_PATTERN, headers[SIGNATURE_HEADER])
    assert abs(int(headers[SIGNED_AT_HEADER]) - time.time()) < 5  # signed now
    assert _verify(headers, keys)
    assert not _verify(headers, keys, body=BODY.replace(b"100", b"900"))
    for field, other in (("routing_key", "account.debited"), ("message_id", "e2"), ("message_type", "x")):
        assert not _verify(headers, keys, fields={field: other}), field  # replayed under another property
    assert not _verify({**headers, SIGNED_AT_HEADER: str(int(headers[SIGNED_AT_HEADER]) - 1)}, keys)
    assert not _verify(headers, parse_keys("k1:another-secret"))  # same kid, wrong secret
    assert not _verify(headers, parse_keys("k9:first-secret"))  # kid not trusted
    assert not _verify({}, keys) and not _verify(None, keys)
    with pytest.raises(SignatureError, match="does not match"):
        check(**FIELDS, body=BODY + b" ", headers=headers, keys=keys)
    with pytest.raises(SignatureError, match="unknown signing key"):
        check(**FIELDS, body=BODY, headers={**headers, KEY_ID_HEADER: "zz"}, keys=keys)
    with pytest.raises(SignatureError, match="not signed"):
        check(**FIELDS, body=BODY, headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, keys=keys)
    with pytest.raises(SignatureError, match="no message_id"):
        check(**{**FIELDS, "message_id": None}, body=BODY, headers=headers, keys=keys)
    with pytest.raises(SignatureError, match="not UTF-8"):
        check(**FIELDS, body=BODY, headers={**headers, SIGNED_AT_HEADER: b"\xff"}, keys=keys)
    # AMQP header values may arrive as bytes.
    assert _verify({k: v.encode() for k, v in headers.items()}, keys)


def test_verify_message_reads_the_fields_of_a_received_message() -> None:
    keys = parse_keys("k1:first-secret")
    message = _Message("account.credited", "e1", "account.credited", BODY, dict(_sign(keys)))
    assert verify_message(message, keys)
    check_message(message, keys)
    assert not verify_message(replace(message, routing_key="account.debited"), keys)
    assert not verify_message(replace(message, message_id="e2"), keys)
    assert not verify_message(replace(message, type=None), keys)


def test_the_signing_time_is_checked_only_with_max_age() -> None:
    keys = parse_keys("k1:first-secret")
    headers = _sign(keys, signed_at=1_000_000)
    assert _verify(headers, keys)  # years old: fine by default (events wait in queues)
    assert _verify(headers, keys, max_age=60, now=1_000_060)
    assert not _verify(headers, keys, max_age=60, now=1_000_061)
    assert _verify(headers, keys, max_age=60, now=1_000_000 - 300)  # relay clock ahead: DEFAULT_CLOCK_SKEW
    assert not _verify(headers, keys, max_age=60, now=1_000_000 - 301)
    assert _verify(headers, keys, max_age=60, clock_skew=1000, now=1_000_000 - 301)
    with pytest.raises(SignatureError, match="longer than max_age"):
        check(**FIELDS, body=BODY, headers=headers, keys=keys, max_age=60, now=2_000_000)


def test_the_body_only_scheme_is_refused_unless_accepted_explicitly() -> None:
    keys = parse_keys("k1:first-secret")
    legacy = {KEY_ID_HEADER: "k1", SIGNATURE_HEADER: "sha256=" + hmac.new(b"first-secret", BODY, "sha256").hexdigest()}
    with pytest.raises(SignatureError, match="previous scheme is not accepted"):
        check(**FIELDS, body=BODY, headers=legacy, keys=keys)
    assert _verify(legacy, keys, accept_legacy=True)
    assert not _verify(legacy, keys, body=BODY + b" ", accept_legacy=True)
    assert not _verify(legacy, keys, accept_legacy=True, max_age=3600)  # no signing time to check


def test_fields_that_would_make_the_string_to_sign_ambiguous_are_refused() -> None:
    keys = parse_keys("k1:first-secret")
    with pytest.raises(SignatureError, match="line feed"):
        sign(**{**FIELDS, "routing_key": "a\nb"}, body=BODY, keys=keys)
    with pytest.raises(SignatureError, match="no type"):
        sign(**{**FIELDS, "message_type": ""}, body=BODY, keys=keys)
    assert _verify(_sign(keys, body=b"line\nfeeds\n"), keys, body=b"line\nfeeds\n")  # the body may have any bytes


def test_rotation_old_key_verifies_while_new_key_signs() -> None:
    before = parse_keys("old:secret-old")
    during = parse_keys("new:secret-new,old:secret-old")  # relays sign with new, everyone accepts both
    old_event, new_event = _sign(before), _sign(during)
    assert new_event[KEY_ID_HEADER] == "new"
    assert _verify(old_event, during) and _verify(new_event, during)
    assert not _verify(new_event, before)  # why subscribers must learn the new key first


@pytest.mark.parametrize("text", ["", "nokid", ":secret", "kid:", "a:1,a:2"])
def test_malformed_signing_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_keys(text)


def test_key_format_and_hash() -> None:
    key = new_key("production")
    token = token_of(key)
    assert token.startswith(f"lk_live_{key.public_id}_") and len(key.secret) == 43
    assert new_key("test").prefix.startswith("lk_test_")
    assert parse_token(token) == key
    for bad in ("lk_live_x", token + "x", token.replace("lk_live", "lk_prod"), "Bearer " + token):
        assert parse_token(bad) is None
    digest = hash_secret(b"pepper", key)
    assert len(digest) == 32 and digest != hash_secret(b"other pepper", key)


STRONG = "s" * 40


def _prod(**overrides: str) -> Settings:
    values: dict[str, Any] = {
        "environment": "production",
        "service_api_key": STRONG,
        "api_key_pepper": "p" * 40,
        "event_signing_keys": "k1:" + "e" * 40,
        "amqp_url": "amqp://ledger-gateway:pw@rabbit/ledger",
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("service_api_key", "dev-service-key-change-me", "SERVICE_API_KEY"),
        ("service_api_key", "short", "SERVICE_API_KEY"),
        ("api_key_pepper", "dev-api-key-pepper-change-me", "API_KEY_PEPPER"),
        ("api_key_pepper", "short-pepper", "API_KEY_PEPPER"),
        ("event_signing_keys", "dev:dev-event-signing-key-change-me", "EVENT_SIGNING_KEYS"),
        ("event_signing_keys", "k1:" + "e" * 40 + ",k2:short", "EVENT_SIGNING_KEYS"),
        ("amqp_url", "amqp://guest:guest@rabbit/", "guest"),
    ],
)
def test_production_refuses_default_or_weak_secrets(field: str, value: str, message: str) -> None:
    assert _prod().environment == "production"
    with pytest.raises(ValidationError, match=message) as info:
        _prod(**{field: value})
    assert STRONG not in str(info.value)  # the refusal does not echo the other secrets


def test_production_refuses_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name in ("SERVICE_API_KEY", "API_KEY_PEPPER", "EVENT_SIGNING_KEYS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError):
        Settings()


def test_redaction_covers_tokens_keys_and_urls() -> None:
    token = token_of(new_key("test"))
    prefix = token.rsplit("_", 1)[0][:20]
    line = redact(
        f"Authorization: Bearer {token} url=amqp://ledger:hunter2@rabbit:5672/ledger "
        f"postgresql://u:pg-secret@db/ledger key {token} password=opensesame token: t0k3n"
    )
    for secret in (token, "hunter2", "pg-secret", "opensesame", "t0k3n", token[-43:]):
        assert secret not in line
    assert prefix in line  # the public part stays, so a key can still be identified


def test_formatter_redacts_exceptions_too() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError("could not connect to amqp://svc:topsecret@host/")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed with %s", ("Bearer abc.def",), sys.exc_info()
        )
    out = formatter.format(record)
    assert "topsecret" not in out and "abc.def" not in out and "RuntimeError" in out


def test_an_app_with_an_unscoped_v1_route_refuses_to_start() -> None:
    from fastapi import APIRouter, FastAPI

    from contracts.keys import Scope
    from http_gateway.auth import check_every_route_declares_a_scope, require

    app = FastAPI()
    v1 = APIRouter(prefix="/v1")
    v1.add_api_route("/scoped", lambda: None, dependencies=[require(Scope.READ)])
    app.include_router(v1)
    check_every_route_declares_a_scope(app.routes)
    v1.add_api_route("/forgotten", lambda: None)
    with pytest.raises(RuntimeError, match="GET /v1/forgotten"):
        check_every_route_declares_a_scope(app.routes)
    with pytest.raises(RuntimeError, match="no routes under /v1"):
        check_every_route_declares_a_scope(FastAPI().routes)
