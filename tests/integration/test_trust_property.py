"""Property test of the capability table: random API keys (any scopes, bound to a wallet or not) send
random command sequences whose parties are the key's own wallet, other customer wallets and system
accounts; the worker's applier runs them on real PostgreSQL, as ``key:<id>`` principals.

After every step: money left no account the key may not debit by the table (docs/security.md) with that
command, measured as a fall of available funds; no system account paid anything unless the key had
``deposit`` (through deposit or bonus) or ``treasury``; a command the table refuses is refused as the
caller's (``forbidden_*``…) and changes nothing, one it allows is never refused as the caller's; and a
bound key's result shows no other wallet's balance. ``permitted`` below is the table written out by
hand per command type, independently of both ``ledger_worker.authorize`` and the e2e matrix's oracle.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from contracts.commands import Command
from contracts.ids import system_account_id, system_wallet_id
from contracts.keys import KeySpec, Scope
from contracts.results import CommandResult
from ledger_common import keystore
from ledger_common.db import connect
from tests.ledger import apply, apply_one, cmd

CUSTOMERS = ("a", "b", "c")
SYSTEMS = ("treasury", "revenue")  # the system accounts a command may name as a party
#: Every system account a flow moves (deposit from treasury, bonus from promotions, spend to revenue…).
FLOW_SYSTEM = {"deposit": "treasury", "bonus": "promotions", "spend": "revenue", "withdraw": "treasury"}
OPENING = 1_000
CALLER_REFUSALS = {
    "forbidden_principal",
    "key_revoked",
    "forbidden_scope",
    "unbound_key_required",
    "forbidden_party",
    "reserved_command_id",
}

anyone = st.sampled_from(CUSTOMERS + SYSTEMS)
small = st.sampled_from((1, 10, 100, 400))
key = st.integers(min_value=0, max_value=2)
index = st.integers(min_value=0, max_value=30)
by_wallet = st.booleans()  # name parties by wallet reference rather than account id
#: The scopes that move money; keys holding most of them make the allowed paths common too.
MONEY = frozenset({Scope.TRANSFER, Scope.HOLDS, Scope.PAYMENTS, Scope.REFUNDS, Scope.DEPOSIT, Scope.TREASURY})
scope_sets = st.one_of(
    st.frozensets(st.sampled_from(list(Scope)), min_size=1),
    st.frozensets(st.sampled_from(sorted(MONEY)), min_size=1),
    st.sampled_from((MONEY, MONEY - {Scope.TREASURY}, MONEY - {Scope.TRANSFER})),
)
keys = st.lists(
    st.tuples(scope_sets, st.sampled_from((None, "a", "b"))),
    min_size=3,
    max_size=3,
)
steps = st.one_of(
    st.tuples(st.just("flow"), key, st.sampled_from(tuple(FLOW_SYSTEM)), anyone, small, by_wallet),
    st.tuples(st.just("transfer"), key, st.permutations(CUSTOMERS + SYSTEMS).map(lambda p: p[:2]), small, by_wallet),
    st.tuples(
        st.just("post"),
        key,
        st.permutations(CUSTOMERS + SYSTEMS),
        st.integers(min_value=1, max_value=2),
        st.integers(min_value=1, max_value=2),
        small,
        by_wallet,
    ),
    st.tuples(st.just("place"), key, anyone, st.none() | anyone, small, by_wallet),
    st.tuples(st.just("capture"), key, index, st.none() | anyone, by_wallet),
    st.tuples(st.just("release"), key, index),
    st.tuples(st.just("intent"), key, anyone, small, by_wallet),
    st.tuples(st.just("pay"), key, index, anyone, st.booleans(), by_wallet),
    st.tuples(st.just("capture_intent"), key, index),
    st.tuples(st.just("refund"), key, index, small),
)


@dataclass(frozen=True)
class Key:
    principal: str
    scopes: frozenset[Scope]
    wallet: str | None  # the customer it is bound to


@dataclass
class World:
    wallets: dict[str, UUID]
    accounts: dict[str, UUID]  # customers and system accounts (USD) by name
    holds: list[tuple[UUID, str, str | None]] = field(default_factory=list)  # (id, holder, recipient)
    intents: list[tuple[UUID, str]] = field(default_factory=list)  # (id, merchant)

    def ref(self, name: str, wallet: bool) -> dict[str, str]:
        """How a party field pair names ``name``: by account id or by wallet reference."""
        if not wallet:
            return {"account": str(self.accounts[name])}
        return {"wallet": f"@{name}" if name in SYSTEMS else str(self.wallets[name])}


def _party(prefix: str, ref: dict[str, str]) -> dict[str, str]:
    """Payload fields of a party: ``debit_account_id`` or ``debit_wallet``…; no prefix: ``account_id``/``wallet``."""
    ((kind, value),) = ref.items()
    name = "account_id" if kind == "account" else "wallet"
    return {f"{prefix}_{name}" if prefix else name: value}


# ---- the table, written out per command type ---------------------------------------------------------


def permitted(k: Key, kind: str, sides: dict[str, Any]) -> bool:
    """Whether the capability table lets ``k`` send ``kind`` with these sides (customer or system names;
    ``hold``: (holder, recipient); ``intent``: its merchant)."""
    s = k.scopes

    def own(name: str | None) -> bool:  # a customer side that must be the key's own wallet
        return name is not None and name in CUSTOMERS and (k.wallet is None or k.wallet == name)

    def anyone(name: str) -> bool:  # a customer side any customer may stand on
        return name in CUSTOMERS

    def moving(name: str, *, debit: bool) -> bool:  # a side of a transfer or a leg
        if name in SYSTEMS:
            return Scope.TREASURY in s
        return own(name) if debit else anyone(name)

    if kind in ("deposit", "bonus"):
        return Scope.DEPOSIT in s and own(sides["customer"])
    if kind in ("spend", "withdraw"):
        return Scope.TRANSFER in s and own(sides["customer"])
    if kind == "transfer":
        return Scope.TRANSFER in s and moving(sides["debit"], debit=True) and moving(sides["credit"], debit=False)
    if kind == "transaction.post":
        legs = [moving(n, debit=True) for n in sides["debits"]] + [moving(n, debit=False) for n in sides["credits"]]
        return Scope.TRANSFER in s and all(legs)
    if kind == "hold.place":
        recipient = sides["recipient"]
        return Scope.HOLDS in s and own(sides["holder"]) and (recipient is None or anyone(recipient))
    if kind == "hold.capture":
        (holder, _), recipient = sides["hold"], sides["recipient"]
        named_ok = recipient is None or (anyone(recipient) and Scope.TRANSFER in s)
        return Scope.HOLDS in s and own(holder) and named_ok
    if kind == "hold.release":
        holder, recipient = sides["hold"]
        return Scope.HOLDS in s and (own(holder) or own(recipient))
    if kind == "intent.create":
        return Scope.PAYMENTS in s and own(sides["merchant"])
    if kind == "intent.pay":
        return Scope.TRANSFER in s and own(sides["payer"])
    if kind == "intent.capture":
        return Scope.PAYMENTS in s and own(sides["intent"])
    if kind == "refund":
        return Scope.REFUNDS in s and own(sides["intent"])
    raise AssertionError(kind)


def debited(kind: str, sides: dict[str, Any]) -> set[str]:
    """The accounts whose available funds the command takes (a capture only turns held into paid)."""
    if kind in FLOW_SYSTEM:
        return {FLOW_SYSTEM[kind]} if kind in ("deposit", "bonus") else {sides["customer"]}
    return {
        "transfer": lambda: {sides["debit"]},
        "transaction.post": lambda: set(sides["debits"]),
        "hold.place": lambda: {sides["holder"]},
        "intent.pay": lambda: {sides["payer"]},
        "refund": lambda: {sides["intent"]},
    }.get(kind, set)()


# ---- steps -------------------------------------------------------------------------------------------


def _pick(items: list[Any], i: int) -> Any:
    return items[i % len(items)] if items else None


def translate(step: tuple[Any, ...], w: World, ks: list[Key]) -> tuple[Key, Command, dict[str, Any]] | None:
    """The command of a step, the key sending it and its sides (None: nothing to act on yet)."""
    kind, k_index, *args = step
    k = ks[k_index]
    usd = {"currency": "USD"}

    def send(type_: str, sides: dict[str, Any], **payload: Any) -> tuple[Key, Command, dict[str, Any]]:
        return k, cmd(type_, principal=k.principal, **payload), sides

    if kind == "flow":
        flow, name, amount, wallet = args
        return send(flow, {"customer": name}, **_party("", w.ref(name, wallet)), amount=amount, **usd)
    if kind == "transfer":
        (debit, credit), amount, wallet = args
        fields = {**_party("debit", w.ref(debit, wallet)), **_party("credit", w.ref(credit, wallet))}
        return send("transfer", {"debit": debit, "credit": credit}, **fields, amount=amount, **usd)
    if kind == "post":
        order, n_debits, n_credits, amount, wallet = args
        debits, credits = list(order[:n_debits]), list(order[n_debits : n_debits + n_credits])
        amount *= 2  # every credit leg gets at least 1
        total = amount * len(debits)
        shares = [total - (len(credits) - 1)] + [1] * (len(credits) - 1)
        legs = [{**_party("", w.ref(n, wallet)), "side": "debit", "amount": amount} for n in debits]
        legs += [
            {**_party("", w.ref(n, wallet)), "side": "credit", "amount": a}
            for n, a in zip(credits, shares, strict=True)
        ]
        return send("transaction.post", {"debits": debits, "credits": credits}, legs=legs, **usd)
    if kind == "place":
        holder, recipient, amount, wallet = args
        extra = _party("recipient", w.ref(recipient, wallet)) if recipient else {}
        sides = {"holder": holder, "recipient": recipient}
        return send("hold.place", sides, **_party("", w.ref(holder, wallet)), **extra, amount=amount, **usd)
    if kind == "intent":
        merchant, amount, wallet = args
        return send(
            "intent.create", {"merchant": merchant}, **_party("merchant", w.ref(merchant, wallet)), amount=amount, **usd
        )
    if kind in ("capture", "release"):
        hold = _pick(w.holds, args[0])
        if hold is None:
            return None
        hold_id, holder, to = hold
        if kind == "release":
            return send("hold.release", {"hold": (holder, to)}, hold_id=str(hold_id))
        recipient, wallet = args[1], args[2]
        extra = _party("recipient", w.ref(recipient, wallet)) if recipient else {}
        return send("hold.capture", {"hold": (holder, to), "recipient": recipient}, hold_id=str(hold_id), **extra)
    intent = _pick(w.intents, args[0])
    if intent is None:
        return None
    intent_id, merchant = intent
    if kind == "pay":
        payer, via_hold, wallet = args[1], args[2], args[3]
        sides = {"payer": payer, "intent": merchant}
        return send(
            "intent.pay", sides, intent_id=str(intent_id), **_party("payer", w.ref(payer, wallet)), via_hold=via_hold
        )
    if kind == "capture_intent":
        return send("intent.capture", {"intent": merchant}, intent_id=str(intent_id))
    return send("refund", {"intent": merchant}, intent_id=str(intent_id), amount=args[1], **usd)


def record(w: World, command: Command, sides: dict[str, Any], result: CommandResult) -> None:
    """Remember what an applied command created, for later steps to act on."""
    if result.status != "applied":
        return
    if command.type == "hold.place":
        assert result.hold_id is not None
        w.holds.append((result.hold_id, sides["holder"], sides["recipient"]))
    elif command.type == "intent.pay" and result.hold_id is not None:
        w.holds.append((result.hold_id, sides["payer"], sides["intent"]))
    elif command.type == "intent.create":
        assert result.intent_id is not None
        w.intents.append((result.intent_id, sides["merchant"]))


# ---- the run -----------------------------------------------------------------------------------------


async def _world(conn: asyncpg.Connection) -> World:
    created = await apply(conn, *(cmd("wallet.create", owner_id=f"trust-{n}", currencies=["USD"]) for n in CUSTOMERS))
    wallets: dict[str, UUID] = {}
    accounts: dict[str, UUID] = {}
    for name, r in zip(CUSTOMERS, created, strict=True):
        assert r.wallet_id is not None
        wallets[name], accounts[name] = r.wallet_id, r.balances[0].account_id
    for role in ("treasury", "revenue", "promotions"):
        accounts[role], wallets[role] = system_account_id("USD", role), system_wallet_id(role)
    w = World(wallets=wallets, accounts=accounts)
    setup = [cmd("deposit", account_id=str(accounts[n]), amount=OPENING, currency="USD") for n in CUSTOMERS]
    setup += [cmd("spend", account_id=str(accounts["a"]), amount=1, currency="USD")]  # every flow's account exists
    setup += [cmd("bonus", account_id=str(accounts["a"]), amount=1, currency="USD")]
    assert {r.status for r in await apply(conn, *setup)} == {"applied"}
    # Something to act on from the first step: a hold each way, open and paid intents.
    for holder, to in (("a", "b"), ("b", "c"), ("c", None)):
        extra = {"recipient_account_id": str(accounts[to])} if to else {}
        r = await apply_one(
            conn, cmd("hold.place", account_id=str(accounts[holder]), amount=50, currency="USD", **extra)
        )
        assert r.hold_id is not None
        w.holds.append((r.hold_id, holder, to))
    for merchant, payer in (("a", None), ("b", None), ("a", "b"), ("c", "a")):
        r = await apply_one(
            conn, cmd("intent.create", merchant_account_id=str(accounts[merchant]), amount=100, currency="USD")
        )
        assert r.intent_id is not None
        w.intents.append((r.intent_id, merchant))
        if payer:
            paid = await apply_one(
                conn,
                cmd(
                    "intent.pay",
                    intent_id=str(r.intent_id),
                    payer_account_id=str(accounts[payer]),
                    via_hold=merchant == "c",
                ),
            )
            assert paid.status == "applied", paid
            if paid.hold_id is not None:
                w.holds.append((paid.hold_id, payer, merchant))
    return w


async def _keys(conn: asyncpg.Connection, w: World, drawn: list[tuple[frozenset[Scope], str | None]]) -> list[Key]:
    out = []
    for scopes, bound in drawn:
        spec = KeySpec(name="property", scopes=tuple(sorted(scopes)), wallet_id=w.wallets[bound] if bound else None)
        made = await keystore.create_key(conn, spec, principal="test", pepper=b"p" * 32, environment="test")
        out.append(Key(f"key:{made.id}", scopes, bound))
    return out


async def _available(conn: asyncpg.Connection, w: World) -> dict[str, tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT id, balance, held FROM accounts WHERE id = ANY($1::uuid[])", list(w.accounts.values())
    )
    by_id = {r["id"]: (r["balance"], r["held"]) for r in rows}
    return {n: by_id[a] for n, a in w.accounts.items()}


async def _run(url: str, drawn: list[tuple[frozenset[Scope], str | None]], program: list[tuple[Any, ...]]) -> None:
    conn = await connect(url)
    try:
        w = await _world(conn)
        ks = await _keys(conn, w, drawn)
        for step in program:
            translated = translate(step, w, ks)
            if translated is None:
                continue
            k, command, sides = translated
            before = await _available(conn, w)
            result = await apply_one(conn, command)
            after = await _available(conn, w)
            check(k, command, sides, result, before, after, w)
            record(w, command, sides, result)
    finally:
        await conn.close()


def check(
    k: Key,
    command: Command,
    sides: dict[str, Any],
    result: CommandResult,
    before: dict[str, tuple[int, int]],
    after: dict[str, tuple[int, int]],
    w: World,
) -> None:
    kind, allowed = command.type, permitted(k, command.type, sides)
    what = (kind, sides, sorted(k.scopes), k.wallet, result.refusal, result.detail)
    event(f"{kind}: {'allowed' if allowed else 'refused'} -> {result.refusal or result.status}")
    if not allowed:
        assert result.status == "refused" and result.refusal in CALLER_REFUSALS, what
        assert after == before, ("a command the table refuses changed balances", what)
    else:
        assert result.refusal not in CALLER_REFUSALS, ("the table allows it", what)
    fell = {n for n in w.accounts if after[n][0] - after[n][1] < before[n][0] - before[n][1]}
    may = debited(kind, sides) if allowed else set()
    assert fell <= may, (f"money left {sorted(fell - may)}, which this key may not debit", what)
    paid_by_system = {n for n in fell if n not in CUSTOMERS}
    if paid_by_system:
        assert (kind in ("deposit", "bonus") and Scope.DEPOSIT in k.scopes) or Scope.TREASURY in k.scopes, what
    if k.wallet is not None:
        shown = {b.wallet_id for b in result.balances}
        assert shown <= {w.wallets[k.wallet]}, ("a bound key saw another wallet's balance", what)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=keys, program=st.lists(steps, min_size=5, max_size=40))
def test_money_moves_only_as_the_capability_table_allows(
    database_url: str, drawn: list[tuple[frozenset[Scope], str | None]], program: list[tuple[Any, ...]]
) -> None:
    asyncio.run(_run(database_url, drawn, program))


def test_the_hand_written_table_agrees_with_the_docs_examples() -> None:
    """A few rows of docs/security.md, to keep ``permitted`` honest."""
    bound_a = Key("key:x", frozenset({Scope.TRANSFER}), "a")
    treasurer = Key("key:y", frozenset({Scope.TRANSFER, Scope.TREASURY}), None)
    assert permitted(bound_a, "transfer", {"debit": "a", "credit": "b"})
    assert not permitted(bound_a, "transfer", {"debit": "b", "credit": "a"})
    assert not permitted(
        Key("key:z", frozenset({Scope.TRANSFER}), None), "transfer", {"debit": "treasury", "credit": "a"}
    )
    assert permitted(treasurer, "transaction.post", {"debits": ["treasury"], "credits": ["a", "revenue"]})
    holds = Key("key:h", frozenset({Scope.HOLDS}), "b")
    assert permitted(holds, "hold.release", {"hold": ("a", "b")})  # the recipient may release
    assert not permitted(holds, "hold.capture", {"hold": ("a", "b"), "recipient": None})
    assert not permitted(holds, "hold.capture", {"hold": ("b", "a"), "recipient": "c"})  # naming needs transfer
