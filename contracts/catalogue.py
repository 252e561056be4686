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


#: Whose wallet a party may be, for a key bound to a wallet: ``own`` (only its wallet), ``any`` (any
#: customer wallet), or ``debit`` (legs: its own when debited, any customer when credited). A key bound
#: to no wallet may name any customer wallet. A system account is never a party unless ``system``.
Reach = Literal["own", "any", "debit"]


@dataclass(frozen=True, slots=True)
class PartyRule:
    """Who may stand on one side of a command: a payload party (``debit``, ``payer``…) or the holder of the
    object it names (``hold``: the account that holds it; ``intent``: its merchant)."""

    name: str
    reach: Reach = "own"
    #: A scope needed besides the command's when this party is given (capturing to a new recipient
    #: moves money out, so it also needs ``transfer``).
    scope: Scope | None = None
    #: System accounts (treasury, revenue…) may stand here for a caller with the ``treasury`` scope.
    system: bool = False
    #: ``hold`` only: the hold's recipient may act too (a payee may release what it will not take).
    recipient_too: bool = False


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """Everything public about one command type."""

    type: str
    payload: PayloadModel
    #: The scope a caller needs to send it; ``None``: only the ledger itself sends it (the sweeper).
    scope: Scope | None
    routes: tuple[Route, ...] = ()
    #: The system account role the command posts against (in the payload's currency).
    system: SystemRole | None = None
    #: Kinds of object the command may create under an id derived from its command id that no payload
    #: field names (``intent.pay`` via a hold); loaded like ``Ref(new=True)`` fields.
    derives: tuple[Literal["hold"], ...] = ()
    #: Who may stand on each side; every party of the payload has a rule (tests/unit/test_capabilities.py).
    parties: tuple[PartyRule, ...] = ()
    #: False: only a caller bound to no wallet may send it (it acts across wallets or on configuration).
    bound: bool = True

    @property
    def summary(self) -> str:
        """The payload model's first docstring line: what the command does."""
        return (self.payload.__doc__ or "").strip().splitlines()[0]

    def system_side(self, name: str) -> bool:
        """Whether a ``treasury`` caller may put a system account on side ``name``."""
        return any(r.name == name and r.system for r in self.parties)

    @property
    def internal(self) -> bool:
        """Sent by the ledger itself, never by a caller."""
        return self.scope is None


def _post(path: str) -> tuple[Route, ...]:
    return (Route("POST", path),)


def _own(*names: str) -> tuple[PartyRule, ...]:
    return tuple(PartyRule(n) for n in names)


_MOVES = (PartyRule("debit", system=True), PartyRule("credit", reach="any", system=True))


COMMANDS: tuple[CommandSpec, ...] = (
    # currencies, wallets, accounts
    CommandSpec("currency.register", RegisterCurrency, Scope.ADMIN, _post("/v1/currencies"), bound=False),
    CommandSpec("wallet.create", CreateWallet, Scope.WALLETS, _post("/v1/wallets"), bound=False),
    CommandSpec("wallet.freeze", FreezeWallet, Scope.WALLETS, _post("/v1/wallets/{wallet}/freeze"), bound=False),
    CommandSpec("wallet.unfreeze", UnfreezeWallet, Scope.WALLETS, _post("/v1/wallets/{wallet}/unfreeze"), bound=False),
    CommandSpec("wallet.close", CloseWallet, Scope.WALLETS, _post("/v1/wallets/{wallet}/close"), bound=False),
    CommandSpec(
        "wallet.set_metadata",
        SetWalletMetadata,
        Scope.WALLETS,
        (Route("PATCH", "/v1/wallets/{wallet}/metadata"),),
        bound=False,
    ),
    CommandSpec(
        "account.open",
        OpenAccount,
        Scope.WALLETS,
        (Route("POST", "/v1/accounts"), Route("POST", "/v1/wallets/{wallet}/accounts")),
        bound=False,
    ),
    CommandSpec(
        "account.set_limits",
        SetAccountLimits,
        Scope.WALLETS,
        (Route("PUT", "/v1/accounts/{account_id}/limits"),),
        parties=(PartyRule("account", reach="any"),),
        bound=False,  # a key must never widen its own wallet's limits
    ),
    # money
    CommandSpec("deposit", Deposit, Scope.DEPOSIT, _post("/v1/deposits"), system="treasury", parties=_own("customer")),
    CommandSpec("bonus", Bonus, Scope.DEPOSIT, _post("/v1/bonuses"), system="promotions", parties=_own("customer")),
    CommandSpec("spend", Spend, Scope.TRANSFER, _post("/v1/spends"), system="revenue", parties=_own("customer")),
    CommandSpec(
        "withdraw", Withdraw, Scope.TRANSFER, _post("/v1/withdrawals"), system="treasury", parties=_own("customer")
    ),
    CommandSpec("transfer", Transfer, Scope.TRANSFER, _post("/v1/transfers"), parties=_MOVES),
    CommandSpec(
        "transaction.post",
        PostTransaction,
        Scope.TRANSFER,
        _post("/v1/transactions"),
        parties=(PartyRule("leg", reach="debit", system=True),),
    ),
    CommandSpec(
        "transaction.reverse",
        ReverseTransaction,
        Scope.REVERSE,
        _post("/v1/transactions/{transaction_id}/reverse"),
        bound=False,
    ),
    # holds
    CommandSpec(
        "hold.place",
        PlaceHold,
        Scope.HOLDS,
        _post("/v1/holds"),
        parties=(PartyRule("holder"), PartyRule("recipient", reach="any")),
    ),
    CommandSpec(
        "hold.increment", IncrementHold, Scope.HOLDS, _post("/v1/holds/{hold_id}/increment"), parties=_own("hold")
    ),
    CommandSpec(
        "hold.capture",
        CaptureHold,
        Scope.HOLDS,
        _post("/v1/holds/{hold_id}/capture"),
        parties=(PartyRule("hold"), PartyRule("recipient", reach="any", scope=Scope.TRANSFER)),
    ),
    CommandSpec(
        "hold.release",
        ReleaseHold,
        Scope.HOLDS,
        _post("/v1/holds/{hold_id}/release"),
        parties=(PartyRule("hold", recipient_too=True),),
    ),
    CommandSpec("hold.expire", ExpireHold, None),
    # payment intents and refunds
    CommandSpec("intent.create", CreateIntent, Scope.PAYMENTS, _post("/v1/payment_intents"), parties=_own("merchant")),
    CommandSpec(
        "intent.pay",
        PayIntent,
        Scope.TRANSFER,
        _post("/v1/payment_intents/{intent_id}/pay"),
        derives=("hold",),
        parties=(PartyRule("payer"), PartyRule("intent", reach="any")),  # anyone's intent, from one's own wallet
    ),
    CommandSpec(
        "intent.capture",
        CaptureIntent,
        Scope.PAYMENTS,
        _post("/v1/payment_intents/{intent_id}/capture"),
        parties=_own("intent"),
    ),
    CommandSpec(
        "intent.cancel",
        CancelIntent,
        Scope.PAYMENTS,
        _post("/v1/payment_intents/{intent_id}/cancel"),
        parties=_own("intent"),
    ),
    CommandSpec("intent.expire", ExpireIntent, None),
    CommandSpec("refund", Refund, Scope.REFUNDS, _post("/v1/refunds"), parties=_own("intent")),
)

#: Each spec by its command type (the routing key a command is published with).
SPECS: dict[str, CommandSpec] = {spec.type: spec for spec in COMMANDS}
if len(SPECS) != len(COMMANDS):
    raise RuntimeError("a command type is declared twice in contracts.catalogue")
