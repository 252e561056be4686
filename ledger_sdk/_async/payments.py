"""Holds (authorisations), payment intents, refunds, API keys (admin) and the gateway's health."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Unpack
from uuid import UUID

from pydantic import TypeAdapter

from contracts import http as docs
from contracts.keys import CreatedKey, KeyLimits, KeySpec, KeyView, RateLimit, Scope, SpendingLimit
from ledger_sdk._async._commands import AsyncHoldsCommands, AsyncPaymentIntentsCommands, AsyncRefundsCommands
from ledger_sdk._async.client import AsyncResource, CallOptions, route

_KEYS = TypeAdapter(list[KeyView])
_HEALTH = TypeAdapter(dict[str, str])


def _id(value: UUID | str) -> UUID:
    return UUID(str(value))


class AsyncHolds(AsyncHoldsCommands):
    """Holds (authorisations): funds reserved on a customer account, then captured, released or expired.

    A hold is ``pending`` until it ends, once, as ``captured``, ``released`` or ``expired``; every
    command on a hold that is no longer pending is refused ``hold_not_pending`` (``HoldNotPending``).

    - **place**: the same checks as a debit of ``amount`` (status, minimum balance against available
      funds, per-transaction and daily limits, the key's spending limits, charged now). The account's
      ``held`` grows and ``available`` (balance minus held) shrinks at once; the balance does not move.
      ``recipient`` is where a capture pays by default; ``expires_in_seconds`` (1 s to 90 days, the
      worker's clock) or never. ``result.hold_id`` names it (derived from the command id if not given).
    - **increment**: more under the same hold, checked as placing the new total; ``expires_in_seconds``
      sets a new expiry from now (which, unlike ``extend``, may be earlier than the current one).
    - **capture**: pays all (default) or part of the hold to its recipient (or the ``recipient`` named,
      which also needs the ``transfer`` scope) in one transaction, and **releases the rest**: a hold is
      captured once, so "capture part, then release the rest" fails ``hold_not_pending`` (the rest is
      already available), and so does a second capture. More than held: ``capture_exceeds_hold``; no
      recipient anywhere: ``recipient_required``.
    - **release**: ends the hold without posting (the holder's or the recipient's key may).
    - **extend**: a later expiry only (``expiry_not_later`` otherwise, and for a hold that never expires).
    - **expiry**: from ``expires_at`` on, every command on the hold is refused ``hold_expired``; the
      worker's sweeper then marks it ``expired`` and frees its funds (event ``hold.expired``).
    - A hold that authorises a payment intent is the intent's (``hold_belongs_to_intent``): use
      ``payment_intents.capture`` or ``cancel``.
    """

    @route("GET", "/v1/holds/{hold_id}")
    async def get(self, hold_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Hold:
        """A hold: pending, captured (how much), released or expired."""
        return await self._client.get(f"/v1/holds/{_id(hold_id)}", docs.Hold, None, options)


class AsyncPaymentIntents(AsyncPaymentIntentsCommands):
    """Payment intents: a merchant asks for ``amount``; a customer pays it once, now or via a hold.

    ``open`` → ``paid`` (``pay``), or ``open`` → ``authorized`` (``pay(via_hold=True)``) → ``paid``
    (``capture``); ``open`` or ``authorized`` → ``canceled``; ``open`` → ``expired``, and
    ``authorized`` → ``expired`` when its hold lapses. Refunds (``client.refunds``) keep it ``paid``.

    - **create** (``payments`` scope, the merchant's wallet): ``expires_in_seconds`` applies while it is
      open; past it, paying is refused ``intent_expired`` and the sweeper marks it ``expired``.
    - **pay** (``transfer`` scope, from the payer's own wallet; anyone's intent): only an ``open`` intent
      (``intent_not_payable`` otherwise: paid, authorized, canceled or expired), never from the merchant's
      own account (``same_account``). Directly: one transaction of the whole amount. ``via_hold``: a hold of
      the whole amount on the payer, to the merchant, capturable for 7 days (``result.hold_id``).
    - **capture**: only an ``authorized`` intent (``intent_not_authorized``); all (default) or part of the
      hold, and the rest is released: ``paid_amount`` is what was captured, and there is no second capture.
    - **cancel**: an ``open`` or ``authorized`` intent (its hold released); otherwise ``intent_not_payable``.
    """

    @route("GET", "/v1/payment_intents/{intent_id}")
    async def get(self, intent_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Intent:
        """A payment intent: status, paid and refunded amounts, payer and hold."""
        return await self._client.get(f"/v1/payment_intents/{_id(intent_id)}", docs.Intent, None, options)


class AsyncRefunds(AsyncRefundsCommands):
    """Refunds of paid payment intents: money back from the merchant's account to the payer's.

    Each refund is a transaction of its own; refund in part as often as you like while the refunds
    total no more than ``paid_amount`` (``refund_exceeds_paid`` says how much is left). The intent stays
    ``paid``; ``refunded_amount`` adds up (event ``intent.refunded`` with ``refund_amount``) and the
    intent's ``refunds`` list each (its payer reads them too). Refused
    ``intent_not_paid`` unless the intent is paid (an ``authorized`` one is captured or canceled instead),
    ``currency_mismatch`` in another currency, and like any debit of the merchant's account (funds short:
    ``insufficient_funds``; frozen). ``refunds`` scope, a key of the merchant's wallet or an unbound one.
    Each call is a new refund: retry one with its ``idempotency_key``, never by calling again without it.
    """


class AsyncKeys(AsyncResource):
    """API keys (``admin`` scope). Not commands: creating a key is not idempotent, so a create that may
    have reached the gateway is not retried."""

    @route("POST", "/v1/admin/keys")
    async def create(
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
        response = await self._client.request(
            "POST", "/v1/admin/keys", json=spec.model_dump(mode="json"), replayable=False, options=options
        )
        return CreatedKey.model_validate(response.json())

    @route("GET", "/v1/admin/keys")
    async def list(self, *, include_revoked: bool = True, **options: Unpack[CallOptions]) -> builtins.list[KeyView]:
        """Every key (never a secret)."""
        query = {"include_revoked": "true" if include_revoked else "false"}
        response = await self._client.request("GET", "/v1/admin/keys", params=query, options=options)
        return _KEYS.validate_python(response.json())

    @route("DELETE", "/v1/admin/keys/{key_id}")
    async def revoke(self, key_id: UUID | str, **options: Unpack[CallOptions]) -> KeyView:
        """Revoke a key: refused from then on, by the gateway and by the worker."""
        response = await self._client.request("DELETE", f"/v1/admin/keys/{_id(key_id)}", options=options)
        return KeyView.model_validate(response.json())

    @route("PUT", "/v1/admin/keys/{key_id}/limits")
    async def set_limits(
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
        response = await self._client.request("PUT", path, json=limits.model_dump(mode="json"), options=options)
        return KeyView.model_validate(response.json())


class AsyncSystem(AsyncResource):
    """The gateway's probes (no key needed)."""

    @route("GET", "/healthz")
    async def health(self, **options: Unpack[CallOptions]) -> dict[str, str]:
        """Liveness: the gateway process answers."""
        response = await self._client.request("GET", "/healthz", options=options)
        return _HEALTH.validate_python(response.json())

    @route("GET", "/readyz")
    async def ready(self, **options: Unpack[CallOptions]) -> docs.Readiness:
        """Readiness: PostgreSQL answers and the broker connection is open (a 503 raises ``ServiceUnavailable``)."""
        return await self._client.get("/readyz", docs.Readiness, None, options)
