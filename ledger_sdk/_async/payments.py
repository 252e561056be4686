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
    @route("GET", "/v1/holds/{hold_id}")
    async def get(self, hold_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Hold:
        """A hold: pending, captured (how much), released or expired."""
        return await self._client.get(f"/v1/holds/{_id(hold_id)}", docs.Hold, None, options)


class AsyncPaymentIntents(AsyncPaymentIntentsCommands):
    @route("GET", "/v1/payment_intents/{intent_id}")
    async def get(self, intent_id: UUID | str, **options: Unpack[CallOptions]) -> docs.Intent:
        """A payment intent: status, paid and refunded amounts, payer and hold."""
        return await self._client.get(f"/v1/payment_intents/{_id(intent_id)}", docs.Intent, None, options)


class AsyncRefunds(AsyncRefundsCommands):
    """Refunds of paid payment intents."""


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
    @route("GET", "/healthz")
    async def health(self, **options: Unpack[CallOptions]) -> dict[str, str]:
        """Liveness: the gateway process answers."""
        response = await self._client.request("GET", "/healthz", options=options)
        return _HEALTH.validate_python(response.json())

    @route("GET", "/readyz")
    async def ready(self, **options: Unpack[CallOptions]) -> docs.Readiness:
        """Readiness: PostgreSQL answers and the broker connection is open (a 503 raises ``ServiceUnavailable``)."""
        return await self._client.get("/readyz", docs.Readiness, None, options)
