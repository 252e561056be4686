"""``ledger seed``: a small demo world, sent through the broker like any other client's commands.

Command ids are fixed, so seeding twice changes nothing: the second run gets the stored results
back (``replayed``). Each command waits for the worker's reply on our own exclusive reply queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.commands import build_command
from contracts.errors import Rejected, Unavailable
from contracts.results import CommandResult, Refusal
from http_gateway.bus import CommandBus
from ledger_common.settings import Settings

REPLY_TIMEOUT = 10.0
#: (code, name, exponent) of the custom asset types the demo uses.
ASSETS = (("GOLD", "Gold (grams)", 18), ("DIAMOND", "Diamonds", 0), ("POINTS", "Loyalty points", 0))
#: handle -> (kind, currencies)
WALLETS = {
    "alice": ("user", ("USD", "GOLD", "POINTS")),
    "bob": ("user", ("USD", "DIAMOND")),
    "acme_store": ("merchant", ("USD",)),
}
#: (command type, handle, amount in minor units, currency): the opening balances.
FUNDING = (
    ("deposit", "alice", 100_000, "USD"),  # 1,000.00 USD
    ("deposit", "alice", 2_500_000_000_000_000_000, "GOLD"),  # 2.5 GOLD
    ("bonus", "alice", 1_200, "POINTS"),
    ("bonus", "bob", 3, "DIAMOND"),
)
#: Refusals that mean "already there" on a second run against a ledger seeded by other means.
_ALREADY = {Refusal.CURRENCY_EXISTS, Refusal.HANDLE_TAKEN, Refusal.WALLET_EXISTS}


class SeedFailed(Rejected):
    """A seed command was refused for a reason seeding cannot accept (no reply is ``Unavailable``)."""


async def _send(bus: CommandBus, kind: str, command_id: str, payload: dict[str, Any]) -> CommandResult:
    cmd = build_command(kind, payload, command_id=command_id, issued_at=datetime.now(UTC), principal="seed")
    result = await bus.send(cmd, timeout=REPLY_TIMEOUT)
    if result is None:
        raise Unavailable(
            f"{command_id}: no reply within {REPLY_TIMEOUT:.0f} s. Is `ledger worker` running?"
            " (the command stays queued and is applied once a worker consumes it)"
        )
    if result.status == "refused" and result.refusal not in _ALREADY:
        raise SeedFailed(f"{command_id}: refused ({result.refusal}): {result.detail}")
    note = " (already done)" if result.replayed or result.refusal in _ALREADY else ""
    print(f"  {command_id}: {result.status}{note}")
    return result


async def _seed(bus: CommandBus) -> dict[str, CommandResult]:
    for code, name, exponent in ASSETS:
        await _send(
            bus, "currency.register", f"seed-currency-{code}", {"code": code, "name": name, "exponent": exponent}
        )
    for handle, (kind, currencies) in WALLETS.items():
        payload: dict[str, Any] = {"owner_id": f"demo:{handle}", "kind": kind, "handle": f"@{handle}"}
        payload["currencies"] = currencies
        await _send(bus, "wallet.create", f"seed-wallet-{handle}", payload)
    last: dict[str, CommandResult] = {}
    for kind, handle, amount, currency in FUNDING:
        flow: dict[str, Any] = {"wallet": f"@{handle}", "amount": amount, "currency": currency}
        last[f"{handle} {currency}"] = await _send(bus, kind, f"seed-{kind}-{handle}-{currency}", flow)
    return last


async def seed(settings: Settings) -> int:
    """Register GOLD/DIAMOND/POINTS, create @alice, @bob and @acme_store, fund them; safe to run twice."""
    bus = CommandBus(settings, role="seed")
    try:
        await bus.start()
    except TimeoutError:
        print("seed: RabbitMQ not reachable (AMQP_URL); nothing was sent")
        return 1
    try:
        print("seed: sending commands")
        funded = await _seed(bus)
    except (SeedFailed, Unavailable) as exc:  # refused, or no reply / the broker lost
        print(f"seed failed: {exc}")
        return 1
    finally:
        await bus.close()
    print("\nseeded wallets (balances as of the seed commands):")
    for label, result in funded.items():
        for b in result.balances:
            print(f"  @{label.split()[0]:<11} {b.currency:<8} {b.balance_decimal:>24}  account {b.account_id}")
    print("  @bob        USD, DIAMOND accounts; @acme_store (merchant) USD account, empty")
    return 0
