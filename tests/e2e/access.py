"""Helpers for access-control tests: make keys through the admin API, call with a bearer token."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from contracts.keys import Scope


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_key(
    admin: httpx.AsyncClient,
    scopes: list[Scope] | list[str],
    *,
    wallet_id: str | None = None,
    rate: tuple[float, int] | None = None,
    name: str = "test key",
) -> dict[str, Any]:
    """Create a key with the service (admin) client; returns the creation response incl. ``secret``."""
    body: dict[str, Any] = {"name": name, "scopes": [str(s) for s in scopes], "wallet_id": wallet_id}
    if rate is not None:
        body["rate_limit"] = {"per_second": rate[0], "burst": rate[1]}
    r = await admin.post("/v1/admin/keys", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}
