"""Command outcomes: what ``GET /v1/commands/{id}`` returns, e.g. after a 202."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from contracts.base import CommandId
from contracts.keys import Scope
from contracts.results import CommandResult
from http_gateway.auth import Principal, authorize_accounts, require
from http_gateway.deps import PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["commands"])


@router.get("/commands/{command_id}", response_model=CommandResult)
async def get_command(
    command_id: Annotated[CommandId, Path()], pool: PoolDep, principal: Annotated[Principal, require(Scope.READ)]
) -> CommandResult:
    """The recorded outcome of a command (its Idempotency-Key); 404 while it is still queued.

    A wallet-bound key reads the commands it sent itself and those that touched its wallet.
    """
    row = await pool.fetchrow("SELECT result, principal FROM commands WHERE command_id = $1", command_id)
    if row is None:
        raise Problem(404, "command_not_found", f"command {command_id} has no recorded outcome (yet)")
    outcome = CommandResult.model_validate(row["result"])
    mine = principal.wallet_id is None or row["principal"] == principal.name
    if not mine and principal.wallet_id in {outcome.wallet_id, *(b.wallet_id for b in outcome.balances)}:
        mine = True
    if not mine:
        await authorize_accounts(pool, principal, [outcome.account_id], any_of=True)
    return outcome
