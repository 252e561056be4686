"""The command catalogue: one declaration per command type, the single source of what commands exist.

Each :class:`CommandSpec` says what a command is on the public side: its payload model (whose fields
declare what they refer to, ``contracts.refs``), the scope a caller needs, the HTTP routes that send
it, and the system account it posts against. Derived from this list, never written again by hand:
the command envelopes and their union (``contracts.commands``), the JSON Schemas
(``contracts.export``), the AsyncAPI document (``contracts.asyncapi``), the catalogue table in
docs/topology.md, the worker's loading plan (``ledger_worker.load``) and the check that every type
has exactly one rule (``ledger_worker.rules``) and the routes its spec names (``http_gateway.app``).

To add a command: a payload model, an entry here, its rule (``@rule("type")`` in ledger_worker/rules),
its route if it has one, then ``make schemas`` for the generated files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.base import Contract
from contracts.holds import (
    CancelIntent,
    CaptureHold,
    CaptureIntent,
    CreateIntent,
    ExpireHold,
    ExpireIntent,
    IncrementHold,
    PayIntent,
    PlaceHold,
    Refund,
    ReleaseHold,
)
from contracts.ids import SystemRole
from contracts.keys import Scope
from contracts.money import Bonus, Deposit, PostTransaction, ReverseTransaction, Spend, Transfer, Withdraw
from contracts.wallets import (
    CloseWallet,
    CreateWallet,
    FreezeWallet,
    OpenAccount,
    RegisterCurrency,
    SetAccountLimits,
    SetWalletMetadata,
    UnfreezeWallet,
)

Method = Literal["POST", "PUT", "PATCH", "DELETE"]
PayloadModel = type[Contract]  # named here: inside CommandSpec, ``type`` is a field


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP route that sends the command (the gateway's write routes are checked against these)."""

    method: Method
    path: str


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """Everything public about one command type."""

    type: str
    payload: PayloadModel
    #: The scope an API key needs to send it; ``None``: only the ledger itself sends it (the sweeper).
    scope: Scope | None
    routes: tuple[Route, ...] = ()
    #: The system account role the command posts against (in the payload's currency).
    system: SystemRole | None = None
    #: Kinds of object the command may create under an id derived from its command id that no payload
    #: field names (``intent.pay`` via a hold); loaded like ``Ref(new=True)`` fields.
    derives: tuple[Literal["hold"], ...] = ()

    @property
    def summary(self) -> str:
        """The payload model's first docstring line: what the command does."""
        return (self.payload.__doc__ or "").strip().splitlines()[0]

    @property
    def internal(self) -> bool:
        """Sent by the ledger itself, never by a caller."""
        return self.scope is None


def _post(path: str) -> tuple[Route, ...]:
    return (Route("POST", path),)


COMMANDS: tuple[CommandSpec, ...] = (
    # currencies, wallets, accounts
    CommandSpec("currency.register", RegisterCurrency, Scope.ADMIN, _post("/v1/currencies")),
    CommandSpec("wallet.create", CreateWallet, Scope.WALLETS, _post("/v1/wallets")),
    CommandSpec("wallet.freeze", FreezeWallet, Scope.WALLETS, _post("/v1/wallets/{wallet}/freeze")),
    CommandSpec("wallet.unfreeze", UnfreezeWallet, Scope.WALLETS, _post("/v1/wallets/{wallet}/unfreeze")),
    CommandSpec("wallet.close", CloseWallet, Scope.WALLETS, _post("/v1/wallets/{wallet}/close")),
    CommandSpec(
        "wallet.set_metadata", SetWalletMetadata, Scope.WALLETS, (Route("PATCH", "/v1/wallets/{wallet}/metadata"),)
    ),
    CommandSpec(
        "account.open",
        OpenAccount,
        Scope.WALLETS,
        (Route("POST", "/v1/accounts"), Route("POST", "/v1/wallets/{wallet}/accounts")),
    ),
    CommandSpec(
        "account.set_limits", SetAccountLimits, Scope.WALLETS, (Route("PUT", "/v1/accounts/{account_id}/limits"),)
    ),
    # money
    CommandSpec("deposit", Deposit, Scope.DEPOSIT, _post("/v1/deposits"), system="treasury"),
    CommandSpec("bonus", Bonus, Scope.DEPOSIT, _post("/v1/bonuses"), system="promotions"),
    CommandSpec("spend", Spend, Scope.TRANSFER, _post("/v1/spends"), system="revenue"),
    CommandSpec("withdraw", Withdraw, Scope.TRANSFER, _post("/v1/withdrawals"), system="treasury"),
    CommandSpec("transfer", Transfer, Scope.TRANSFER, _post("/v1/transfers")),
    CommandSpec("transaction.post", PostTransaction, Scope.TRANSFER, _post("/v1/transactions")),
    CommandSpec(
        "transaction.reverse", ReverseTransaction, Scope.ADMIN, _post("/v1/transactions/{transaction_id}/reverse")
    ),
    # holds
    CommandSpec("hold.place", PlaceHold, Scope.HOLDS, _post("/v1/holds")),
    CommandSpec("hold.increment", IncrementHold, Scope.HOLDS, _post("/v1/holds/{hold_id}/increment")),
    CommandSpec("hold.capture", CaptureHold, Scope.HOLDS, _post("/v1/holds/{hold_id}/capture")),
    CommandSpec("hold.release", ReleaseHold, Scope.HOLDS, _post("/v1/holds/{hold_id}/release")),
    CommandSpec("hold.expire", ExpireHold, None),
    # payment intents and refunds
    CommandSpec("intent.create", CreateIntent, Scope.PAYMENTS, _post("/v1/payment_intents")),
    CommandSpec(
        "intent.pay", PayIntent, Scope.TRANSFER, _post("/v1/payment_intents/{intent_id}/pay"), derives=("hold",)
    ),
    CommandSpec("intent.capture", CaptureIntent, Scope.PAYMENTS, _post("/v1/payment_intents/{intent_id}/capture")),
    CommandSpec("intent.cancel", CancelIntent, Scope.PAYMENTS, _post("/v1/payment_intents/{intent_id}/cancel")),
    CommandSpec("intent.expire", ExpireIntent, None),
    CommandSpec("refund", Refund, Scope.REFUNDS, _post("/v1/refunds")),
)

#: Each spec by its command type (the routing key a command is published with).
SPECS: dict[str, CommandSpec] = {spec.type: spec for spec in COMMANDS}
if len(SPECS) != len(COMMANDS):
    raise RuntimeError("a command type is declared twice in contracts.catalogue")
