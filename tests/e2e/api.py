"""Helpers for tests of the HTTP API: writes with fresh Idempotency-Keys, wallets with accounts."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx

from contracts.catalogue import COMMANDS, SPECS
from contracts.events import EventEnvelope
from contracts.refs import parties
from contracts.spec import CommandSpec, Route

if TYPE_CHECKING:  # tests.examples imports this module
    from tests import examples


def key() -> str:
    return uuid.uuid4().hex


async def write(
    c: httpx.AsyncClient,
    method: str,
    path: str,
    json: dict[str, Any] | None = None,
    *,
    idempotency_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A write that must be applied (200/201); returns the ``CommandResult``."""
    r = await c.request(
        method, path, json=json, headers={"Idempotency-Key": idempotency_key or key(), **(headers or {})}
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["status"] == "applied", r.text
    result: dict[str, Any] = r.json()
    return result


async def refused(
    c: httpx.AsyncClient, method: str, path: str, json: dict[str, Any] | None, code: str, status: int = 422
) -> dict[str, Any]:
    """A write that must be refused with ``code``; returns the problem document."""
    r = await c.request(method, path, json=json, headers={"Idempotency-Key": key()})
    assert (r.status_code, r.json().get("code")) == (status, code), r.text
    problem: dict[str, Any] = r.json()
    return problem


async def get(c: httpx.AsyncClient, path: str, **params: Any) -> Any:
    r = await c.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


class Wallet:
    """A wallet made through the API: its id, handle and one account per currency."""

    def __init__(self, result: dict[str, Any], handle: str) -> None:
        self.id: str = result["wallet_id"]
        self.handle = handle
        self.accounts: dict[str, str] = {b["currency"]: b["account_id"] for b in result["balances"]}

    @property
    def usd(self) -> str:
        return self.accounts["USD"]


async def new_wallet(
    c: httpx.AsyncClient, *currencies: str, kind: str = "user", funded: int = 0, **fields: Any
) -> Wallet:
    """A wallet with a fresh ``@handle``, an account per currency (USD by default), and ``funded``
    minor units deposited into each."""
    handle = f"@t{uuid.uuid4().hex[:20]}"
    body = {"owner_id": key(), "kind": kind, "handle": handle, "currencies": list(currencies or ("USD",)), **fields}
    wallet = Wallet(await write(c, "POST", "/v1/wallets", body), handle)
    for currency, account in wallet.accounts.items():
        if funded:
            await write(c, "POST", "/v1/deposits", {"account_id": account, "amount": funded, "currency": currency})
    return wallet


def balances(result: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """``account_id -> (balance, held, available)`` from a ``CommandResult``."""
    return {b["account_id"]: (b["balance"], b["held"], b["available"]) for b in result["balances"]}


def stream(events: list[EventEnvelope], account_id: str) -> list[tuple[str, int | None]]:
    """``(type, sequence)`` of an account's events as a subscriber received them."""
    return [(e.type, e.sequence) for e in events if str(e.account_id) == account_id]


def wallet_stream(events: list[EventEnvelope], wallet_id: str) -> list[tuple[str, int | None]]:
    """``(type, sequence)`` of a wallet's own events (``wallet.*``)."""
    return [(e.type, e.sequence) for e in events if e.account_id is None and str(e.wallet_id) == wallet_id]


async def every_command_example(client: httpx.AsyncClient) -> list[tuple[CommandSpec, Route, dict[str, Any]]]:
    """One example payload per command route of the catalogue, each acting on objects of its own (made here,
    over ``client``), between two funded wallets: the parties a route may reach anywhere are the other's."""
    from tests import examples  # its helpers make objects through the routes of this module

    mine, theirs = await new_wallet(client, funded=100_000), await new_wallet(client, funded=100_000)
    own = examples.Party(uuid.UUID(mine.id), uuid.UUID(mine.usd), mine.handle)
    other = examples.Party(uuid.UUID(theirs.id), uuid.UUID(theirs.usd), theirs.handle)
    return await command_examples(client, own=own, other=other)


async def command_examples(
    client: httpx.AsyncClient, *, own: examples.Party, other: examples.Party
) -> list[tuple[CommandSpec, Route, dict[str, Any]]]:
    """One example payload per command route of the catalogue between ``own`` and ``other``
    (``tests.examples.Party``), each acting on objects of its own made here over ``client``: the parties a
    route may reach anywhere are ``other``'s, the rest ``own``'s."""
    from tests import examples  # its helpers make objects through the routes of this module

    async def maker(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        method, path, body = examples.request(examples.route_of(SPECS[kind]), payload)
        return await write(client, method, path, body)

    out = []
    for spec in COMMANDS:
        for route in spec.routes:  # every route of a command, each with objects of its own
            made = {}
            for name, kind in examples.made_here(spec).items():
                holder, counter = (other, own) if examples.counter_of(spec, kind) else (own, other)
                made[name] = await examples.make(maker, spec, kind, holder, counter)
            sides: dict[str, examples.Side | None] = {"leg:debit": own, "leg:credit": other}
            for p in parties(spec.payload):
                rule = next(r for r in spec.parties if r.name == p.name)
                sides[p.name] = None if p.optional else other if rule.reach == "any" else own
            out.append((spec, route, examples.example(spec, sides, made, by_wallet=False, route=route)))
    return out
