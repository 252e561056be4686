"""An agent spending from its own wallet under a limited API key.

A service (holding an admin key) gives an AI agent a wallet, funds it, and hands the agent a key that
can only read that wallet and move money out of it, at most 20.00 USD a day. The agent, holding only
that key, checks its balance, pays a merchant, is refused a second payment over its limit, and is
refused when it tries to spend from a wallet that is not its own. ::

    LEDGER_URL=http://127.0.0.1:8000 LEDGER_API_KEY=dev-service-key-change-me python examples/agent_wallet.py
"""

from __future__ import annotations

import argparse
import os
import uuid

from contracts.keys import SpendingLimit
from ledger_sdk import Client, ExceedsKeyLimit, PermissionDenied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEDGER_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("LEDGER_API_KEY"), help="a service/admin key")
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]  # unique handles: the example can run again and again
    agent_handle, shop_handle = f"@agent_{run}", f"@coffee_{run}"

    # The service side (its key needs the wallets, deposit and admin scopes): wallets, money, the agent's key.
    with Client(args.url, api_key=args.api_key) as service:
        wallet = service.wallets.create(
            owner_id=f"agent-{run}", handle=agent_handle, currencies=["USD"], metadata={"role": "ai-agent"}
        )
        service.wallets.create(owner_id=f"shop-{run}", kind="merchant", handle=shop_handle, currencies=["USD"])
        service.deposits.create(to=agent_handle, amount="100.00", currency="USD", description="agent budget")
        key = service.keys.create(name=f"agent {run}", scopes=["read", "transfer"], wallet_id=wallet.wallet_id)
        service.keys.set_limits(key.id, spending_limits=[SpendingLimit(currency="USD", per_day_max=2000)])
        print(f"service: created wallet {agent_handle} with 100.00 USD and key {key.prefix} (read, transfer)")
        print("service: the key may spend at most 20.00 USD a day, from its own wallet only")

    # The agent side: nothing but its own key. Every refusal is an exception of its own class.
    try:
        with Client(args.url, api_key=key.secret) as agent:
            usd = next(b for b in agent.me.balance().balances if b.currency == "USD")
            print(f"agent: my balance is {usd.available_decimal} USD")

            paid = agent.transfers.create(
                debit=agent_handle, credit=shop_handle, amount="15.00", currency="USD", description="coffee beans"
            )
            left = next(b for b in paid.balances if b.wallet_id == wallet.wallet_id)
            print(f"agent: paid 15.00 USD to {shop_handle} (transaction {paid.transaction_id})")
            print(f"agent: {left.available_decimal} USD left")

            try:
                agent.transfers.create(debit=agent_handle, credit=shop_handle, amount="15.00", currency="USD")
            except ExceedsKeyLimit as refusal:
                print(f"agent: a second 15.00 USD payment was refused: {refusal.code} ({refusal.status})")
                print("agent: staying within today's budget and asking a human for more")

            try:
                agent.transfers.create(debit=shop_handle, credit=agent_handle, amount="1.00", currency="USD")
            except PermissionDenied as denied:
                print(f"agent: taking money from {shop_handle} was refused: {denied.code} ({denied.status})")

            usd = next(b for b in agent.me.balance().balances if b.currency == "USD")
            print(f"agent: my balance is now {usd.available_decimal} USD")
    finally:
        with Client(args.url, api_key=args.api_key) as service:
            service.keys.revoke(key.id)
            print(f"service: revoked key {key.prefix}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
