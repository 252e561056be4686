"""Request dependencies: authentication and handles on the process-wide resources."""

from __future__ import annotations

import hmac
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request

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


async def require_service_token(settings: SettingsDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """Accept only ``Authorization: Bearer <SERVICE_API_KEY>``, compared in constant time."""
    scheme, _, token = (authorization or "").partition(" ")
    expected = settings.service_api_key.get_secret_value()
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Problem(401, "unauthorized", "a valid bearer token is required")
    return "service"


Principal = Annotated[str, Depends(require_service_token)]
