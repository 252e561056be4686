"""hold.extend on real processes: a pending hold's expiry pushed later, its event and what it refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from ledger_cli.processes import Processes
from ledger_common.db import create_pool
from ledger_common.settings import Settings
from ledger_sdk import AsyncClient, ExpiryNotLater
from tests.e2e.access import bearer, make_key
from tests.e2e.api import balances, get, new_wallet, refused, stream, write
from tests.e2e.conftest import subscribe
from tests.ledger import apply_one, cmd, funded_wallet

pytestmark = pytest.mark.e2e


async def test_a_pending_holds_expiry_moves_later_and_only_later(
    system: Processes, client: httpx.AsyncClient, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    sub = await subscribe(amqp, settings)
    guest, hotel = await new_wallet(client, funded=10_000), await new_wallet(client, kind="merchant")
    placed = await write(
        client,
        "POST",
        "/v1/holds",
        {"wallet": guest.handle, "currency": "USD", "amount": 4_000, "recipient_wallet": hotel.handle},
    )
    path = f"/v1/holds/{placed['hold_id']}"
    # No expiry yet: nothing is later than never.
    await refused(client, "POST", f"{path}/extend", {"expires_in_seconds": 3600}, "expiry_not_later")
    await write(client, "POST", f"{path}/increment", {"amount": 1, "expires_in_seconds": 600})
    before = datetime.fromisoformat((await get(client, path))["expires_at"])

    token = system.settings.service_api_key.get_secret_value()
    async with AsyncClient(system.base_url, api_key=token) as sdk:  # the generated method, client.holds.extend
        extended = await sdk.holds.extend(placed["hold_id"], expires_in_seconds=7200)
        assert extended.hold_id is not None and str(extended.hold_id) == placed["hold_id"]
        with pytest.raises(ExpiryNotLater):  # earlier than the expiry it has now
            await sdk.holds.extend(placed["hold_id"], expires_in_seconds=3600)
    hold = await get(client, path)
    after = datetime.fromisoformat(hold["expires_at"])
    assert after - before > timedelta(seconds=6000) and (hold["amount"], hold["status"]) == (4_001, "pending")
    assert balances(extended.model_dump(mode="json"))[guest.usd] == (10_000, 4_001, 5_999)  # nothing held or freed

    # Only the hold's holder extends it: a key bound to the recipient's wallet is refused at the gateway.
    payee = await make_key(client, ["holds"], wallet_id=hotel.id, name="payee")
    r = await client.post(
        f"{path}/extend",
        json={"expires_in_seconds": 9000},
        headers={**bearer(payee["secret"]), "Idempotency-Key": "x-1"},
    )
    assert (r.status_code, r.json()["code"]) == (403, "wrong_wallet"), r.text

    await write(client, "POST", f"{path}/capture")
    await refused(client, "POST", f"{path}/extend", {"expires_in_seconds": 9000}, "hold_not_pending")
    await sub.wait_for(lambda evs: any(e.type == "hold.captured" for e in evs if str(e.account_id) == guest.usd))
    kinds = [k for k, _ in stream(sub.events, guest.usd)]
    assert kinds[-4:] == ["hold.incremented", "hold.extended", "account.debited", "hold.captured"], kinds
    event = next(e for e in sub.events if e.type == "hold.extended")
    assert event.payload.expires_at == after  # type: ignore[union-attr]


@pytest.fixture
async def quiet_pool(isolated_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A database of its own with no worker running: no sweeper releases an expired hold first."""
    pool = await create_pool(isolated_settings.database_url.get_secret_value(), size=2)
    yield pool
    await pool.close()


async def test_an_expired_hold_is_not_extended(quiet_pool: asyncpg.Pool) -> None:
    _, account = await funded_wallet(quiet_pool, 1_000)
    placed = await apply_one(
        quiet_pool, cmd("hold.place", account_id=str(account), amount=10, currency="USD", expires_in_seconds=1)
    )
    await asyncio.sleep(1.2)
    result = await apply_one(quiet_pool, cmd("hold.extend", hold_id=str(placed.hold_id), expires_in_seconds=3600))
    assert (result.status, result.refusal) == ("refused", "hold_expired"), result
