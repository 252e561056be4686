"""Pure ledger rules: what each command does to the book, or why it is refused. No I/O here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger_worker.book import Book
from ledger_worker.rules import flows, holds, intents, wallets

#: The rule for each command type.
RULES: dict[str, Callable[[Book, Any], None]] = {
    "currency.register": wallets.register_currency,
    "wallet.create": wallets.create_wallet,
    "wallet.freeze": wallets.freeze_wallet,
    "wallet.unfreeze": wallets.unfreeze_wallet,
    "wallet.close": wallets.close_wallet,
    "wallet.set_metadata": wallets.set_wallet_metadata,
    "account.open": wallets.open_account,
    "account.set_limits": wallets.set_account_limits,
    "deposit": flows.single_party_flow,
    "bonus": flows.single_party_flow,
    "spend": flows.single_party_flow,
    "withdraw": flows.single_party_flow,
    "transfer": flows.transfer,
    "transaction.post": flows.post_transaction,
    "transaction.reverse": flows.reverse_transaction,
    "hold.place": holds.place_hold,
    "hold.capture": holds.capture_hold,
    "hold.release": holds.release_hold,
    "hold.expire": intents.expire_hold,
    "intent.create": intents.create_intent,
    "intent.pay": intents.pay_intent,
    "intent.capture": intents.capture_intent,
    "intent.cancel": intents.cancel_intent,
    "intent.expire": intents.expire_intent,
    "refund": intents.refund,
}
