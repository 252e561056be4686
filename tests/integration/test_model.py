"""Model-based property test: random sequences of every command, against the real system and a model.

The real system is the worker's applier on real PostgreSQL (batches included: consecutive steps
are sometimes applied as one batch). After every step the outcomes and balances must equal the
reference model's (``tests/reference_model.py``), and these invariants must hold in the database:
each transaction sums to zero per currency; available funds never below the allowed minimum;
captured + released never more than held; refunds never more than paid; a replayed command changes
nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.commands import Command
from contracts.results import CommandResult
from ledger_common.db import connect
from tests.ledger import apply, cmd
from tests.reference_model import USERS, Model, Refusal

customers = st.sampled_from(("a", "b", "c"))
anyone = st.sampled_from(USERS)
# Few distinct amounts, so boundaries (exactly the limit, exactly what is held) come up often.
small = st.sampled_from((1, 50, 100, 150, 200, 400))
index = st.integers(min_value=0, max_value=20)
OPENING = 1_000  # every account starts with this much, so most steps can succeed

steps = st.one_of(
    st.tuples(st.just("flow"), st.sampled_from(("deposit", "bonus", "spend", "withdraw")), anyone, small),
    st.tuples(st.just("transfer"), st.permutations(USERS).map(lambda p: p[:2]), small),
    st.tuples(
        st.just("split"), st.lists(st.tuples(customers, small), min_size=1, max_size=2, unique_by=lambda t: t[0])
    ),
    st.tuples(st.just("place"), customers, small, st.none() | anyone),
    st.tuples(st.just("capture"), index, st.none() | small, st.none() | anyone),
    st.tuples(st.just("release"), index),
    st.tuples(st.just("increment"), index, small),
    st.tuples(st.just("intent"), small),
    st.tuples(st.just("pay"), index, customers, st.booleans()),
    st.tuples(st.just("capture_intent"), index, st.none() | small),
    st.tuples(st.just("cancel"), index),
    st.tuples(st.just("refund"), index, small),
    st.tuples(st.just("reverse"), index),
    st.tuples(st.just("freeze"), anyone, st.booleans()),
    st.tuples(st.just("unfreeze"), anyone),
    st.tuples(st.just("limits"), anyone, st.sampled_from((-200, -100, 0, 50, 100)), st.none() | small),
    st.tuples(st.just("replay"), index),
)


@dataclass
class World:
    """The real ids behind the model's names and indexes."""

    accounts: dict[str, uuid.UUID]
    wallets: dict[str, uuid.UUID]
    holds: list[uuid.UUID] = field(default_factory=list)
    intents: list[uuid.UUID] = field(default_factory=list)
    txs: list[uuid.UUID] = field(default_factory=list)
    sent: list[tuple[Command, CommandResult]] = field(default_factory=list)


def _pick(items: list[Any], i: int) -> Any:
    return items[i % len(items)] if items else None


def _translate(step: tuple[Any, ...], w: World, m: Model) -> tuple[Command, Any] | None:
    """The command for ``step`` and the model call that mirrors it (None: nothing to refer to yet)."""
    kind, *args = step
    acct = {n: str(a) for n, a in w.accounts.items()}
    if kind == "flow":
        flow, name, amount = args
        return cmd(flow, account_id=acct[name], amount=amount, currency="USD"), lambda: m.flow(flow, name, amount)
    if kind == "transfer":
        (src, dst), amount = args
        c = cmd("transfer", debit_account_id=acct[src], credit_account_id=acct[dst], amount=amount, currency="USD")
        return c, lambda: m.transfer(src, dst, amount)
    if kind == "split":
        (payers,) = args
        legs = [{"account_id": acct[p], "side": "debit", "amount": a} for p, a in payers]
        legs.append({"wallet": str(w.wallets["m"]), "side": "credit", "amount": sum(a for _, a in payers)})
        return cmd("transaction.post", currency="USD", legs=legs), lambda: m.split(payers, "m")
    if kind == "place":
        name, amount, to = args
        extra = {"recipient_account_id": acct[to]} if to else {}
        c = cmd("hold.place", account_id=acct[name], amount=amount, currency="USD", **extra)
        return c, lambda: m.place(name, amount, to)
    if kind == "intent":
        (amount,) = args
        c = cmd("intent.create", merchant_wallet=str(w.wallets["m"]), amount=amount, currency="USD")
        return c, lambda: m.create_intent(amount)
    if kind in ("capture", "release", "increment"):
        hold = _pick(w.holds, args[0])
        if hold is None:
            return None
        i = w.holds.index(hold)
        if kind == "release":
            return cmd("hold.release", hold_id=str(hold)), lambda: m.release(i)
        if kind == "increment":
            return cmd("hold.increment", hold_id=str(hold), amount=args[1]), lambda: m.increment(i, args[1])
        _, amount, to = args
        extra = {"recipient_account_id": acct[to]} if to else {}
        c = cmd("hold.capture", hold_id=str(hold), **({"amount": amount} if amount else {}), **extra)
        return c, lambda: m.capture(i, amount, to)
    if kind in ("pay", "capture_intent", "cancel", "refund"):
        return _intent_step(kind, args, w, m, acct)
    if kind == "reverse":
        tx = _pick(w.txs, args[0])
        if tx is None:
            return None
        i = w.txs.index(tx)
        return cmd("transaction.reverse", transaction_id=str(tx)), lambda: m.reverse(i)
    if kind in ("freeze", "unfreeze"):
        ref = str(w.wallets[args[0]])
        if kind == "freeze":
            return cmd("wallet.freeze", wallet=ref, allow_credits=args[1]), lambda: m.freeze(args[0], args[1])
        return cmd("wallet.unfreeze", wallet=ref), lambda: m.unfreeze(args[0])
    name, low, top = args
    c = cmd("account.set_limits", account_id=acct[name], currency="USD", min_balance=low, max_per_transaction=top)
    return c, lambda: m.set_limits(name, low, top)


def _intent_step(kind: str, args: list[Any], w: World, m: Model, acct: dict[str, str]) -> tuple[Command, Any] | None:
    intent = _pick(w.intents, args[0])
    if intent is None:
        return None
    i = w.intents.index(intent)
    if kind == "pay":
        payer, via_hold = args[1], args[2]
        c = cmd("intent.pay", intent_id=str(intent), payer_account_id=acct[payer], via_hold=via_hold)
        return c, lambda: m.pay(i, payer, via_hold)
    if kind == "capture_intent":
        amount = args[1]
        c = cmd("intent.capture", intent_id=str(intent), **({"amount": amount} if amount else {}))
        return c, lambda: m.capture_intent(i, amount)
    if kind == "cancel":
        return cmd("intent.cancel", intent_id=str(intent)), lambda: m.cancel(i)
    return cmd("refund", intent_id=str(intent), amount=args[1], currency="USD"), lambda: m.refund(i, args[1])


async def _world(conn: asyncpg.Connection) -> World:
    created = await apply(
        conn,
        *(cmd("wallet.create", owner_id=n, kind="merchant" if n == "m" else "user", currencies=["USD"]) for n in USERS),
    )
    wallets = {n: r.wallet_id for n, r in zip(USERS, created, strict=True)}
    accounts = {n: r.balances[0].account_id for n, r in zip(USERS, created, strict=True)}
    funded = await apply(
        conn, *(cmd("deposit", account_id=str(a), amount=OPENING, currency="USD") for a in accounts.values())
    )
    assert {r.status for r in funded} == {"applied"}
    return World(accounts=accounts, wallets=wallets)  # type: ignore[arg-type]


def _record(w: World, m: Model, command: Command, result: CommandResult) -> None:
    """Keep the real ids of what the command created, as the model's lists grew."""
    if result.status != "applied":
        return
    if result.transaction_id is not None:
        w.txs.append(result.transaction_id)
    if command.type in ("hold.place", "intent.pay") and len(w.holds) < len(m.holds):
        assert result.hold_id is not None
        w.holds.append(result.hold_id)
    if command.type == "intent.create":
        assert result.intent_id is not None
        w.intents.append(result.intent_id)
    assert len(w.holds) == len(m.holds) and len(w.intents) == len(m.intents) and len(w.txs) == len(m.txs)


async def _state(conn: asyncpg.Connection, w: World) -> dict[str, tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT id, balance, held FROM accounts WHERE id = ANY($1::uuid[])", list(w.accounts.values())
    )
    by_id = {r["id"]: (r["balance"], r["held"]) for r in rows}
    return {n: by_id[a] for n, a in w.accounts.items()}


async def _check_invariants(conn: asyncpg.Connection, w: World) -> None:
    ids = list(w.accounts.values())
    assert not await conn.fetchval(
        "SELECT count(*) FROM (SELECT transaction_id FROM postings WHERE transaction_id IN"
        " (SELECT transaction_id FROM postings WHERE account_id = ANY($1::uuid[]))"
        " GROUP BY transaction_id, currency HAVING sum(amount) <> 0) AS x",
        ids,
    ), "a transaction does not sum to zero"
    assert not await conn.fetchval(
        "SELECT count(*) FROM accounts WHERE id = ANY($1::uuid[]) AND balance - held < min_balance", ids
    ), "available below the minimum"
    assert not await conn.fetchval(
        "SELECT count(*) FROM accounts a WHERE id = ANY($1::uuid[]) AND held <> (SELECT coalesce(sum(amount), 0)"
        " FROM holds h WHERE h.account_id = a.id AND h.status = 'pending')",
        ids,
    ), "held differs from the pending holds"
    assert not await conn.fetchval(
        "SELECT count(*) FROM holds WHERE account_id = ANY($1::uuid[]) AND captured_amount > amount", ids
    ), "captured more than held"
    assert not await conn.fetchval(
        "SELECT count(*) FROM payment_intents WHERE merchant_account_id = ANY($1::uuid[])"
        " AND refunded_amount > paid_amount",
        ids,
    ), "refunded more than paid"


async def _run(url: str, program: list[tuple[tuple[Any, ...], bool]]) -> None:
    conn = await connect(url)
    try:
        w, m = await _world(conn), Model()
        for name in USERS:
            m.flow("deposit", name, OPENING)
        m.txs.clear()  # the opening deposits are not the program's to reverse
        batch: list[tuple[Command, Any]] = []
        for step, join_next in program:
            if step[0] == "replay":
                await _replay(conn, w, step[1])
                continue
            translated = _translate(step, w, m)
            if translated is not None:
                batch.append(translated)
            if batch and not join_next:
                await _apply_batch(conn, w, m, batch)
                batch = []
        if batch:
            await _apply_batch(conn, w, m, batch)
    finally:
        await conn.close()


async def _apply_batch(conn: asyncpg.Connection, w: World, m: Model, batch: list[tuple[Command, Any]]) -> None:
    results = await apply(conn, *(c for c, _ in batch))
    for (command, mirror), result in zip(batch, results, strict=True):
        try:
            mirror()
            expected: tuple[str, str | None] = ("applied", None)
        except Refusal as refusal:
            expected = ("refused", refusal.code)
        assert (result.status, result.refusal) == expected, (command.type, command.payload, result.detail)
        event(f"{command.type}: {result.refusal or result.status}")
        _record(w, m, command, result)
        w.sent.append((command, result))
    model = {n: (a.balance, a.held) for n, a in m.accounts.items()}
    assert await _state(conn, w) == model
    await _check_invariants(conn, w)


async def _replay(conn: asyncpg.Connection, w: World, i: int) -> None:
    if not w.sent:
        return
    command, first = w.sent[i % len(w.sent)]
    before = await _state(conn, w)
    (again,) = await apply(conn, command)
    assert again.replayed and (again.status, again.refusal, again.transaction_id) == (
        first.status,
        first.refusal,
        first.transaction_id,
    )
    assert await _state(conn, w) == before, "a replayed command changed something"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(program=st.lists(st.tuples(steps, st.booleans()), min_size=5, max_size=60))
def test_the_ledger_behaves_like_its_model(database_url: str, program: list[tuple[tuple[Any, ...], bool]]) -> None:
    asyncio.run(_run(database_url, program))
