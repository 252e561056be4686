"""Request dependencies: handles on the process-wide resources (authentication is in ``auth``)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from http_gateway.amounts import Currencies
from http_gateway.bus import CommandBus
from http_gateway.keycache import KeyCache
from ledger_common.settings import Settings


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _bus(request: Request) -> CommandBus:
    bus: CommandBus = request.app.state.bus
    return bus


async def _keys(request: Request) -> KeyCache:
    keys: KeyCache = request.app.state.keys
    return keys


async def _currencies(request: Request) -> Currencies:
    currencies: Currencies = request.app.state.currencies
    return currencies


SettingsDep = Annotated[Settings, Depends(_settings)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
BusDep = Annotated[CommandBus, Depends(_bus)]
KeysDep = Annotated[KeyCache, Depends(_keys)]
CurrenciesDep = Annotated[Currencies, Depends(_currencies)]
