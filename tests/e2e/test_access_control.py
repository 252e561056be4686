"""Every endpoint refuses a missing, unknown or revoked key (401), a key without the route's scope
(403) and, where a wallet is involved, a key bound to another wallet (403), and nothing is posted.

Routes are enumerated from the app itself. A command route's example is made from the catalogue
(``tests/examples.py``), acting on objects of its own; a read route without an entry in ``EXAMPLES`` fails
``test_every_route_has_an_example``: add a valid example request for it there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from contracts.catalogue import COMMANDS
from contracts.keys import Scope
from http_gateway.app import create_app
from http_gateway.auth import endpoints
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests import examples
from tests.e2e.access import bearer, idem, make_key
from tests.e2e.api import Wallet, command_examples, new_wallet, write

pytestmark = pytest.mark.e2e


@dataclass
class World:
    """Real objects the example requests point at: each command route's example acts on objects of its own
    (``commands``), so every example is valid once (the acceptance pass below sends each one exactly once)."""

    wallet: Wallet  # funded; the wallet of the bound keys' acceptance requests
    other: Wallet  # funded; on the other side of transfers, payments and holds
    transaction_id: str
    command_id: str
    key_id: str
    hold_id: str
    intent_id: str
    commands: dict[tuple[str, str], Example] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.wallet.usd

    @property
    def other_account(self) -> str:
        return self.other.usd


@dataclass
class Example:
    path: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    #: The route acts on a wallet, so a key bound to another wallet must get 403.
    wallet: bool = True
    #: The route is for wallet-bound keys (``/wallets/me``): accepted with a key bound to ``World.wallet``.
    bound: bool = False
    #: The status a key with the route's scope gets; 404 where the example names another caller's object
    #: (command ids are per caller: another key's command is not found, whatever its scope or wallet).
    accepted: int | None = None


def _usd(account: str, amount: int | str = 1) -> dict[str, Any]:
    return {"account_id": account, "amount": amount, "currency": "USD"}


def _me() -> Example:
    return Example(wallet=False, bound=True)


#: (method, path template) -> a valid request against ``World``, for each route that sends no command.
#: Extend it with every new read route (a command route's example comes from tests/examples.py).
EXAMPLES: dict[tuple[str, str], Callable[[World], Example]] = {
    ("GET", "/v1/wallets/me"): lambda w: _me(),
    ("GET", "/v1/wallets/me/balance"): lambda w: _me(),
    ("GET", "/v1/wallets/me/transactions"): lambda w: _me(),
    ("GET", "/v1/wallets/me/events"): lambda w: _me(),
    ("GET", "/v1/currencies"): lambda w: Example(wallet=False),
    ("GET", "/v1/wallets"): lambda w: Example(wallet=False),  # a bound key finds its own wallet only
    ("GET", "/v1/wallets/{wallet}"): lambda w: Example(path={"wallet": w.wallet.handle}),
    ("GET", "/v1/wallets/{wallet}/balance"): lambda w: Example(path={"wallet": w.wallet.id}),
    ("GET", "/v1/accounts/{account_id}"): lambda w: Example(path={"account_id": w.account}),
    ("GET", "/v1/accounts/{account_id}/balance"): lambda w: Example(path={"account_id": w.account}),
    ("GET", "/v1/transactions/{transaction_id}"): lambda w: Example(path={"transaction_id": w.transaction_id}),
    ("GET", "/v1/transactions"): lambda w: Example(wallet=False),  # a bound key finds its wallet's only
    ("GET", "/v1/holds/{hold_id}"): lambda w: Example(path={"hold_id": w.hold_id}),
    ("GET", "/v1/payment_intents/{intent_id}"): lambda w: Example(path={"intent_id": w.intent_id}),
    ("GET", "/v1/accounts/{account_id}/entries"): lambda w: Example(path={"account_id": w.account}),
    ("GET", "/v1/wallets/{wallet}/transactions"): lambda w: Example(path={"wallet": w.wallet.handle}),
    ("GET", "/v1/wallets/{wallet}/events"): lambda w: Example(path={"wallet": w.wallet.handle}),
    ("GET", "/v1/commands/{command_id}"): lambda w: Example(
        path={"command_id": w.command_id}, wallet=False, accepted=404
    ),
    ("POST", "/v1/admin/keys"): lambda w: Example(json={"name": "made by example", "scopes": ["admin"]}),
    ("GET", "/v1/admin/keys"): lambda w: Example(wallet=False),  # a bound admin sees its wallet's keys only
    ("DELETE", "/v1/admin/keys/{key_id}"): lambda w: Example(path={"key_id": w.key_id}),
    ("PUT", "/v1/admin/keys/{key_id}/limits"): lambda w: Example(
        path={"key_id": w.key_id}, json={"rate_limit": None, "spending_limits": []}
    ),
    ("GET", "/v1/flows"): lambda w: Example(wallet=False),  # a bound key gets the edges of its own wallet
    ("GET", "/v1/events"): lambda w: Example(wallet=False),  # a bound key reads its own wallet's events
    ("PUT", "/v1/readers/{name}"): lambda w: Example(
        path={"name": f"r-{uuid.uuid4().hex[:12]}"}, json={"position": 0}, wallet=False
    ),
    ("DELETE", "/v1/readers/{name}"): lambda w: Example(path={"name": "no-such-reader"}, wallet=False, accepted=404),
    ("GET", "/v1/admin/readers"): lambda w: Example(),  # across every key: a bound key gets 403 wrong_wallet
    # Operations and dead letters span every wallet: a key bound to any wallet gets 403 wrong_wallet.
    ("GET", "/v1/admin/operations"): lambda w: Example(),
    ("GET", "/v1/admin/dead_letters"): lambda w: Example(),
    ("POST", "/v1/admin/dead_letters/{source}/{letter_id}/replay"): lambda w: Example(
        path={"source": "events", "letter_id": "no-such-dead-letter"}, accepted=404
    ),
    ("DELETE", "/v1/admin/dead_letters/{source}/{letter_id}"): lambda w: Example(
        path={"source": "commands", "letter_id": "no-such-dead-letter"}, accepted=404
    ),
    # Reconciliation spans wallets (a source mirrors any account): a key bound to any wallet gets 403.
    ("PUT", "/v1/recon/sources/{source}"): lambda w: Example(
        path={"source": f"s-{uuid.uuid4().hex[:12]}"},
        json={"account_id": w.account, "currency": "USD", "columns": {"amount": "a", "value_date": "d"}},
    ),
    ("GET", "/v1/recon/sources/{source}"): lambda w: Example(path={"source": "no-such-source"}, accepted=404),
    ("POST", "/v1/recon/sources/{source}/files"): lambda w: Example(
        path={"source": "no-such-source"}, json={"a": "1.00", "d": "2026-12-01"}, accepted=404
    ),
    ("GET", "/v1/recon/sources/{source}/balances"): lambda w: Example(path={"source": "no-such"}, accepted=404),
    ("GET", "/v1/recon/runs"): lambda w: Example(),
    ("GET", "/v1/recon/open_breaks"): lambda w: Example(),
    ("GET", "/v1/recon/breaks"): lambda w: Example(),
    ("GET", "/v1/recon/breaks/{break_id}"): lambda w: Example(path={"break_id": str(uuid.uuid4())}, accepted=404),
    ("GET", "/v1/recon/matches/{match_id}"): lambda w: Example(path={"match_id": str(uuid.uuid4())}, accepted=404),
}

#: Endpoints anyone may call.
PUBLIC = {"/healthz", "/readyz"}
#: Outside /v1 but not public: an unbound ``read`` key (tests/e2e/test_metrics.py checks its 401 and 403s).
METRICS = {"/metrics"}
#: /docs with its files (http_gateway/api_docs.py): public, served from this origin only.
DOCS = {"/openapi.json", "/asyncapi.json", "/docs", "/docs/assets/{asset}"}
#: The operator console's static files (http_gateway/console.py): public, they hold no data; every datum comes
#: from /v1 with the key the user pastes (tests/e2e/test_console.py).
CONSOLE = {"/console", "/console/{asset}"}


def v1_routes(settings: Settings) -> list[tuple[str, str, Scope]]:
    out = []
    for method, path, scope in endpoints(create_app(settings).routes):
        if path.startswith("/v1"):
            assert scope is not None, path
            out.append((method, path, scope))
    return out


def test_every_route_has_an_example(settings: Settings) -> None:
    routes = v1_routes(settings)
    assert len(routes) >= 45  # the enumeration sees through included routers
    commands = {(r.method, r.path) for spec in COMMANDS for r in spec.routes}
    missing = [(m, p) for m, p, _ in routes if (m, p) not in EXAMPLES and (m, p) not in commands]
    assert not missing, f"add these to EXAMPLES: {missing}"
    others = {p for _, p, _ in endpoints(create_app(settings).routes) if not p.startswith("/v1")}
    assert others - DOCS - METRICS - CONSOLE == PUBLIC


async def _call(c: httpx.AsyncClient, method: str, template: str, ex: Example, token: str | None) -> httpx.Response:
    if token is None:
        auth = {}
    elif token == "Basic":  # another scheme altogether
        auth = {"Authorization": "Basic dXNlcjpwYXNz"}
    else:
        auth = bearer(token)
    headers = {**idem(), **auth}
    return await c.request(method, template.format(**ex.path), json=ex.json, headers=headers)


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    tables = ("commands", "transactions", "postings", "api_keys", "admin_audit", "events")  # the outbox drains
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def _world(client: httpx.AsyncClient) -> World:
    wallet, other = await new_wallet(client, funded=100_000), await new_wallet(client, funded=100_000)
    dep = idem()
    r = await client.post("/v1/deposits", json=_usd(wallet.usd, 1000), headers=dep)
    assert r.status_code == 200, r.text
    target = await make_key(client, ["read"], name="example target")
    hold = await write(client, "POST", "/v1/holds", {**_usd(wallet.usd, 20), "recipient_wallet": other.handle})
    body = {"merchant_wallet": wallet.handle, "amount": 500, "currency": "USD"}
    world = World(
        wallet=wallet,
        other=other,
        transaction_id=r.json()["transaction_id"],
        command_id=dep["Idempotency-Key"],
        key_id=target["id"],
        hold_id=hold["hold_id"],
        intent_id=(await write(client, "POST", "/v1/payment_intents", body))["intent_id"],
    )
    own = examples.Party(UUID(wallet.id), UUID(wallet.usd), wallet.handle)
    theirs = examples.Party(UUID(other.id), UUID(other.usd), other.handle)

    for _, route, payload in await command_examples(client, own=own, other=theirs):
        _, path, body = examples.request(route, payload)
        world.commands[(route.method, route.path)] = Example(path=_path_values(route.path, path), json=body)
    return world


def _path_values(template: str, path: str) -> dict[str, str]:
    """The values of ``template``'s parameters in ``path``."""
    return {t[1:-1]: v for t, v in zip(template.split("/"), path.split("/"), strict=True) if t.startswith("{")}


def _example(world: World, method: str, template: str) -> Example:
    return world.commands.get((method, template)) or EXAMPLES[(method, template)](world)


async def test_every_endpoint_refuses_what_it_must(
    client: httpx.AsyncClient, system: Processes, settings: Settings, pool: asyncpg.Pool
) -> None:
    world = await _world(client)
    revoked = await make_key(client, list(Scope), name="revoked")
    assert (await client.delete(f"/v1/admin/keys/{revoked['id']}")).status_code == 200
    without = {s: await make_key(client, [o for o in Scope if o != s], name=f"no {s}") for s in Scope}
    stranger = await new_wallet(client)  # no relation to the world's objects
    elsewhere = await make_key(client, list(Scope), wallet_id=stranger.id, name="other wallet")
    unknown = "lk_test_0123456789ab_" + "A" * 43
    wrong_secret = f"{without[Scope.READ]['prefix']}_{'B' * 43}"  # a real public id, a wrong secret
    before = await _counts(pool)
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as bare:  # no default credentials
        await _probe_refusals(bare, settings, world, [revoked["secret"], unknown, wrong_secret], without, elsewhere)
    assert await _counts(pool) == before, "a refused request changed something"

    # The same requests with a key that has exactly the route's scope are accepted: the examples are valid.
    async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as bare:
        for method, template, scope in v1_routes(settings):
            ex = _example(world, method, template)
            bound_to = world.wallet.id if ex.bound else None
            only = await make_key(client, [scope], wallet_id=bound_to, name=f"only {scope}")
            r = await _call(bare, method, template, ex, only["secret"])
            assert r.status_code < 300 if ex.accepted is None else r.status_code == ex.accepted, (
                method,
                template,
                r.text,
            )


async def _probe_refusals(
    c: httpx.AsyncClient,
    settings: Settings,
    world: World,
    invalid: list[str],
    without: dict[Scope, dict[str, Any]],
    elsewhere: dict[str, Any],
) -> None:
    for method, template, scope in v1_routes(settings):
        ex = _example(world, method, template)
        for token in (None, "Basic", "not-a-key", *invalid):
            r = await _call(c, method, template, ex, token)
            assert r.status_code == 401, (method, template, token, r.text)
            assert r.headers["content-type"] == "application/problem+json" and r.json()["code"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"
        r = await _call(c, method, template, ex, without[scope]["secret"])
        assert r.status_code == 403 and r.json()["required_scope"] == scope, (method, template, r.text)
        if ex.wallet:
            r = await _call(c, method, template, ex, elsewhere["secret"])
            assert r.status_code == 403 and r.json()["code"] == "wrong_wallet", (method, template, r.text)


async def test_wallet_bound_key_acts_as_its_wallet_and_commands_record_the_key(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    w = await _world(client)
    agent = await make_key(client, ["transfer", "read"], wallet_id=w.wallet.id, name="agent")
    mine = {"debit_account_id": w.account, "credit_account_id": w.other_account, "amount": 7, "currency": "USD"}
    r = await client.post("/v1/transfers", json=mine, headers={**idem(), **bearer(agent["secret"])})
    assert r.status_code == 200, r.text
    principal = await pool.fetchval(
        "SELECT principal FROM transactions WHERE id = $1", uuid.UUID(r.json()["transaction_id"])
    )
    assert principal == f"key:{agent['id']}"
    theirs = {**mine, "debit_account_id": w.other_account, "credit_account_id": w.account}
    r = await client.post("/v1/transfers", json=theirs, headers={**idem(), **bearer(agent["secret"])})
    assert r.status_code == 403 and r.json()["code"] == "wrong_wallet"
    # Reading: its own account yes, the other no; a transaction that touched its wallet yes.
    assert (await client.get(f"/v1/accounts/{w.account}", headers=bearer(agent["secret"]))).status_code == 200
    assert (await client.get(f"/v1/accounts/{w.other_account}", headers=bearer(agent["secret"]))).status_code == 403
    assert (
        await client.get(f"/v1/transactions/{w.transaction_id}", headers=bearer(agent["secret"]))
    ).status_code == 200
    # Service requests record the bootstrap principal.
    assert (
        await pool.fetchval("SELECT principal FROM transactions WHERE id = $1", uuid.UUID(w.transaction_id))
        == "service"
    )


async def test_keys_cannot_grant_more_than_they_hold(client: httpx.AsyncClient) -> None:
    admin = await make_key(client, ["admin", "read"], name="limited admin")
    c = bearer(admin["secret"])
    r = await client.post("/v1/admin/keys", json={"name": "x", "scopes": ["transfer"]}, headers=c)
    assert r.status_code == 403 and r.json()["scopes"] == ["transfer"]
    r = await client.post("/v1/admin/keys", json={"name": "x", "scopes": ["read"]}, headers=c)
    assert r.status_code == 201
    assert r.json()["created_by"] == f"key:{admin['id']}"
