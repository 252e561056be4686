"""``ledger seed``: a small demo world, sent through the broker like any other client's commands.

Account ids (uuid5) and command ids are fixed, so seeding twice changes nothing: the second run gets
the stored results back (``replayed``). Each command waits for the worker's reply on our own
exclusive reply queue (``reply_to`` + ``correlation_id``), so the events are emitted as usual.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.commands import Command, DepositCommand, OpenAccountCommand
from contracts.results import CommandResult, Refusal
from http_gateway.bus import CommandBus
from ledger_common.settings import Settings

CURRENCY = "USD"
REPLY_TIMEOUT = 10.0
#: name -> opening deposit in minor units (alice: 1,000.00 USD)
ACCOUNTS = {"alice": 100_000, "bob": 0}


class SeedFailed(Exception):
    """A command got no reply, or was refused for a reason seeding cannot accept."""


def account_id(name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"urn:ledger:seed:{name}")


def _envelope(command_id: str) -> dict[str, object]:
    return {"command_id": command_id, "issued_at": datetime.now(UTC), "principal": "seed"}


def _money(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):,.2f} {CURRENCY}"


async def _send(bus: CommandBus, cmd: Command) -> CommandResult:
    result = await bus.send(cmd, timeout=REPLY_TIMEOUT)
    if result is None:
        raise SeedFailed(
            f"{cmd.command_id}: no reply within {REPLY_TIMEOUT:.0f} s. Is `ledger worker` running?"
            " (the command stays queued and is applied once a worker consumes it)"
        )
    note = " (already done)" if result.replayed else ""
    print(f"  {cmd.command_id}: {result.status}{note}{f' [{result.refusal}]' if result.refusal else ''}")
    return result


async def _open(bus: CommandBus, name: str) -> int:
    """Open ``name``'s account; return its balance as reported by the worker."""
    payload = {"account_id": account_id(name), "currency": CURRENCY}
    cmd = OpenAccountCommand.model_validate({**_envelope(f"seed-open-{name}"), "payload": payload})
    result = await _send(bus, cmd)
    if result.status == "refused" and result.refusal is not Refusal.ACCOUNT_EXISTS:
        raise SeedFailed(f"{cmd.command_id}: refused: {result.detail}")
    return next((b.balance for b in result.balances), 0)


async def _deposit(bus: CommandBus, name: str, amount: int) -> int:
    """Deposit ``amount`` to ``name``; return the balance right after that deposit."""
    payload = {"account_id": account_id(name), "amount": amount, "currency": CURRENCY}
    cmd = DepositCommand.model_validate({**_envelope(f"seed-deposit-{name}"), "payload": payload})
    result = await _send(bus, cmd)
    if result.status != "applied":
        raise SeedFailed(f"{cmd.command_id}: refused: {result.detail}")
    return next(b.balance for b in result.balances if b.account_id == account_id(name))


async def _seed(bus: CommandBus) -> dict[str, int]:
    balances: dict[str, int] = {}
    for name, amount in ACCOUNTS.items():
        balances[name] = await _open(bus, name)
        if amount:
            balances[name] = await _deposit(bus, name, amount)
    return balances


async def seed(settings: Settings) -> int:
    """Open alice and bob in USD and fund alice with 1,000.00 USD; safe to run twice."""
    bus = CommandBus(settings, role="seed")
    try:
        await bus.start()
    except TimeoutError:
        print("seed: RabbitMQ not reachable (AMQP_URL); nothing was sent")
        return 1
    try:
        print("seed: sending commands")
        balances = await _seed(bus)
    except SeedFailed as exc:
        print(f"seed failed: {exc}")
        return 1
    finally:
        await bus.close()
    print("seeded accounts (balance as of the seed commands):")
    for name, balance in balances.items():
        print(f"  {name:<6} {account_id(name)}  {_money(balance):>16}")
    return 0
