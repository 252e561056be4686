"""CPU per ``POST /v1/transfers`` inside the gateway's ASGI app, without network, database or broker.

``python tools/gateway_app_cpu.py [n]`` (``PROFILE=1``: a cProfile of the timed requests). The app is called
as ASGI; the bus answers at once with a canned ``CommandResult``; the caller is the service key (no key
lookup). What it measures is the app's own work per request (docs/benchmarks.md, issue 25), which
``ledger bench`` shows mixed with uvicorn's, the broker client's and the rate limit's.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from contracts.results import AccountBalance, CommandResult
from http_gateway.amounts import Currencies
from http_gateway.app import create_app
from ledger_common.settings import Settings


class CannedBus:
    """Answers every command at once, as the worker would for an applied transfer."""

    reply_queue = "replies"
    connected = True

    def correlation_id(self) -> str:
        return uuid.uuid4().hex

    def _result(self, cmd: Any) -> CommandResult:
        balances = tuple(
            AccountBalance(
                account_id=uuid.uuid4(),
                wallet_id=uuid.uuid4(),
                currency="USD",
                balance=5,
                held=0,
                available=5,
                balance_decimal="0.05",
                held_decimal="0.00",
                available_decimal="0.05",
            )
            for _ in range(2)
        )
        return CommandResult(
            command_id=cmd.command_id,
            command_type=cmd.type,
            status="applied",
            transaction_id=uuid.uuid4(),
            balances=balances,
        )

    async def send(self, cmd: Any, *, timeout: float) -> CommandResult:
        """The bus before issue 25 (the reply parsed), so the script measures either gateway."""
        cmd.model_dump_json()  # the publish serialises it
        return CommandResult.model_validate_json(self._result(cmd).model_dump_json())

    async def request(self, cmd: Any, body: bytes, *, timeout: float) -> bytes:
        return self._result(cmd).model_dump_json().encode()


async def main(n: int) -> None:
    settings = Settings()
    app = create_app(settings)
    app.state.settings = settings
    app.state.currencies = Currencies()
    app.state.pool = None
    app.state.keys = None
    app.state.bus = CannedBus()
    token = settings.service_api_key.get_secret_value()
    body = json.dumps(
        {"debit_account_id": str(uuid.uuid4()), "credit_wallet": "@bob", "amount": 5, "currency": "USD"}
    ).encode()
    statuses: dict[int, int] = {}

    async def one(i: int) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/transfers",
            "raw_path": b"/v1/transfers",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"idempotency-key", f"k-{i}".encode()),
            ],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                statuses[status] = statuses.get(status, 0) + 1

        await app(scope, receive, send)

    for i in range(500):
        await one(i)
    profile = os.environ.get("PROFILE")
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    started = time.process_time()
    for i in range(n):
        await one(1000 + i)
    spent = time.process_time() - started
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    print(f"{spent / n * 1000:.3f} ms CPU per request ({n} requests, statuses {statuses})")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
