"""Command envelope and the envelope of every command type (schema version 1), from the catalogue.

A command is published to the ``ledger.commands`` exchange with its ``type`` as routing key.
``command_id`` is the idempotency key: the same id is applied at most once, and the same id
with a different payload is refused as ``idempotency_conflict``.

One envelope class per type is made from ``contracts.catalogue.COMMANDS`` (``TransferCommand`` for
``transfer``…): they are importable from here like hand-written classes, and the discriminated
union of them is what :func:`parse_command` validates.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, TypeAdapter, create_model

from contracts.base import CommandId, Contract
from contracts.catalogue import COMMANDS, CommandSpec


class Command(Contract):
    """Fields every command carries; ``type`` selects the payload model (``contracts.catalogue``)."""

    command_id: CommandId
    schema_version: Literal[1] = 1
    issued_at: datetime
    reply_to: str | None = Field(default=None, max_length=255)
    correlation_id: str | None = Field(default=None, max_length=255)
    #: Who asked: an API key id or AMQP user; recorded on the transaction for audit.
    principal: str | None = Field(default=None, max_length=255)
    type: str
    payload: Contract

    #: The payload the digest was computed for, and the digest: computed once per command (the worker
    #: compares it and stores it), and again for a copy with another payload.
    _digest: tuple[Contract, str] | None = PrivateAttr(default=None)

    @property
    def digest(self) -> str:
        """:func:`payload_digest`."""
        if self._digest is None or self._digest[0] is not self.payload:
            body = self.payload.model_dump_json(exclude_defaults=True)
            self._digest = (self.payload, hashlib.sha256(f"{self.type}|{body}".encode()).hexdigest())
        return self._digest[1]


def envelope_name(spec: CommandSpec) -> str:
    """``TransferCommand`` for the ``Transfer`` payload."""
    return f"{spec.payload.__name__}Command"


def _envelope(spec: CommandSpec) -> type[Command]:
    kind: Any = Literal[spec.type]  # a Literal made at run time, which no static type can name
    model: type[Command] = create_model(
        envelope_name(spec),
        __base__=Command,
        __module__=__name__,
        type=(kind, spec.type),
        payload=(spec.payload, ...),
    )
    return model


#: Every command class by its ``type``; the routing key to publish it with.
COMMAND_CLASSES: dict[str, type[Command]] = {spec.type: _envelope(spec) for spec in COMMANDS}
COMMAND_TYPES: tuple[str, ...] = tuple(COMMAND_CLASSES)
_BY_NAME: dict[str, type[Command]] = {cls.__name__: cls for cls in COMMAND_CLASSES.values()}
__all__ = ["COMMAND_CLASSES", "COMMAND_TYPES", "Command", "build_command", "parse_command", *sorted(_BY_NAME)]

_UNION: Any = Annotated[Union[tuple(COMMAND_CLASSES.values())], Field(discriminator="type")]  # noqa: UP007
COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(_UNION)


def __getattr__(name: str) -> type[Command]:
    """``from contracts.commands import TransferCommand``: the generated envelope classes."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def payload_digest(cmd: Command) -> str:
    """Fingerprint of what the command does, used to detect idempotency-key reuse.

    Defaults are left out, so adding an optional field to a payload keeps old digests valid.
    """
    return cmd.digest


def parse_command(body: bytes) -> Command:
    """Decode and validate a command body; raises ``pydantic.ValidationError``."""
    return COMMAND_ADAPTER.validate_json(body)


def build_command(kind: str, payload: object, **envelope: object) -> Command:
    """A command of type ``kind`` from a payload (model or dict) and envelope fields."""
    return COMMAND_ADAPTER.validate_python({"type": kind, "payload": payload, **envelope})
