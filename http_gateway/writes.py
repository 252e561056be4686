"""Write endpoints: each becomes an idempotent command and waits for the worker's reply."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from contracts.commands import (
    Command,
    Deposit,
    DepositCommand,
    OpenAccount,
    OpenAccountCommand,
    Transfer,
    TransferCommand,
    Withdraw,
    WithdrawCommand,
)
from contracts.keys import Scope
from contracts.results import CommandResult, Refusal
from http_gateway.auth import Principal, authorize_accounts, require
from http_gateway.deps import BusDep, PoolDep, SettingsDep
from http_gateway.problems import Problem, problem_response

router = APIRouter()

_KEY = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Unique per intended write; retries reuse it."),
]

_REFUSAL_STATUS = {
    Refusal.ACCOUNT_NOT_FOUND: 404,
    Refusal.ACCOUNT_EXISTS: 409,
    Refusal.IDEMPOTENCY_CONFLICT: 409,
}


def _key(value: str | None) -> str:
    if value is None:
        raise Problem(400, "idempotency_key_required", "writes need an Idempotency-Key header")
    if not _KEY.match(value):
        raise Problem(400, "invalid_idempotency_key", "Idempotency-Key: 1-128 of A-Z a-z 0-9 . _ : -")
    return value


async def _dispatch(cmd: Command, bus: BusDep, settings: SettingsDep, *, created: int = 200) -> JSONResponse:
    result = await bus.send(cmd, timeout=settings.reply_timeout_seconds)
    if result is None:
        url = f"/v1/commands/{cmd.command_id}"
        return JSONResponse(
            {"command_id": cmd.command_id, "status": "pending", "status_url": url},
            status_code=202,
            headers={"Location": url},
        )
    headers = {"Idempotent-Replayed": "true" if result.replayed else "false"}
    if result.status == "refused":
        assert result.refusal is not None
        status = _REFUSAL_STATUS.get(result.refusal, 422)
        return problem_response(
            status, result.refusal.value, result.detail or "", headers, result=result.model_dump(mode="json")
        )
    return JSONResponse(
        result.model_dump(mode="json"), status_code=200 if result.replayed else created, headers=headers
    )


def _envelope(key: str | None, principal: Principal) -> dict[str, object]:
    return {"command_id": _key(key), "issued_at": datetime.now(UTC), "principal": principal.name}


_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": CommandResult},
    202: {"description": "Still processing; poll the Location URL"},
}


@router.post("/accounts", status_code=201, response_model=CommandResult, responses=_RESPONSES)
async def open_account(
    body: OpenAccount,
    bus: BusDep,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require(Scope.WALLETS)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Open an account in one currency."""
    await authorize_accounts(pool, principal, [body.account_id])
    cmd = OpenAccountCommand(payload=body, **_envelope(idempotency_key, principal))
    return await _dispatch(cmd, bus, settings, created=201)


@router.post("/deposits", response_model=CommandResult, responses=_RESPONSES)
async def deposit(
    body: Deposit,
    bus: BusDep,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require(Scope.DEPOSIT)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Credit an account from the currency's system account."""
    await authorize_accounts(pool, principal, [body.account_id])
    cmd = DepositCommand(payload=body, **_envelope(idempotency_key, principal))
    return await _dispatch(cmd, bus, settings)


@router.post("/withdrawals", response_model=CommandResult, responses=_RESPONSES)
async def withdraw(
    body: Withdraw,
    bus: BusDep,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require(Scope.TRANSFER)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Debit an account to the currency's system account; refused if funds are short."""
    await authorize_accounts(pool, principal, [body.account_id])
    cmd = WithdrawCommand(payload=body, **_envelope(idempotency_key, principal))
    return await _dispatch(cmd, bus, settings)


@router.post("/transfers", response_model=CommandResult, responses=_RESPONSES)
async def transfer(
    body: Transfer,
    bus: BusDep,
    pool: PoolDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require(Scope.TRANSFER)],
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Move money between two accounts of the same currency."""
    await authorize_accounts(pool, principal, [body.debit_account_id])
    cmd = TransferCommand(payload=body, **_envelope(idempotency_key, principal))
    return await _dispatch(cmd, bus, settings)
