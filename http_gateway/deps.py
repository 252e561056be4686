"""Request dependencies: authentication and handles on the process-wide resources."""

from __future__ import annotations

import hmac
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from http_gateway.bus import CommandBus
from http_gateway.problems import Problem
from ledger_common.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def _bus(request: Request) -> CommandBus:
    bus: CommandBus = request.app.state.bus
    return bus


SettingsDep = Annotated[Settings, Depends(_settings)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
BusDep = Annotated[CommandBus, Depends(_bus)]


#: Declares the bearer scheme in OpenAPI; we answer a missing token ourselves, as a problem document.
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <SERVICE_API_KEY>`")


async def require_service_token(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> str:
    """Accept only ``Authorization: Bearer <SERVICE_API_KEY>``, compared in constant time."""
    token = credentials.credentials.strip() if credentials is not None else ""
    expected = settings.service_api_key.get_secret_value()
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(401, "unauthorized", "a valid bearer token is required")
    return "service"


Principal = Annotated[str, Depends(require_service_token)]
