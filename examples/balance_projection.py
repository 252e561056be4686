"""A downstream service keeping its own projection of balances from the ledger's events (AMQP).

It subscribes to the accounts' events (``account.*``) with :class:`ledger_sdk.amqp.EventSubscriber`
(signatures verified, duplicates dropped, each account's events in order), and keeps one number per
account: the event's ``balance_after``. Since every event carries the balance after it, the projection
is right after any event, even for an account whose earlier events it never saw.

To have something to watch, it then moves some money over HTTP (two wallets, a top-up, a transfer, a
purchase), and stops by itself once its projection agrees with the balances the ledger reports (or
fails after ``--timeout`` seconds). Needs the SDK's ``amqp`` extra (``pip install './sdk[amqp]'``). ::

    LEDGER_URL=http://127.0.0.1:8000 LEDGER_API_KEY=dev-service-key-change-me \\
    AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ EVENT_SIGNING_KEYS=dev:dev-event-signing-key-change-me \\
    python examples/balance_projection.py
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import uuid
from uuid import UUID

from contracts.events import BalanceChanged, EventEnvelope
from ledger_sdk import AsyncClient
from ledger_sdk.amqp import EventSubscriber


class Projection:
    """Balance per account, from ``balance_after``; ``done`` is set when it matches ``expected``."""

    def __init__(self) -> None:
        self.balances: dict[UUID, int] = {}
        self.wallets: dict[UUID, str] = {}  # the wallets this run watches: id -> handle
        self.expected: dict[UUID, int] = {}  # their accounts' final balances, once known
        self.events = 0
        self.joined_late: set[str] = set()  # streams first seen after their first event
        self.done = asyncio.Event()

    async def handle(self, event: EventEnvelope) -> None:
        if not isinstance(event.payload, BalanceChanged) or event.account_id is None:
            return
        self.events += 1
        self.balances[event.account_id] = event.payload.balance_after
        if event.wallet_id in self.wallets:
            sign = "+" if event.type == "account.credited" else "-"
            print(
                f"  {self.wallets[event.wallet_id]} event #{event.sequence}: {event.payload.command_type} "
                f"{sign}{event.payload.amount} -> balance_after {event.payload.balance_after}"
            )
        self.check()

    def gap(self, stream: str, expected: int, got: int) -> None:
        # An account that had events before this queue existed (someone else's): balance_after makes it harmless.
        self.joined_late.add(stream)

    def check(self) -> None:
        if self.expected and all(self.balances.get(a) == b for a, b in self.expected.items()):
            self.done.set()


async def move_money(ledger: AsyncClient, run: str, projection: Projection) -> dict[UUID, str]:
    """Two wallets, a top-up, a transfer and a purchase; the accounts they touched, named."""
    alice, bob = f"@alice_{run}", f"@bob_{run}"
    print(f"moving money over HTTP: top-up 50.00 to {alice}, 12.50 {alice} -> {bob}, {bob} spends 2.00")
    for handle in (alice, bob):
        created = await ledger.wallets.create(owner_id=f"user-{run}", handle=handle, currencies=["USD"])
        assert created.wallet_id is not None
        projection.wallets[created.wallet_id] = handle
    await ledger.deposits.create(to=alice, amount="50.00", currency="USD")
    await ledger.transfers.create(debit=alice, credit=bob, amount="12.50", currency="USD")
    await ledger.spends.create(source=bob, amount="2.00", currency="USD", description="a sandwich")
    names: dict[UUID, str] = {}
    for handle in (alice, bob):
        for account in (await ledger.wallets.balance(handle)).balances:
            names[account.account_id] = handle
            projection.expected[account.account_id] = account.balance
    projection.check()
    return names


async def main_async(args: argparse.Namespace) -> int:
    run = uuid.uuid4().hex[:8]
    projection = Projection()
    queue = f"{args.queue_prefix}.{run}"
    async with EventSubscriber(
        args.amqp_url,
        queue=queue,
        bindings=["account.*"],  # the whole stream of each account, so a gap is a real one
        namespace=args.namespace,
        signing_keys=args.signing_keys or None,
        on_gap=projection.gap,
    ) as events:
        print(f"subscribed: queue {queue}, bound to account.*")
        consuming = asyncio.create_task(events.run(projection.handle, stop=projection.done))
        try:
            async with AsyncClient(args.url, api_key=args.api_key) as ledger:
                names = await move_money(ledger, run, projection)
            try:
                await asyncio.wait_for(asyncio.shield(consuming), args.timeout)
            except TimeoutError:
                print(f"timed out after {args.timeout}s: the projection does not match the ledger")
                return 1
        finally:
            projection.done.set()  # run() returns once its stop event is set
            await consuming
            await events.delete_queue()  # a demo queue; a real projection keeps its queue
    print(f"projection after {projection.events} events (matches GET /v1/wallets/{{wallet}}/balance):")
    for account_id, handle in names.items():
        print(f"  {handle} {str(account_id)[:8]}: {projection.balances[account_id]} (minor units, USD)")
    if projection.joined_late:
        print(f"joined {len(projection.joined_late)} older stream(s) mid-way; balance_after made that harmless")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEDGER_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("LEDGER_API_KEY"), help="moves the demo's money")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--namespace", default=os.environ.get("LEDGER_NAMESPACE", ""), help="LEDGER_NAMESPACE")
    parser.add_argument(
        "--signing-keys",
        default=os.environ.get("EVENT_SIGNING_KEYS", "dev:dev-event-signing-key-change-me"),
        help="kid:secret,... the keys events are verified with (empty: do not verify)",
    )
    parser.add_argument("--queue-prefix", default="projection", help="the queue is <prefix>.<random>")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the events")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
