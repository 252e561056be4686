"""AMQP callers (docs/security.md, Principals): a publisher is the broker-checked ``user_id``, with the
scopes and wallet its ``broker_publishers`` row gives it; a claim in the body is honoured only from the
gateway's broker users, and never for the ledger's own ``system:`` principals.

The isolated worker runs with ``AMQP_GATEWAY_USERS`` naming another user, so the broker user of the
tests (``guest``) is an ordinary publisher whose row the test sets. Each test would have failed before
b44486f; its comment says what happened then."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.catalogue import COMMANDS
from contracts.keys import ALL_SCOPES, KeySpec, Scope
from contracts.refs import parties
from contracts.results import CommandResult
from ledger_cli.processes import Processes
from ledger_common import keystore
from ledger_common.db import create_pool
from ledger_common.settings import Settings
from tests import examples
from tests.e2e.trust import Publisher, grant, start, unregister
from tests.ledger import apply_one, cmd, funded_wallet

pytestmark = pytest.mark.e2e


@pytest.fixture
async def own_pool(isolated_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(isolated_settings.database_url.get_secret_value(), size=2)
    yield pool
    await pool.close()


@pytest.fixture
async def publisher(
    isolated: Processes, amqp: AbstractRobustConnection, isolated_settings: Settings
) -> AsyncIterator[Publisher]:
    start(isolated, "worker", env={"AMQP_GATEWAY_USERS": "ledger-gateway"})  # guest speaks for nobody
    p = await Publisher(amqp, isolated_settings).start()
    yield p
    await p.close()


async def _balances(pool: asyncpg.Pool, *accounts: uuid.UUID) -> list[tuple[int, int]]:
    rows = await pool.fetch("SELECT id, balance, held FROM accounts WHERE id = ANY($1::uuid[])", list(accounts))
    by_id = {r["id"]: (r["balance"], r["held"]) for r in rows}
    return [by_id[a] for a in accounts]


async def _principal_of(pool: asyncpg.Pool, command_id: str) -> list[str]:
    return [
        r["principal"] for r in await pool.fetch("SELECT principal FROM commands WHERE command_id = $1", command_id)
    ]


async def test_a_publisher_cannot_claim_another_principal(
    publisher: Publisher, own_pool: asyncpg.Pool, isolated_settings: Settings
) -> None:
    # Before b44486f the worker took the body's `principal` as who sent the command, from anyone: a
    # publisher claiming "service", "system:sweeper" or a key recorded its command under that name (and
    # there was no check of scopes or wallets in the worker at all).
    _, account = await funded_wallet(own_pool, 1_000)
    async with own_pool.acquire() as conn:
        key = await keystore.create_key(
            conn,
            KeySpec(name="someone's", scopes=tuple(ALL_SCOPES)),
            principal="test",
            pepper=b"p" * 32,
            environment="test",
        )
    deposit = {"account_id": str(account), "amount": 5, "currency": "USD"}
    user = isolated_settings.amqp_user
    for claim in ("service", "system:sweeper", "system:anything", f"key:{key.id}", "amqp:ledger-gateway", "seed", ""):
        command_id = f"forged-{uuid.uuid4().hex}"
        result = await publisher.send("deposit", deposit, command_id=command_id, principal=claim)
        assert (result.status, result.refusal) == ("refused", "forbidden_principal"), (claim, result)
        assert await _principal_of(own_pool, command_id) == [f"amqp:{user}"], claim  # recorded as its own
    assert await _balances(own_pool, account) == [(1_000, 0)]
    # Claiming itself (or nobody) is itself: with every scope (the system's own grant), applied.
    for itself in (f"amqp:{user}", None):
        result = await publisher.send("deposit", deposit, principal=itself)
        assert result.status == "applied", (itself, result)
    assert await _balances(own_pool, account) == [(1_010, 0)]


async def test_a_bound_publisher_moves_money_only_out_of_its_wallet(
    publisher: Publisher, own_pool: asyncpg.Pool, isolated_settings: Settings
) -> None:
    # Before b44486f an AMQP publisher could send any command about any wallet: nothing in the worker
    # knew scopes or wallets, the gateway was the only check and AMQP bypassed it.
    wallet, mine = await funded_wallet(own_pool, 1_000)
    other_wallet, theirs = await funded_wallet(own_pool, 1_000)
    await grant(isolated_settings, [Scope.TRANSFER], wallet_id=wallet)
    out = {"debit_account_id": str(theirs), "credit_account_id": str(mine), "amount": 100, "currency": "USD"}
    refused: list[tuple[str, dict[str, Any], str]] = [
        ("transfer", out, "forbidden_party"),
        ("transfer", {**out, "debit_account_id": None, "debit_wallet": str(other_wallet)}, "forbidden_party"),
        ("transfer", {**out, "debit_account_id": None, "debit_wallet": "@treasury"}, "forbidden_party"),
        ("spend", {"account_id": str(theirs), "amount": 100, "currency": "USD"}, "forbidden_party"),
        ("withdraw", {"wallet": str(other_wallet), "amount": 100, "currency": "USD"}, "forbidden_party"),
        (
            "transaction.post",
            {
                "currency": "USD",
                "legs": [
                    {"account_id": str(theirs), "side": "debit", "amount": 100},
                    {"account_id": str(mine), "side": "credit", "amount": 100},
                ],
            },
            "forbidden_party",
        ),
        ("deposit", {"account_id": str(mine), "amount": 100, "currency": "USD"}, "forbidden_scope"),
        ("hold.place", {"account_id": str(mine), "amount": 100, "currency": "USD"}, "forbidden_scope"),
        (
            "account.set_limits",
            {"account_id": str(mine), "currency": "USD", "min_balance": -(10**6)},
            "forbidden_scope",
        ),
    ]
    for kind, payload, code in refused:
        payload = {k: v for k, v in payload.items() if v is not None}
        result = await publisher.send(kind, payload)
        assert (result.status, result.refusal) == ("refused", code), (kind, payload, result)
    assert await _balances(own_pool, mine, theirs) == [(1_000, 0), (1_000, 0)]
    # With `wallets` too it is still bound: what acts across wallets is for unbound publishers only.
    await grant(isolated_settings, [Scope.TRANSFER, Scope.WALLETS], wallet_id=wallet)
    limits = {"account_id": str(mine), "currency": "USD", "min_balance": -(10**6)}
    result = await publisher.send("account.set_limits", limits)
    assert (result.status, result.refusal) == ("refused", "unbound_key_required"), result
    # Out of its own wallet: applied, and it sees its own balance only.
    result = await publisher.send("transfer", {**out, "debit_account_id": str(mine), "credit_account_id": str(theirs)})
    assert result.status == "applied", result
    assert {b.wallet_id for b in result.balances} == {wallet}
    assert await _balances(own_pool, mine, theirs) == [(900, 0), (1_100, 0)]


async def test_an_unregistered_publisher_can_do_nothing(
    publisher: Publisher, own_pool: asyncpg.Pool, isolated_settings: Settings
) -> None:
    # Before b44486f every broker user allowed to publish on ledger.commands could send every command.
    # One example of every command type of the catalogue (tests/examples.py), acting on objects made for it.
    made_parties = [await funded_wallet(own_pool, 100_000) for _ in range(2)]
    mine, theirs = (examples.Party(wallet, account, str(wallet)) for wallet, account in made_parties)

    async def maker(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        result = await apply_one(own_pool, cmd(kind, **payload))
        assert result.status == "applied", result
        return result.model_dump(mode="json")

    payloads: dict[str, dict[str, Any]] = {}
    for spec in COMMANDS:
        made = {f: await examples.make(maker, spec, k, mine, theirs) for f, k in examples.made_here(spec).items()}
        sides: dict[str, examples.Side | None] = {"leg:debit": mine, "leg:credit": theirs}
        for i, party in enumerate(parties(spec.payload)):
            sides[party.name] = None if party.optional else (mine, theirs)[i % 2]
        payloads[spec.type] = examples.example(spec, sides, made, by_wallet=True, route=None)
    before = await _balances(own_pool, mine.account, theirs.account)
    statuses = dict(await own_pool.fetch("SELECT id, status FROM wallets WHERE id = ANY($1::uuid[])", [mine.wallet]))
    await unregister(isolated_settings)
    results: list[CommandResult] = await publisher.send_all(
        [(kind, payload, f"nobody-{uuid.uuid4().hex}") for kind, payload in payloads.items()]
    )
    assert {r.command_type: r.refusal for r in results} == {spec.type: "forbidden_scope" for spec in COMMANDS}
    assert await _balances(own_pool, mine.account, theirs.account) == before
    assert dict(await own_pool.fetch("SELECT id, status FROM wallets WHERE id = ANY($1::uuid[])", [mine.wallet])) == (
        statuses
    )


async def test_even_the_gateways_broker_user_cannot_claim_the_ledgers_own_principals(
    system: Processes, settings: Settings, amqp: AbstractRobustConnection, pool: asyncpg.Pool
) -> None:
    # Before b44486f a body claiming "system:sweeper" (or any publisher's "amqp:" name) was recorded as
    # that principal, whoever published it; the sweeper's principal is the ledger's alone.
    assert settings.amqp_user in settings.gateway_users  # the session system: guest speaks for keys
    _, account = await funded_wallet(pool, 1_000)
    p = await Publisher(amqp, settings).start()
    try:
        deposit = {"account_id": str(account), "amount": 5, "currency": "USD"}
        for claim in ("system:sweeper", "system:seed", "amqp:orders", "amqp:ledger-gateway"):
            result = await p.send("deposit", deposit, principal=claim)
            assert (result.status, result.refusal) == ("refused", "forbidden_principal"), (claim, result)
        assert await _balances(pool, account) == [(1_000, 0)]
    finally:
        await p.close()
