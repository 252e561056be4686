# Generated from ledger_sdk/_async/_commands.py by tools/sdk_generate.py; edit that file, not this one.
"""The command methods of the clients, one per route of the command catalogue.

Generated from contracts/catalogue.py by ``python tools/sdk_generate.py``; do not edit. Each class is the
base of the resource of the same name (``Holds`` extends ``HoldsCommands`` with its reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal, Unpack
from uuid import UUID

from contracts.results import CommandResult
from ledger_sdk import _values as v
from ledger_sdk._sync.client import CallOptions, Resource, route
from ledger_sdk._values import Amount, Leg, Party

__all__ = [
    "AccountsCommands",
    "BonusesCommands",
    "CurrenciesCommands",
    "DepositsCommands",
    "HoldsCommands",
    "PaymentIntentsCommands",
    "ReconCommands",
    "RefundsCommands",
    "SpendsCommands",
    "TransactionsCommands",
    "TransfersCommands",
    "WalletsCommands",
    "WithdrawalsCommands",
]


class CurrenciesCommands(Resource):
    """``client.currencies``: its commands."""

    @route("POST", "/v1/currencies")
    def register(self, *, code: str, name: str, exponent: int, **options: Unpack[CallOptions]) -> CommandResult:
        """Add a currency or asset type. Its exponent (minor-unit digits) can never change afterwards.
        (``currency.register``)"""
        body = {"code": code, "name": name, "exponent": exponent}
        return self._client.write("POST", "/v1/currencies", body, options)


class WalletsCommands(Resource):
    """``client.wallets``: its commands."""

    @route("POST", "/v1/wallets")
    def create(
        self,
        *,
        owner_id: str,
        wallet_id: UUID | str | None = None,
        kind: Literal["user", "merchant", "group"] | None = None,
        handle: str | None = None,
        external_ref: str | None = None,
        currencies: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Create a wallet for an owner, with an account in each listed currency. (``wallet.create``)"""
        body = {
            **v.given(wallet_id=None if wallet_id is None else v.uuid_text(wallet_id)),
            "owner_id": owner_id,
            **v.given(
                kind=kind,
                handle=handle,
                external_ref=external_ref,
                currencies=None if currencies is None else list(currencies),
                metadata=None if metadata is None else dict(metadata),
            ),
        }
        return self._client.write("POST", "/v1/wallets", body, options)

    @route("POST", "/v1/wallets/{wallet}/freeze")
    def freeze(
        self,
        wallet: Party,
        *,
        allow_credits: bool | None = None,
        reason: str | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Stop debits from every account of the wallet; credits continue if ``allow_credits``. (``wallet.freeze``)"""
        body = {**v.given(allow_credits=allow_credits, reason=reason)}
        return self._client.write("POST", f"/v1/wallets/{v.path_ref(wallet)}/freeze", body or None, options)

    @route("POST", "/v1/wallets/{wallet}/unfreeze")
    def unfreeze(self, wallet: Party, **options: Unpack[CallOptions]) -> CommandResult:
        """Return a frozen wallet to active. (``wallet.unfreeze``)"""
        return self._client.write("POST", f"/v1/wallets/{v.path_ref(wallet)}/unfreeze", None, options)

    @route("POST", "/v1/wallets/{wallet}/close")
    def close(self, wallet: Party, **options: Unpack[CallOptions]) -> CommandResult:
        """Close a wallet for good; only when every account is at zero with no pending holds. (``wallet.close``)"""
        return self._client.write("POST", f"/v1/wallets/{v.path_ref(wallet)}/close", None, options)

    @route("PATCH", "/v1/wallets/{wallet}/metadata")
    def set_metadata(
        self, wallet: Party, *, metadata: Mapping[str, str | None], **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Merge into the wallet's metadata; a key set to ``null`` is removed. (``wallet.set_metadata``)"""
        body = {"metadata": dict(metadata)}
        return self._client.write("PATCH", f"/v1/wallets/{v.path_ref(wallet)}/metadata", body, options)

    @route("POST", "/v1/wallets/{wallet}/accounts")
    def open_account(
        self,
        wallet: Party,
        *,
        currency: str,
        account_id: UUID | str | None = None,
        min_balance: Amount | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Open an account in one currency, in ``wallet`` or (without it) in a wallet of its own.
        (``account.open``)"""
        body = {
            **v.given(account_id=None if account_id is None else v.uuid_text(account_id)),
            "currency": currency,
            **v.given(min_balance=None if min_balance is None else v.amount(min_balance, name="min_balance")),
        }
        return self._client.write("POST", f"/v1/wallets/{v.path_ref(wallet)}/accounts", body, options)


class AccountsCommands(Resource):
    """``client.accounts``: its commands."""

    @route("POST", "/v1/accounts")
    def open(
        self,
        *,
        currency: str,
        account_id: UUID | str | None = None,
        min_balance: Amount | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Open an account in one currency, in ``wallet`` or (without it) in a wallet of its own.
        (``account.open``)"""
        body = {
            **v.given(account_id=None if account_id is None else v.uuid_text(account_id)),
            "currency": currency,
            **v.given(min_balance=None if min_balance is None else v.amount(min_balance, name="min_balance")),
        }
        return self._client.write("POST", "/v1/accounts", body, options)

    @route("PUT", "/v1/accounts/{account_id}/limits")
    def set_limits(
        self,
        account_id: UUID | str,
        *,
        min_balance: Amount | None = None,
        max_per_transaction: Amount | None = None,
        daily_debit_amount: Amount | None = None,
        daily_debit_count: int | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Replace an account's limits. ``min_balance`` below zero is a credit line; 0 means no overdraft.
        (``account.set_limits``)"""
        body = {
            **v.given(
                min_balance=None if min_balance is None else v.amount(min_balance, name="min_balance"),
                max_per_transaction=None
                if max_per_transaction is None
                else v.amount(max_per_transaction, name="max_per_transaction"),
                daily_debit_amount=None
                if daily_debit_amount is None
                else v.amount(daily_debit_amount, name="daily_debit_amount"),
                daily_debit_count=daily_debit_count,
            )
        }
        return self._client.write("PUT", f"/v1/accounts/{v.path_id(account_id)}/limits", body, options)


class DepositsCommands(Resource):
    """``client.deposits``: its commands."""

    @route("POST", "/v1/deposits")
    def create(
        self,
        *,
        to: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Top-up: credit the account from the currency's treasury account. (``deposit``)"""
        body = {
            **v.party("", to),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/deposits", body, options)


class BonusesCommands(Resource):
    """``client.bonuses``: its commands."""

    @route("POST", "/v1/bonuses")
    def create(
        self,
        *,
        to: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Credit the account from the currency's promotions account. (``bonus``)"""
        body = {
            **v.party("", to),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/bonuses", body, options)


class SpendsCommands(Resource):
    """``client.spends``: its commands."""

    @route("POST", "/v1/spends")
    def create(
        self,
        *,
        source: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Debit the account to the currency's revenue account; refused if funds are short. (``spend``)"""
        body = {
            **v.party("", source),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/spends", body, options)


class WithdrawalsCommands(Resource):
    """``client.withdrawals``: its commands."""

    @route("POST", "/v1/withdrawals")
    def create(
        self,
        *,
        source: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Debit the account to the currency's treasury account; refused if funds are short. (``withdraw``)"""
        body = {
            **v.party("", source),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/withdrawals", body, options)


class TransfersCommands(Resource):
    """``client.transfers``: its commands."""

    @route("POST", "/v1/transfers")
    def create(
        self,
        *,
        debit: Party,
        credit: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Move ``amount`` from the debit party to the credit party (same currency). (``transfer``)"""
        body = {
            **v.party("debit_", debit),
            **v.party("credit_", credit),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/transfers", body, options)


class TransactionsCommands(Resource):
    """``client.transactions``: its commands."""

    @route("POST", "/v1/transactions")
    def post(
        self,
        *,
        currency: str,
        legs: Sequence[Leg],
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """N postings in one currency that commit together or not at all; debits must equal credits.
        (``transaction.post``)"""
        body = {
            "currency": currency,
            "legs": [item.body() for item in legs],
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/transactions", body, options)

    @route("POST", "/v1/transactions/{transaction_id}/reverse")
    def reverse(
        self, transaction_id: UUID | str, *, reason: str | None = None, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Post a new transaction that undoes ``transaction_id``; the original stays as it was.
        (``transaction.reverse``)"""
        body = {**v.given(reason=reason)}
        return self._client.write(
            "POST", f"/v1/transactions/{v.path_id(transaction_id)}/reverse", body or None, options
        )


class HoldsCommands(Resource):
    """``client.holds``: its commands."""

    @route("POST", "/v1/holds")
    def place(
        self,
        *,
        holder: Party,
        amount: Amount,
        currency: str,
        hold_id: UUID | str | None = None,
        expires_in_seconds: int | None = None,
        recipient: Party | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Reserve ``amount`` of the account's available funds until captured, released or expired.
        (``hold.place``)"""
        body = {
            **v.given(hold_id=None if hold_id is None else v.uuid_text(hold_id)),
            **v.party("", holder),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(expires_in_seconds=expires_in_seconds),
            **v.party("recipient_", recipient),
            **v.given(description=description, metadata=None if metadata is None else dict(metadata)),
        }
        return self._client.write("POST", "/v1/holds", body, options)

    @route("POST", "/v1/holds/{hold_id}/increment")
    def increment(
        self,
        hold_id: UUID | str,
        *,
        amount: Amount,
        expires_in_seconds: int | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Add ``amount`` to a pending hold (the same checks as placing it), optionally with a new expiry.
        (``hold.increment``)"""
        body = {"amount": v.amount(amount, name="amount"), **v.given(expires_in_seconds=expires_in_seconds)}
        return self._client.write("POST", f"/v1/holds/{v.path_id(hold_id)}/increment", body, options)

    @route("POST", "/v1/holds/{hold_id}/capture")
    def capture(
        self,
        hold_id: UUID | str,
        *,
        amount: Amount | None = None,
        recipient: Party | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Pay all (default) or part of a pending hold to its recipient; the remainder is released.
        (``hold.capture``)"""
        body = {
            **v.given(amount=None if amount is None else v.amount(amount, name="amount")),
            **v.party("recipient_", recipient),
        }
        return self._client.write("POST", f"/v1/holds/{v.path_id(hold_id)}/capture", body or None, options)

    @route("POST", "/v1/holds/{hold_id}/release")
    def release(self, hold_id: UUID | str, **options: Unpack[CallOptions]) -> CommandResult:
        """Give a pending hold's funds back to the account's available balance. (``hold.release``)"""
        return self._client.write("POST", f"/v1/holds/{v.path_id(hold_id)}/release", None, options)

    @route("POST", "/v1/holds/{hold_id}/extend")
    def extend(self, hold_id: UUID | str, *, expires_in_seconds: int, **options: Unpack[CallOptions]) -> CommandResult:
        """Push a pending hold's expiry later: it expires ``expires_in_seconds`` from now (the worker's clock).
        (``hold.extend``)"""
        body = {"expires_in_seconds": expires_in_seconds}
        return self._client.write("POST", f"/v1/holds/{v.path_id(hold_id)}/extend", body, options)


class PaymentIntentsCommands(Resource):
    """``client.payment_intents``: its commands."""

    @route("POST", "/v1/payment_intents")
    def create(
        self,
        *,
        merchant: Party,
        amount: Amount,
        currency: str,
        intent_id: UUID | str | None = None,
        description: str | None = None,
        expires_in_seconds: int | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """A merchant asks to be paid ``amount``; a customer pays it once. (``intent.create``)"""
        body = {
            **v.given(intent_id=None if intent_id is None else v.uuid_text(intent_id)),
            **v.party("merchant_", merchant),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(
                description=description,
                expires_in_seconds=expires_in_seconds,
                metadata=None if metadata is None else dict(metadata),
            ),
        }
        return self._client.write("POST", "/v1/payment_intents", body, options)

    @route("POST", "/v1/payment_intents/{intent_id}/pay")
    def pay(
        self, intent_id: UUID | str, *, payer: Party, via_hold: bool | None = None, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Pay an open intent now, or (``via_hold``) authorise it with a hold that is captured later.
        (``intent.pay``)"""
        body = {**v.party("payer_", payer), **v.given(via_hold=via_hold)}
        return self._client.write("POST", f"/v1/payment_intents/{v.path_id(intent_id)}/pay", body, options)

    @route("POST", "/v1/payment_intents/{intent_id}/capture")
    def capture(
        self, intent_id: UUID | str, *, amount: Amount | None = None, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Capture all (default) or part of an authorised intent's hold to the merchant. (``intent.capture``)"""
        body = {**v.given(amount=None if amount is None else v.amount(amount, name="amount"))}
        return self._client.write("POST", f"/v1/payment_intents/{v.path_id(intent_id)}/capture", body or None, options)

    @route("POST", "/v1/payment_intents/{intent_id}/cancel")
    def cancel(self, intent_id: UUID | str, **options: Unpack[CallOptions]) -> CommandResult:
        """Cancel an open or authorised intent; an authorisation's hold is released. (``intent.cancel``)"""
        return self._client.write("POST", f"/v1/payment_intents/{v.path_id(intent_id)}/cancel", None, options)


class RefundsCommands(Resource):
    """``client.refunds``: its commands."""

    @route("POST", "/v1/refunds")
    def create(
        self,
        *,
        intent_id: UUID | str,
        amount: Amount,
        currency: str,
        reason: str | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Return all or part of a paid intent to its payer; refunds never total more than was paid. (``refund``)"""
        body = {
            "intent_id": v.uuid_text(intent_id),
            "amount": v.amount(amount, name="amount"),
            "currency": currency,
            **v.given(reason=reason),
        }
        return self._client.write("POST", "/v1/refunds", body, options)


class ReconCommands(Resource):
    """``client.recon``: its commands."""

    @route("POST", "/v1/recon/sources/{source}/runs")
    def run(
        self, source: str, *, dry_run: bool | None = None, until: date | None = None, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Reconcile a statement source: match its open statement lines against its ledger account's postings.
        (``recon.run``)"""
        body = {**v.given(dry_run=dry_run, until=None if until is None else until.isoformat())}
        return self._client.write("POST", f"/v1/recon/sources/{v.path_name(source)}/runs", body or None, options)

    @route("POST", "/v1/recon/breaks/{break_id}/explain")
    def explain(self, break_id: UUID | str, *, explanation: str, **options: Unpack[CallOptions]) -> CommandResult:
        """Explain an open break without moving money (a known timing difference, a fee booked elsewhere).
        (``break.explain``)"""
        body = {"explanation": explanation}
        return self._client.write("POST", f"/v1/recon/breaks/{v.path_id(break_id)}/explain", body, options)

    @route("POST", "/v1/recon/breaks/{break_id}/resolve")
    def resolve(
        self,
        break_id: UUID | str,
        *,
        counter: Party | None = None,
        amount: int | None = None,
        description: str | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Resolve a break: dismissed, or with an adjusting transaction linked to it. (``break.resolve``)"""
        body = {**v.party("counter_", counter), **v.given(amount=amount, description=description)}
        return self._client.write("POST", f"/v1/recon/breaks/{v.path_id(break_id)}/resolve", body or None, options)
