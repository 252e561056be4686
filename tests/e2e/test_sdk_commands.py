"""Every command method of the SDK (generated from the catalogue, tools/sdk_commands.py), called on real
processes with an example of its command (tests/examples.py), in both clients: a new command's method is
exercised here with no edit. tests/e2e/test_sdk_http.py drives the rest of the SDK through a scenario."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import pytest

from contracts.catalogue import COMMANDS, SPECS
from contracts.refs import parties
from contracts.results import CommandResult
from contracts.spec import CommandSpec, Route
from http_gateway.bodies import plan
from ledger_cli.processes import Processes
from ledger_sdk import AsyncClient, Client, Leg, account
from tests import examples
from tests.e2e.api import new_wallet, write
from tools.sdk_commands import PARTY_NAMES

pytestmark = pytest.mark.e2e


def _party(named: dict[str, Any], account_field: str, wallet_field: str) -> Any:
    return account(named[account_field]) if account_field in named else named.get(wallet_field)


def call(client: Any, spec: CommandSpec, route: Route, payload: dict[str, Any]) -> Any:
    """``client.<resource>.<action>(...)`` with ``payload``'s values as the method's arguments."""
    resource, action = route.operation.split(".")
    method = getattr(getattr(client, resource), action)
    pairs = {p.account_field: p for p in parties(spec.payload)}
    kwargs: dict[str, Any] = {}
    for field in plan(spec, route).fields:
        if field in pairs:
            p = pairs[field]
            value = _party(payload, p.account_field, p.wallet_field)
            if value is not None:
                kwargs[PARTY_NAMES.get(route.operation, {}).get(p.name, p.name)] = value
        elif field in payload and field not in {p.wallet_field for p in pairs.values()}:
            value = payload[field]
            if isinstance(value, list) and value and isinstance(value[0], dict):  # legs
                value = [Leg(_party(i, "account_id", "wallet"), i["side"], i["amount"]) for i in value]
            kwargs[field] = value
    return method(*(payload[p] for p in route.params), **kwargs)


async def _payloads(c: httpx.AsyncClient) -> list[tuple[CommandSpec, Route, dict[str, Any]]]:
    mine, theirs = await new_wallet(c, funded=100_000), await new_wallet(c, funded=100_000)
    own = examples.Party(UUID(mine.id), UUID(mine.usd), mine.handle)
    other = examples.Party(UUID(theirs.id), UUID(theirs.usd), theirs.handle)

    async def maker(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        method, path, body = examples.request(examples.route_of(SPECS[kind]), payload)
        return await write(c, method, path, body)

    out = []
    for spec in COMMANDS:
        for route in spec.routes:
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


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_every_command_method_sends_its_command(system: Processes, client: httpx.AsyncClient, sync: bool) -> None:
    token = system.settings.service_api_key.get_secret_value()
    jobs = await _payloads(client)
    if sync:

        def run_all() -> list[CommandResult]:
            with Client(system.base_url, api_key=token) as c:
                return [call(c, spec, route, payload) for spec, route, payload in jobs]

        results = await asyncio.to_thread(run_all)
    else:
        async with AsyncClient(system.base_url, api_key=token) as c:
            results = [await call(c, spec, route, payload) for spec, route, payload in jobs]
    assert [(r.command_type, r.status) for r in results] == [(spec.type, "applied") for spec, _, _ in jobs]
