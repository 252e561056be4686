"""Subscribers can tell genuine events from forged or altered ones, across a signing-key rotation: the
signature (scheme v2, contracts/signing.py) covers the routing key, message_id, type, signing time and body."""

from __future__ import annotations

import signal
import time
import uuid

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.signing import KEY_ID_HEADER, SIGNED_AT_HEADER, SignatureError, check_message, parse_keys, verify
from ledger_cli.processes import Processes
from tests.e2e.conftest import subscribe, wait_until

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
    second_event = next(e.event_id for e in sub.events if str(e.account_id) == second)
    before, after = by_account[first], by_account[second]
    assert before.headers[KEY_ID_HEADER] == "t1" and after.headers[KEY_ID_HEADER] == "k2"
    subscriber_keys = parse_keys(rotated)  # step 1 of the rotation: subscribers trust both keys
    check_message(before, subscriber_keys)  # the old key still verifies
    check_message(after, subscriber_keys, max_age=60)  # signed at publish, just now
    assert abs(int(str(after.headers[SIGNED_AT_HEADER])) - time.time()) < 60
    assert (after.routing_key, after.type, after.message_id) == ("account.opened", "account.opened", str(second_event))

    def genuine(body: bytes, keys: dict[str, bytes]) -> bool:  # the fields a subscriber passes to verify
        return verify(
            routing_key=after.routing_key,
            message_id=after.message_id,
            message_type=after.type,
            body=body,
            headers=after.headers,
            keys=keys,
        )

    assert genuine(after.body, subscriber_keys)
    # Tampered body, wrong key, or a key the subscriber was never given: rejected.
    assert not genuine(after.body.replace(b'"USD"', b'"EUR"'), subscriber_keys)
    assert not genuine(after.body, parse_keys(f"k2:{uuid.uuid4().hex}"))
    assert not genuine(after.body, parse_keys(old))


async def test_an_event_republished_with_other_properties_fails_verification(
    isolated: Processes, amqp: AbstractRobustConnection
) -> None:
    """A forger who can publish to the exchange replays a genuine signed event: only the unchanged copy verifies."""
    token = isolated.settings.service_api_key.get_secret_value()
    for name in ("worker", "relay", "gateway"):
        isolated.start(name)
    sub = await subscribe(amqp, isolated.settings)
    account = await _open(isolated.base_url, token)
    await sub.wait_for(lambda evs: any(str(e.account_id) == account for e in evs))
    genuine = next(m for e, m in zip(sub.events, sub.messages, strict=True) if str(e.account_id) == account)
    keys = isolated.settings.signing_keys
    check_message(genuine, keys)  # what the real relay published verifies

    forged_id = str(uuid.uuid4())
    replays = {  # name: (routing key, message_id, type), published with the genuine body and headers
        "unchanged": (genuine.routing_key, genuine.message_id, genuine.type),
        "routing key": ("account.closed", genuine.message_id, genuine.type),
        "message_id": (genuine.routing_key, forged_id, genuine.type),
        "type": (genuine.routing_key, genuine.message_id, "account.closed"),
    }
    channel = await amqp.channel(publisher_confirms=True)
    exchange = await isolated.settings.topology.declare_events(channel)
    for routing_key, message_id, message_type in replays.values():
        assert routing_key is not None
        forged = aio_pika.Message(
            genuine.body,
            headers=genuine.headers,
            message_id=message_id,
            type=message_type,
            content_type="application/json",
        )
        await exchange.publish(forged, routing_key=routing_key)
    await channel.close()

    def received(
        routing_key: str | None, message_id: str | None, message_type: str | None
    ) -> AbstractIncomingMessage | None:
        copies = [m for m in sub.messages if m.body == genuine.body and m is not genuine]
        return next(
            (m for m in copies if (m.routing_key, m.message_id, m.type) == (routing_key, message_id, message_type)),
            None,
        )

    async def all_arrived() -> bool:
        return all(received(*props) is not None for props in replays.values())

    await wait_until(all_arrived)
    for name, props in replays.items():
        message = received(*props)
        assert message is not None
        if name == "unchanged":
            check_message(message, keys)  # the replay path keeps what is signed: the changes below are why
        else:
            with pytest.raises(SignatureError, match="does not match"):
                check_message(message, keys)
