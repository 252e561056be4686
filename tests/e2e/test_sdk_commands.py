"""Every command method of the SDK (generated from the catalogue, tools/sdk_commands.py), called on real
processes with an example of its command (tests/examples.py), in both clients: a new command's method is
exercised here with no edit. tests/e2e/test_sdk_http.py drives the rest of the SDK through a scenario."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from contracts.refs import parties
from contracts.results import CommandResult
from contracts.spec import CommandSpec, Route
from http_gateway.bodies import plan
from ledger_cli.processes import Processes
from ledger_sdk import AsyncClient, Client, Leg, account
from tests.e2e.api import every_command_example
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


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
async def test_every_command_method_sends_its_command(system: Processes, client: httpx.AsyncClient, sync: bool) -> None:
    token = system.settings.service_api_key.get_secret_value()
    jobs = await every_command_example(client)
    if sync:

        def run_all() -> list[CommandResult]:
            with Client(system.base_url, api_key=token) as c:
                return [call(c, spec, route, payload) for spec, route, payload in jobs]

        results = await asyncio.to_thread(run_all)
    else:
        async with AsyncClient(system.base_url, api_key=token) as c:
            results = [await call(c, spec, route, payload) for spec, route, payload in jobs]
    assert [(r.command_type, r.status) for r in results] == [(spec.type, "applied") for spec, _, _ in jobs]
