"""The event log over HTTP (``GET /v1/events``) and its named readers: documents shared with the SDK.

Like ``contracts.http``, these read models ignore fields they do not know. A position is the event's
place in the log (1, 2, 3 … in commit order, the same number the ``x-ledger-position`` header of the
log stream carries); positions are given for good, so a reader may store one and continue from it over
HTTP or AMQP alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from contracts.events import EventEnvelope
from contracts.keys import KeyEvent

#: A reader's name: what its position is kept under, and its ``reader`` label in the lag metrics.
ReaderName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
Transport = Literal["http", "amqp"]
#: A log position as a reader holds it (0: before the first event).
Position = Annotated[int, Field(ge=0, lt=2**63, strict=True)]


class LogEntry(BaseModel):
    position: int
    #: When the ledger gave the event its position (positions and this grow together).
    logged_at: datetime
    event: Annotated[EventEnvelope | KeyEvent, Field(discriminator="type")]


class LogPage(BaseModel):
    """Events after ``after`` in position order. Pass ``next_after`` back as ``after`` to continue: it is
    the last position this answer covered (with filters, past events it left out)."""

    events: list[LogEntry]
    next_after: int
    #: The last position given so far.
    head: int


class ReaderPosition(BaseModel):
    """What a reader reports: the last position it handled."""

    position: Position
    transport: Transport = "amqp"


class Reader(BaseModel):
    name: str
    #: Whose reader it is: ``key:<id>`` or ``service`` (names are unique across principals).
    principal: str
    transport: Transport
    position: int
    #: Positions given after ``position``.
    behind_events: int
    #: Seconds since the first event after ``position`` was logged (0: caught up).
    behind_seconds: float
    updated_at: datetime


class ReaderList(BaseModel):
    readers: list[Reader]
    head: int
