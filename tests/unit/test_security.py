"""Pure security pieces: event signatures, key format and hash, settings refusals, log redaction."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.signing import KEY_ID_HEADER, SIGNATURE_HEADER, SignatureError, check, parse_keys, sign, verify
from ledger_common.apikeys import hash_secret, new_key, parse_token, token_of
from ledger_common.logs import RedactingFormatter, redact
from ledger_common.settings import Settings

BODY = b'{"event_id":"e1","type":"account.credited","amount":100}'


def test_signature_accepts_genuine_and_rejects_tampered_or_unknown() -> None:
    keys = parse_keys("k1:first-secret,k0:older-secret")
    headers = sign(BODY, keys)
    assert headers[KEY_ID_HEADER] == "k1"  # the first key signs
    assert verify(BODY, headers, keys)
    assert not verify(BODY.replace(b"100", b"900"), headers, keys)
    assert not verify(BODY, headers, parse_keys("k1:another-secret"))  # same kid, wrong secret
    assert not verify(BODY, headers, parse_keys("k9:first-secret"))  # kid not trusted
    assert not verify(BODY, {}, keys) and not verify(BODY, None, keys)
    with pytest.raises(SignatureError, match="does not match"):
        check(BODY + b" ", headers, keys)
    with pytest.raises(SignatureError, match="unknown signing key"):
        check(BODY, {**headers, KEY_ID_HEADER: "zz"}, keys)
    with pytest.raises(SignatureError, match="not signed"):
        check(BODY, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, keys)
    # AMQP header values may arrive as bytes.
    assert verify(BODY, {k: v.encode() for k, v in headers.items()}, keys)


def test_rotation_old_key_verifies_while_new_key_signs() -> None:
    before = parse_keys("old:secret-old")
    during = parse_keys("new:secret-new,old:secret-old")  # relays sign with new, everyone accepts both
    old_event, new_event = sign(BODY, before), sign(BODY, during)
    assert new_event[KEY_ID_HEADER] == "new"
    assert verify(BODY, old_event, during) and verify(BODY, new_event, during)
    assert not verify(BODY, new_event, before)  # why subscribers must learn the new key first


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
