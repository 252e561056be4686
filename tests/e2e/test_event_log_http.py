"""GET /v1/events and the named readers, over the session's running system: order and positions, filters,
what each kind of key may read, long-polls, start at a time, and lag (ledger_sdk's client and raw HTTP)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from contracts.events import EventEnvelope
from contracts.keys import Scope
from ledger_cli.processes import Processes
from ledger_sdk import AsyncClient
from ledger_sdk.amqp import LogReader
from tests.e2e.access import bearer, make_key
from tests.e2e.api import get, new_wallet, write

pytestmark = pytest.mark.e2e


async def _all(c: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every entry the caller may read, following ``next_after`` to the head."""
    after, out = 0, []
    while True:
        page = await get(c, "/v1/events", after=after, limit=1000, **params)
        out += page["events"]
        if page["next_after"] >= page["head"]:
            return out
        after = page["next_after"]


async def _logged(c: httpx.AsyncClient, command_id: str) -> None:
    """Wait until the command's events have positions (the relay numbers them right after the commit)."""
    deadline = time.monotonic() + 20
    while not any(e["event"].get("command_id") == command_id for e in await _all(c)):
        assert time.monotonic() < deadline, f"{command_id} not in the log"
        await asyncio.sleep(0.1)


async def _wallet_logged(c: httpx.AsyncClient, wallet_id: str) -> None:
    deadline = time.monotonic() + 20
    while not await _all(c, wallet=wallet_id):
        assert time.monotonic() < deadline, f"wallet {wallet_id} not in the log"
        await asyncio.sleep(0.1)


async def test_positions_filters_and_what_each_key_reads(system: Processes, client: httpx.AsyncClient) -> None:
    alice, bob = await new_wallet(client, funded=500), await new_wallet(client)
    moved = await write(client, "POST", "/v1/transfers", {"debit_wallet": alice.handle, "credit_wallet": bob.handle,
                                                           "amount": 120, "currency": "USD"})  # fmt: skip
    too_much = {"debit_wallet": bob.handle, "credit_wallet": alice.handle, "amount": 10**9, "currency": "USD"}
    r = await client.post("/v1/transfers", json=too_much, headers={"Idempotency-Key": "refused-" + bob.id})
    assert r.status_code == 422
    await _logged(client, "refused-" + bob.id)
    everything = await _all(client)
    positions = [e["position"] for e in everything]
    assert positions == list(range(1, len(positions) + 1))  # the service key reads everything, no hole
    ours = [e["event"] for e in everything if e["event"].get("command_id") == moved["command_id"]]
    assert {e["type"] for e in ours} == {"account.debited", "account.credited"}

    only_alice = await _all(client, wallet=alice.handle)
    assert only_alice and {e["event"]["wallet_id"] for e in only_alice} == {alice.id}
    credits = await _all(client, type="account.credited")
    assert credits and {e["event"]["type"] for e in credits} == {"account.credited"}

    bound = await make_key(client, [Scope.READ], wallet_id=alice.id, name="alice reads")
    reader = await make_key(client, [Scope.READ], name="reporting")
    base = system.base_url
    async with httpx.AsyncClient(base_url=base, headers=bearer(bound["secret"])) as as_alice:
        mine = await _all(as_alice)
        assert [e["position"] for e in mine] == [e["position"] for e in only_alice]
        r = await as_alice.get("/v1/events", params={"wallet": bob.handle})
        assert (r.status_code, r.json()["code"]) == (403, "wrong_wallet")
    async with httpx.AsyncClient(base_url=base, headers=bearer(reader["secret"])) as reporting:
        seen = await _all(reporting)
        kinds = {e["event"]["type"] for e in seen}
        assert not any(k.startswith("key.") for k in kinds)  # key events need the admin scope
        assert "command.refused" not in kinds  # another caller's refusals
        assert {e["position"] for e in seen} < set(positions)
    assert any(e["event"]["type"] == "key.created" for e in await _all(client))  # the admin reads them


async def test_long_poll_since_and_refusals(system: Processes, client: httpx.AsyncClient) -> None:
    lonely = await new_wallet(client)
    await _wallet_logged(client, lonely.id)
    head = (await get(client, "/v1/events", limit=1))["head"]
    started = time.monotonic()  # nothing new: the answer comes when the wait is over, empty
    idle = await get(client, "/v1/events", after=head, wait=1, type="wallet.frozen", wallet=lonely.handle)
    assert (idle["events"], idle["next_after"]) == ([], head)
    assert time.monotonic() - started >= 0.9

    moment = datetime.now(UTC)
    waiting = asyncio.create_task(client.get("/v1/events", params={"after": (await get(client, "/v1/events"))["head"],
                                                                   "wait": 20}))  # fmt: skip
    await asyncio.sleep(0.3)
    wallet = await new_wallet(client)
    page = (await waiting).json()
    assert page["events"], page  # woken by the new wallet's events, long before 20 s
    assert wallet.id in {e["event"].get("wallet_id") for e in await _all(client)}
    since = await get(client, "/v1/events", since=moment.isoformat(), limit=1000)
    assert since["events"] and all(datetime.fromisoformat(e["logged_at"]) >= moment for e in since["events"])

    r = await client.get("/v1/events", params={"after": since["head"] + 1000})
    assert (r.status_code, r.json()["code"]) == (409, "position_ahead")
    r = await client.get("/v1/events", params={"after": 1, "since": moment.isoformat()})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    r = await client.get("/v1/events", params={"type": "no.such"})
    assert r.status_code == 422


async def test_named_readers_and_their_lag(system: Processes, client: httpx.AsyncClient) -> None:
    other = await make_key(client, [Scope.READ], name="someone else")
    async with AsyncClient(system.base_url, api_key=system.settings.service_api_key.get_secret_value()) as sdk:
        first = await sdk.events.list(after=0, limit=5, reader="billing-projection")
        assert [e.position for e in first.events] == list(range(1, len(first.events) + 1))
        await sdk.readers.report("amqp-warehouse", position=1)
        listed = {r.name: r for r in (await sdk.readers.list()).readers}
        assert listed["billing-projection"].transport == "http" and listed["billing-projection"].position == 0
        assert listed["amqp-warehouse"].behind_events >= first.head - 1 > 0
        assert listed["amqp-warehouse"].behind_seconds > 0
        followed = []
        async for entry in sdk.events.follow(after=0, limit=2, wait=1):
            followed.append(entry.position)
            if len(followed) == 3:
                break
        assert followed == [1, 2, 3]
        gone = await sdk.readers.forget("amqp-warehouse")
        assert gone.name == "amqp-warehouse"
        assert "amqp-warehouse" not in {r.name for r in (await sdk.readers.list()).readers}
    async with httpx.AsyncClient(base_url=system.base_url, headers=bearer(other["secret"])) as them:
        r = await them.put("/v1/readers/billing-projection", json={"position": 3})
        assert (r.status_code, r.json()["code"]) == (409, "reader_taken")
        r = await them.get("/v1/admin/readers")
        assert r.status_code == 403


async def test_the_amqp_reader_starts_at_a_time_a_position_or_now_and_reports_its_lag(
    system: Processes, client: httpx.AsyncClient
) -> None:
    s = system.settings
    before = await new_wallet(client)
    await _wallet_logged(client, before.id)
    moment = datetime.now(UTC)
    after = await new_wallet(client)
    await _wallet_logged(client, after.id)
    log = await _all(client)
    first_after = next(e["position"] for e in log if datetime.fromisoformat(e["logged_at"]) >= moment)

    async def first_read(start: object, **options: object) -> tuple[int, LogReader]:
        got: list[int] = []
        stop = asyncio.Event()
        reader = LogReader(
            s.amqp_url.get_secret_value(),
            name=f"start-{len(str(start))}",
            signing_keys=s.event_signing_keys.get_secret_value(),
            namespace=s.ledger_namespace,
            start=start,  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )

        async def handle(_: EventEnvelope) -> None:
            assert reader.handling is not None
            got.append(reader.handling)
            stop.set()

        task = asyncio.create_task(reader.run(handle, stop=stop))
        if start == "now":
            await asyncio.sleep(2)  # attached at the end: only what comes next
            await new_wallet(client)
        await asyncio.wait_for(task, 60)
        return got[0], reader

    assert (await first_read(moment))[0] == first_after
    assert (await first_read(first_after - 1))[0] == first_after
    head = (await get(client, "/v1/events", limit=1))["head"]
    async with AsyncClient(system.base_url, api_key=s.service_api_key.get_secret_value()) as sdk:
        position, reader = await first_read("now", report=sdk, report_every=0.2)
        assert position > head
        await asyncio.sleep(0.5)
    reported = {r["name"]: r for r in (await get(client, "/v1/admin/readers"))["readers"]}
    assert reported[reader.name]["transport"] == "amqp" and reported[reader.name]["position"] >= position
