"""Subscribers can tell genuine events from forged or altered ones, across a signing-key rotation."""

from __future__ import annotations

import signal
import uuid

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.signing import KEY_ID_HEADER, parse_keys, verify
from ledger_cli.processes import Processes
from tests.e2e.conftest import subscribe

pytestmark = pytest.mark.e2e


async def _open(base_url: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
        r = await c.post("/v1/accounts", json={"currency": "USD"}, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        return str(r.json()["account_id"])


async def test_subscriber_verifies_events_through_a_key_rotation(
    isolated: Processes, amqp: AbstractRobustConnection
) -> None:
    old = isolated.settings.event_signing_keys.get_secret_value()  # "t1:<secret>"
    rotated = f"k2:{uuid.uuid4().hex}{uuid.uuid4().hex},{old}"  # step 2: new key signs, old still listed
    token = isolated.settings.service_api_key.get_secret_value()
    for name in ("worker", "relay", "gateway"):
        isolated.start(name)
    sub = await subscribe(amqp, isolated.settings)

    first = await _open(isolated.base_url, token)
    await sub.wait_for(lambda evs: any(str(e.account_id) == first for e in evs))
    isolated.kill("relay", signal.SIGTERM)
    isolated.start("relay", env={"EVENT_SIGNING_KEYS": rotated})
    second = await _open(isolated.base_url, token)
    await sub.wait_for(lambda evs: any(str(e.account_id) == second for e in evs))

    by_account = {str(e.account_id): m for e, m in zip(sub.events, sub.messages, strict=True)}
    before, after = by_account[first], by_account[second]
    assert before.headers[KEY_ID_HEADER] == "t1" and after.headers[KEY_ID_HEADER] == "k2"
    subscriber_keys = parse_keys(rotated)  # step 1 of the rotation: subscribers trust both keys
    assert verify(before.body, before.headers, subscriber_keys)  # the old key still verifies
    assert verify(after.body, after.headers, subscriber_keys)
    # Tampered body, wrong key, or a key the subscriber was never given: rejected.
    assert not verify(after.body.replace(b'"USD"', b'"EUR"'), after.headers, subscriber_keys)
    assert not verify(after.body, after.headers, parse_keys(f"k2:{uuid.uuid4().hex}"))
    assert not verify(after.body, after.headers, parse_keys(old))
