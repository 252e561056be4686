"""Every bound of contracts/bounds.py, at its limit and one past it, against the real processes.

At the limit the request is taken (its bound is not what refuses it); one past, it gets the answer
docs/security.md's table gives. ``TESTED`` names the test of each declared bound; a bound declared without
one fails ``test_every_declared_bound_is_tested``. HTTP and AMQP both, where the bound applies to both.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import uuid
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts import bounds
from contracts.bounds import MAX_AMOUNT
from contracts.results import CommandResult
from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from tests.e2e.api import key, new_wallet, write
from tests.ledger import cmd

pytestmark = pytest.mark.e2e

#: The test of each bound (this module's unless a module of tests/e2e is named).
TESTED = {
    "body": ("test_edge.test_a_body_at_the_bound_is_read_and_one_byte_more_is_refused", "test_amqp_body"),
    "statement": (
        "test_recon_upload.test_at_the_bound_the_upload_is_taken_and_one_byte_more_is_413_with_nothing_imported",
    ),
    "head": ("test_edge.test_a_head_at_the_bound_is_served_and_one_byte_more_is_431",),
    "json_depth": ("test_json_depth",),
    "amount": ("test_amount",),
    "transaction_total": ("test_transaction_total",),
    "balance": ("test_balance_and_held",),
    "legs": ("test_legs",),
    "metadata": ("test_metadata",),
    "text": ("test_texts",),
    "owner_id": ("test_texts",),
    "external_ref": ("test_texts",),
    "command_id": ("test_command_id",),
    "currencies": ("test_currencies",),
    "expiry": ("test_expiry",),
    "page": ("test_page",),
}


def test_every_declared_bound_is_tested() -> None:
    assert set(TESTED) == {b.name for b in bounds.BOUNDS}
    for names in TESTED.values():
        for name in names:
            module, _, function = name.rpartition(".")
            found = importlib.import_module(f"tests.e2e.{module}") if module else sys.modules[__name__]
            assert callable(getattr(found, function)), name


async def _post(c: httpx.AsyncClient, path: str, body: Any, **headers: str) -> httpx.Response:
    return await c.post(path, json=body, headers={"Idempotency-Key": key(), **headers})


def _codes(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json().get("code") or r.json().get("status")


async def test_json_depth(client: httpx.AsyncClient) -> None:
    def nested(depth: int) -> bytes:  # a metadata value nested: the document is ``depth`` levels deep
        return b'{"owner_id": "x", "metadata": {"k": ' + b"[" * (depth - 2) + b"1" + b"]" * (depth - 2) + b"}}"

    at = await client.post("/v1/wallets", content=nested(bounds.MAX_JSON_DEPTH), headers=_json())
    past = await client.post("/v1/wallets", content=nested(bounds.MAX_JSON_DEPTH + 1), headers=_json())
    assert at.status_code == 422 and "nested deeper" not in at.text, at.text  # the contract refuses a list
    assert past.status_code == 422 and "nested deeper" in past.text, past.text


def _json() -> dict[str, str]:
    return {"content-type": "application/json", "Idempotency-Key": key()}


async def _currency(client: httpx.AsyncClient) -> str:
    """A currency of the test's own: amounts near the bound must not fill the shared USD treasury."""
    code = "B" + uuid.uuid4().hex[:8].upper()
    await write(client, "POST", "/v1/currencies", {"code": code, "name": code, "exponent": 0})
    return code


async def test_amount(client: httpx.AsyncClient) -> None:
    currency = await _currency(client)
    wallet = await new_wallet(client, currency)
    deposit = {"wallet": wallet.handle, "currency": currency}
    assert (await _post(client, "/v1/deposits", {**deposit, "amount": MAX_AMOUNT})).status_code == 200
    past = await _post(client, "/v1/deposits", {**deposit, "amount": MAX_AMOUNT + 1})
    assert _codes(past) == (422, "invalid_amount"), past.text


async def test_balance_and_held(client: httpx.AsyncClient) -> None:
    currency = await _currency(client)
    wallet = await new_wallet(client, currency)
    deposit = {"wallet": wallet.handle, "currency": currency}
    await write(client, "POST", "/v1/deposits", {**deposit, "amount": MAX_AMOUNT - 1})
    await write(client, "POST", "/v1/deposits", {**deposit, "amount": 1})  # at the limit
    past = await _post(client, "/v1/deposits", {**deposit, "amount": 1})
    assert _codes(past) == (422, "balance_overflow") and past.json()["result"]["status"] == "refused", past.text
    hold = {"wallet": wallet.handle, "currency": currency}
    placed = await write(client, "POST", "/v1/holds", {**hold, "amount": MAX_AMOUNT})  # held at the limit
    increment = await _post(client, f"/v1/holds/{placed['hold_id']}/increment", {"amount": 1})
    assert _codes(increment) in ((422, "insufficient_funds"), (422, "amount_out_of_range")), increment.text


def _legs(account: str, *amounts: int) -> list[dict[str, Any]]:
    """Each amount debited from and credited to ``account``: the net is zero whatever the amounts."""
    return [{"account_id": account, "side": side, "amount": a} for a in amounts for side in ("debit", "credit")]


async def test_transaction_total(client: httpx.AsyncClient, system: Processes, amqp: AbstractRobustConnection) -> None:
    """Issue: legs of 10^38 - 1 twice overflowed the transaction's amount, the batch rolled back and the
    command was dead-lettered ``NumericValueOutOfRangeError``; the caller's 202 never got an outcome."""
    wallet = await new_wallet(client)
    at = await write(client, "POST", "/v1/transactions", {"currency": "USD", "legs": _legs(wallet.usd, MAX_AMOUNT)})
    assert at["status"] == "applied"
    legs = _legs(wallet.usd, MAX_AMOUNT, MAX_AMOUNT)
    past = await _post(client, "/v1/transactions", {"currency": "USD", "legs": legs})
    assert _codes(past) == (422, "amount_out_of_range") and past.json()["result"]["status"] == "refused", past.text
    over_amqp = await _send(amqp, system, cmd("transaction.post", principal=None, currency="USD", legs=legs))
    assert (over_amqp.status, over_amqp.refusal) == ("refused", "amount_out_of_range"), over_amqp


async def test_legs(client: httpx.AsyncClient) -> None:
    wallet = await new_wallet(client)
    at = _legs(wallet.usd, *[1] * (bounds.MAX_LEGS // 2))
    await write(client, "POST", "/v1/transactions", {"currency": "USD", "legs": at})
    past = await _post(client, "/v1/transactions", {"currency": "USD", "legs": [*at, at[0]]})
    assert _codes(past) == (422, "validation_error"), past.text


async def test_metadata(client: httpx.AsyncClient) -> None:
    k, v = "k" * bounds.MAX_METADATA_KEY_CHARS, "v" * bounds.MAX_METADATA_VALUE_CHARS
    at = {f"{i:02d}{k[2:]}": v for i in range(bounds.MAX_METADATA_KEYS)}
    await write(client, "POST", "/v1/wallets", {"owner_id": "m", "metadata": at})
    for past in (
        {**at, "one_more": "v"},
        {"k" * (bounds.MAX_METADATA_KEY_CHARS + 1): "v"},
        {"k": "v" * (bounds.MAX_METADATA_VALUE_CHARS + 1)},
    ):
        r = await _post(client, "/v1/wallets", {"owner_id": "m", "metadata": past})
        assert _codes(r) == (422, "validation_error"), r.text


async def test_texts(client: httpx.AsyncClient) -> None:
    cases: list[tuple[str, str, int, dict[str, Any]]] = [
        ("/v1/wallets", "owner_id", bounds.MAX_OWNER_ID_CHARS, {}),
        ("/v1/wallets", "external_ref", bounds.MAX_EXTERNAL_REF_CHARS, {"owner_id": "t"}),
        ("/v1/currencies", "name", bounds.MAX_CURRENCY_NAME_CHARS, {"exponent": 2}),
    ]
    for path, field, limit, rest in cases:
        for size, accepted in ((limit, True), (limit + 1, False)):
            body = {**rest, field: "x" * size}
            if path == "/v1/currencies":
                body["code"] = "Z" + uuid.uuid4().hex[:8].upper()
            if field == "external_ref":  # unique: a fresh prefix, the same length
                body[field] = uuid.uuid4().hex + "x" * (size - 32)
            r = await _post(client, path, body)
            assert (r.status_code in (200, 201)) == accepted and (accepted or r.status_code == 422), (field, r.text)
    wallet = await new_wallet(client, funded=10)
    for size, status in ((bounds.MAX_TEXT_CHARS, 200), (bounds.MAX_TEXT_CHARS + 1, 422)):
        spend = {"wallet": wallet.handle, "amount": 1, "currency": "USD", "description": "d" * size}
        assert (await _post(client, "/v1/spends", spend)).status_code == status, size


async def test_command_id(client: httpx.AsyncClient) -> None:
    body = {"owner_id": "c"}
    at = await client.post("/v1/wallets", json=body, headers={"Idempotency-Key": "k" * bounds.MAX_COMMAND_ID_CHARS})
    assert at.status_code in (200, 201), at.text
    past = await client.post(
        "/v1/wallets", json=body, headers={"Idempotency-Key": "k" * (bounds.MAX_COMMAND_ID_CHARS + 1)}
    )
    assert _codes(past) == (400, "invalid_idempotency_key"), past.text


async def test_currencies(client: httpx.AsyncClient) -> None:
    codes = ["C" + uuid.uuid4().hex[:8].upper() for _ in range(bounds.MAX_WALLET_CURRENCIES + 1)]
    for code in codes:
        await write(client, "POST", "/v1/currencies", {"code": code, "name": code, "exponent": 2})
    at = await write(client, "POST", "/v1/wallets", {"owner_id": "c", "currencies": codes[:-1]})
    assert len(at["balances"]) == bounds.MAX_WALLET_CURRENCIES
    past = await _post(client, "/v1/wallets", {"owner_id": "c", "currencies": codes})
    assert _codes(past) == (422, "validation_error"), past.text


async def test_expiry(client: httpx.AsyncClient) -> None:
    wallet = await new_wallet(client, funded=10)
    hold = {"wallet": wallet.handle, "amount": 1, "currency": "USD"}
    await write(client, "POST", "/v1/holds", {**hold, "expires_in_seconds": bounds.MAX_EXPIRY_SECONDS})
    past = await _post(client, "/v1/holds", {**hold, "expires_in_seconds": bounds.MAX_EXPIRY_SECONDS + 1})
    assert _codes(past) == (422, "validation_error"), past.text


async def test_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/wallets", params={"limit": bounds.MAX_PAGE_ITEMS})).status_code == 200
    assert _codes(await client.get("/v1/wallets", params={"limit": bounds.MAX_PAGE_ITEMS + 1})) == (
        422,
        "validation_error",
    )
    at = await client.get("/v1/wallets", params={"cursor": "A" * bounds.MAX_CURSOR_CHARS})
    assert _codes(at) == (400, "invalid_cursor"), at.text  # read, and found not to be ours
    past = await client.get("/v1/wallets", params={"cursor": "A" * (bounds.MAX_CURSOR_CHARS + 1)})
    assert _codes(past) == (422, "validation_error"), past.text
    filters = {f"metadata.k{i}": "v" for i in range(bounds.MAX_METADATA_FILTERS)}
    assert (await client.get("/v1/wallets", params=filters)).status_code == 200
    past = await client.get("/v1/wallets", params={**filters, "metadata.one_more": "v"})
    assert _codes(past) == (422, "validation_error"), past.text


async def _send(amqp: AbstractRobustConnection, system: Processes, command: Any) -> CommandResult:
    """Publish ``command`` as the broker user of the session system and wait for its reply."""
    channel = await amqp.channel(publisher_confirms=True)
    try:
        exchange, _ = await system.settings.topology.declare_commands(channel)
        replies = await channel.declare_queue(exclusive=True, auto_delete=True)
        body = command.model_dump_json().encode()
        message = aio_pika.Message(
            body, content_type="application/json", reply_to=replies.name, user_id=system.settings.amqp_user
        )
        await exchange.publish(message, routing_key=command.type)
        async with replies.iterator(timeout=30) as incoming:
            async for reply in incoming:
                await reply.ack()
                return CommandResult.model_validate_json(reply.body)
        raise AssertionError("no reply")
    finally:
        await channel.close()


async def test_amqp_body(client: httpx.AsyncClient, system: Processes, amqp: AbstractRobustConnection) -> None:
    """At the bound a command (padded with whitespace) is applied; one byte more is dead-lettered with its reason."""
    wallet = await new_wallet(client)
    command = cmd("deposit", principal=None, wallet=wallet.handle, amount=5, currency="USD")
    raw = command.model_dump_json().encode()
    channel = await amqp.channel(publisher_confirms=True)
    try:
        exchange, _ = await system.settings.topology.declare_commands(channel)
        run = f"bd{uuid.uuid4().hex[:8]}"
        for size, suffix in ((bounds.MAX_BODY_BYTES, "at"), (bounds.MAX_BODY_BYTES + 1, "past")):
            body = raw + b" " * (size - len(raw))
            message = aio_pika.Message(
                body, content_type="application/json", message_id=f"{run}-{suffix}", user_id=system.settings.amqp_user
            )
            await exchange.publish(message, routing_key="deposit")
        dead = await channel.get_queue(system.settings.topology.commands_dead_queue)
        reason = ""
        for _ in range(300):
            letter = await dead.get(no_ack=False, fail=False)
            if letter is None:
                await asyncio.sleep(0.1)
            elif letter.message_id == f"{run}-past":
                reason = str((letter.headers or {}).get(DEAD_LETTER_REASON_HEADER, ""))
                await letter.ack()
                break
            # another test's dead letter stays unacked: back in the queue when the channel closes
        assert reason.startswith("body too large"), reason
    finally:
        await channel.close()
    for _ in range(300):
        balance = (await client.get(f"/v1/accounts/{wallet.usd}")).json()["balance"]
        if balance:
            break
        await asyncio.sleep(0.1)
    assert balance == 5, json.dumps(balance)
