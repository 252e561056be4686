"""Replies the worker sends to a command's ``reply_to`` and stores for ``GET /v1/commands``."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from contracts.base import Contract
from contracts.recon import ReconciliationCompleted


class Refusal(StrEnum):
    """Closed set of business refusals; a retrying client can act on each.

    A refusal is a recorded outcome: retrying the same command id returns the same refusal.
    """

    # the command itself
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    # the caller (contracts.catalogue's capability table)
    FORBIDDEN_PRINCIPAL = "forbidden_principal"
    KEY_REVOKED = "key_revoked"
    FORBIDDEN_SCOPE = "forbidden_scope"
    UNBOUND_KEY_REQUIRED = "unbound_key_required"
    FORBIDDEN_PARTY = "forbidden_party"
    RESERVED_COMMAND_ID = "reserved_command_id"
    #: An id the caller chose for a new wallet, account, hold or intent is of the ledger's own kind (a
    #: version-5 UUID: every id the ledger derives is one), so it could equal a derived id.
    RESERVED_ID = "reserved_id"
    # currencies
    CURRENCY_NOT_FOUND = "currency_not_found"
    CURRENCY_EXISTS = "currency_exists"
    CURRENCY_MISMATCH = "currency_mismatch"
    # wallets and accounts
    WALLET_NOT_FOUND = "wallet_not_found"
    WALLET_EXISTS = "wallet_exists"
    HANDLE_TAKEN = "handle_taken"
    EXTERNAL_REF_TAKEN = "external_ref_taken"
    WALLET_NOT_EMPTY = "wallet_not_empty"
    WALLET_NOT_FROZEN = "wallet_not_frozen"
    ACCOUNT_NOT_FOUND = "account_not_found"
    ACCOUNT_EXISTS = "account_exists"
    ACCOUNT_FROZEN = "account_frozen"
    ACCOUNT_CLOSED = "account_closed"
    SYSTEM_ACCOUNT = "system_account"
    SAME_ACCOUNT = "same_account"
    METADATA_LIMIT = "metadata_limit"
    # funds and limits
    INSUFFICIENT_FUNDS = "insufficient_funds"
    BALANCE_OVERFLOW = "balance_overflow"
    #: A sum the ledger would store (a transaction's total, a hold's total after increments) is over the
    #: largest amount (contracts.bounds.MAX_AMOUNT).
    AMOUNT_OUT_OF_RANGE = "amount_out_of_range"
    EXCEEDS_TRANSACTION_LIMIT = "exceeds_transaction_limit"
    EXCEEDS_DAILY_AMOUNT = "exceeds_daily_amount"
    EXCEEDS_DAILY_COUNT = "exceeds_daily_count"
    EXCEEDS_KEY_LIMIT = "exceeds_key_limit"
    # holds
    HOLD_NOT_FOUND = "hold_not_found"
    HOLD_EXISTS = "hold_exists"
    HOLD_NOT_PENDING = "hold_not_pending"
    HOLD_EXPIRED = "hold_expired"
    HOLD_NOT_EXPIRED = "hold_not_expired"
    #: ``hold.extend``: the new expiry is not later than the hold's (or the hold never expires).
    EXPIRY_NOT_LATER = "expiry_not_later"
    CAPTURE_EXCEEDS_HOLD = "capture_exceeds_hold"
    RECIPIENT_REQUIRED = "recipient_required"
    HOLD_BELONGS_TO_INTENT = "hold_belongs_to_intent"
    # payment intents and refunds
    INTENT_NOT_FOUND = "intent_not_found"
    INTENT_EXISTS = "intent_exists"
    INTENT_NOT_PAYABLE = "intent_not_payable"
    INTENT_EXPIRED = "intent_expired"
    INTENT_NOT_AUTHORIZED = "intent_not_authorized"
    INTENT_NOT_PAID = "intent_not_paid"
    INTENT_NOT_EXPIRED = "intent_not_expired"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    # transactions
    TRANSACTION_NOT_FOUND = "transaction_not_found"
    ALREADY_REVERSED = "already_reversed"
    NOT_REVERSIBLE = "not_reversible"
    # reconciliation
    SOURCE_NOT_FOUND = "source_not_found"
    BREAK_NOT_FOUND = "break_not_found"
    #: ``break.explain`` / ``break.resolve``: the break is resolved already (or, to explain it, not open).
    BREAK_NOT_OPEN = "break_not_open"


#: Refusals about the caller rather than the money: 403, like the gateway's own early answers.
CALLER_REFUSALS = frozenset(
    {
        Refusal.FORBIDDEN_PRINCIPAL,
        Refusal.KEY_REVOKED,
        Refusal.FORBIDDEN_SCOPE,
        Refusal.UNBOUND_KEY_REQUIRED,
        Refusal.FORBIDDEN_PARTY,
        Refusal.RESERVED_COMMAND_ID,
    }
)


def refusal_status(refusal: Refusal) -> int:
    """The caller's refusals 403; ``*_not_found`` 404; ``*_exists``, ``*_taken``, ``idempotency_conflict``,
    ``already_reversed`` 409; else 422."""
    if refusal in CALLER_REFUSALS:
        return 403
    if refusal.value.endswith("_not_found"):
        return 404
    if refusal.value.endswith(("_exists", "_taken")) or refusal in (
        Refusal.IDEMPOTENCY_CONFLICT,
        Refusal.ALREADY_REVERSED,
    ):
        return 409
    return 422


class AccountBalance(Contract):
    """An account's balances right after the command: ``available = balance - held``.

    Amounts are integer minor units; the ``*_decimal`` strings are the same amounts written with
    the currency's exponent (``"12.50"`` for 1250 USD).
    """

    account_id: UUID
    wallet_id: UUID | None = None
    currency: str
    balance: int
    held: int = 0
    available: int
    balance_decimal: str
    held_decimal: str
    available_decimal: str


class CommandResult(Contract):
    """Outcome of one command. ``replayed`` is true when an earlier outcome is returned again (over
    HTTP the ``Idempotent-Replayed`` header says it, and the body is the first answer's)."""

    command_id: str
    command_type: str
    status: Literal["applied", "refused"]
    refusal: Refusal | None = None
    detail: str | None = None
    transaction_id: UUID | None = None
    account_id: UUID | None = None
    wallet_id: UUID | None = None
    hold_id: UUID | None = None
    intent_id: UUID | None = None
    #: ``break.*``: the break; ``recon.run``: what the run matched and found (``ReconciliationCompleted``).
    break_id: UUID | None = None
    reconciliation: ReconciliationCompleted | None = None
    balances: tuple[AccountBalance, ...] = ()
    replayed: bool = False
