"""The SDK against real processes: every method once, with the sync client and with the async one.

One scenario, written once: each call goes through ``run`` (which awaits what the async client returns)
and a recorder notes which resource methods were called, so the test fails if a method of the SDK was
never exercised (tests/unit/test_sdk_coverage.py checks that every route has a method).
"""

from __future__ import annotations

import inspect
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import ledger_sdk
from contracts.catalogue import COMMANDS
from contracts.keys import RateLimit, SpendingLimit
from contracts.recon import Columns, SourceConfig
from ledger_cli.processes import Processes
from ledger_sdk import AsyncClient, Client, Leg, account
from tests.unit.test_sdk_coverage import methods

pytestmark = pytest.mark.e2e


class Recorder:
    """Wraps a client; remembers ``resource.method`` of each call."""

    def __init__(self, client: Any, called: set[str]) -> None:
        self._client, self._called = client, called

    def __getattr__(self, resource: str) -> Any:
        target, called = getattr(self._client, resource), self._called

        class Resource:
            def __getattr__(self, name: str) -> Any:
                called.add(f"{resource}.{name}")
                return getattr(target, name)

        return Resource()


async def run(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def items(pager: Any, limit: int | None = None) -> list[Any]:
    return list(await run(pager.to_list(limit)))


def suffix() -> str:
    return uuid.uuid4().hex[:10]


async def scenario(c: Any, admin: Any, make_client: Any) -> None:
    s = suffix()
    assert (await run(c.system.health())) == {"status": "ok"}
    assert (await run(c.system.ready())).status == "ready"
    code = f"P{s[:6].upper()}"
    registered = await run(admin.currencies.register(code=code, name="Points", exponent=2))
    assert registered.status == "applied"
    assert any(x.code == code for x in await run(c.currencies.list()))

    alice = await run(c.wallets.create(owner_id=f"o-{s}", handle=f"@a_{s}", currencies=["USD"], metadata={"t": s}))
    bob = await run(c.wallets.create(owner_id=f"o-{s}", handle=f"@b_{s}", external_ref=f"b-{s}", currencies=["USD"]))
    await run(c.wallets.create(owner_id=f"shop-{s}", kind="merchant", handle=f"@s_{s}", currencies=["USD"]))
    a, b, m = f"@a_{s}", f"ext:b-{s}", f"@s_{s}"
    await run(c.deposits.create(to=a, amount="100.00", currency="USD"))
    await run(c.bonuses.create(to=a, amount=500, currency="USD", description="welcome"))
    await run(c.spends.create(source=a, amount=Decimal("1.50"), currency="USD"))
    await run(c.withdrawals.create(source=a, amount=100, currency="USD"))
    moved = await run(c.transfers.create(debit=a, credit=b, amount="12.50", currency="USD", metadata={"order": s}))
    assert moved.balances and {x.available for x in moved.balances} >= {1250}
    with pytest.raises(ledger_sdk.InsufficientFunds) as short:
        await run(c.transfers.create(debit=b, credit=a, amount=10**9, currency="USD"))
    assert short.value.result.refusal == ledger_sdk.Refusal.INSUFFICIENT_FUNDS and short.value.status == 422
    with pytest.raises(ledger_sdk.NotFound):
        await run(c.wallets.get("@nobody_" + s))

    wallet = await run(c.wallets.get(a))
    assert wallet.id == alice.wallet_id and wallet.metadata == {"t": s}
    usd = wallet.accounts[0]
    assert (await run(c.wallets.balance(a))).balances[0].available == usd.available
    assert [w.id for w in await items(c.wallets.list(owner_id=f"o-{s}", limit=1))] == sorted(
        [alice.wallet_id, bob.wallet_id]
    )
    assert [w.id for w in await items(c.wallets.list(metadata={"t": s}))] == [alice.wallet_id]
    await run(c.wallets.set_metadata(a, metadata={"tier": "gold"}))
    opened = await run(c.wallets.open_account(a, currency=code))
    alone = await run(c.accounts.open(currency="USD", min_balance=-1000))
    assert (await run(c.accounts.get(alone.account_id))).limits.min_balance == -1000
    await run(c.accounts.set_limits(usd.id, max_per_transaction="50.00", daily_debit_count=100))
    assert (await run(c.accounts.balance(usd.id, at=datetime.now(UTC)))).balance == usd.balance
    entries = await items(c.accounts.entries(usd.id, limit=2))
    assert len(entries) == 5 and entries[0].type == "transfer"  # every page followed, newest first
    assert len(await items(c.wallets.transactions(a, types=["deposit", "bonus"]))) == 2
    assert [e.type for e in await items(c.wallets.transactions(b, counterparty=account(usd.id)))] == ["transfer"]
    events = c.wallets.events(b, limit=1)
    assert [e.type for e in await items(events)][:2] == ["wallet.created", "account.opened"]

    legs = [Leg(party=a, side="debit", amount=300), Leg(party=b, side="credit", amount=200)]
    legs.append(Leg(party=account(opened.account_id), side="credit", amount=100))
    with pytest.raises(ledger_sdk.CurrencyMismatch):
        await run(c.transactions.post(currency="USD", legs=legs))
    posted = await run(c.transactions.post(currency="USD", legs=[*legs[:1], Leg(party=m, side="credit", amount=300)]))
    tx = await run(c.transactions.get(posted.transaction_id))
    assert sum(p.amount for p in tx.postings) == 0
    found = await items(c.transactions.list(metadata={"order": s}))
    assert [t.id for t in found] == [moved.transaction_id]
    assert len(await items(c.transactions.list(types=["transaction.post"], since=tx.created_at), limit=1)) == 1
    reversed_ = await run(c.transactions.reverse(posted.transaction_id, reason="test"))
    assert (await run(c.transactions.get(reversed_.transaction_id))).reverses_id == posted.transaction_id
    again = await run(c.commands.get(reversed_.command_id))
    assert again.transaction_id == reversed_.transaction_id

    hold = await run(c.holds.place(holder=a, amount=1000, currency="USD", recipient=m, expires_in_seconds=600))
    await run(c.holds.increment(hold.hold_id, amount=500))
    await run(c.holds.capture(hold.hold_id, amount="10.00"))
    assert (await run(c.holds.get(hold.hold_id))).status == "captured"
    other = await run(c.holds.place(holder=a, amount=100, currency="USD"))
    await run(c.holds.release(other.hold_id))

    intent = await run(c.payment_intents.create(merchant=m, amount="5.00", currency="USD", description="order"))
    await run(c.payment_intents.pay(intent.intent_id, payer=a))
    await run(c.refunds.create(intent_id=intent.intent_id, amount=200, currency="USD", reason="partial"))
    assert (await run(c.payment_intents.get(intent.intent_id))).refunded_amount == 200
    authorised = await run(c.payment_intents.create(merchant=m, amount=300, currency="USD"))
    await run(c.payment_intents.pay(authorised.intent_id, payer=a, via_hold=True))
    await run(c.payment_intents.capture(authorised.intent_id, amount=100))
    cancel = await run(c.payment_intents.create(merchant=m, amount=300, currency="USD"))
    await run(c.payment_intents.cancel(cancel.intent_id))

    await run(c.wallets.freeze(b, allow_credits=False, reason="review"))
    with pytest.raises(ledger_sdk.AccountFrozen):
        await run(c.transfers.create(debit=b, credit=a, amount=1, currency="USD"))
    await run(c.wallets.unfreeze(b))
    empty = await run(c.wallets.create(owner_id=f"o-{s}"))
    await run(c.wallets.close(str(empty.wallet_id)))

    # A key bound to alice's wallet: me.*, and only what its scopes and wallet allow.
    key = await run(admin.keys.create(name=f"agent-{s}", scopes=["read", "transfer"], wallet_id=alice.wallet_id))
    spending = [SpendingLimit(currency="USD", per_day_max=2000)]
    limits = admin.keys.set_limits(key.id, rate_limit=RateLimit(per_second=50, burst=50), spending_limits=spending)
    assert (await run(limits)).spending_limits[0].per_day_max == 2000  # replaces every limit of the key
    assert any(k.id == key.id for k in await run(admin.keys.list(include_revoked=False)))
    agent = make_client(key.secret)
    me = await run(agent.me.wallet())
    assert me.id == alice.wallet_id
    assert (await run(agent.me.balance())).wallet_id == alice.wallet_id
    assert len(await items(agent.me.transactions(limit=3), limit=3)) == 3
    assert (await items(agent.me.events(), limit=1))[0].type == "wallet.created"
    await run(agent.transfers.create(debit=a, credit=m, amount="15.00", currency="USD"))
    with pytest.raises(ledger_sdk.ExceedsKeyLimit):
        await run(agent.transfers.create(debit=a, credit=m, amount="15.00", currency="USD"))
    with pytest.raises(ledger_sdk.PermissionDenied):
        await run(agent.transfers.create(debit=b, credit=a, amount=1, currency="USD"))
    mine = (await run(agent.flows.graph())).flows  # only the edges with its own wallet on one side
    assert mine and all(alice.wallet_id in (f.source_wallet_id, f.target_wallet_id) for f in mine)
    assert (await run(admin.keys.revoke(key.id))).revoked_at is not None

    # The console's reads: flows (the agent sees only its wallet's), operations, dead letters.
    edges = (await run(c.flows.graph(since=tx.created_at, currency="USD"))).flows
    assert any(f.source_label == a and f.target_label == m for f in edges)
    assert (await run(admin.operations.get())).outbox.backlog >= 0
    assert (await run(admin.dead_letters.list(source="events", limit=5))).source == "events"
    with pytest.raises(ledger_sdk.NotFoundError):
        await run(admin.dead_letters.replay(source="events", id=f"no-such-{s}"))
    with pytest.raises(ledger_sdk.Conflict):
        await run(admin.dead_letters.purge(source="events", id=f"no-such-{s}"))

    # Reconciliation: a statement line the ledger lacks opens a break; the deposit it stood for closes it.
    bank = await run(c.wallets.create(owner_id=f"bank-{s}", handle=f"@bk_{s}", currencies=["USD"]))
    (bank_usd,) = (await run(c.wallets.get(f"@bk_{s}"))).accounts
    source, columns = f"bank-{s}", Columns(amount="Amount", value_date="Date", reference="Ref")
    config = SourceConfig(account_id=bank_usd.id, currency="USD", columns=columns)
    assert (await run(c.recon.define_source(source, config))).name == source
    assert (await run(c.recon.get_source(source))).config == config
    statement = f"Date,Amount,Ref\n{datetime.now(UTC).date().isoformat()},25.00,R-{s}\n".encode()
    assert (await run(c.recon.import_file(source, statement, name="bank.csv"))).lines == 1
    await run(c.recon.run(source))
    (opened,) = (await run(c.recon.breaks(source=source))).breaks
    assert opened.reason == "statement_line_unmatched" and opened.state == "open"
    assert any(x.source == source for x in (await run(c.recon.open_breaks())).counts)
    paid = {"reference": f"R-{s}"}
    await run(c.deposits.create(to=f"@bk_{s}", amount="25.00", currency="USD", metadata=paid))
    await run(c.recon.run(source))
    closed = await run(c.recon.get_break(opened.break_id))
    assert closed.state != "open" and closed.line is not None and closed.line.match_id is not None, closed
    assert [x.amount for x in (await run(c.recon.get_match(closed.line.match_id))).postings] == [2500]
    assert [r.source for r in (await run(c.recon.runs(source=source))).runs] == [source, source]
    assert (await run(c.recon.balances(source))).source == source
    assert bank.wallet_id == bank_usd.wallet_id

    # The event log, and a named reader's position.
    page = await run(c.events.list(after=0, wallet=a, limit=2, reader=f"sdk-{s}"))
    assert [e.position for e in page.events] == sorted(e.position for e in page.events) and page.head >= 2
    assert (await run(c.readers.report(f"sdk-{s}", position=1))).position == 1
    assert any(r.name == f"sdk-{s}" for r in (await run(admin.readers.list())).readers)
    assert (await run(c.readers.forget(f"sdk-{s}"))).name == f"sdk-{s}"


def _expected() -> set[str]:
    """Every method the scenario must call: all but the command methods, which test_sdk_commands.py calls,
    each with an example of its command (a new command needs no line here)."""
    commands = {route.operation for spec in COMMANDS for route in spec.routes}
    return {f"{resource}.{name}" for resource, name, _ in methods(Client)} - commands


@pytest.fixture
def service_key(system: Processes) -> str:
    return system.settings.service_api_key.get_secret_value()


async def test_every_method_with_the_async_client(system: Processes, service_key: str) -> None:
    called: set[str] = set()
    opened: list[AsyncClient] = []

    def make(secret: str) -> Any:
        opened.append(AsyncClient(system.base_url, api_key=secret))
        return Recorder(opened[-1], called)

    async with AsyncClient(system.base_url, api_key=service_key) as c:
        await scenario(Recorder(c, called), Recorder(c, called), make)
    for extra in opened:
        await extra.aclose()
    assert called >= _expected()


def _sync_scenario(system: Processes, service_key: str) -> set[str]:
    import asyncio

    called: set[str] = set()
    opened: list[Client] = []

    def make(secret: str) -> Any:
        opened.append(Client(system.base_url, api_key=secret))
        return Recorder(opened[-1], called)

    with Client(system.base_url, api_key=service_key) as c:
        asyncio.run(scenario(Recorder(c, called), Recorder(c, called), make))
    for extra in opened:
        extra.close()
    return called


async def test_every_method_with_the_sync_client(system: Processes, service_key: str) -> None:
    import asyncio

    # The sync client blocks: run it in a thread with its own loop for the scenario's awaits.
    called = await asyncio.to_thread(_sync_scenario, system, service_key)
    assert called >= _expected()
