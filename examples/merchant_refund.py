"""A merchant is paid through a payment intent, then refunds part of it.

The merchant asks for 25.00 USD (a payment intent); the customer pays it from their wallet; the
merchant refunds 10.00 USD of it. The intent then says how much was paid and refunded, and the
customer's balance shows the money that came back. ::

    LEDGER_URL=http://127.0.0.1:8000 LEDGER_API_KEY=dev-service-key-change-me python examples/merchant_refund.py
"""

from __future__ import annotations

import argparse
import os
import uuid

from ledger_sdk import Client, Refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEDGER_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--api-key", default=os.environ.get("LEDGER_API_KEY"), help="a service/admin key")
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]  # unique handles: the example can run again and again
    shop, customer = f"@bookshop_{run}", f"@reader_{run}"

    with Client(args.url, api_key=args.api_key) as ledger:
        ledger.wallets.create(owner_id=f"shop-{run}", kind="merchant", handle=shop, currencies=["USD"])
        ledger.wallets.create(owner_id=f"user-{run}", kind="user", handle=customer, currencies=["USD"])
        ledger.deposits.create(to=customer, amount="40.00", currency="USD", description="card top-up")
        print(f"{customer} tops up 40.00 USD")

        intent = ledger.payment_intents.create(
            merchant=shop, amount="25.00", currency="USD", description="two paperbacks", metadata={"order": run}
        )
        assert intent.intent_id is not None
        print(f"{shop} asks for 25.00 USD: payment intent {intent.intent_id}")

        paid = ledger.payment_intents.pay(intent.intent_id, payer=customer)
        print(f"{customer} pays it (transaction {paid.transaction_id})")

        # Paying twice is refused: an intent is paid once. (Every refusal is a ``Refused``.)
        try:
            ledger.payment_intents.pay(intent.intent_id, payer=customer)
        except Refused as refusal:
            print(f"paying it again is refused: {refusal.code}")

        refund = ledger.refunds.create(intent_id=intent.intent_id, amount="10.00", currency="USD", reason="one damaged")
        print(f"{shop} refunds 10.00 USD (transaction {refund.transaction_id})")

        state = ledger.payment_intents.get(intent.intent_id)
        print(
            f"intent {state.id}: status {state.status}, paid {state.paid_amount_decimal} {state.currency}, "
            f"refunded {state.refunded_amount_decimal} {state.currency}"
        )
        for who in (customer, shop):
            usd = next(b for b in ledger.wallets.balance(who).balances if b.currency == "USD")
            print(f"{who} balance: {usd.available_decimal} USD")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
