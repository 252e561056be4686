"""hold.increment over HTTP on real processes: more funds reserved under one hold, its event, its refusals."""

from __future__ import annotations

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from ledger_common.settings import Settings
from tests.e2e.api import balances, get, new_wallet, refused, stream, write
from tests.e2e.conftest import subscribe

pytestmark = pytest.mark.e2e


async def test_a_pending_hold_grows_within_available_funds_and_is_captured_whole(
    client: httpx.AsyncClient, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    sub = await subscribe(amqp, settings)
    guest, hotel = await new_wallet(client, funded=10_000), await new_wallet(client, kind="merchant")
    placed = await write(
        client,
        "POST",
        "/v1/holds",
        {"wallet": guest.handle, "currency": "USD", "amount": "40.00", "recipient_wallet": hotel.handle},
    )
    path = f"/v1/holds/{placed['hold_id']}"
    grown = await write(client, "POST", f"{path}/increment", {"amount": "25.50", "expires_in_seconds": 3600})
    assert grown["hold_id"] == placed["hold_id"]
    assert balances(grown)[guest.usd] == (10_000, 6_550, 3_450)
    hold = await get(client, path)
    assert (hold["amount"], hold["status"]) == (6_550, "pending") and hold["expires_at"] is not None

    await refused(client, "POST", f"{path}/increment", {"amount": 3_451}, "insufficient_funds")
    await refused(client, "POST", f"{path}/increment", {"amount": "0.001"}, "invalid_amount")
    captured = await write(client, "POST", f"{path}/capture")
    assert balances(captured)[guest.usd] == (3_450, 0, 3_450)
    await refused(client, "POST", f"{path}/increment", {"amount": 1}, "hold_not_pending")

    await sub.wait_for(lambda evs: any(e.type == "hold.captured" for e in evs if str(e.account_id) == guest.usd))
    assert [k for k, _ in stream(sub.events, guest.usd)] == [
        "account.opened",
        "account.credited",
        "hold.placed",
        "hold.incremented",
        "account.debited",
        "hold.captured",
    ]
    incremented = next(e for e in sub.events if e.type == "hold.incremented")
    assert incremented.payload.amount == 6_550  # type: ignore[union-attr]
