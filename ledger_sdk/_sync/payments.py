# Generated from ledger_sdk/_async/payments.py by tools/sdk_generate.py; edit that file, not this one.
"""Holds (authorisations), payment intents, refunds, API keys (admin) and the gateway's health."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Unpack
from uuid import UUID

from pydantic import TypeAdapter

from contracts import http as docs
from contracts.keys import CreatedKey, KeyLimits, KeySpec, KeyView, RateLimit, Scope, SpendingLimit
from contracts.results import CommandResult
from ledger_sdk._sync.client import CallOptions, Resource, route
from ledger_sdk._values import Amount, Party, amount, given, party

_KEYS = TypeAdapter(list[KeyView])
_HEALTH = TypeAdapter(dict[str, str])


def _id(value: UUID | str) -> UUID:
    return UUID(str(value))


class Holds(Resource):
    @route("POST", "/v1/holds")
    def place(
        self,
        *,
        holder: Party,
        amount: Amount,
        currency: str,
        recipient: Party | None = None,
        expires_in_seconds: int | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        hold_id: UUID | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Reserve ``amount`` of the holder's available funds until captured, released or expired."""
        body = {
            **party("", holder),
            **party("recipient_", recipient),
            "amount": _minor(amount),
            "currency": currency,
            **given(
                expires_in_seconds=expires_in_seconds,
                description=description,
                metadata=dict(metadata) if metadata else None,
                hold_id=str(hold_id) if hold_id else None,
            ),
        }
        return self._client.write("POST", "/v1/holds", body, options)

    @route("GET", "/v1/holds/{hold_id}")
    def get(self, hold_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Hold:
        """A hold: pending, captured (how much), released or expired."""
        return self._client.get(f"/v1/holds/{_id(hold_id)}", docs.Hold, None, options)

    @route("POST", "/v1/holds/{hold_id}/increment")
    def increment(
        self,
        hold_id: UUID | str,
        *,
        amount: Amount,
        expires_in_seconds: int | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Add ``amount`` to a pending hold, optionally with a new expiry (from now)."""
        body = {"amount": _minor(amount), **given(expires_in_seconds=expires_in_seconds)}
        return self._client.write("POST", f"/v1/holds/{_id(hold_id)}/increment", body, options)

    @route("POST", "/v1/holds/{hold_id}/capture")
    def capture(
        self,
        hold_id: UUID | str,
        *,
        amount: Amount | None = None,
        recipient: Party | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """Pay all (default) or part of the hold to its recipient (or ``recipient``); the rest is released."""
        body = {**given(amount=None if amount is None else _minor(amount)), **party("recipient_", recipient)}
        return self._client.write("POST", f"/v1/holds/{_id(hold_id)}/capture", body or None, options)

    @route("POST", "/v1/holds/{hold_id}/release")
    def release(self, hold_id: UUID | str, **options: Unpack[CallOptions]) -> CommandResult:
        """Give the hold's funds back to the available balance."""
        return self._client.write("POST", f"/v1/holds/{_id(hold_id)}/release", None, options)


class PaymentIntents(Resource):
    @route("POST", "/v1/payment_intents")
    def create(
        self,
        *,
        merchant: Party,
        amount: Amount,
        currency: str,
        description: str | None = None,
        expires_in_seconds: int | None = None,
        metadata: Mapping[str, str] | None = None,
        intent_id: UUID | None = None,
        **options: Unpack[CallOptions],
    ) -> CommandResult:
        """A merchant asks to be paid ``amount``; a customer pays it once (``result.intent_id``)."""
        body = {
            **party("merchant_", merchant),
            "amount": _minor(amount),
            "currency": currency,
            **given(
                description=description,
                expires_in_seconds=expires_in_seconds,
                metadata=dict(metadata) if metadata else None,
                intent_id=str(intent_id) if intent_id else None,
            ),
        }
        return self._client.write("POST", "/v1/payment_intents", body, options)

    @route("GET", "/v1/payment_intents/{intent_id}")
    def get(self, intent_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Intent:
        """A payment intent: status, paid and refunded amounts, payer and hold."""
        return self._client.get(f"/v1/payment_intents/{_id(intent_id)}", docs.Intent, None, options)

    @route("POST", "/v1/payment_intents/{intent_id}/pay")
    def pay(
        self, intent_id: UUID | str, *, payer: Party, via_hold: bool = False, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Pay the intent now, or (``via_hold``) authorise it with a hold the merchant captures later."""
        body = {**party("payer_", payer), **({"via_hold": True} if via_hold else {})}
        return self._client.write("POST", f"/v1/payment_intents/{_id(intent_id)}/pay", body, options)

    @route("POST", "/v1/payment_intents/{intent_id}/capture")
    def capture(
        self, intent_id: UUID | str, *, amount: Amount | None = None, **options: Unpack[CallOptions]
    ) -> CommandResult:
        """Capture all (default) or part of an authorised intent; the rest goes back to the payer."""
        body = given(amount=None if amount is None else _minor(amount)) or None
        return self._client.write("POST", f"/v1/payment_intents/{_id(intent_id)}/capture", body, options)

    @route("POST", "/v1/payment_intents/{intent_id}/cancel")
    def cancel(self, intent_id: UUID | str, **options: Unpack[CallOptions]) -> CommandResult:
        """Cancel an open or authorised intent; an authorisation's hold is released."""
        return self._client.write("POST", f"/v1/payment_intents/{_id(intent_id)}/cancel", None, options)


class Refunds(Resource):
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
        """Return all or part of a paid intent to its payer; refunds never total more than was paid."""
        body = {"intent_id": str(_id(intent_id)), "amount": _minor(amount), "currency": currency}
        return self._client.write("POST", "/v1/refunds", body | given(reason=reason), options)


class Keys(Resource):
    """API keys (``admin`` scope). Not commands: creating a key is not idempotent, so a create that may
    have reached the gateway is not retried."""

    @route("POST", "/v1/admin/keys")
    def create(
        self,
        *,
        name: str,
        scopes: Sequence[Scope | str],
        wallet_id: UUID | str | None = None,
        rate_limit: RateLimit | None = None,
        **options: Unpack[CallOptions],
    ) -> CreatedKey:
        """A new key; ``secret`` (the bearer token) is in this answer only."""
        spec = KeySpec(
            name=name,
            scopes=tuple(Scope(s) for s in scopes),
            wallet_id=None if wallet_id is None else _id(wallet_id),
            rate_limit=rate_limit,
        )
        response = self._client.request(
            "POST", "/v1/admin/keys", json=spec.model_dump(mode="json"), replayable=False, options=options
        )
        return CreatedKey.model_validate(response.json())

    @route("GET", "/v1/admin/keys")
    def list(self, *, include_revoked: bool = True, **options: Unpack[CallOptions]) -> builtins.list[KeyView]:
        """Every key (never a secret)."""
        query = {"include_revoked": "true" if include_revoked else "false"}
        response = self._client.request("GET", "/v1/admin/keys", params=query, options=options)
        return _KEYS.validate_python(response.json())

    @route("DELETE", "/v1/admin/keys/{key_id}")
    def revoke(self, key_id: UUID | str, **options: Unpack[CallOptions]) -> KeyView:
        """Revoke a key: refused from then on, by the gateway and by the worker."""
        response = self._client.request("DELETE", f"/v1/admin/keys/{_id(key_id)}", options=options)
        return KeyView.model_validate(response.json())

    @route("PUT", "/v1/admin/keys/{key_id}/limits")
    def set_limits(
        self,
        key_id: UUID | str,
        *,
        rate_limit: RateLimit | None = None,
        spending_limits: Sequence[SpendingLimit] = (),
        **options: Unpack[CallOptions],
    ) -> KeyView:
        """Replace the key's rate limit and spending limits (all of them)."""
        limits = KeyLimits(rate_limit=rate_limit, spending_limits=tuple(spending_limits))
        path = f"/v1/admin/keys/{_id(key_id)}/limits"
        response = self._client.request("PUT", path, json=limits.model_dump(mode="json"), options=options)
        return KeyView.model_validate(response.json())


class System(Resource):
    @route("GET", "/healthz")
    def health(self, **options: Unpack[CallOptions]) -> dict[str, str]:
        """Liveness: the gateway process answers."""
        response = self._client.request("GET", "/healthz", options=options)
        return _HEALTH.validate_python(response.json())

    @route("GET", "/readyz")
    def ready(self, **options: Unpack[CallOptions]) -> docs.Readiness:
        """Readiness: PostgreSQL answers and the broker connection is open (a 503 raises ``ServiceUnavailable``)."""
        return self._client.get("/readyz", docs.Readiness, None, options)


def _minor(value: Amount) -> int | str:
    return amount(value)
