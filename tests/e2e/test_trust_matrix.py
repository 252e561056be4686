"""The capability table as a generated matrix, against real processes over HTTP and AMQP.

Every command type a caller can name (``contracts.catalogue.COMMANDS``, the ledger-only expiries
included: nobody may send them) x scope sets (exactly the command's scope; every scope but it; and
with the extra scope a side may need: ``treasury``, ``transfer`` for a capture's named recipient) x
a key bound to wallet W or to none x the class of each side (W, another customer wallet O, a system
account) x HTTP (an API key) and AMQP (a publisher whose ``broker_publishers`` row has the same scopes
and wallet). The expected decision comes from the oracle below, written from the catalogue's
declarations (``CommandSpec.scope``, ``bound``, ``parties``), not from ``ledger_worker.authorize``.

A case the oracle refuses must be refused with a caller refusal it names (HTTP 403; the gateway may
answer ``forbidden`` or ``wrong_wallet`` first) and change nothing; a case it allows must never get a
caller refusal (business refusals, e.g. ``same_account``, are the rule's to make). Targets a command
consumes (a hold to capture, an intent to pay…) are made fresh for each case, before the matrix runs.

It runs in a system of its own: the AMQP side sets the broker user's publisher row, one (scopes,
binding) combination at a time, and the fingerprint of the ledger must stay the same while only
refused cases run.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.catalogue import COMMANDS, SPECS, CommandSpec, PartyRule
from contracts.ids import system_account_id
from contracts.keys import ALL_SCOPES, Scope
from contracts.refs import parties
from contracts.results import CommandResult
from ledger_cli.processes import Processes
from ledger_common.db import create_pool
from ledger_common.settings import Settings
from tests import examples
from tests.e2e.access import make_key
from tests.e2e.trust import CALLER_REFUSALS, GATEWAY_REFUSALS, Publisher, grant, recorded, service, start
from tests.ledger import apply, cmd

pytestmark = pytest.mark.e2e

OWN, OTHER, SYSTEM = "own", "other", "system"
#: A hold held by another wallet whose recipient is the bound wallet (a payee may release it).
OTHER_TO_OWN = "other_to_own"
HTTP, AMQP = "http", "amqp"
CHUNK = 20
FUNDS = 10**9
TREASURY, REVENUE = system_account_id("USD"), system_account_id("USD", "revenue")


# ---- the oracle: what the catalogue declares, decided here -------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of a command as the matrix varies it: a party of the payload (``debit``, ``payer``…), a
    leg (``leg:debit``/``leg:credit``), or the holder of the object it names (``hold``, ``intent``)."""

    name: str
    rule: PartyRule
    classes: tuple[str | None, ...]
    credited: bool = False  # money arrives there (a credited leg, a payee)


def sides_of(spec: CommandSpec) -> list[Side]:
    out: list[Side] = []
    declared = {p.name: p for p in parties(spec.payload)}
    for rule in spec.parties:
        if rule.name == "leg":
            out.append(Side("leg:debit", rule, (OWN, OTHER, SYSTEM)))
            out.append(Side("leg:credit", rule, (OWN, OTHER, SYSTEM), credited=True))
        elif rule.name == "hold":  # a hold is never on a system account (the rule refuses placing one)
            out.append(Side("hold", rule, (OWN, OTHER, OTHER_TO_OWN) if rule.recipient_too else (OWN, OTHER)))
        elif rule.name == "intent":  # nor is a merchant a system account
            out.append(Side("intent", rule, (OWN, OTHER)))
        else:
            optional = declared[rule.name].optional
            classes: tuple[str | None, ...] = (OWN, OTHER, SYSTEM) + ((None,) if optional else ())
            out.append(Side(rule.name, rule, classes, credited=rule.reach == "any"))
    return out


def holders(side: Side, cls: str) -> set[str]:
    """Whose wallet the side is, for the own-wallet check: a hold's recipient counts only where declared."""
    if cls == OTHER_TO_OWN:
        return {OTHER, OWN} if side.rule.recipient_too else {OTHER}
    return {cls}


def expected(spec: CommandSpec, scopes: frozenset[Scope], bound: bool, classes: dict[str, str | None]) -> set[str]:
    """Every caller refusal the table calls for (empty: allowed). The worker names one of them."""
    why: set[str] = set()
    if spec.scope is None or spec.scope not in scopes:
        why.add("forbidden_scope")
    if bound and not spec.bound:
        why.add("unbound_key_required")
    for side in sides_of(spec):
        cls = classes[side.name]
        if cls is None:  # an optional party left out is no side at all
            continue
        rule = side.rule
        if rule.scope is not None and rule.scope not in scopes:
            why.add("forbidden_scope")
        if cls == SYSTEM:
            if not (rule.system and Scope.TREASURY in scopes):
                why.add("forbidden_party")
            continue
        must_be_own = rule.reach == "own" or (rule.reach == "debit" and not side.credited)
        if bound and must_be_own and OWN not in holders(side, cls):
            why.add("forbidden_party")
    return why


def scope_sets(spec: CommandSpec) -> list[frozenset[Scope]]:
    if spec.scope is None:  # the ledger's own: not even every scope lets a caller send it
        return [ALL_SCOPES]
    sets = {frozenset({spec.scope}), ALL_SCOPES - {spec.scope}}
    if spec.parties:
        sets.add(frozenset({spec.scope, Scope.TREASURY}))
    sets.update(frozenset({spec.scope, r.scope}) for r in spec.parties if r.scope is not None)
    return sorted(sets, key=lambda s: sorted(s))


def test_the_oracle_reads_the_table_as_the_docs_say() -> None:
    """Spot checks of the oracle against docs/security.md, written out by hand."""
    t, h = Scope.TRANSFER, Scope.HOLDS
    transfer, capture, release = SPECS["transfer"], SPECS["hold.capture"], SPECS["hold.release"]
    assert expected(transfer, frozenset({t}), False, {"debit": SYSTEM, "credit": OWN}) == {"forbidden_party"}
    assert expected(transfer, frozenset({t, Scope.TREASURY}), True, {"debit": SYSTEM, "credit": OTHER}) == set()
    assert expected(transfer, frozenset({t}), True, {"debit": OTHER, "credit": OWN}) == {"forbidden_party"}
    assert expected(transfer, frozenset({t}), True, {"debit": OWN, "credit": OTHER}) == set()
    assert expected(capture, frozenset({h}), True, {"hold": OWN, "recipient": OTHER}) == {"forbidden_scope"}
    assert expected(capture, frozenset({h}), True, {"hold": OWN, "recipient": None}) == set()
    assert expected(capture, frozenset({h, t}), False, {"hold": OWN, "recipient": SYSTEM}) == {"forbidden_party"}
    assert expected(release, frozenset({h}), True, {"hold": OTHER_TO_OWN}) == set()
    assert expected(SPECS["hold.increment"], frozenset({h}), True, {"hold": OTHER}) == {"forbidden_party"}
    assert expected(SPECS["deposit"], frozenset({Scope.DEPOSIT, Scope.TREASURY}), False, {"customer": SYSTEM}) == {
        "forbidden_party"
    }
    assert expected(SPECS["transaction.reverse"], frozenset({Scope.ADMIN}), True, {}) == {
        "forbidden_scope",
        "unbound_key_required",
    }
    assert expected(SPECS["hold.expire"], ALL_SCOPES, False, {"hold": OWN}) == {"forbidden_scope"}


# ---- the cases ---------------------------------------------------------------------------------------


@dataclass
class Case:
    index: int
    spec: CommandSpec
    scopes: frozenset[Scope]
    bound: bool
    classes: dict[str, str | None]
    transport: str
    why: set[str]
    command_id: str = field(default_factory=lambda: f"m-{uuid.uuid4().hex}")
    made: dict[str, str] = field(default_factory=dict)  # the objects it acts on, made for it (tests/examples.py)
    bound_to: str | None = None  # the wallet a bound caller acts as (W)

    @property
    def allowed(self) -> bool:
        return not self.why

    @property
    def combo(self) -> tuple[frozenset[Scope], bool]:
        return self.scopes, self.bound

    def label(self) -> str:
        scopes = ",".join(sorted(s.value for s in self.scopes)) if self.scopes != ALL_SCOPES else "ALL"
        if len(self.scopes) > 5:
            scopes = "ALL-" + ",".join(sorted(s.value for s in ALL_SCOPES - self.scopes))
        sides = " ".join(f"{k}={v}" for k, v in self.classes.items())
        return f"{self.transport} {self.spec.type} [{scopes}] {'bound' if self.bound else 'unbound'} {sides}"


def _account_of(side: str, cls: str | None, first: bool, w: World) -> UUID | None:
    """The account a side's class stands for, to leave out combinations naming one account twice."""
    if cls is None:
        return None
    if cls == SYSTEM:
        return w.treasury if first else w.revenue
    return {OWN: w.own.account, OTHER: w.other.account, OTHER_TO_OWN: w.other.account}[cls]


def build_cases(w: World) -> list[Case]:
    cases: list[Case] = []
    for spec in COMMANDS:
        sides = sides_of(spec)
        combos = [
            dict(zip([s.name for s in sides], c, strict=True)) for c in itertools.product(*(s.classes for s in sides))
        ]
        for classes in combos:
            named = [_account_of(n, c, i == 0, w) for i, (n, c) in enumerate(classes.items())]
            named = [a for a in named if a is not None]
            if len(named) != len(set(named)):
                continue  # one account on two sides: a validation error or same_account, not a capability
            transports = (AMQP,) if not spec.routes else (HTTP, AMQP)
            for scopes, bound, transport in itertools.product(scope_sets(spec), (False, True), transports):
                why = expected(spec, scopes, bound, classes)
                case = Case(len(cases), spec, scopes, bound, dict(classes), transport, why)
                case.bound_to = str(w.own.wallet) if bound else None
                cases.append(case)
    return cases


# ---- the world: wallets, and the objects commands act on --------------------------------------------


#: A customer wallet (its handle: AMQP cases name wallets, HTTP cases accounts).
Party = examples.Party


@dataclass
class World:
    own: Party
    other: Party
    third: Party
    treasury: UUID = TREASURY
    revenue: UUID = REVENUE

    def party(self, cls: str, first: bool) -> examples.Side:
        """The party of a class; a system side is treasury first, revenue after."""
        if cls == SYSTEM:
            return examples.System(self.treasury, "@treasury") if first else examples.System(self.revenue, "@revenue")
        return {OWN: self.own, OTHER: self.other}[cls]


async def _world(conn: asyncpg.Connection) -> World:
    made: list[Party] = []
    for _ in range(3):
        wallet = uuid.uuid4()
        handle = f"@m{wallet.hex[:20]}"
        r = await apply(
            conn, cmd("wallet.create", wallet_id=str(wallet), owner_id="matrix", handle=handle, currencies=["USD"])
        )
        assert r[0].status == "applied", r
        made.append(Party(wallet, r[0].balances[0].account_id, handle))
    w = World(made[0], made[1], made[2])
    setup = [cmd("deposit", account_id=str(p.account), amount=FUNDS, currency="USD") for p in made]
    # Every flow's system account exists first: the worker creates a missing one before the batch, even
    # for a command it then refuses (an empty account, no money: not what the refused windows watch for).
    setup += [cmd(f, account_id=str(w.own.account), amount=1, currency="USD") for f in ("spend", "bonus", "withdraw")]
    assert {r.status for r in await apply(conn, *setup)} == {"applied"}
    return w


async def _prepare(pool: asyncpg.Pool, w: World, cases: list[Case]) -> None:
    """Give each case the objects its command acts on (``tests/examples.py``), fresh: an allowed command may
    consume them. A hold or an intent is held by the class of its side (a hold of ``other_to_own`` is held by
    O with the bound wallet W as its recipient; otherwise its other side is W, or the third wallet if W holds
    nothing of it); a transaction is paid by W."""

    async def make(case: Case) -> None:
        async with pool.acquire() as conn:

            async def maker(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
                (result,) = await apply(conn, cmd(kind, **payload))
                assert result.status == "applied", result
                return result.model_dump(mode="json")

            for name, kind in examples.made_here(case.spec).items():
                cls = case.classes.get(kind) or OWN
                holder = w.other if cls in (OTHER, OTHER_TO_OWN) else w.own
                if holder is w.own:
                    counter = w.other
                elif cls == OTHER_TO_OWN or kind == "intent":  # W receives it, or pays it
                    counter = w.own
                else:
                    counter = w.third  # W neither holds nor receives it
                case.made[name] = await examples.make(maker, case.spec, kind, holder, counter)

    todo = [c for c in cases if examples.made_here(c.spec)]
    for i in range(0, len(todo), 8):
        await asyncio.gather(*(make(c) for c in todo[i : i + 8]))


# ---- what each case sends ----------------------------------------------------------------------------


def payload(case: Case, w: World) -> dict[str, Any]:
    """The command's payload: HTTP cases name parties by account id, AMQP cases by wallet reference."""
    sides: dict[str, examples.Side | None] = {}
    for i, (name, cls) in enumerate(case.classes.items()):
        sides[name] = None if cls is None or name in ("hold", "intent") else w.party(cls, first=i == 0)
    return examples.example(case.spec, sides, case.made, by_wallet=case.transport == AMQP, route=None)


def http_request(spec: CommandSpec, p: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path, body) of the route that sends ``spec`` with payload ``p``."""
    return examples.request(examples.route_of(spec), p)


# ---- running them ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    status: int | None  # HTTP status (None over AMQP)
    code: str | None  # the refusal or problem code; None: applied
    recorded: bool  # the worker decided (not the gateway)
    shown: frozenset[str] = frozenset()  # the wallets whose balances the answer carries


async def _chunks(calls: Sequence[Callable[[], Awaitable[Outcome]]]) -> list[Outcome]:
    out: list[Outcome] = []
    for i in range(0, len(calls), CHUNK):
        out += await asyncio.gather(*(c() for c in calls[i : i + CHUNK]))
    return out


def _principal(case: Case, keys: dict[tuple[frozenset[Scope], bool], dict[str, Any]], user: str) -> str:
    return f"key:{keys[case.combo]['id']}" if case.transport == HTTP else f"amqp:{user}"


async def _http(c: httpx.AsyncClient, case: Case, w: World, key: dict[str, Any], pool: asyncpg.Pool) -> Outcome:
    method, path, body = http_request(case.spec, payload(case, w))
    headers = {"Authorization": f"Bearer {key['secret']}", "Idempotency-Key": case.command_id}
    r = await c.request(method, path, json=body, headers=headers)
    if r.status_code == 202:  # the worker was slower than the gateway's wait: its record decides
        result = await _wait_recorded(pool, f"key:{key['id']}", case.command_id)
        shown = frozenset(str(b.wallet_id) for b in result.balances)
        return Outcome(case, 202, result.refusal.value if result.refusal else None, True, shown)
    if r.status_code < 300:
        return Outcome(case, r.status_code, None, True, frozenset(b["wallet_id"] for b in r.json()["balances"]))
    problem = r.json()
    return Outcome(case, r.status_code, problem.get("code"), "result" in problem)


async def _wait_recorded(pool: asyncpg.Pool, principal: str, command_id: str) -> CommandResult:
    deadline = time.monotonic() + 60
    while (result := await recorded(pool, principal, command_id)) is None:
        assert time.monotonic() < deadline, f"{command_id} never recorded"
        await asyncio.sleep(0.1)
    return result


#: What a command may change: money, holds, intents, wallets, accounts and their limits, currencies.
WATCHED = ("accounts", "wallets", "holds", "payment_intents", "currencies")


async def _fingerprint(pool: asyncpg.Pool) -> dict[str, Any]:
    """Every row of the watched tables (less ``updated_at``), and how many postings and transactions exist."""
    out: dict[str, Any] = {
        "postings": await pool.fetchval("SELECT count(*) FROM postings"),
        "transactions": await pool.fetchval("SELECT count(*) FROM transactions"),
    }
    for table in WATCHED:
        key = "code" if table == "currencies" else "id"
        rows = await pool.fetch(f"SELECT {key}::text AS k, (to_jsonb(t) - 'updated_at')::text AS v FROM {table} t")
        out[table] = {r["k"]: r["v"] for r in rows}
    return out


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs, row by row."""
    found = [f"{k}: {before[k]} -> {after[k]}" for k in ("postings", "transactions") if before[k] != after[k]]
    for table in WATCHED:
        old, new = before[table], after[table]
        for k in sorted(old.keys() | new.keys()):
            if old.get(k) != new.get(k):
                found.append(f"{table} {k}: {old.get(k)} -> {new.get(k)}")
    return found


def _check(o: Outcome) -> str | None:
    """What is wrong with an outcome, or None."""
    case = o.case
    if case.bound_to is not None and not o.shown <= {case.bound_to}:
        return f"a bound caller was shown other wallets' balances: {sorted(o.shown)}"
    if case.allowed:
        if o.code in CALLER_REFUSALS or o.code in GATEWAY_REFUSALS or o.status == 403:
            return f"allowed by the table, refused {o.status} {o.code}"
        if o.code is not None and not o.recorded:
            return f"allowed, but the gateway answered {o.status} {o.code} (the request is not valid?)"
        return None
    gateway = case.transport == HTTP and not o.recorded and o.code in GATEWAY_REFUSALS
    if not (o.code in case.why or gateway):
        return f"the table refuses it ({sorted(case.why)}), got {o.status} {o.code}"
    if case.transport == HTTP and o.status != 403:
        return f"refused {o.code} with status {o.status}, not 403"
    return None


@pytest.fixture
async def matrix_system(isolated: Processes) -> AsyncIterator[Processes]:
    start(isolated, "worker", "gateway")
    yield isolated


async def test_every_command_scope_binding_and_side_against_the_table(
    matrix_system: Processes, isolated_settings: Settings, amqp: AbstractRobustConnection
) -> None:
    began = time.monotonic()
    settings = isolated_settings
    pool = await create_pool(settings.database_url.get_secret_value(), size=9)
    try:
        async with pool.acquire() as conn:
            w = await _world(conn)
        cases = build_cases(w)
        await _prepare(pool, w, cases)
        assert {c.spec.type for c in cases} == set(SPECS), "a command type without cases"
        async with service(matrix_system) as admin:
            keys: dict[tuple[frozenset[Scope], bool], dict[str, Any]] = {}
            for combo in sorted({c.combo for c in cases if c.transport == HTTP}, key=lambda k: (sorted(k[0]), k[1])):
                scopes, bound = combo
                keys[combo] = await make_key(
                    admin, sorted(scopes), wallet_id=str(w.own.wallet) if bound else None, name="matrix"
                )
        outcomes = await _run_http(matrix_system, cases, w, keys, pool)
        outcomes += await _run_amqp(amqp, settings, cases, w, pool)
    finally:
        await pool.close()
    problems = [f"{o.case.label()}: {why}" for o in outcomes if (why := _check(o)) is not None]
    summary = Counter(
        (o.case.transport, "allowed" if o.case.allowed else "refused", o.code or "applied") for o in outcomes
    )
    print(f"\n{len(outcomes)} cases in {time.monotonic() - began:.1f} s")
    for (transport, decision, code), n in sorted(summary.items()):
        print(f"  {transport:4} {decision:7} {code:24} {n}")
    assert len(outcomes) == len(cases)
    assert not problems, "\n".join(problems)
    # The matrix says something: most allowed cases are applied, every caller refusal of the table occurs.
    allowed = [o for o in outcomes if o.case.allowed]
    assert sum(o.code is None for o in allowed) >= 0.8 * len(allowed)
    worker_codes = {o.code for o in outcomes if o.recorded and not o.case.allowed}
    assert worker_codes >= {"forbidden_scope", "forbidden_party", "unbound_key_required"}


async def _run_http(
    procs: Processes,
    cases: list[Case],
    w: World,
    keys: dict[tuple[frozenset[Scope], bool], dict[str, Any]],
    pool: asyncpg.Pool,
) -> list[Outcome]:
    mine = [c for c in cases if c.transport == HTTP]
    async with httpx.AsyncClient(base_url=procs.base_url, timeout=60) as c:

        def call(case: Case) -> Callable[[], Awaitable[Outcome]]:
            return lambda: _http(c, case, w, keys[case.combo], pool)

        before = await _fingerprint(pool)
        refused = await _chunks([call(case) for case in mine if not case.allowed])
        changed = _changes(before, await _fingerprint(pool))
        assert not changed, "refused HTTP requests changed the ledger:\n" + "\n".join(changed[:20])
        allowed = await _chunks([call(case) for case in mine if case.allowed])
    return refused + allowed


async def _run_amqp(
    amqp: AbstractRobustConnection, settings: Settings, cases: list[Case], w: World, pool: asyncpg.Pool
) -> list[Outcome]:
    publisher = await Publisher(amqp, settings).start()
    out: list[Outcome] = []
    try:
        mine = [c for c in cases if c.transport == AMQP]
        for combo in sorted({c.combo for c in mine}, key=lambda k: (sorted(k[0]), k[1])):
            scopes, bound = combo
            await grant(settings, scopes, w.own.wallet if bound else None)
            these = [c for c in mine if c.combo == combo]
            before = await _fingerprint(pool)
            refused = await _send(publisher, [c for c in these if not c.allowed], w)
            changed = _changes(before, await _fingerprint(pool))
            assert not changed, f"refused AMQP commands ({combo}) changed the ledger:\n" + "\n".join(changed[:20])
            out += refused + await _send(publisher, [c for c in these if c.allowed], w)
    finally:
        await grant(settings, ALL_SCOPES)
        await publisher.close()
    return out


async def _send(publisher: Publisher, cases: Iterable[Case], w: World) -> list[Outcome]:
    batch = list(cases)
    results = await publisher.send_all([(c.spec.type, payload(c, w), c.command_id) for c in batch], timeout=120)
    return [
        Outcome(c, None, r.refusal.value if r.refusal else None, True, frozenset(str(b.wallet_id) for b in r.balances))
        for c, r in zip(batch, results, strict=True)
    ]
