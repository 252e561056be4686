"""Command envelope and the command catalogue (schema version 1).

A command is published to the ``ledger.commands`` exchange with its ``type`` as routing key.
``command_id`` is the idempotency key: the same id is applied at most once, and the same id
with a different payload is refused as ``idempotency_conflict``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from contracts.base import CommandId, Contract
from contracts.holds import (
    CancelIntent,
    CaptureHold,
    CaptureIntent,
    CreateIntent,
    ExpireHold,
    ExpireIntent,
    PayIntent,
    PlaceHold,
    Refund,
    ReleaseHold,
)
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

__all__ = [
    "Bonus",
    "CancelIntent",
    "CaptureHold",
    "CaptureIntent",
    "CloseWallet",
    "CreateIntent",
    "CreateWallet",
    "Deposit",
    "ExpireHold",
    "ExpireIntent",
    "FreezeWallet",
    "OpenAccount",
    "PayIntent",
    "PlaceHold",
    "PostTransaction",
    "Refund",
    "RegisterCurrency",
    "ReleaseHold",
    "ReverseTransaction",
    "SetAccountLimits",
    "SetWalletMetadata",
    "Spend",
    "Transfer",
    "UnfreezeWallet",
    "Withdraw",
]


class _Envelope(Contract):
    command_id: CommandId
    schema_version: Literal[1] = 1
    issued_at: datetime
    reply_to: str | None = Field(default=None, max_length=255)
    correlation_id: str | None = Field(default=None, max_length=255)
    #: Who asked: an API key id or AMQP user; recorded on the transaction for audit.
    principal: str | None = Field(default=None, max_length=255)


class RegisterCurrencyCommand(_Envelope):
    type: Literal["currency.register"] = "currency.register"
    payload: RegisterCurrency


class CreateWalletCommand(_Envelope):
    type: Literal["wallet.create"] = "wallet.create"
    payload: CreateWallet


class FreezeWalletCommand(_Envelope):
    type: Literal["wallet.freeze"] = "wallet.freeze"
    payload: FreezeWallet


class UnfreezeWalletCommand(_Envelope):
    type: Literal["wallet.unfreeze"] = "wallet.unfreeze"
    payload: UnfreezeWallet


class CloseWalletCommand(_Envelope):
    type: Literal["wallet.close"] = "wallet.close"
    payload: CloseWallet


class SetWalletMetadataCommand(_Envelope):
    type: Literal["wallet.set_metadata"] = "wallet.set_metadata"
    payload: SetWalletMetadata


class OpenAccountCommand(_Envelope):
    type: Literal["account.open"] = "account.open"
    payload: OpenAccount


class SetAccountLimitsCommand(_Envelope):
    type: Literal["account.set_limits"] = "account.set_limits"
    payload: SetAccountLimits


class DepositCommand(_Envelope):
    type: Literal["deposit"] = "deposit"
    payload: Deposit


class BonusCommand(_Envelope):
    type: Literal["bonus"] = "bonus"
    payload: Bonus


class SpendCommand(_Envelope):
    type: Literal["spend"] = "spend"
    payload: Spend


class WithdrawCommand(_Envelope):
    type: Literal["withdraw"] = "withdraw"
    payload: Withdraw


class TransferCommand(_Envelope):
    type: Literal["transfer"] = "transfer"
    payload: Transfer


class PostTransactionCommand(_Envelope):
    type: Literal["transaction.post"] = "transaction.post"
    payload: PostTransaction


class ReverseTransactionCommand(_Envelope):
    type: Literal["transaction.reverse"] = "transaction.reverse"
    payload: ReverseTransaction


class PlaceHoldCommand(_Envelope):
    type: Literal["hold.place"] = "hold.place"
    payload: PlaceHold


class CaptureHoldCommand(_Envelope):
    type: Literal["hold.capture"] = "hold.capture"
    payload: CaptureHold


class ReleaseHoldCommand(_Envelope):
    type: Literal["hold.release"] = "hold.release"
    payload: ReleaseHold


class ExpireHoldCommand(_Envelope):
    type: Literal["hold.expire"] = "hold.expire"
    payload: ExpireHold


class CreateIntentCommand(_Envelope):
    type: Literal["intent.create"] = "intent.create"
    payload: CreateIntent


class PayIntentCommand(_Envelope):
    type: Literal["intent.pay"] = "intent.pay"
    payload: PayIntent


class CaptureIntentCommand(_Envelope):
    type: Literal["intent.capture"] = "intent.capture"
    payload: CaptureIntent


class CancelIntentCommand(_Envelope):
    type: Literal["intent.cancel"] = "intent.cancel"
    payload: CancelIntent


class ExpireIntentCommand(_Envelope):
    type: Literal["intent.expire"] = "intent.expire"
    payload: ExpireIntent


class RefundCommand(_Envelope):
    type: Literal["refund"] = "refund"
    payload: Refund


Command = Annotated[
    RegisterCurrencyCommand
    | CreateWalletCommand
    | FreezeWalletCommand
    | UnfreezeWalletCommand
    | CloseWalletCommand
    | SetWalletMetadataCommand
    | OpenAccountCommand
    | SetAccountLimitsCommand
    | DepositCommand
    | BonusCommand
    | SpendCommand
    | WithdrawCommand
    | TransferCommand
    | PostTransactionCommand
    | ReverseTransactionCommand
    | PlaceHoldCommand
    | CaptureHoldCommand
    | ReleaseHoldCommand
    | ExpireHoldCommand
    | CreateIntentCommand
    | PayIntentCommand
    | CaptureIntentCommand
    | CancelIntentCommand
    | ExpireIntentCommand
    | RefundCommand,
    Field(discriminator="type"),
]
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)
#: Every command class by its ``type``; the routing key to publish it with.
COMMAND_CLASSES: dict[str, type[_Envelope]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        RegisterCurrencyCommand,
        CreateWalletCommand,
        FreezeWalletCommand,
        UnfreezeWalletCommand,
        CloseWalletCommand,
        SetWalletMetadataCommand,
        OpenAccountCommand,
        SetAccountLimitsCommand,
        DepositCommand,
        BonusCommand,
        SpendCommand,
        WithdrawCommand,
        TransferCommand,
        PostTransactionCommand,
        ReverseTransactionCommand,
        PlaceHoldCommand,
        CaptureHoldCommand,
        ReleaseHoldCommand,
        ExpireHoldCommand,
        CreateIntentCommand,
        PayIntentCommand,
        CaptureIntentCommand,
        CancelIntentCommand,
        ExpireIntentCommand,
        RefundCommand,
    )
}
COMMAND_TYPES: tuple[str, ...] = tuple(COMMAND_CLASSES)


def payload_digest(cmd: Command) -> str:
    """Fingerprint of what the command does, used to detect idempotency-key reuse.

    Defaults are left out, so adding an optional field to a payload keeps old digests valid.
    """
    body = cmd.payload.model_dump_json(exclude_defaults=True)
    return hashlib.sha256(f"{cmd.type}|{body}".encode()).hexdigest()


def parse_command(body: bytes) -> Command:
    """Decode and validate a command body; raises ``pydantic.ValidationError``."""
    return COMMAND_ADAPTER.validate_json(body)


def build_command(kind: str, payload: object, **envelope: object) -> Command:
    """A command of type ``kind`` from a payload (model or dict) and envelope fields."""
    return COMMAND_ADAPTER.validate_python({"type": kind, "payload": payload, **envelope})
