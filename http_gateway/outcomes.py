"""A write whose reply never came: answer it from the outcome the worker recorded, if it is there in time.

A reply can be lost without the command being lost: the broker node holding the gateway's reply queue
dies (the command itself sits in a quorum queue replicated on the other nodes), or the worker's reply
is published while the gateway is reconnecting. The outcome is in ``commands`` all the same,
committed before any reply is sent, so the gateway looks there until its reply timeout is up, and
only then answers 202 with the ``Location`` to poll. Never a second send: the command is durable
in its queue, and a client's retry with the same key is a replay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts.commands import Command, payload_digest
from contracts.results import CommandResult

log = logging.getLogger("http_gateway")

#: How often the record is looked for while the reply timeout runs.
POLL_SECONDS = 0.1

_RECORDED = (
    "SELECT result, payload_digest, created_at < $3 AS earlier FROM commands WHERE principal = $1 AND command_id = $2"
)


@dataclass(frozen=True, slots=True)
class Recorded:
    result: CommandResult
    #: Recorded before this request began (gateway's clock against the database's): the answer is a replay.
    replayed: bool


async def recorded(pool: asyncpg.Pool, cmd: Command, *, asked_at: datetime, until: float) -> Recorded | None:
    """The outcome recorded for ``cmd`` (same principal, id and payload), looked for until ``until``
    (``time.monotonic()``), at least once; None if there is none by then or the database cannot say."""
    while True:
        try:
            row = await pool.fetchrow(_RECORDED, cmd.principal, cmd.command_id, asked_at, timeout=POLL_SECONDS * 10)
        except Exception as exc:  # the command is durable in its queue: a 202 is still the right answer
            log.warning("outcome of %s not looked up: %s", cmd.command_id, type(exc).__name__)
            return None
        if row is not None:
            if row["payload_digest"] != payload_digest(cmd):
                return None  # another body under this key: the worker answers idempotency_conflict
            return Recorded(CommandResult.model_validate(row["result"]), replayed=bool(row["earlier"]))
        if time.monotonic() + POLL_SECONDS > until:
            return None
        await asyncio.sleep(POLL_SECONDS)
