"""What a command publisher sets on each AMQP message, and the permissions it needs: one declaration.

The AsyncAPI document (``contracts.asyncapi``: each command message's ``x-amqp-properties``, the
``sendCommand`` operation's ``x-ledger-permissions``), the worker's dead-letter reason for a command
without ``user_id`` and docs/topology.md are read from it, so a team in another language builds its
publisher from the document alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.keys import Scope
from contracts.permissions import publisher_pattern, reply_queue_prefix

#: The worker's ``x-ledger-dead-letter-reason`` for a command without ``user_id``.
MISSING_USER_ID = (
    "the AMQP user_id property is required: set it to the publishing connection's user (RabbitMQ checks it)"
)
#: How RabbitMQ answers a ``user_id`` other than the connection's user.
FORGED_USER_ID = (
    "RabbitMQ closes the whole channel (406 PRECONDITION_FAILED, 'user_id property set to … but authenticated "
    "user was …'): every publish on it not yet confirmed is lost, so publish again on a new channel"
)
#: A publisher's broker user is also its name in the ledger: ``ledger publishers create NAME --scope …``.
PUBLISHER = "P"


@dataclass(frozen=True)
class Property:
    """An AMQP basic property of a command message."""

    name: str
    required: bool
    schema: dict[str, Any]
    description: str


COMMAND_PROPERTIES: tuple[Property, ...] = (
    Property(
        "user_id",
        True,
        {"type": "string", "minLength": 1},
        "The broker user the publishing connection authenticated as: who the command is from (recorded as "
        "`amqp:<user_id>`, with the scopes and wallet `ledger publishers create|grant` gave it; an unregistered "
        f"user may do nothing). Without it the worker dead-letters the command (x-ledger-dead-letter-reason "
        f"`{MISSING_USER_ID}`). RabbitMQ checks it against the connection: another user's name and "
        f"{FORGED_USER_ID}.",
    ),
    Property(
        "reply_to",
        False,
        {"type": "string", "minLength": 1},
        f"The queue that receives the CommandResult, through the default exchange. Publisher P names it "
        f"`{reply_queue_prefix(PUBLISHER)}<anything>` (the only queues its permissions let it declare and "
        "consume), declared exclusive and auto-delete, one per connection. The envelope's reply_to wins over "
        "this property. Without either: no reply (watch the events, or GET /v1/commands/{command_id}).",
    ),
    Property(
        "correlation_id",
        False,
        {"type": "string"},
        "Copied onto the reply to match it with the command. The envelope's correlation_id wins over this "
        "property; without either the reply carries the command_id.",
    ),
    Property(
        "message_id",
        False,
        {"type": "string"},
        "Set it to the command_id (the Python SDK does): operators see it in dead letters. The idempotency key "
        "is the envelope's command_id, within your principal: the same command_id is applied once, a second "
        "publish gets the first outcome (replayed), the same id with another payload is refused "
        "idempotency_conflict.",
    ),
    Property(
        "content_type",
        False,
        {"const": "application/json"},
        "application/json or absent; any other is dead-lettered.",
    ),
    Property(
        "delivery_mode",
        False,
        {"const": 2},
        "2 (persistent), with publisher confirms: a confirmed command is durable in a quorum queue.",
    ),
)


def properties_schema() -> dict[str, Any]:
    """The properties as one JSON Schema object (every required one in ``required``)."""
    return {
        "type": "object",
        "description": "AMQP basic properties of the message (not headers).",
        "properties": {p.name: {**p.schema, "description": p.description} for p in COMMAND_PROPERTIES},
        "required": [p.name for p in COMMAND_PROPERTIES if p.required],
    }


def publisher_permissions(namespace: str = "") -> dict[str, Any]:
    """What a publisher's broker user needs in the vhost, and where it gets it (for publisher ``P``)."""
    grant = publisher_pattern(namespace, PUBLISHER)
    return {
        "brokerUser": "P, made with `ledger publishers create P --scope <scope> [--scope <scope> …]` (the broker "
        "user, its vhost permissions and its scopes in one command) or `ledger broker-setup --publisher P`",
        "vhostPermissions": {"configure": grant.configure, "write": grant.write, "read": grant.read},
        "scopes": "The command's scope (each command message says which), granted to P by `ledger publishers`; "
        f"choices: {', '.join(s.value for s in Scope)}.",
    }
