"""``ledger seed``: a small demo world, sent through the broker like any other client's commands."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid5

from contracts.commands import Command, DepositCommand, OpenAccountCommand
from contracts.results import CommandResult
from http_gateway.bus import CommandBus
from ledger_common.settings import Settings

_ACCOUNTS = {"alice": 100_000, "bob": 0}  # minor units: alice starts with 1,000.00 USD


async def seed(settings: Settings) -> int:
    """Open @alice and @bob in USD and fund alice; safe to run twice (fixed command ids)."""
    bus = CommandBus(settings, role="seed")
    await bus.start()
    try:
        for name, amount in _ACCOUNTS.items():
            account_id = uuid5(NAMESPACE_URL, f"urn:ledger:seed:{name}")
            opened = await _send(
                bus,
                OpenAccountCommand.model_validate(
                    {**_envelope(f"seed-open-{name}"), "payload": {"account_id": account_id, "currency": "USD"}}
                ),
            )
            if opened is None:
                return 1
            if amount:
                await _send(
                    bus,
                    DepositCommand.model_validate(
                        {
                            **_envelope(f"seed-deposit-{name}"),
                            "payload": {"account_id": account_id, "amount": amount, "currency": "USD"},
                        }
                    ),
                )
            print(f"{name:<6} {account_id}  USD")
    finally:
        await bus.close()
    return 0


def _envelope(command_id: str) -> dict[str, object]:
    return {"command_id": command_id, "issued_at": datetime.now(UTC), "principal": "seed"}


async def _send(bus: CommandBus, cmd: Command) -> CommandResult | None:
    result = await bus.send(cmd, timeout=10)
    if result is None:
        print(f"{cmd.command_id}: no reply in 10 s; is `ledger worker` running?")
        return None
    balances = ", ".join(f"{Decimal(b.balance).scaleb(-2)} {b.currency}" for b in result.balances)
    print(f"{cmd.command_id}: {result.status}{' (already done)' if result.replayed else ''} {balances}")
    return result
