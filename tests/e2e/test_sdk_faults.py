"""The SDK's safety under faults, against real processes: a gateway killed mid-request, a worker that
starts late (202 → the operation is waited for), a rate limit, a gateway that is not there."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import ledger_sdk
from contracts.keys import RateLimit
from ledger_cli.processes import Processes
from ledger_sdk import AsyncClient, Client

pytestmark = pytest.mark.e2e


def _key(procs: Processes) -> str:
    return procs.settings.service_api_key.get_secret_value()


async def _two_funded_wallets(c: AsyncClient) -> tuple[str, str]:
    s = uuid.uuid4().hex[:10]
    payer, payee = f"@p_{s}", f"@q_{s}"
    for handle in (payer, payee):
        await c.wallets.create(owner_id=f"o-{s}", handle=handle, currencies=["USD"])
    await c.deposits.create(to=payer, amount="100.00", currency="USD")
    return payer, payee


async def test_gateway_killed_after_publish_the_sdk_retry_is_applied_once(isolated: Processes) -> None:
    for name in ("worker", "relay", "gateway"):
        isolated.start(name)
    async with AsyncClient(isolated.base_url, api_key=_key(isolated), max_retries=12) as c:
        payer, payee = await _two_funded_wallets(c)
        isolated.stop("gateway")
        isolated.start("gateway", crash_at="gateway.after_publish")

        transfer = asyncio.create_task(c.transfers.create(debit=payer, credit=payee, amount=2550, currency="USD"))
        assert await asyncio.to_thread(isolated.wait_exit, "gateway", 30) == -9  # SIGKILLed itself mid-request
        isolated.start("gateway")  # the SDK is retrying meanwhile, with the same idempotency key
        result = await asyncio.wait_for(transfer, 60)

        assert result.status == "applied" and result.replayed  # the retry got the first attempt's outcome
        assert result.command_id.startswith("sdk-")
        entries = await c.wallets.transactions(payee).to_list()
        assert [(e.type, e.amount) for e in entries] == [("transfer", 2550)]  # applied once
        assert (await c.wallets.get(payer)).accounts[0].balance == 10_000 - 2550


async def test_a_202_is_waited_for_until_the_worker_starts(isolated: Processes) -> None:
    isolated.overrides["gateway"] = {"REPLY_TIMEOUT_SECONDS": "0.3"}
    for name in ("worker", "relay", "gateway"):
        isolated.start(name)
    async with AsyncClient(isolated.base_url, api_key=_key(isolated), poll_interval=0.1) as c:
        payer, payee = await _two_funded_wallets(c)
        isolated.stop("worker")

        # Not waited long enough: CommandPending, carrying the operation to wait on later.
        with pytest.raises(ledger_sdk.CommandPending) as pending:
            await c.transfers.create(debit=payer, credit=payee, amount=100, currency="USD", wait_timeout=0.5)
        # Waited by default (30 s): completes once a worker applies it.
        waiting = asyncio.create_task(c.transfers.create(debit=payer, credit=payee, amount=200, currency="USD"))
        await asyncio.sleep(1.0)
        assert not waiting.done()
        isolated.start("worker")

        later = await asyncio.wait_for(waiting, 60)
        first = await pending.value.operation.wait(timeout=60)
        assert (first.status, later.status) == ("applied", "applied")
        assert first.command_id == pending.value.command_id
        assert (await c.commands.get(first.command_id)).transaction_id == first.transaction_id
        assert (await c.wallets.get(payee)).accounts[0].balance == 300


def test_a_rate_limited_call_is_retried_after_retry_after(system: Processes) -> None:
    with Client(system.base_url, api_key=_key(system)) as admin:
        s = uuid.uuid4().hex[:10]
        made = admin.wallets.create(owner_id=f"o-{s}", handle=f"@r_{s}")
        slow = RateLimit(per_second=1, burst=1)
        key = admin.keys.create(name=f"slow-{s}", scopes=["read"], wallet_id=made.wallet_id, rate_limit=slow)
    with Client(system.base_url, api_key=key.secret, max_retries=0) as strict:
        strict.me.wallet()
        with pytest.raises(ledger_sdk.RateLimited) as limited:
            strict.me.wallet()
        assert limited.value.retry_after is not None and limited.value.retry_after >= 1
    with Client(system.base_url, api_key=key.secret) as patient:
        patient.me.wallet()
        assert patient.me.wallet().id == made.wallet_id  # the 429 was waited out and retried


def test_an_unreachable_gateway_is_a_connect_error() -> None:
    with Client("http://127.0.0.1:9", api_key="x", max_retries=1) as c, pytest.raises(ledger_sdk.ConnectError):
        c.system.health()
