"""Command outcomes: what ``GET /v1/commands/{id}`` returns, e.g. after a 202."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from contracts.base import CommandId
from contracts.keys import Scope
from contracts.results import CommandResult
from http_gateway.auth import Principal, require
from http_gateway.deps import PoolDep
from http_gateway.problems import Problem

router = APIRouter(tags=["commands"])


@router.get("/commands/{command_id}", operation_id="commands.get", response_model=CommandResult)
async def get_command(
    command_id: Annotated[CommandId, Path()], pool: PoolDep, principal: Annotated[Principal, require(Scope.READ)]
) -> CommandResult:
    """The recorded outcome of one of the caller's own commands (its Idempotency-Key); 404 while it is
    still queued, and for any key this caller did not send (keys are per caller: another caller's
    identical key is another command, and whether it exists is not ours to say)."""
    row = await pool.fetchrow(
        "SELECT result FROM commands WHERE principal = $1 AND command_id = $2", principal.name, command_id
    )
    if row is None:
        raise Problem(404, "command_not_found", f"command {command_id} has no recorded outcome (yet)")
    return CommandResult.model_validate(row["result"])
