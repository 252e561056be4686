"""What the attackers and the honest caller share: a system of the test's own, its wallets and keys, every id
that exists or can be derived, both transports, and the tallies the invariants and the report read."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from aio_pika.abc import AbstractRobustConnection

from contracts.catalogue import COMMANDS, SPECS
from contracts.ids import SYSTEM_ROLES, object_id, system_account_id, system_wallet_id, wallet_account_id
from contracts.keys import Scope
from contracts.refs import parties
from contracts.results import CommandResult
from ledger_cli.processes import Processes
from ledger_common.intake import Undecodable, decode
from tests.e2e.access import make_key
from tests.e2e.api import Wallet, new_wallet, write
from tests.e2e.trust import Publisher, grant
from tests.examples import Party, Side, System, request, route_of

#: Kinds of object commands name; their pools grow with what every command creates.
OBJECTS = ("hold", "intent", "transaction", "wallet", "recon_source", "recon_break")
#: The honest wallet and the bystander (which no caller acts for after the setup) are protected: only the
#: honest caller's own flows may take money out of them or hold it; anyone may pay into them.
HONEST, BYSTANDER, ATTACKERS = "honest", "bystander", ("attacker1", "attacker2")
FUNDS = 1_000_000


#: What a key bound to no wallet is let send: the commands that create something and name no side (register a
#: currency, create a wallet, open an account). The others act on any customer wallet by design (an unbound
#: ``transfer`` key debits any wallet, an unbound ``wallets`` key freezes any), so no invariant could tell
#: their attack from their job; what an unbound key may *name* when it creates is the attack here.
UNBOUND_COMMANDS = tuple(spec for spec in COMMANDS if spec.creates and not parties(spec.payload))


def scope_sets() -> list[tuple[frozenset[Scope], bool]]:
    """``(scopes, bound)`` of every attacker key, from the capability table's declaration (contracts.catalogue).

    Bound to an attacker's wallet: each scope alone, each command's scope with each scope a side of it needs
    besides (``treasury`` where a system account may stand, ``transfer`` to name a new recipient), and every
    scope together. Unbound: the scope of each of :data:`UNBOUND_COMMANDS`."""
    sets = {frozenset({s}) for s in Scope} | {frozenset(Scope)}
    for spec in COMMANDS:
        for rule in spec.parties:
            extras = {rule.scope} if rule.scope is not None else set()
            extras |= {Scope.TREASURY} if rule.system else set()
            sets |= {frozenset({spec.scope, extra}) for extra in extras if spec.scope is not None}
    unbound = {frozenset({spec.scope}) for spec in UNBOUND_COMMANDS if spec.scope is not None}
    return [(s, True) for s in sorted(sets, key=sorted)] + [(s, False) for s in sorted(unbound, key=sorted)]


@dataclass(frozen=True)
class Caller:
    """Who sends a command: an API key (over HTTP with its token; over AMQP the body claims its principal, as
    the gateway's broker users may) or a broker user of its own (AMQP only, nothing claimed)."""

    name: str
    principal: str
    token: str | None = field(repr=False)  # never in a failure's report
    scopes: frozenset[Scope] = frozenset()
    #: The wallet it is bound to (a key of :data:`ATTACKERS`), or None.
    wallet: str | None = None
    claim: bool = True


@dataclass
class World:
    """Everything the steps share. Built by :func:`build`; every method runs in the test's event loop."""

    procs: Processes
    service: httpx.AsyncClient  # the bootstrap key: the setup only
    http: httpx.AsyncClient  # no key: each request carries its caller's
    pool: asyncpg.Pool
    amqp: AbstractRobustConnection
    publisher: Publisher
    honest: Caller
    attackers: list[Caller]
    wallets: dict[str, Wallet]
    currencies: list[str]
    unregistered: str
    sides: list[Side] = field(default_factory=list)
    objects: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in OBJECTS})
    ids: list[str] = field(default_factory=list)
    #: The ids among them the ledger derives (system accounts and wallets, wallets' accounts in currencies they
    #: have none in yet, objects of other callers' command ids): what a squatter would choose.
    derived: list[str] = field(default_factory=list)
    #: The last posting before the run, and each protected account's (balance, held) then.
    mark: int = 0
    snapshot: dict[str, tuple[int, int]] = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    answers: Counter[str] = field(default_factory=Counter)
    #: Command ids of the AMQP bodies the intake refuses: each is dead-lettered with its reason, by design.
    undecodable: set[str] = field(default_factory=set)
    #: (principal, command id) of every command the worker was given: each must have a recorded outcome.
    given: set[tuple[str, str]] = field(default_factory=set)

    async def over_http(self, caller: Caller, method: str, path: str, body: Any) -> httpx.Response:
        """Send one request as ``caller``; no answer may be a 5xx."""
        key = uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {caller.token}", "Idempotency-Key": key}
        r = await self.http.request(method, path, json=body, headers=headers)
        self.sent[self._tag(caller, "http")] += 1
        assert r.status_code < 500, f"{caller.name}: {method} {path} {body!r} -> {r.status_code} {r.text}"
        doc = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        if r.status_code in (200, 201, 202) or "result" in doc:
            self.given.add((caller.principal, key))
        self.answers[f"{self._tag(caller, 'http')} {r.status_code} {doc.get('code') or doc.get('status')}"] += 1
        self.learn(doc.get("result", doc))
        return r

    async def over_amqp(self, caller: Caller, kind: str, payload: dict[str, Any]) -> CommandResult | None:
        """Publish one command as ``caller`` and wait for its reply. A body the intake cannot take (the contract
        refuses it) is dead-lettered with its reason, by design: counted, and no reply is awaited."""
        command_id = f"atk-{uuid.uuid4().hex}"
        principal = caller.principal if caller.claim else None
        self.sent[self._tag(caller, "amqp")] += 1
        envelope = {"command_id": command_id, "type": kind, "issued_at": datetime.now(UTC).isoformat()}
        claimed = {"principal": principal} if principal else {}
        try:
            decode(json.dumps({**envelope, "payload": payload, **claimed}, default=str).encode(), "application/json")
        except Undecodable:
            self.undecodable.add(command_id)
            self.answers[f"{self._tag(caller, 'amqp')} dead-lettered (invalid command)"] += 1
            await self.publisher.publish(kind, payload, command_id=command_id, principal=principal)
            return None
        self.given.add((caller.principal, command_id))
        try:
            result = await self.publisher.send(kind, payload, command_id=command_id, principal=principal, timeout=60)
        except TimeoutError:
            raise AssertionError(f"{caller.name}: {kind} {payload!r} got no outcome over AMQP") from None
        self.answers[f"{self._tag(caller, 'amqp')} {result.status} {result.refusal or ''}".strip()] += 1
        self.learn(result.model_dump(mode="json"))
        return result

    def _tag(self, caller: Caller, transport: str) -> str:
        return f"honest {transport}" if caller is self.honest else transport

    def learn(self, result: dict[str, Any]) -> None:
        """Add what a command created or named to the pools later commands draw from."""
        for kind in OBJECTS:
            made = result.get(f"{kind}_id")
            if isinstance(made, str) and made not in self.objects[kind]:
                self.objects[kind].append(made)
                self.ids.append(made)
        for balance in result.get("balances") or ():
            if balance["account_id"] not in self.ids:
                self.ids.append(balance["account_id"])


async def build(
    procs: Processes,
    service: httpx.AsyncClient,
    http: httpx.AsyncClient,
    pool: asyncpg.Pool,
    amqp: AbstractRobustConnection,
) -> World:
    """Wallets, keys and objects of every kind, made through the ``service`` key."""
    registered, unused = ("R" + uuid.uuid4().hex[:8].upper() for _ in range(2))
    for code in (registered, unused):  # the wallets have accounts in the first; nothing has moved in the second
        await write(service, "POST", "/v1/currencies", {"code": code, "name": "attacked", "exponent": 0})
    wallets = {
        name: await new_wallet(service, "USD", registered, funded=FUNDS) for name in (HONEST, BYSTANDER, *ATTACKERS)
    }
    honest_key = await make_key(
        service, ["deposit", "transfer", "holds", "payments", "read"], wallet_id=wallets[HONEST].id
    )
    attackers: list[Caller] = []
    for i, (scopes, bound) in enumerate(scope_sets()):
        wallet = ATTACKERS[i % 2] if bound else None
        made = await make_key(service, sorted(scopes), wallet_id=wallet and wallets[wallet].id, name=f"attacker {i}")
        name = "+".join(sorted(scopes)) + (f"@{wallet}" if wallet else " (unbound)")
        attackers.append(Caller(name, f"key:{made['id']}", str(made["secret"]), scopes, wallet))
    # The broker user the test publishes as, as a publisher of its own: every scope, bound to an attacker.
    await grant(procs.settings, set(Scope), wallets[ATTACKERS[1]].id)
    user = procs.settings.amqp_user
    attackers.append(
        Caller(f"amqp:{user} (all scopes)", f"amqp:{user}", None, frozenset(Scope), ATTACKERS[1], claim=False)
    )
    world = World(
        procs=procs,
        service=service,
        http=http,
        pool=pool,
        amqp=amqp,
        publisher=await Publisher(amqp, procs.settings).start(),
        honest=Caller("honest", f"key:{honest_key['id']}", str(honest_key["secret"])),
        attackers=attackers,
        wallets=wallets,
        currencies=["USD", registered, unused],
        unregistered="U" + uuid.uuid4().hex[:8].upper(),
    )
    await _objects(world)
    _derivable(world)
    world.mark = int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM postings"))
    for name in (HONEST, BYSTANDER):
        for account in wallets[name].accounts.values():
            row = await pool.fetchrow("SELECT balance, held FROM accounts WHERE id = $1", UUID(account))
            world.snapshot[account] = (row["balance"], row["held"])
    return world


async def _objects(world: World) -> None:
    """A hold, an intent (paid through a hold) and a transaction of each customer wallet, made by the service."""
    w, usd = world.wallets, {"amount": 10, "currency": "USD"}
    for name, other in ((HONEST, BYSTANDER), (BYSTANDER, HONEST), *((a, HONEST) for a in ATTACKERS)):
        for kind, payload in (
            ("hold.place", {"account_id": w[name].usd, **usd}),
            ("intent.create", {"merchant_account_id": w[name].usd, **usd}),
            ("transfer", {"debit_account_id": w[name].usd, "credit_account_id": w[other].usd, **usd}),
        ):
            method, path, body = request(route_of(SPECS[kind]), payload)
            world.learn(await write(world.service, method, path, body))


def _derivable(world: World) -> None:
    """Every side and id a caller could name: each wallet's accounts, the system accounts of registered and
    unregistered currencies, the accounts each wallet would get in a currency it has no account in, the
    system wallets, ids derived from other callers' command ids, ids of the ledger's kind and random ones."""
    currencies = [*world.currencies, world.unregistered]
    for wallet in world.wallets.values():
        world.sides += [Party(UUID(wallet.id), UUID(a), wallet.handle) for a in wallet.accounts.values()]
        world.objects["wallet"].append(wallet.id)
        world.ids += [wallet.id, *wallet.accounts.values()]
        world.derived += [str(wallet_account_id(UUID(wallet.id), c)) for c in currencies]
    for currency in currencies:
        for role in SYSTEM_ROLES:
            world.sides.append(System(system_account_id(currency, role), f"@{role}"))
            world.derived.append(str(system_account_id(currency, role)))
    world.derived += [str(system_wallet_id(role)) for role in SYSTEM_ROLES]
    for kind in ("account", "hold", "intent", "wallet"):
        world.derived.append(str(object_id(kind, principal=world.honest.principal, command_id="order-1")))
    world.ids += [*world.derived, str(uuid.uuid5(uuid.NAMESPACE_DNS, "attacker")), str(uuid.uuid4())]
